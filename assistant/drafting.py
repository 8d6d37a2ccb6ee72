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
from .lawgraph import asks_penalty
from .scope import check_scope
from .retrieval import ArticleHit, DocumentHit, SearchResult
from .textproc import bigrams, expansions, normalize, words

MAX_CITATIONS = 5   # staff pick and trim; a relevant article left out cannot be added back by them as easily
CITE_FLOOR = 0.7    # an article is cited when its score is at least this share of the best one's
_SENT = re.compile(r"(?<=[。；：])|\n")
_ITEM = re.compile(r"^(?:[一二三四五六七八九十百]+、|（[一二三四五六七八九十百]+）)")
ABSTAIN_TEXT = ("這個問題目前收錄的水污染防治法規資料無法確定回答，為避免提供不正確的資訊，"
                "已轉請本局承辦人員確認後回覆您。")
FOOTER = "※ 本回覆依上列法規條文整理，條文全文以全國法規資料庫公告為準。"
DOC_FOOTER = "※ 本回覆依本局服務資料整理。"
FAQ_ANSWER = 0.5    # an FAQ entry the question restates this closely is the answer (see faq_for)
FORM_MIN = 0.4      # a form whose name the question speaks of this closely is pointed to (see form_for)
_FORM_ASK = re.compile(r"申請書|申請表|申報表|書表|表單|表格|哪一?張表|下載|(填|送|交|附)什麼表")


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


_ASKS_TIME = re.compile(r"多久|幾日|幾天|期限|何時|幾月|什麼時候|多長|最長|最晚|幾年|期間|頻率|幾次")
_ASKS_MONEY = re.compile(r"多少錢|罰多少|罰款|罰鍰|費用|審查費|收費|繳")
_TIME = re.compile(r"[一二三四五六七八九十百]+(?:個)?(?:日|月|年|小時|週|星期|工作日)|每[一二三四五六七八九十]*[日月年季週]")
_MONEY = re.compile(r"[一二三四五六七八九十百千萬]+元")
_SANCTION = re.compile(r"罰鍰|罰金|有期徒刑|停工|停業|歇業|廢止其")


def sentence_score(sent: str, terms: set[str], grams: set[str], question: str = "") -> float:
    """Overlap with the question, plus a bonus for the kind of fact it asks for.

    A question that asks "how long" or "how much" is answered by a sentence
    with a period or an amount in it, and one about consequences by a sentence
    that names a sanction, so those sentences are preferred.
    """
    s = normalize(sent)
    hit_w = sum(1 for w in terms if w in s)
    hit_g = sum(1 for g in grams if g in s)
    bonus = 0.0
    if question and _ASKS_TIME.search(question) and _TIME.search(s):
        bonus += 2.0
    if question and _ASKS_MONEY.search(question) and _MONEY.search(s):
        bonus += 2.0
    if question and asks_penalty(question) and _SANCTION.search(s):
        bonus += 2.0
    return (2 * hit_w + hit_g + bonus) / (1 + len(s) / 60) ** 0.5


WHOLE_ARTICLE_CHARS = 400   # a short article is quoted whole: its sentences lean on each other
SENTENCES = (6, 4, 3)        # sentences quoted from the best article, the second, and each later one


def best_passage(unit_texts: list[str], terms: set[str], grams: set[str], limit: int = 4, question: str = "") -> str:
    """The article's most question-like sentences, in article order."""
    sents = [s for t in unit_texts for s in sentences(t)]
    if not sents:
        return ""
    if sum(len(x) for x in sents) <= WHOLE_ARTICLE_CHARS:
        return "".join(x if x[-1:] in "。；：" else x + "。" for x in sents)
    score = [sentence_score(x, terms, grams, question) for x in sents]
    ranked = sorted(range(len(sents)), key=lambda i: -score[i])
    keep = {i for i in ranked[:limit] if score[i] > 0} or {0}
    # An enumerated item (一、…) is quoted with the sentence that introduces its list
    # ("…有下列情事之一者，依本法第四十八條第三項規定處罰："): without it the item has no subject.
    for i in list(keep):
        if _ITEM.match(sents[i]):
            lead = next((j for j in range(i - 1, -1, -1) if sents[j].endswith("：") and not _ITEM.match(sents[j])), None)
            if lead is not None:
                keep.add(lead)
    keep = sorted(keep)
    return "".join(sents[i] if sents[i][-1:] in "。；：" else sents[i] + "。" for i in keep)


def assess(result: SearchResult) -> Evidence:
    """Is there evidence enough to draft an answer? (abstention)"""
    if not result.hits:
        return Evidence(False, "沒有找到相關條文", 0.0, 0.0)
    top = result.hits[0]
    if top.explicit:
        return Evidence(True, "", 1.0, 1.0)
    scope = result.scope or check_scope(result.read_as or result.query)
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


def _citation(n: int, hit: ArticleHit, terms: set[str], grams: set[str], question: str) -> Citation:
    u: Unit = hit.unit
    # Parts of a split article are cited as the article; the passage comes from the best parts.
    full = "\n".join(x.text for x in sorted(hit.units, key=lambda x: x.part))
    return Citation(
        n=n, unit_id=u.id, law_name=u.law_name, pcode=u.pcode, article=u.article, url=u.url,
        text=full, passage=best_passage([x.text for x in sorted(hit.units, key=lambda x: x.part)], terms, grams,
                                        limit=SENTENCES[min(n, len(SENTENCES)) - 1], question=question),
        score=round(hit.score, 4), abolished=u.abolished, source_kind=u.source_kind,
    )


def choose(hits: list[ArticleHit]) -> list[ArticleHit]:
    """Top articles that are close enough to the best one to be worth citing.

    CITE_FLOOR is relative to the best score, so it moves with the fusion's
    spread: with RRF_K 20 a floor of 0.7 cites 4.4 articles on average on the
    development set (key-fact coverage 0.82), as 0.75 did with RRF_K 60.
    """
    if not hits:
        return []
    chosen = [h for h in hits if h.explicit]
    floor = hits[0].score * CITE_FLOOR
    for h in hits:
        if len(chosen) >= MAX_CITATIONS:
            break
        if h not in chosen and (h.score >= floor or len(chosen) < 2):
            chosen.append(h)
    return chosen


def _document_citation(n: int, doc: DocumentHit) -> Citation:
    u = doc.unit
    return Citation(n=n, unit_id=u.id, law_name=u.law_name, pcode="", article=u.extra, url=u.url,
                    text=u.text, passage=u.text, score=doc.match, source_kind=u.source_kind)


def faq_for(result: SearchResult) -> DocumentHit | None:
    """The bureau's FAQ entry the question restates, unless the question names an article.

    An FAQ entry is the bureau's own approved answer to a question about its
    service (can corrections be sent in LINE, who writes the replies), which no
    law article answers; retrieval over the laws would cite something loosely
    related instead.
    """
    if result.hits and result.hits[0].explicit:
        return None
    return next((d for d in result.documents if d.unit.source_kind == "faq" and d.match >= FAQ_ANSWER), None)


def form_for(result: SearchResult) -> DocumentHit | None:
    """The catalog's form for a question that asks which form to file (申請書, 表格, 下載 …)."""
    if not _FORM_ASK.search(result.read_as or result.query):
        return None
    return next((d for d in result.documents if d.unit.source_kind == "form" and d.match >= FORM_MIN), None)


def _short_answer(cites: list[Citation], chosen: list[ArticleHit], terms: set[str], grams: set[str], q: str) -> str:
    """The direct answer: the single most question-like sentence among the cited passages,
    taken from the article the question names when it names one."""
    named = [c for c, h in zip(cites, chosen) if h.explicit]
    best, best_n, best_score = "", cites[0].n, -1.0
    for c in named or cites:
        for sent in sentences(c.passage):
            sc = sentence_score(sent, terms, grams, q) * (1.0 if c.n == 1 else 0.8)
            if sc > best_score:
                best, best_n, best_score = sent, c.n, sc
    return f"簡答：依{cites[best_n - 1].label}，{_with_lead(best, sentences(cites[best_n - 1].text))}[{best_n}]"


def _with_lead(sent: str, article: list[str]) -> str:
    """An enumerated item as the short answer keeps the sentence that introduces its list.

    "三、放流水導電度不得低於…" says nothing on its own; with "…處理設施，應維持
    正常操作，其規定如下：" in front it is an answer. A lead-in that is a proviso
    ("但因公務需要辦理者，不適用之：") keeps the sentence it qualifies, which names
    the list ("…辦理下列事項，應徵收行政規費。"). When the article holds no lead-in,
    the item's bare number is dropped instead.
    """
    m = _ITEM.match(sent)
    if not m:
        return sent
    # The passage closes an unpunctuated sentence (a list's last item) with 。; the article does not.
    i = next((k for k, x in enumerate(article) if sent in (x, x + "。")), 0)
    j = next((j for j in range(i - 1, -1, -1) if article[j].endswith("：") and not _ITEM.match(article[j])), None)
    if j is None:
        return sent[m.end():]
    lead = article[j]
    if lead.startswith("但") and j > 0 and not _ITEM.match(article[j - 1]):
        lead = article[j - 1] + lead
    return lead + sent


class ExtractiveDrafter:
    """No model: the answer is the cited articles' own sentences, numbered."""

    def draft(self, question: str, result: SearchResult) -> Draft:
        faq = faq_for(result)
        ev = assess(result)
        if faq is None and not ev.strong:
            return Draft(question=question, text=ABSTAIN_TEXT, citations=[], abstained=True, reason=ev.reason)
        terms, grams = query_terms(result.normalized)
        q = result.normalized
        cites: list[Citation] = [_document_citation(1, faq)] if faq else []
        chosen = choose(result.hits) if ev.strong else []
        if faq is not None:        # beside an FAQ answer, only the laws its 依據 names (none for a service question)
            chosen = [h for h in chosen if h.unit.law_name in faq.unit.text]
        cites += [_citation(len(cites) + i + 1, h, terms, grams, q) for i, h in enumerate(chosen)]
        # The bureau's FAQ answer (without its 依據 line) is the short answer when there is one.
        short = f"簡答：{faq.unit.text.splitlines()[0]}[1]" if faq else _short_answer(cites, chosen, terms, grams, q)
        lines = [short, "", "說明："]
        for c in cites:
            flag = "（已廢止）" if c.abolished else ""
            lines.append(f"[{c.n}] {c.label}{flag}：「{c.passage}」")
        form = form_for(result)
        if form is not None:
            cites.append(_document_citation(len(cites) + 1, form))
            lines += ["", "相關書表：", f"[{cites[-1].n}] {cites[-1].label}：「{cites[-1].passage}」"]
        laws = [c for c in cites if c.source_kind == "law"]
        if laws:
            lines += ["", "法規連結："] + [f"[{c.n}] {c.label} {c.url}" for c in laws]
        lines.append(FOOTER if laws else DOC_FOOTER)
        return Draft(question=question, text="\n".join(lines), citations=cites, abstained=False)


def get_drafter(name: str = "extractive") -> Drafter:
    if name == "extractive":
        return ExtractiveDrafter()
    raise ValueError(f"unknown drafter {name!r}; the embedded default is 'extractive' "
                     "(an LLM drafter through langchain is planned, not yet available)")
