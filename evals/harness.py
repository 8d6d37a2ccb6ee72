"""`wpa eval`: retrieval and draft quality on a question file, against baselines.

Reads any file in the format of shared/evals/README.md (unknown keys ignored;
answer_points optional). Every figure for the product is printed beside the
same figure for lexical-only, dense-only and naive-RAG baselines on the same
index, so a number is read as a ratio, not on its own.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest.moj import article_flno

from .metrics import coverage, mrr_at, ndcg_at, percentile, recall_at


@dataclass
class Question:
    id: str
    question: str
    relevant: list[str]          # article keys "pcode:flno", primary first
    answer_points: list[str]
    kind: str
    category: str = ""


def benchmark_args(doc: str) -> argparse.Namespace:
    """The arguments of a benchmark over a question file: ``--questions FILE [--json OUT]``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--questions", required=True)
    ap.add_argument("--json", default=None)
    return ap.parse_args()


def load_questions(path: str | Path) -> list[Question]:
    out = []
    with Path(path).open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {n} is not valid JSON ({exc.msg})") from exc
            if "question" not in d:
                raise ValueError(f"{path}: line {n} has no 'question'")
            rel = [f"{r['pcode']}:{article_flno(r['article'])}" for r in d.get("relevant") or []]
            out.append(Question(id=str(d.get("id", n)), question=d["question"], relevant=rel,
                                answer_points=list(d.get("answer_points") or []),
                                kind=d.get("kind", "answerable" if rel else "out_of_scope"),
                                category=d.get("category", "")))
    return out


@dataclass
class RetrievalScores:
    name: str
    r1: float = 0.0
    r5: float = 0.0
    r10: float = 0.0
    mrr: float = 0.0
    ndcg: float = 0.0
    n: int = 0

    def add(self, ranked: list[str], relevant: list[str]) -> None:
        rel = set(relevant)
        self.r1 += recall_at(ranked, rel, 1)
        self.r5 += recall_at(ranked, rel, 5)
        self.r10 += recall_at(ranked, rel, 10)
        self.mrr += mrr_at(ranked, rel, 10)
        self.ndcg += ndcg_at(ranked, relevant, 10)
        self.n += 1

    def means(self) -> dict:
        n = max(self.n, 1)
        return {"system": self.name, "recall@1": self.r1 / n, "recall@5": self.r5 / n, "recall@10": self.r10 / n,
                "mrr@10": self.mrr / n, "ndcg@10": self.ndcg / n, "questions": self.n}


@dataclass
class EvalReport:
    retrieval: list[dict]
    drafts: dict
    per_question: list[dict] = field(default_factory=list)

    def by_category(self) -> list[dict]:
        """The product's Recall@5, MRR@10 and coverage per question category (and kind), weakest first.

        A single average hides which kind of question fails; the legal team
        reads this table to see where the corpus or the retrieval falls short.
        """
        groups: dict[str, list[dict]] = {}
        for row in self.per_question:
            if "rank" not in row:
                continue
            label = row.get("category") or "(none)"
            if row.get("kind") not in ("answerable", "out_of_scope", None):
                label += f" [{row['kind']}]"
            groups.setdefault(label, []).append(row)
        out = []
        for label, rows in groups.items():
            ranks = [r["rank"] for r in rows]
            covs = [r["coverage"] for r in rows if "coverage" in r]
            out.append({"category": label, "questions": len(rows),
                        "recall@5": sum(1 for k in ranks if k and k <= 5) / len(rows),
                        "mrr@10": sum(1 / k for k in ranks if k and k <= 10) / len(rows),
                        "coverage": sum(covs) / len(covs) if covs else None})
        return sorted(out, key=lambda r: (r["recall@5"], r["mrr@10"]))


def run_eval(assistant, questions: list[Question], baselines: bool = True, naive=None) -> EvalReport:
    """Score the product and the baselines on the same index."""
    systems = {"hybrid (product)": RetrievalScores("hybrid (product)")}
    if baselines:
        systems |= {"lexical only": RetrievalScores("lexical only"), "dense only": RetrievalScores("dense only")}
        if naive is not None:
            systems["naive RAG (500-char chunks, dense)"] = RetrievalScores("naive RAG (500-char chunks, dense)")
    answerable = [q for q in questions if q.kind != "out_of_scope" and q.relevant]
    oos = [q for q in questions if q.kind == "out_of_scope"]

    # Warm-up so latency is the warm figure (first query loads jieba, the model, caches).
    assistant.ask(questions[0].question if questions else "許可證")

    per_q = []
    latencies = []
    cov_sum, cov_n, cite_ok, answered, abstained_answerable = 0.0, 0, 0, 0, 0
    oos_abstained = 0
    for q in questions:
        t = time.perf_counter()
        draft = assistant.ask(q.question)
        latencies.append((time.perf_counter() - t) * 1000)
        row = {"id": q.id, "kind": q.kind, "category": q.category, "abstained": draft.abstained,
               "citations": [c.unit_id for c in draft.citations]}
        if q.kind == "out_of_scope":
            oos_abstained += draft.abstained
        elif q.relevant:
            ranked = [h.key for h in assistant.search(q.question, k=10).hits]
            systems["hybrid (product)"].add(ranked, q.relevant)
            row["ranked"] = ranked[:5]
            row["rank"] = next((i + 1 for i, k in enumerate(ranked) if k in q.relevant), None)
            if baselines:
                systems["lexical only"].add([h.key for h in assistant.search(q.question, k=10, mode="lexical").hits], q.relevant)
                systems["dense only"].add([h.key for h in assistant.search(q.question, k=10, mode="dense").hits], q.relevant)
                if naive is not None:
                    systems["naive RAG (500-char chunks, dense)"].add(naive.ranked_articles(q.question), q.relevant)
            if draft.abstained:
                abstained_answerable += 1
            else:
                answered += 1
                first = draft.citations[0] if draft.citations else None
                cite_ok += bool(first and f"{first.pcode}:{article_flno(first.article)}" in q.relevant)
            if q.answer_points:
                c = 0.0 if draft.abstained else coverage(draft.text, q.answer_points)
                cov_sum += c
                cov_n += 1
                row["coverage"] = c
        per_q.append(row)

    total_abstained = abstained_answerable + oos_abstained
    drafts = {
        "key_fact_coverage": cov_sum / cov_n if cov_n else None,
        "citation_precision": cite_ok / answered if answered else None,
        "abstention_recall": oos_abstained / len(oos) if oos else None,
        "abstention_precision": oos_abstained / total_abstained if total_abstained else None,
        "answerable_abstained": abstained_answerable / len(answerable) if answerable else None,
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p95_ms": percentile(latencies, 0.95),
        "questions": len(questions), "answerable": len(answerable), "out_of_scope": len(oos),
    }
    return EvalReport([s.means() for s in systems.values()], drafts, per_q)
