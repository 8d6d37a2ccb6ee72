"""Is a question inside what this assistant may answer from the law corpus?

Two kinds of question are routed to staff before retrieval is trusted:
questions about another regulatory domain (air, waste, noise … are other
sections' laws, left out of the manifest on purpose) and requests that are not
about regulations at all (greetings, a case's progress, vendor advice, prices,
contact details, office hours, complaints). A question with no word of the
domain at all is routed too. The lists live in resources/scope.toml so the
section can maintain them without touching code.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .textproc import domain_words, fold, law_aliases, synonyms


@dataclass
class ScopeCheck:
    in_scope: bool
    reason: str = ""


@lru_cache(maxsize=1)
def _rules() -> dict:
    data = tomllib.loads(resources.files("assistant.resources").joinpath("scope.toml").read_text(encoding="utf-8"))
    data["_intents"] = {name: [re.compile(p, re.IGNORECASE) for p in pats] for name, pats in data["intents"].items()}
    anchors = set(data["domains"]["water_terms"]) | set(data["anchors"]["words"])
    anchors |= set(domain_words()) | {src for src, _ in synonyms() if len(src) > 1} | {a for a, _ in law_aliases()}
    data["_anchors"] = sorted(anchors, key=len, reverse=True)
    return data


def check_scope(question: str, known: Callable[[str], bool] | None = None) -> ScopeCheck:
    """Route a question to staff when the law corpus is not what answers it.

    ``known`` tells whether the corpus's own text uses a word. A question
    about another domain is routed even when it also names a water term, if
    the other domain's word is one the water laws never use: "廢水場的操作員
    加班費怎麼算" mentions wastewater, but asks about overtime pay, which no
    article here speaks of; "污泥算廢棄物嗎" stays, since the water laws do
    speak of 廢棄物.
    """
    q = fold(question)
    rules = _rules()
    for name, patterns in rules["_intents"].items():
        if any(p.search(q) for p in patterns):
            return ScopeCheck(False, f"非法規問題（{name}），請承辦人員回覆")
    water = any(t in q for t in rules["domains"]["water_terms"])
    for name, terms in rules["domains"].items():
        if name == "water_terms" or not isinstance(terms, list):
            continue
        found = [t for t in terms if t in q]
        if found and not water:
            return ScopeCheck(False, f"屬{name}法規，非水污染防治許可範圍，請轉相關業務單位")
        foreign = [t for t in found if known is not None and not known(t)]
        if foreign:
            return ScopeCheck(False, f"問題問的是{name}（{foreign[0]}），水污染防治法規未規定，請轉相關業務單位")
    if not any(t in q for t in rules["_anchors"]):
        return ScopeCheck(False, "問題中沒有水污染防治許可的相關用語，請承辦人員確認")
    return ScopeCheck(True)
