"""How articles point at each other: which penalty punishes which duty.

A question about consequences ("沒許可就排水，被查到會怎樣？") is answered by a
penalty article that names the duty only by number ("違反第十四條第一項…者，處
新臺幣六萬元以上…罰鍰"), so it shares almost no words with the question, while
the duty article it cites shares many. The graph lets retrieval follow the
duties a question matches to the penalties that cite them, and it knows that an
order's articles stand behind the article of the act that authorizes the order
(its first article: "本辦法依水污染防治法第二十一條第二項規定訂定之"), and
which article of another law an article carries out ("依本法第二十六條第二項規
定…").

Built from the units at load time; nothing here is stored in the index.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.units import Unit

from .refs import cn_to_int

# "第十四條", "第六十六條之一", qualified by the law it belongs to when the text says so.
_NUM = r"[零〇一二兩三四五六七八九十百]+"
_REF = re.compile(rf"(本法|本條例|[\u4e00-\u9fff（）]{{2,30}}?(?:法|條例|辦法|準則|標準|細則))?第({_NUM})條(?:之({_NUM}))?")
_AUTHORITY = re.compile(r"依(.{2,40}?)(?:（以下簡稱本(?:法|條例)）)?第.{1,80}?規定(?:訂定|設置)")
# Laws whose whole content is about fixing penalties (裁罰準則, 按次處罰執行準則 …).
_PENALTY_LAW = re.compile(r"裁罰|罰鍰額度|處罰")
# A question about consequences, fines or sanctions.
_PENALTY_ASK = re.compile(r"罰|後果|下場|會(?:被)?怎(?:麼)?樣|會(?:被)?如何|處分|勒令")


def asks_penalty(question: str) -> bool:
    return bool(_PENALTY_ASK.search(question))


def _flno(num: str, sub: str | None) -> str:
    return f"{cn_to_int(num)}-{cn_to_int(sub)}" if sub else str(cn_to_int(num))


@dataclass
class LawGraph:
    authority: dict[str, list[str]] = field(default_factory=dict)   # order pcode -> act article keys behind it
    punishes: dict[str, list[str]] = field(default_factory=dict)    # cited article key -> penalty article keys
    law_penalties: dict[str, list[str]] = field(default_factory=dict)  # pcode named whole -> penalty article keys
    cites: dict[str, list[str]] = field(default_factory=dict)       # article key -> articles of other laws it cites

    penalties: set[str] = field(default_factory=set)                 # every penalty article key

    def penalties_of(self, key: str) -> list[str]:
        return self.punishes.get(key, [])


def _resolve(prefix: str | None, own: str, parent: str | None, law_names: dict[str, str]) -> str | None:
    """The pcode a reference belongs to: 本法 is the parent act in an order, the law itself in an act."""
    if not prefix:
        return own
    if prefix.endswith(("本法", "本條例")):
        return parent or own
    for name, pcode in law_names.items():
        if prefix.endswith(name):
            return pcode
    return None   # another law we do not hold (行政罰法 is held; 刑法 is not)


def build_graph(article_units: dict[str, list[Unit]], law_names: dict[str, str]) -> LawGraph:
    g = LawGraph()
    by_law: dict[str, list[tuple[str, list[Unit]]]] = {}
    for key, units in article_units.items():
        u = units[0]
        if u.source_kind == "law" and u.pcode:
            by_law.setdefault(u.pcode, []).append((key, units))

    parent: dict[str, str] = {}
    for pcode, arts in by_law.items():
        first = "".join(x.text for x in arts[0][1])
        m = _AUTHORITY.search(first[:200])
        if not m:
            continue
        src = _resolve(m.group(1).strip(), pcode, None, law_names)
        if not src or src == pcode:
            continue
        parent[pcode] = src
        keys = [f"{src}:{_flno(r.group(2), r.group(3))}" for r in _REF.finditer(m.group(0))]
        g.authority[pcode] = list(dict.fromkeys(keys))

    for pcode, arts in by_law.items():
        for key, units in arts[1:] if pcode in g.authority else arts:   # an order's first article is its authority
            cited = []
            for r in _REF.finditer("".join(x.text for x in units)):
                src = _resolve(r.group(1), pcode, parent.get(pcode), law_names)
                if src and src != pcode:
                    cited.append(f"{src}:{_flno(r.group(2), r.group(3))}")
            if cited:
                g.cites[key] = list(dict.fromkeys(cited))

    for pcode, arts in by_law.items():
        name = arts[0][1][0].law_name
        whole_law = bool(_PENALTY_LAW.search(name))
        for key, units in arts:
            if not (whole_law or "罰則" in units[0].chapter):
                continue
            text = "".join(x.text for x in units)
            if whole_law and key == arts[0][0]:
                continue   # the authority sentence is not a penalty
            g.penalties.add(key)
            for r in _REF.finditer(text):
                if whole_law and not r.group(1):
                    continue   # "依第三條計算" inside the rules points within the rules, not at a duty
                src = _resolve(r.group(1), pcode, parent.get(pcode), law_names)
                if src:
                    cited = f"{src}:{_flno(r.group(2), r.group(3))}"
                    if cited != key:
                        g.punishes.setdefault(cited, []).append(key)
            for lname, lp in law_names.items():
                if lp != pcode and len(lname) > 4 and f"違反{lname}" in text:
                    g.law_penalties.setdefault(lp, []).append(key)
    for d in (g.punishes, g.law_penalties):
        for k, v in d.items():
            d[k] = list(dict.fromkeys(v))
    return g
