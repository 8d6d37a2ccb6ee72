"""The naive RAG baseline: fixed 500-character chunks, dense only, no law structure.

It answers "what does article-aware retrieval buy us?": the same embedder
over the same laws, but chunked the way a generic RAG tutorial would.
"""
from __future__ import annotations

import numpy as np

from assistant.config import Settings
from assistant.embedders import get_embedder
from assistant.store import EmbeddingCache, IndexVersion, text_key

CHUNK = 500


def build_chunks(version: IndexVersion) -> tuple[list[str], list[list[str]]]:
    """Each law's live articles concatenated and cut every 500 characters.

    Returns the chunk texts and, per chunk, the article keys it overlaps (in
    order), so chunk rankings can be scored at article level like the rest.
    """
    texts: list[str] = []
    owners: list[list[str]] = []
    by_law: dict[str, list] = {}
    for u in version.units:
        if u.source_kind == "law" and not u.abolished:
            by_law.setdefault(u.pcode, []).append(u)
    for units in by_law.values():
        stream, spans, pos = "", [], 0
        for u in units:
            stream += u.text
            spans.append((pos, pos + len(u.text), u.article_key))
            pos += len(u.text)
        for start in range(0, len(stream), CHUNK):
            end = start + CHUNK
            texts.append(stream[start:end])
            owners.append(list(dict.fromkeys(k for a, b, k in spans if a < end and b > start)))
    return texts, owners


class NaiveRAG:
    def __init__(self, version: IndexVersion, settings: Settings) -> None:
        self.embedder = get_embedder(settings.embedder)
        self.texts, self.owners = build_chunks(version)
        cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
        try:
            keys = [text_key(self.embedder.name, t) for t in self.texts]
            have = cache.get_many(keys)
            missing = [(k, t) for k, t in zip(keys, self.texts) if k not in have]
            for i in range(0, len(missing), 16):
                batch = missing[i:i + 16]
                vecs = self.embedder.embed_passages([t for _, t in batch])
                new = {k: v for (k, _), v in zip(batch, vecs)}
                cache.put_many(new)
                have.update(new)
            self.vectors = np.stack([have[k] for k in keys])
        finally:
            cache.close()

    def ranked_articles(self, question: str, k: int = 10) -> list[str]:
        scores = self.vectors @ self.embedder.embed_query(question)
        out: list[str] = []
        for i in np.argsort(-scores):
            for key in self.owners[i]:
                if key not in out:
                    out.append(key)
            if len(out) >= k:
                break
        return out[:k]
