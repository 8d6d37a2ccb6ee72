"""Retrieval and draft metrics, computed from ranked article keys."""
from __future__ import annotations

import math


def recall_at(ranked: list[str], relevant: set[str], k: int) -> float:
    """1 if any relevant article is in the top k (the issue's definition), else 0."""
    return 1.0 if any(r in relevant for r in ranked[:k]) else 0.0


def mrr_at(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    for i, r in enumerate(ranked[:k], start=1):
        if r in relevant:
            return 1.0 / i
    return 0.0


def ndcg_at(ranked: list[str], relevant: list[str], k: int = 10) -> float:
    """Graded by the order reviewers listed them: the primary article counts most."""
    gains = {r: 2.0 if i == 0 else 1.0 for i, r in enumerate(relevant)}
    dcg = sum(gains.get(r, 0.0) / math.log2(i + 2) for i, r in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def coverage(draft: str, points: list[str]) -> float:
    """Share of answer points found verbatim in the draft (spacing ignored)."""
    if not points:
        return 0.0
    d = "".join(draft.split())
    return sum(1 for p in points if "".join(p.split()) in d) / len(points)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)
