"""Cited drafts from retrieved articles, or an honest "the corpus does not say".

The default drafter is extractive: every sentence of the answer is a sentence
of a cited article, quoted with its [n] marker, so nothing in a draft can be
more than the sources say. Staff edit the wording before anything is sent.
When the evidence is weak (the question is outside the water-permit scope, or
nothing retrieved speaks to it) the draft abstains and routes to staff.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from ingest.units import Unit

from .citations import Citation, Draft
from .scope import check_scope
from .retrieval import ArticleHit, SearchResult
from .textproc import bigrams, expansions, normalize, words

MAX_CITATIONS = 3
_SENT = re.compile(r"(?<=[。；：])|\n")
ABSTAIN_TEXT = ("這個問題目前收錄的水污染防治法規資料無法確定回答，為避免提供不正確的資訊，"
                "已轉請本局承辦人員確認後回覆您。")
FOOTER = "※ 本回覆依上列法規條文整理，條文全文以全國法規資料庫公告為準。"


class Drafter(Protocol):
    def draft(self, question: str, result: SearchResult) -> Draft: ...


@dataclass
class Evidence:
    strong: bool
    reason: str
    coverage: float      # share of the question's key terms found in the best article
    dense: float         # best dense similarity


def query_terms(norm: str) -> tuple[set[str], set[str]]:
    """Key words (with expansions) and bigrams of a normalized question."""
    ws = {w for w in words(norm) if len(w) > 1 or re.match(r"[\u4e00-\u9fff]", w) is None}
    exp = {w for e in expansions(norm) for w in words(normalize(e))}
    grams = set(bigrams(norm)) | {b for e in expansions(norm) for b in bigrams(e)}
    return ws | exp, grams


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text) if s and s.strip()]


def sentence_score(sent: str, terms: set[str], grams: set[str]) -> float:
    s = normalize(sent)
    hit_w = sum(1 for w in terms if w in s)
    hit_g = sum(1 for g in grams if g in s)
    return (2 * hit_w + hit_g) / (1 + len(s) / 60) ** 0.5


def best_passage(unit_texts: list[str], terms: set[str], grams: set[str], limit: int = 3) -> str:
    """The article's most question-like sentences, in article order."""
    sents = [s for t in unit_texts for s in sentences(t)]
    if not sents:
        return ""
    ranked = sorted(range(len(sents)), key=lambda i: -sentence_score(sents[i], terms, grams))
    keep = sorted(i for i in ranked[:limit] if sentence_score(sents[i], terms, grams) > 0) or [0]
    return "".join(sents[i] if sents[i][-1:] in "。；：" else sents[i] + "。" for i in keep)


def assess(result: SearchResult) -> Evidence:
    """Is there evidence enough to draft an answer? (abstention)"""
    if not result.hits:
        return Evidence(False, "沒有找到相關條文", 0.0, 0.0)
    top = result.hits[0]
    if top.explicit:
        return Evidence(True, "", 1.0, 1.0)
    scope = check_scope(result.query)
    if not scope.in_scope:
        return Evidence(False, scope.reason, 0.0, result.lane_top.get("dense", 0.0))
    terms, _ = query_terms(result.normalized)
    text = normalize(" ".join(u.text for u in top.units) + top.unit.law_name)
    cov = sum(1 for w in terms if w in text) / max(1, len(terms))
    dense = result.lane_top.get("dense", 0.0)
    if not terms:
        return Evidence(False, "問題中沒有可查詢的法規用語", cov, dense)
    if dense < 0.80 and cov < 0.25:
        return Evidence(False, f"條文與問題相關性低（相似度 {dense:.2f}，關鍵詞涵蓋 {cov:.0%}）", cov, dense)
    return Evidence(True, "", cov, dense)


def _citation(n: int, hit: ArticleHit, terms: set[str], grams: set[str]) -> Citation:
    u: Unit = hit.unit
    # Parts of a split article are cited as the article; the passage comes from the best parts.
    full = "\n".join(x.text for x in sorted(hit.units, key=lambda x: x.part))
    return Citation(
        n=n, unit_id=u.id, law_name=u.law_name, pcode=u.pcode, article=u.article, url=u.url,
        text=full, passage=best_passage([x.text for x in hit.units[:2]], terms, grams),
        score=round(hit.score, 4), abolished=u.abolished, source_kind=u.source_kind,
    )


def choose(hits: list[ArticleHit]) -> list[ArticleHit]:
    """Top articles that are close enough to the best one to be worth citing."""
    if not hits:
        return []
    chosen = [h for h in hits if h.explicit]
    floor = hits[0].score * 0.55
    for h in hits:
        if len(chosen) >= MAX_CITATIONS:
            break
        if h not in chosen and (h.score >= floor or len(chosen) < 2):
            chosen.append(h)
    return chosen


class ExtractiveDrafter:
    """No model: the answer is the cited articles' own sentences, numbered."""

    def draft(self, question: str, result: SearchResult) -> Draft:
        ev = assess(result)
        if not ev.strong:
            return Draft(question=question, text=ABSTAIN_TEXT, citations=[], abstained=True, reason=ev.reason)
        terms, grams = query_terms(result.normalized)
        cites = [_citation(i + 1, h, terms, grams) for i, h in enumerate(choose(result.hits))]
        lead = cites[0]
        lines = [f"依{lead.label}規定：{lead.passage}[1]"]
        for c in cites[1:]:
            lines.append(f"另依{c.label}：{c.passage}[{c.n}]")
        lines.append("")
        lines.append("法規依據：")
        for c in cites:
            flag = "（已廢止）" if c.abolished else ""
            lines.append(f"[{c.n}] {c.label}{flag} {c.url}")
        lines.append(FOOTER)
        return Draft(question=question, text="\n".join(lines), citations=cites, abstained=False)


def get_drafter(name: str = "extractive") -> Drafter:
    if name == "extractive":
        return ExtractiveDrafter()
    raise ValueError(f"unknown drafter {name!r}; the embedded default is 'extractive' "
                     "(an LLM drafter through langchain is planned, not yet available)")
