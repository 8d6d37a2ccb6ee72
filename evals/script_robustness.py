"""Simplified-character robustness: `python -m evals.script_robustness --questions FILE [--json OUT]`.

Every question of the file, answerable and out of scope alike, is turned into
simplified characters with OpenCC (``t2s``) and scored by the same harness as
`wpa eval`: on the questions as written, on the simplified ones as the
product reads them, and on the simplified ones with the reader switched off
(``assistant/simplified.py``), on the current index (``$WPA_HOME``).
"""
from __future__ import annotations

import dataclasses
import json

import opencc

from assistant.pipeline import Assistant

from .harness import benchmark_args, load_questions, run_eval


class _AsTyped:
    """The reader switched off: the question is searched as typed."""

    def to_traditional(self, text: str) -> str:
        return text


def main() -> None:
    args = benchmark_args(__doc__)
    a = Assistant.load()
    questions = load_questions(args.questions)
    t2s = opencc.OpenCC("t2s")
    simplified = [dataclasses.replace(q, question=t2s.convert(q.question)) for q in questions]
    changed = sum(q.question != s.question for q, s in zip(questions, simplified))
    runs = {"as written": run_eval(a, questions, baselines=False),
            "simplified": run_eval(a, simplified, baselines=False)}
    reader, a.retriever.script = a.retriever.script, _AsTyped()
    try:
        runs["simplified, reader off"] = run_eval(a, simplified, baselines=False)
    finally:
        a.retriever.script = reader
    out = {"questions": len(questions), "changed_by_t2s": changed,
           "examples": [s.question for s in simplified[:5]], "runs": {}}
    print(f"{changed} of {len(questions)} questions change in simplified characters")
    print(f"{'':24s} R@1    R@5    MRR@10 coverage abst.recall answerable-abstained")
    for name, report in runs.items():
        r, d = report.retrieval[0], report.drafts
        out["runs"][name] = {"retrieval": r, "drafts": d}
        print(f"{name:24s} {r['recall@1']:.3f}  {r['recall@5']:.3f}  {r['mrr@10']:.3f}  "
              f"{d['key_fact_coverage'] or 0:.3f}    {d['abstention_recall'] or 0:.3f}       "
              f"{d['answerable_abstained'] or 0:.3f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
