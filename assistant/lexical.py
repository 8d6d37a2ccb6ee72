"""BM25 lanes over jieba words and character bigrams (bm25s)."""
from __future__ import annotations

from dataclasses import dataclass

import bm25s
import numpy as np

from ingest.units import Unit

from .textproc import bigrams, normalize, words


@dataclass
class LexicalIndex:
    """Two BM25 indexes over the same units: jieba words and character bigrams."""

    words: bm25s.BM25
    grams: bm25s.BM25
    n: int

    @classmethod
    def build(cls, units: list[Unit]) -> "LexicalIndex":
        texts = [normalize(u.text + ("\n" + u.extra if u.extra else "")) for u in units]

        def make(docs: list[list[str]]) -> bm25s.BM25:
            # Our own sorted vocabulary: bm25s numbers tokens in set order, which changes
            # with Python's hash seed and with it the float sums that break ties.
            docs = [d or ["∅"] for d in docs]
            vocab = {t: i for i, t in enumerate(sorted({t for d in docs for t in d}))}
            bm = bm25s.BM25(k1=1.2, b=0.75)
            bm.index(([[vocab[t] for t in d] for d in docs], vocab), show_progress=False)
            return bm

        return cls(
            words=make([words(t) for t in texts]),
            grams=make([bigrams(t) for t in texts]),
            n=len(units),
        )

    @staticmethod
    def _scores(bm: bm25s.BM25, tokens: list[str]) -> np.ndarray:
        known = [t for t in tokens if t in bm.vocab_dict]
        if not known:
            return np.zeros(bm.scores["num_docs"], dtype=np.float32)
        return np.asarray(bm.get_scores(known), dtype=np.float32)

    def score_words(self, tokens: list[str]) -> np.ndarray:
        return self._scores(self.words, tokens)

    def score_grams(self, tokens: list[str]) -> np.ndarray:
        return self._scores(self.grams, tokens)
