"""Explicit references in a question: "水污法第14條", "審查管理辦法第二十一條之1".

A question that names an article should get that article first, whatever the
similarity scores say; this module only finds the reference.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .textproc import law_aliases

_CN = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "兩": 2}
_ART = re.compile(
    r"第?\s*([0-9]+|[零〇一二兩三四五六七八九十百]+)\s*(?:-\s*([0-9]+)\s*條|條\s*(?:之\s*([0-9]+|[一二三四五六七八九十]+))?)"
)


def cn_to_int(s: str) -> int:
    if s.isdigit():
        return int(s)
    total, cur = 0, 0
    for ch in s:
        if ch == "百":
            total += (cur or 1) * 100
            cur = 0
        elif ch == "十":
            total += (cur or 1) * 10
            cur = 0
        else:
            cur = _CN.get(ch, 0)
    return total + cur


@dataclass
class ArticleRef:
    pcode: str | None      # None: the question names an article number but no law
    flno: str              # "14", "14-1"
    law_text: str = ""     # the words that named the law


def find_law(question: str, law_names: dict[str, str]) -> tuple[str | None, str]:
    """The law a question names: full names first (longest), then common aliases."""
    for name in sorted(law_names, key=len, reverse=True):
        if name and name in question:
            return law_names[name], name
    for alias, pcode in law_aliases():
        if alias in question:
            return pcode, alias
    return None, ""


def find_refs(question: str, law_names: dict[str, str]) -> list[ArticleRef]:
    """Every "(law) 第 N 條(之 M)" in the question, with the nearest law named before it."""
    refs = []
    for m in _ART.finditer(question):
        if not m.group(0).startswith("第") and "條" not in m.group(0):
            continue
        if not m.group(0).lstrip().startswith("第"):
            continue
        num = cn_to_int(m.group(1))
        sub = m.group(2) or m.group(3)
        flno = f"{num}-{cn_to_int(sub)}" if sub else str(num)
        pcode, text = find_law(question[:m.start()], law_names)
        if pcode is None:
            pcode, text = find_law(question, law_names)
        refs.append(ArticleRef(pcode=pcode, flno=flno, law_text=text))
    return refs
