"""The index on disk: versions, the embedding cache and the Chroma collection.

Each ingest writes a complete new version folder and only then points
``index/CURRENT`` at it (an atomic rename), so a failed or interrupted ingest
leaves the previous index in service untouched. Vectors are cached by the hash
of (embedder, text): a re-run embeds nothing that was embedded before, and an
interrupted run resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.units import Unit

CHROMA_BATCH = 1000


class IndexMissing(RuntimeError):
    """No index has been built under this data directory yet."""


class StoreUnavailable(RuntimeError):
    """The configured Chroma server cannot be reached."""


def text_key(embedder_name: str, text: str) -> str:
    return hashlib.sha256(f"{embedder_name}\x00{text}".encode("utf-8")).hexdigest()[:40]


class EmbeddingCache:
    """Vectors by (embedder, text) hash in SQLite; safe to share across versions."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)")
        self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT key, data FROM vec WHERE key IN ({','.join('?' * len(chunk))})"
            for k, blob in self._db.execute(q, chunk):
                out[k] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO vec (key, dim, data) VALUES (?, ?, ?)",
            [(k, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def chroma_client(path: Path | None, url: str = ""):
    """Embedded (persistent folder) by default, a Chroma server when ``url`` is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        from urllib.parse import urlparse

        u = urlparse(url)
        try:
            client = chromadb.HttpClient(host=u.hostname or "localhost", port=u.port or 8000,
                                         ssl=u.scheme == "https", settings=settings)
            client.heartbeat()
        except Exception as exc:  # noqa: BLE001 - chromadb raises ValueError, httpx errors …
            raise StoreUnavailable(f"the Chroma server at {url} (WPA_CHROMA_URL) cannot be reached: {exc}") from exc
        return client
    assert path is not None
    return chromadb.PersistentClient(path=str(path), settings=settings)


@dataclass
class IndexVersion:
    """One complete, loaded index version."""

    root: Path
    meta: dict
    units: list[Unit]
    collection: object            # chromadb Collection

    @property
    def version_id(self) -> str:
        return self.meta["version_id"]


def collection_name(version_id: str) -> str:
    return f"wpa_{version_id}"


def current_version_id(index_root: Path) -> str | None:
    p = index_root / "CURRENT"
    return p.read_text(encoding="utf-8").strip() if p.exists() else None


def read_units(path: Path) -> list[Unit]:
    with path.open(encoding="utf-8") as f:
        return [Unit(**json.loads(line)) for line in f if line.strip()]


# A few thousand articles: search wide enough that the approximate index returns the
# true nearest 100 every time. At Chroma's default ef_search (100, the number of
# candidates we ask for) the top 100 changed from one process to the next, and the
# rankings with it.
HNSW = {"space": "cosine", "ef_search": 1000, "ef_construction": 200, "max_neighbors": 32}


def write_version(index_root: Path, units: list[Unit], meta: dict, dense_units: list[Unit],
                  vectors: np.ndarray, chroma_url: str = "") -> Path:
    """Write a complete version folder (all units, meta; ``dense_units`` with their vectors in Chroma).

    Not yet current: the caller switches CURRENT only after this returns.
    """
    vid = meta["version_id"]
    root = index_root / vid
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    with (root / "units.jsonl").open("w", encoding="utf-8") as f:
        for u in units:
            f.write(json.dumps(u.to_dict(), ensure_ascii=False) + "\n")
    client = chroma_client(root / "chroma", chroma_url)
    col = client.get_or_create_collection(collection_name(vid), configuration={"hnsw": HNSW})
    for i in range(0, len(dense_units), CHROMA_BATCH):
        batch = dense_units[i:i + CHROMA_BATCH]
        col.add(
            ids=[u.id for u in batch],
            embeddings=vectors[i:i + CHROMA_BATCH].tolist(),
            metadatas=[{"pcode": u.pcode, "kind": u.source_kind, "abolished": u.abolished,
                        "article_key": u.article_key} for u in batch],
        )
    (root / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return root


def switch_current(index_root: Path, version_id: str, keep: int = 2, chroma_url: str = "") -> None:
    """Point CURRENT at a finished version atomically; prune all but the newest ``keep``.

    With a Chroma server the pruned versions' collections live on the server,
    so they are deleted there too (an embedded collection goes with its folder).
    """
    tmp = index_root / "CURRENT.tmp"
    tmp.write_text(version_id, encoding="utf-8")
    os.replace(tmp, index_root / "CURRENT")
    versions = sorted(p for p in index_root.iterdir() if p.is_dir() and (p / "meta.json").exists())
    doomed = [old for old in versions[:-keep] if old.name != version_id]
    # Folders of runs that never finished (no meta.json) are garbage.
    doomed += [p for p in index_root.iterdir()
               if p.is_dir() and not (p / "meta.json").exists() and p.name != version_id]
    if chroma_url and doomed:
        client = chroma_client(None, chroma_url)
        for old in doomed:
            try:
                client.delete_collection(collection_name(old.name))
            except Exception:  # noqa: BLE001 - already gone, or never created by a crashed run
                pass
    for old in doomed:
        shutil.rmtree(old, ignore_errors=True)


def new_version_id() -> str:
    """Sortable by creation time: the second, then the microsecond within it (pruning relies on the order)."""
    t = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.localtime(t)) + f"{int((t % 1) * 1_000_000):06d}"


def load_version(index_root: Path, version_id: str | None = None, chroma_url: str = "") -> IndexVersion:
    vid = version_id or current_version_id(index_root)
    if not vid:
        raise IndexMissing(f"no index under {index_root}; run `wpa ingest` first")
    root = index_root / vid
    meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    units = read_units(root / "units.jsonl")
    client = chroma_client(root / "chroma", chroma_url)
    col = client.get_collection(collection_name(vid))
    return IndexVersion(root=root, meta=meta, units=units, collection=col)
