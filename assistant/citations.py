"""Citations and drafts: the values every later stage passes around.

A draft is only as trustworthy as its citations, so a citation carries
everything a reviewer needs to check it without another lookup: the law,
the article, the official link, the article text and the passage the draft
leans on (PaperQA2 keeps its contexts first-class in the same way).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Citation:
    n: int                 # the number shown in the draft: [1], [2] …
    unit_id: str           # stable id of the indexed unit, e.g. "O0040055:31" or "O0040054:86#2"
    law_name: str
    pcode: str
    article: str           # as in the corpus, e.g. "第 14-1 條"
    url: str               # official link to this article
    text: str              # the full text of the cited unit
    passage: str           # the sentence(s) the draft relies on (highlight these)
    score: float
    abolished: bool = False
    source_kind: str = "law"   # law | faq | guide | form | defect | pdf

    @property
    def label(self) -> str:
        if self.source_kind != "law" and self.article:
            return f"{self.law_name}〈{self.article}〉"      # a bureau document and its entry
        return f"{self.law_name}{self.article}" if self.article else self.law_name


@dataclass
class Draft:
    question: str
    text: str                      # the full draft, Traditional Chinese, with [n] markers
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False        # True: corpus does not answer; route to staff
    reason: str = ""               # why it abstained (for staff), empty otherwise
    timings: dict[str, float] = field(default_factory=dict)   # milliseconds per stage
    corrections: list[tuple[str, str]] = field(default_factory=list)   # typos read as terms (typo, term), for staff
    read_as: str = ""              # the question in traditional characters, when it was typed in simplified

    def to_dict(self) -> dict:
        return asdict(self)
