"""Fixtures for the service tests: emulator, databases (SQLite and PostgreSQL), running services."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.lineemu.server import running_emulator
from assistant.service.settings import load_service_settings

from .service_support import ACCESS_TOKEN, CHANNEL_SECRET, fresh_pg_database, pg_admin_url, running_service

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="session")
def emulator():
    with running_emulator(access_token=ACCESS_TOKEN) as emu:
        yield emu


@pytest.fixture
def emu(emulator):
    emulator.reset()
    yield emulator
    # Whatever a test did, the service must never have sent LINE something its spec rejects.
    assert emulator.invalid() == [], emulator.invalid()


@pytest.fixture(scope="session")
def pg_admin():
    return pg_admin_url()


def _pg_or_skip(pg_admin):
    if pg_admin is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is not reachable, and CI is set: these tests must run")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable (runs in CI)")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, pg_admin):
    """Each database test runs on both back-ends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
        return
    _pg_or_skip(pg_admin)
    with fresh_pg_database(pg_admin) as url:
        yield url


@pytest.fixture
def pg_url(tmp_path, pg_admin):
    _pg_or_skip(pg_admin)
    with fresh_pg_database(pg_admin) as url:
        yield url


def make_settings(home: Path, database_url: str, emulator_url: str, **env_overrides: str):
    env = {
        "WPA_HOME": str(home), "DATABASE_URL": database_url,
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_API_BASE_URL": emulator_url, "LINE_DATA_API_BASE_URL": emulator_url,
        "WPA_RETRY_BASE_SECONDS": "0.1", "WPA_RETRY_MAX_SECONDS": "1", "WPA_POLL_SECONDS": "0.1",
        "WPA_LINE_TIMEOUT_SECONDS": "1.5",
    }
    env.update(env_overrides)
    return load_service_settings(env=env, env_file=home / "no.env")


@pytest.fixture
def settings(tmp_path, database_url, emu):
    home = tmp_path / "home"
    home.mkdir()
    return make_settings(home, database_url, emu.base_url)


@pytest.fixture
def sqlite_settings(tmp_path, emu):
    """For tests about the UI rather than the database (they run once, on SQLite)."""
    home = tmp_path / "home"
    home.mkdir()
    return make_settings(home, f"sqlite:///{tmp_path / 'service.db'}", emu.base_url)


@pytest.fixture
def service(settings):
    with running_service(settings) as svc:
        yield svc


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
