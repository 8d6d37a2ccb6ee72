"""Shared fixtures. The real index is built once per test session.

``real_home`` ingests the 2022 snapshot first and then refreshes to the 2024
one in the same data directory: the refresh is the incremental path users
take, it is what the incremental tests inspect, and it leaves the current
index at 2024 for every other test. Set WPA_TEST_HOME to reuse an index that
was already built this way (a developer's shortcut; CI always builds fresh).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WPA_SHARED", REPO.parent / "shared"))
MOJ_2022 = SHARED / "corpus" / "moj" / "env-20220401.json"
MOJ_2024 = SHARED / "corpus" / "moj" / "env-20241011.json"
QUESTIONS = SHARED / "evals" / "questions.jsonl"


def _build(home: Path) -> dict:
    from assistant.config import Settings
    from assistant.indexing import run_ingest

    settings = Settings(home=home)
    first = run_ingest(settings, source=str(MOJ_2022))
    second = run_ingest(settings, source=str(MOJ_2024))
    summaries = {"2022": first.to_dict(), "2024": second.to_dict()}
    (home / "test-build.json").write_text(json.dumps(summaries, ensure_ascii=False), encoding="utf-8")
    return summaries


@pytest.fixture(scope="session")
def real_build(tmp_path_factory) -> tuple[Path, dict]:
    """(WPA_HOME with the real index at 2024, the two ingest summaries)."""
    reuse = os.environ.get("WPA_TEST_HOME")
    if reuse and (Path(reuse) / "test-build.json").exists():
        home = Path(reuse)
        return home, json.loads((home / "test-build.json").read_text(encoding="utf-8"))
    home = Path(reuse) if reuse else tmp_path_factory.mktemp("wpa-real")
    home.mkdir(parents=True, exist_ok=True)
    return home, _build(home)


@pytest.fixture(scope="session")
def real_home(real_build) -> Path:
    """A WPA_HOME whose current index is the real 2024 water-scope corpus."""
    home, _ = real_build
    os.environ["WPA_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def real_assistant(real_home):
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    return Assistant.load(Settings(home=real_home))
