"""Article-aware retrieval units.

One unit per article, carrying what a citation needs (law, pcode, article
number, chapter, dates, abolished flag, official link). An article longer than
the embedder's window is split at 項/款 boundaries so no part is truncated by
the model; each part keeps the law name and article number, and a part that
starts with 款 items carries the 項's lead-in sentence so it still reads whole.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

from .moj import Law, article_url

# About 0.85 e5 tokens per CJK character; 480 characters keeps a part, with the
# law name and article number in front, inside a 512-token window.
DEFAULT_MAX_CHARS = 480
_ITEM = re.compile(r"^(?:[一二三四五六七八九十百]+、|（[一二三四五六七八九十百]+）|\d+\.|\([0-9]+\))")


@dataclass
class Unit:
    id: str                 # "O0040055:31", a split part "O0040054:2#1"
    source_kind: str        # law | faq | guide | form | defect | pdf
    law_name: str
    pcode: str
    article: str            # "第 31 條" ("" for non-law units)
    flno: str               # "31"
    part: int               # 0 for a whole article, 1.. for parts
    chapter: str
    text: str               # the unit's own text (no header)
    url: str
    modified: str = ""
    abolished: bool = False
    law_level: str = ""
    category: str = ""
    corpus_version: str = ""   # the corpus version this text was first seen in
    extra: str = ""             # e.g. the question of an FAQ row, a form number
    lead: str = ""              # a part's 項 lead-in (context for the embedder, not article text)

    @property
    def article_key(self) -> str:
        """The article this unit belongs to (parts collapse to one key)."""
        return f"{self.pcode}:{self.flno}"

    @property
    def header(self) -> str:
        return f"{self.law_name}{self.article}" if self.article else self.law_name

    def embed_text(self) -> str:
        """What the embedder sees: the law name and article number give context."""
        head = self.header + (f"（{self.chapter}）" if self.chapter else "")
        context = "".join(x + "\n" for x in (self.extra, self.lead) if x)
        return f"{head}\n{context}{self.text}"

    @property
    def content_hash(self) -> str:
        h = hashlib.sha256()
        for part in (self.law_name, self.article, self.chapter, self.lead, self.text, self.extra, str(self.abolished)):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()[:32]

    def to_dict(self) -> dict:
        return asdict(self)


def split_paragraphs(content: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[tuple[str, str]]:
    """Split an article at 項/款 line boundaries into parts of at most ``max_chars``.

    Returns (lead, text) pairs. Lines are the 項 and 款 as the database prints
    them; ``text`` is always verbatim article text within the budget. A part
    that begins with a 款 gets its 項's lead-in line as ``lead``, which only
    the embedder sees, so enumerated items are not read without their subject
    and a citation never quotes words the article does not have there.
    """
    if len(content) <= max_chars:
        return [("", content)]
    lines = [ln for ln in content.split("\n") if ln.strip()]
    parts: list[tuple[str, str]] = []
    cur: list[str] = []
    cur_lead = ""
    lead = ""
    for ln in lines:
        is_item = bool(_ITEM.match(ln))
        size = sum(len(x) + 1 for x in cur)
        if cur and size + len(ln) > max_chars:
            parts.append((cur_lead, "\n".join(cur)))
            cur = []
            cur_lead = lead[:80] if is_item else ""
        if not is_item:
            lead = ln
        # A single line longer than the budget is cut at sentence ends.
        while len(ln) > max_chars:
            cut = max(ln.rfind("。", 0, max_chars), ln.rfind("；", 0, max_chars))
            cut = cut + 1 if cut > max_chars // 3 else max_chars
            if cur:
                parts.append((cur_lead, "\n".join(cur)))
                cur, cur_lead = [], ""
            parts.append((cur_lead, ln[:cut]))
            cur_lead = ""
            ln = ln[cut:]
        if ln:
            cur.append(ln)
    if cur:
        parts.append((cur_lead, "\n".join(cur)))
    return parts


def law_units(law: Law, corpus_version: str = "", max_chars: int = DEFAULT_MAX_CHARS) -> list[Unit]:
    """Units of one law: one per article, long articles split into parts."""
    units: list[Unit] = []
    seen: dict[str, int] = {}
    for art in law.articles:
        flno = art.flno
        # Some old orders repeat a number; keep ids unique without losing either.
        if flno in seen:
            seen[flno] += 1
            flno = f"{flno}~{seen[flno]}"
        else:
            seen[flno] = 0
        pieces = split_paragraphs(art.content, max_chars)
        for k, (lead, text) in enumerate(pieces):
            part = 0 if len(pieces) == 1 else k + 1
            uid = f"{law.pcode}:{flno}" + (f"#{part}" if part else "")
            units.append(Unit(
                id=uid, source_kind="law", law_name=law.name, pcode=law.pcode,
                article=art.number, flno=art.flno, part=part, chapter=art.chapter, text=text,
                url=article_url(law.pcode, art.flno), modified=law.modified, abolished=law.abolished,
                law_level=law.level, category=law.category, corpus_version=corpus_version, lead=lead,
            ))
    return units
