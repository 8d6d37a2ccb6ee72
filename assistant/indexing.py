"""`wpa ingest`: sources → units → (only new) embeddings → a new index version.

Kept apart from the readers in ``ingest/`` so those stay free of the store;
this module is where the two meet.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ingest.diff import CorpusDiff, diff_corpora
from ingest.documents import document_units
from ingest.errors import IngestError
from ingest.manifest import Manifest, load_manifest
from ingest.moj import LawCorpus, load_corpus
from ingest.units import Unit, law_units

from .config import Settings
from .embedders import get_embedder
from .store import (EmbeddingCache, chroma_client, current_version_id, new_version_id, read_units,
                    switch_current, text_key, write_version)

EMBED_BATCH = 64
Progress = Callable[[int, int], None]


@dataclass
class IngestSummary:
    version_id: str
    corpus_version: str
    source: str
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    abolished_units: int = 0
    lexical_only: int = 0
    embedded: int = 0
    embed_tokens: int = 0
    embed_seconds: float = 0.0
    total_seconds: float = 0.0
    switched: bool = False
    laws: int = 0
    units: int = 0
    diff: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_law_source(manifest: Manifest, source: str | None, cache_dir: Path) -> Path:
    """A local file (flag or WPA_LAW_SOURCE) or the official download, cached."""
    chosen = source or os.environ.get("WPA_LAW_SOURCE")
    if chosen:
        return Path(chosen)
    import httpx

    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / "moj-download.zip"
    errors = []
    for url in manifest.law_urls[:1]:
        try:
            with httpx.stream("GET", url, timeout=60, follow_redirects=True) as r:
                r.raise_for_status()
                with target.open("wb") as f:
                    for chunk in r.iter_bytes():
                        f.write(chunk)
            return target
        except httpx.HTTPError as exc:
            errors.append(f"{url}: {exc}")
    raise IngestError(manifest.path, "could not download the law data (" + "; ".join(errors)
                      + "); pass --source PATH or set WPA_LAW_SOURCE to a local open-data file")


def collect_units(manifest: Manifest, corpus: LawCorpus) -> tuple[list[Unit], int]:
    units: list[Unit] = []
    laws = [law for law in corpus.laws if manifest.selects(law)]
    for law in laws:
        units += law_units(law, corpus_version=corpus.update_date)
    for doc in manifest.documents:
        units += document_units(doc.path, doc.kind, doc.title, doc.url)
    return units, len(laws)


def has_vector(u: Unit) -> bool:
    """Whether a unit goes into the dense lane.

    Abolished articles are kept for the lexical lanes (a question that names
    the law or asks for repealed rules still finds them, marked) but get no
    vector: they are out of every ordinary search, and skipping them saves
    about a fifth of a cold ingest's embedding time.
    """
    return not u.abolished


def embed_missing(units: list[Unit], settings: Settings, progress: Progress | None = None,
                  summary: IngestSummary | None = None) -> np.ndarray:
    """Vectors for ``units`` in order, embedding only texts the cache has not seen."""
    embedder = get_embedder(settings.embedder)
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
    try:
        keys = [text_key(embedder.name, u.embed_text()) for u in units]
        have = cache.get_many(list(dict.fromkeys(keys)))
        todo: dict[str, str] = {}
        for k, u in zip(keys, units):
            if k not in have and k not in todo:
                todo[k] = u.embed_text()
        items = list(todo.items())
        done = 0
        t0 = time.perf_counter()
        for i in range(0, len(items), EMBED_BATCH):
            batch = items[i:i + EMBED_BATCH]
            vecs = embedder.embed_passages([t for _, t in batch])
            new = {k: v for (k, _), v in zip(batch, vecs)}
            cache.put_many(new)          # committed per batch: a crash resumes here
            have.update(new)
            done += len(batch)
            if progress:
                progress(done, len(items))
        if summary is not None:
            summary.embedded = len(items)
            summary.embed_seconds = time.perf_counter() - t0
            counter = getattr(embedder, "token_count", None)
            summary.embed_tokens = sum(counter(t) for _, t in items) if counter else 0
        return np.stack([have[k] for k in keys]) if keys else np.zeros((0, embedder.dim), np.float32)
    finally:
        cache.close()


def run_ingest(settings: Settings, source: str | None = None, manifest_path: str | None = None,
               progress: Progress | None = None, force: bool = False) -> IngestSummary:
    """Build a new index version if anything changed; switch to it only when complete."""
    t0 = time.perf_counter()
    if settings.chroma_url:
        chroma_client(None, settings.chroma_url)   # a server that is down fails now, before minutes of embedding
    manifest = load_manifest(manifest_path)
    src = resolve_law_source(manifest, source, settings.cache_dir)
    corpus = load_corpus(src)
    units, n_laws = collect_units(manifest, corpus)
    ids = [u.id for u in units]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise IngestError(src, f"two units share the id {dup}")

    index_root = settings.index_root
    index_root.mkdir(parents=True, exist_ok=True)
    prev_id = current_version_id(index_root)
    prev_units: dict[str, Unit] = {}
    prev_meta: dict = {}
    if prev_id:
        prev_root = index_root / prev_id
        prev_units = {u.id: u for u in read_units(prev_root / "units.jsonl")}
        prev_meta = json.loads((prev_root / "meta.json").read_text(encoding="utf-8"))

    s = IngestSummary(version_id=prev_id or "", corpus_version=corpus.update_date, source=str(src),
                      laws=n_laws, units=len(units))
    for u in units:
        old = prev_units.get(u.id)
        if old is None:
            s.added += 1
        elif old.content_hash != u.content_hash:
            s.changed += 1
        else:
            s.unchanged += 1
            u.corpus_version = old.corpus_version or u.corpus_version   # first version this text appeared in
        s.abolished_units += u.abolished
    s.removed = len(set(prev_units) - set(ids))

    same_embedder = prev_meta.get("embedder") == get_embedder(settings.embedder).name
    # The manifest's ranking hints live in the version's meta: a change to them alone is a new version.
    hints = [asdict(r) for r in manifest.adjacent]
    same_hints = prev_meta.get("adjacent", []) == hints
    nothing_new = prev_id and s.added == s.changed == s.removed == 0 and same_embedder and same_hints
    if nothing_new and not force:
        s.total_seconds = time.perf_counter() - t0
        return s

    prev_corpus_path = prev_meta.get("source")
    if prev_corpus_path and prev_meta.get("corpus_version") != corpus.update_date and Path(prev_corpus_path).exists():
        try:
            d: CorpusDiff = diff_corpora(load_corpus(prev_corpus_path), corpus, manifest.selects)
            s.diff = diff_summary(d)
        except IngestError:
            s.diff = {}

    dense_units = [u for u in units if has_vector(u)]
    s.lexical_only = len(units) - len(dense_units)
    vectors = embed_missing(dense_units, settings, progress, s)
    vid = new_version_id()
    meta = {
        "version_id": vid, "corpus_version": corpus.update_date, "source": str(Path(src).resolve()),
        "manifest": str(manifest.path), "embedder": get_embedder(settings.embedder).name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "units": len(units), "laws": n_laws,
        "previous": prev_id,
        "adjacent": hints,
    }
    write_version(index_root, units, meta, dense_units, vectors, settings.chroma_url)
    switch_current(index_root, vid, chroma_url=settings.chroma_url)
    s.version_id = vid
    s.switched = True
    s.total_seconds = time.perf_counter() - t0
    with (index_root / "history.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({k: v for k, v in s.to_dict().items() if k != "diff"}, ensure_ascii=False) + "\n")
    return s


def diff_summary(d: CorpusDiff) -> dict:
    return {
        "old_version": d.old_version, "new_version": d.new_version,
        "laws_added": d.laws_added, "laws_abolished": d.laws_abolished, "laws_removed": d.laws_removed,
        "laws_amended": len(d.laws_amended),
        "articles": {k: d.count(k) for k in ("added", "amended", "removed", "renumbered")},
    }

