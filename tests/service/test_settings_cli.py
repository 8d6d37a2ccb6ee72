"""Settings, office hours, the CLI commands and the migrations."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import typer
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from assistant.service.db import current_revision, downgrade, make_engine, make_sessionmaker, upgrade
from assistant.service.models import User
from assistant.service.office_hours import is_open, next_opening
from assistant.service.replies import acknowledgement
from assistant.service.settings import (
    LINE_API_DEFAULT, LINE_DATA_API_DEFAULT, SettingsError, load_service_settings, parse_office_hours,
)

from .service_support import REPO_ROOT

TAIPEI = "Asia/Taipei"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"WPA_HOME": str(tmp_path), **extra}


def test_defaults_are_embedded_sqlite_and_lines_own_hosts(tmp_path):
    s = load_service_settings(env=_env(tmp_path), env_file=tmp_path / "none")
    assert s.database_url == f"sqlite:///{tmp_path / 'service.db'}"
    assert (s.line_api_base_url, s.line_data_api_base_url) == (LINE_API_DEFAULT, LINE_DATA_API_DEFAULT)


def test_env_file_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text('# comment\nLINE_CHANNEL_SECRET="from-file"\nexport LINE_CHANNEL_ACCESS_TOKEN=tok\n'
                        "DATABASE_URL=postgres://u@h/db\n", encoding="utf-8")
    s = load_service_settings(env=_env(tmp_path, LINE_CHANNEL_SECRET="from-env"), env_file=env_file)
    assert s.line_channel_secret == "from-env"
    assert s.line_channel_access_token == "tok"
    assert s.database_url == "postgres://u@h/db"


def test_missing_secrets_name_the_variable(tmp_path):
    s = load_service_settings(env=_env(tmp_path, LINE_CHANNEL_ACCESS_TOKEN="t"), env_file=tmp_path / "none")
    with pytest.raises(SettingsError) as err:
        s.require_line_secrets()
    assert "LINE_CHANNEL_SECRET" in str(err.value) and "LINE_CHANNEL_ACCESS_TOKEN" not in str(err.value)


@pytest.mark.parametrize("name,value,needle", [
    ("WPA_SLA_MINUTES", "soon", "WPA_SLA_MINUTES must be a number"),
    ("LINE_API_BASE_URL", "api.line.me", "LINE_API_BASE_URL must start with http"),
    ("WPA_OFFICE_HOURS", "mon-fri 9-5", "WPA_OFFICE_HOURS"),
    ("WPA_TIMEZONE", "Mars/Olympus", "WPA_TIMEZONE"),
    ("WPA_HOLIDAYS", "2025-13-01", "WPA_HOLIDAYS"),
])
def test_bad_values_give_specific_errors(tmp_path, name, value, needle):
    with pytest.raises(SettingsError, match=needle):
        load_service_settings(env=_env(tmp_path, **{name: value}), env_file=tmp_path / "none")


def test_serve_without_secrets_exits_with_one_clear_message(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "WPA_HOME": str(tmp_path), "LINE_CHANNEL_SECRET": "s", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "assistant.service", "serve", "--port", "1"], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "LINE_CHANNEL_ACCESS_TOKEN" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_office_hours_and_next_opening():
    hours = parse_office_hours("mon-fri 08:30-12:30,13:30-17:30", TAIPEI, "2025-01-01")
    t = lambda s: datetime.fromisoformat(s + "+08:00").astimezone(timezone.utc)   # noqa: E731
    assert is_open(hours, t("2025-01-06T09:00"))                 # Monday morning
    assert not is_open(hours, t("2025-01-06T12:45"))             # lunch
    assert not is_open(hours, t("2025-01-01T10:00"))             # holiday
    assert next_opening(hours, t("2025-01-06T12:45")).isoformat() == "2025-01-06T13:30:00+08:00"
    assert next_opening(hours, t("2025-01-03T18:00")).isoformat() == "2025-01-06T08:30:00+08:00"   # Fri → Mon
    assert next_opening(hours, t("2024-12-31T18:00")).isoformat() == "2025-01-02T08:30:00+08:00"   # skip holiday
    closed = acknowledgement(hours, t("2025-01-04T10:00"))       # Saturday
    assert closed.startswith("已收到您的問題，將由專人確認後回覆")
    assert "1月6日（星期一）上午8:30" in closed
    assert "非上班時間" not in acknowledgement(hours, t("2025-01-06T15:00"))


def _cli() -> typer.Typer:
    from assistant.service.cli import standalone

    return standalone()


def test_user_add_creates_hashed_admin_and_refuses_duplicates(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("WPA_HOME", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(_cli(), ["user", "add", "boss", "--role", "admin", "--password", "long enough password"])
    assert result.exit_code == 0, result.output
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as s:
        user = s.scalars(select(User).where(User.username == "boss")).one()
    assert user.role == "admin" and user.password_hash.startswith("$argon2id$")
    again = runner.invoke(_cli(), ["user", "add", "boss", "--password", "long enough password"])
    assert again.exit_code == 2 and "已存在" in again.output
    weak = runner.invoke(_cli(), ["user", "add", "newbie", "--password", "short"])
    assert weak.exit_code == 2 and "密碼至少需" in weak.output
    bad_role = runner.invoke(_cli(), ["user", "add", "x", "--role", "god", "--password", "long enough password"])
    assert bad_role.exit_code == 2 and "角色" in bad_role.output
    prompted = runner.invoke(_cli(), ["user", "add", "piped"], input="piped password 123\n")
    assert prompted.exit_code == 0, prompted.output
    engine.dispose()


def test_migrations_upgrade_downgrade_and_are_idempotent(database_url):
    upgrade(database_url)
    upgrade(database_url)                           # a second run is a no-op
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"line_events", "jobs", "questions", "drafts", "outbox", "audit_log", "users", "web_sessions",
            "login_attempts", "snippets", "contacts", "messages"} <= tables
    assert current_revision(engine) == "0003"
    assert {"corrections", "read_as"} <= {c["name"] for c in inspect(engine).get_columns("drafts")}
    downgrade(database_url, "0002")
    assert "read_as" not in {c["name"] for c in inspect(engine).get_columns("drafts")}
    downgrade(database_url, "0001")
    assert "corrections" not in {c["name"] for c in inspect(engine).get_columns("drafts")}
    downgrade(database_url, "base")
    assert "questions" not in set(inspect(engine).get_table_names())
    upgrade(database_url)
    assert current_revision(engine) == "0003"
    engine.dispose()
