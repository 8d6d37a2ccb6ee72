"""The scaled form of the vector store: a real Chroma server (`chroma run`) over HTTP."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.indexing import run_ingest
from assistant.pipeline import Assistant
from assistant.store import chroma_client, collection_name, current_version_id

from .conftest import law_data, write_laws


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    port = _free_port()
    exe = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(exe), "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError("chroma server did not start")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_and_search_through_a_chroma_server(tmp_path, chroma_server, synth_source, synth_manifest):
    home = tmp_path / "home"
    settings = Settings(home=home, chroma_url=chroma_server)
    first = run_ingest(settings, source=str(synth_source), manifest_path=str(synth_manifest))
    assert first.switched
    # The vectors are on the server, not in the version folder.
    index = home / "index"
    assert not (index / first.version_id / "chroma").exists()
    server = chroma_client(None, chroma_server)
    col = server.get_collection(collection_name(first.version_id))
    assert col.count() == first.units - first.lexical_only == first.embedded

    a = Assistant.load(settings)
    res = a.search("虛構水質測試法第2-1條", k=3)
    assert res.hits[0].key == "Z9990001:2-1"
    dense = a.search("虛構 測試 排放", k=5, mode="dense")
    assert dense.hits and all(h.lanes["dense"] > -1 for h in dense.hits)

    # Two more versions: only the newest two collections stay on the server.
    data = law_data()
    versions = [first.version_id]
    for n in (1, 2):
        data["Laws"][0]["LawArticles"][-1]["ArticleContent"] += f"（虛構修正{n}）"
        src = write_laws(tmp_path / f"laws-v{n + 1}.json", data)
        s = run_ingest(settings, source=str(src), manifest_path=str(synth_manifest))
        assert s.switched and s.embedded == 1
        versions.append(s.version_id)
    names = {c.name for c in server.list_collections()}
    assert collection_name(versions[0]) not in names
    assert {collection_name(v) for v in versions[1:]} <= names
    assert current_version_id(index) == versions[-1]


def test_an_unreachable_chroma_server_is_a_clear_error(tmp_path, synth_source, synth_manifest):
    from .conftest import run_wpa

    env_home = tmp_path / "home"
    res = run_wpa(["ingest", "--source", str(synth_source), "--manifest", str(synth_manifest)], env_home,
                  extra_env={"WPA_CHROMA_URL": f"http://127.0.0.1:{_free_port()}"})
    assert res.returncode != 0
    assert "Chroma server" in res.stderr and "Traceback" not in res.stderr
    assert current_version_id(env_home / "index") is None
