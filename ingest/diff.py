"""Article-level differences between two corpus versions.

The legal team reads this before approving an update broadcast, so it speaks
in laws and articles: which laws were added or abolished, which articles were
added, amended (old and new text), deleted, or renumbered (the same text under
a new number, as happens when an order is restructured).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .moj import Law, LawCorpus


@dataclass
class ArticleChange:
    pcode: str
    law_name: str
    kind: str          # added | amended | removed | renumbered
    article: str       # new number (old number for removed)
    old_article: str = ""
    old_text: str = ""
    new_text: str = ""


@dataclass
class CorpusDiff:
    old_version: str
    new_version: str
    laws_added: list[tuple[str, str]] = field(default_factory=list)       # (pcode, name)
    laws_abolished: list[tuple[str, str]] = field(default_factory=list)
    laws_removed: list[tuple[str, str]] = field(default_factory=list)     # gone from the file entirely
    laws_amended: list[tuple[str, str]] = field(default_factory=list)
    articles: list[ArticleChange] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for a in self.articles if a.kind == kind)


def _norm(text: str) -> str:
    return "".join(text.split())


def _diff_law(old: Law, new: Law) -> list[ArticleChange]:
    old_by = {a.number: a for a in old.articles}
    new_by = {a.number: a for a in new.articles}
    changes: list[ArticleChange] = []
    added = [n for n in new_by if n not in old_by]
    removed = [n for n in old_by if n not in new_by]
    for num, a in new_by.items():
        if num in old_by and _norm(old_by[num].content) != _norm(a.content):
            changes.append(ArticleChange(new.pcode, new.name, "amended", num,
                                         old_text=old_by[num].content, new_text=a.content))
    # Renumbering: a removed article whose text reappears (nearly) under an added number.
    for r in list(removed):
        rt = _norm(old_by[r].content)
        best, best_ratio = None, 0.0
        for n in added:
            ratio = difflib.SequenceMatcher(None, rt, _norm(new_by[n].content), autojunk=False).ratio()
            if ratio > best_ratio:
                best, best_ratio = n, ratio
        if best is not None and best_ratio >= 0.9 and len(rt) > 10:
            changes.append(ArticleChange(new.pcode, new.name, "renumbered", best, old_article=r,
                                         old_text=old_by[r].content, new_text=new_by[best].content))
            added.remove(best)
            removed.remove(r)
    changes += [ArticleChange(new.pcode, new.name, "added", n, new_text=new_by[n].content) for n in added]
    changes += [ArticleChange(new.pcode, new.name, "removed", r, old_text=old_by[r].content) for r in removed]
    return changes


def diff_corpora(old: LawCorpus, new: LawCorpus, select=None) -> CorpusDiff:
    """Compare two snapshots; ``select(law) -> bool`` limits it to a manifest's scope."""
    pick = select or (lambda law: True)
    old_by = {law.pcode: law for law in old.laws if pick(law)}
    new_by = {law.pcode: law for law in new.laws if pick(law)}
    d = CorpusDiff(old.update_date, new.update_date)
    for pcode, law in new_by.items():
        prev = old_by.get(pcode)
        if prev is None:
            d.laws_added.append((pcode, law.name))
            d.articles += [ArticleChange(pcode, law.name, "added", a.number, new_text=a.content) for a in law.articles]
            continue
        changes = _diff_law(prev, law)
        if law.abolished and not prev.abolished:
            d.laws_abolished.append((pcode, law.name))
        elif changes or prev.modified != law.modified:
            d.laws_amended.append((pcode, law.name))
        d.articles += changes
    for pcode, law in old_by.items():
        if pcode not in new_by:
            d.laws_removed.append((pcode, law.name))
    return d
