"""Cross-references between articles ("違反第十四條第一項規定者…").

A penalty article names the duty it punishes only by number, so on its own it
shares few words with a question about that duty. Following the reference and
lending the penalty article the referenced article's opening words lets a
question about the duty find its penalty (and the reverse), which is how a
reviewer reads the law too.
"""
from __future__ import annotations

import re

from ingest.units import Unit

from .refs import cn_to_int

_REF = re.compile(r"(本法|本辦法|本準則|本標準|本細則|本規則|本條例|同法)?第([一二三四五六七八九十百零]+)條(?:之([一二三四五六七八九十]+))?")
_PARENT = re.compile(r"依(.{2,30}?(?:法|條例))（以下簡稱本法）")
_SELF = {"法律": ("本法", "本條例"), "命令": ("本辦法", "本準則", "本標準", "本細則", "本規則")}


def parent_laws(units: list[Unit]) -> dict[str, str]:
    """pcode of an order → pcode of the law it implements (from "依…法（以下簡稱本法）")."""
    names = {u.law_name: u.pcode for u in units if u.pcode}
    out: dict[str, str] = {}
    for u in units:
        if u.pcode and u.pcode not in out:
            m = _PARENT.search(u.text)
            if m and m.group(1) in names:
                out[u.pcode] = names[m.group(1)]
    return out


def cross_references(units: list[Unit]) -> dict[str, list[str]]:
    """unit id → article keys it refers to (same law, or the parent law for 本法 in an order)."""
    parents = parent_laws(units)
    keys = {u.article_key for u in units if u.pcode}
    out: dict[str, list[str]] = {}
    for u in units:
        if not u.pcode:
            continue
        found: list[str] = []
        for m in _REF.finditer(u.text):
            prefix = m.group(1)
            flno = str(cn_to_int(m.group(2))) + (f"-{cn_to_int(m.group(3))}" if m.group(3) else "")
            if prefix is None or prefix in _SELF.get(u.law_level, ()):
                target = u.pcode if prefix is None or u.law_level == "法律" or prefix != "本法" else parents.get(u.pcode)
            elif prefix == "本法":
                target = parents.get(u.pcode)
            else:
                target = None
            key = f"{target}:{flno}" if target else ""
            if key in keys and key != u.article_key and key not in found:
                found.append(key)
        if found:
            out[u.id] = found
    return out


def lead_text(units_by_article: dict[str, list[Unit]], key: str, limit: int = 60) -> str:
    """The opening words of an article: enough to say what duty it sets."""
    parts = units_by_article.get(key)
    if not parts:
        return ""
    text = parts[0].text
    first = re.split(r"[。\n]", text, maxsplit=1)[0]
    return first[:limit]
