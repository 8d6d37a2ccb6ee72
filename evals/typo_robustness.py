"""Typo robustness: `python -m evals.typo_robustness --questions FILE [--json OUT]`.

Questions typed with a phonetic input method carry homophone typos (許可正
for 許可證). This makes a perturbed copy of every answerable question: one
domain term it contains gets one character swapped for a common character of
the same reading (seeded, so every run perturbs alike), and scores retrieval
on the clean questions, on the perturbed ones as the product answers them,
and on the perturbed ones with the typo fixer switched off, on the current
index (``$WPA_HOME``).
"""
from __future__ import annotations

import json
import random
from collections import Counter, defaultdict

from assistant.pipeline import Assistant
from assistant.textproc import correction_terms, normalize
from assistant.typos import readings

from .harness import Question, benchmark_args, load_questions
from .metrics import mrr_at, recall_at

COMMON_CHARS = 3000     # replacement characters come from the corpus's most frequent ones


def perturb(questions: list[Question], corpus_text: str, seed: int = 7) -> list[tuple[Question, str, str, str]]:
    """(question, perturbed text, term, typo) for each answerable question that holds a domain term."""
    freq = Counter(c for c in corpus_text if "\u4e00" <= c <= "\u9fff")
    by_reading: dict[str, list[str]] = defaultdict(list)
    for ch, _ in freq.most_common(COMMON_CHARS):
        by_reading[min(readings(ch))].append(ch)
    terms = sorted(correction_terms(), key=lambda t: (-len(t), t))
    rng = random.Random(seed)
    out = []
    for q in questions:
        if q.kind == "out_of_scope" or not q.relevant:
            continue
        text = normalize(q.question)
        found = [t for t in terms if len(t) >= 2 and t in text]
        if not found:
            continue
        term = rng.choice(found)
        j = rng.randrange(len(term))
        alts = [c for c in by_reading[min(readings(term[j]))] if c != term[j]][:5]
        if not alts:
            continue
        typo = term[:j] + rng.choice(alts) + term[j + 1:]
        out.append((q, text.replace(term, typo, 1), term, typo))
    return out


def score(a: Assistant, items: list[tuple[Question, str]]) -> dict:
    r1 = r5 = mrr = 0.0
    for q, text in items:
        ranked = [h.key for h in a.search(text, k=10).hits]
        r1 += recall_at(ranked, set(q.relevant), 1)
        r5 += recall_at(ranked, set(q.relevant), 5)
        mrr += mrr_at(ranked, set(q.relevant), 10)
    n = len(items) or 1
    return {"recall@1": r1 / n, "recall@5": r5 / n, "mrr@10": mrr / n}


def main() -> None:
    args = benchmark_args(__doc__)
    a = Assistant.load()
    r = a.retriever
    items = perturb(load_questions(args.questions), "\n".join(r.article_text.values()))
    out = {"questions": len(items), "examples": [[t, typo] for _, _, t, typo in items[:10]],
           "clean": score(a, [(q, q.question) for q, *_ in items]),
           "typos": score(a, [(q, text) for q, text, *_ in items])}
    fixer = r.typos
    r.typos = type(fixer)(known=lambda w: True)          # the same pipeline with no correction
    try:
        out["typos, fixer off"] = score(a, [(q, text) for q, text, *_ in items])
    finally:
        r.typos = fixer
    for name in ("clean", "typos", "typos, fixer off"):
        s = out[name]
        print(f"{name:18s} R@1 {s['recall@1']:.3f}  R@5 {s['recall@5']:.3f}  MRR@10 {s['mrr@10']:.3f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
