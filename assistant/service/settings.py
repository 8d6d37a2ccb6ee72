"""Service settings, read from the environment and an optional ``.env`` file.

The names are the ones operators already know from LINE's console and from
twelve-factor apps (``LINE_CHANNEL_SECRET``, ``DATABASE_URL`` …). Real
environment variables win over ``.env`` so a deployment can override a file
checked into a server. Every bad or missing value raises ``SettingsError``
with one message naming the variable, because a start-up traceback is not
something an operator should have to read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Mapping

from assistant.config import wpa_home

LINE_API_DEFAULT = "https://api.line.me"
LINE_DATA_API_DEFAULT = "https://api-data.line.me"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class OfficeHours:
    """When staff answer: weekdays (0=Mon) and same-day time windows in minutes."""

    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    windows: tuple[tuple[int, int], ...] = ((8 * 60 + 30, 12 * 60 + 30), (13 * 60 + 30, 17 * 60 + 30))
    timezone: str = "Asia/Taipei"
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class ServiceSettings:
    line_channel_secret: str = ""
    line_channel_access_token: str = ""
    line_api_base_url: str = LINE_API_DEFAULT
    line_data_api_base_url: str = LINE_DATA_API_DEFAULT
    database_url: str = ""
    home: Path = field(default_factory=lambda: Path("."))
    # Console
    sla_minutes: int = 240
    session_hours: float = 8.0
    session_idle_minutes: float = 60.0
    login_max_failures: int = 5
    login_window_minutes: float = 15.0
    cookie_secure: str = "auto"            # auto | true | false
    # Webhook
    webhook_max_bytes: int = 1024 * 1024
    # Worker and LINE calls
    poll_seconds: float = 0.5
    line_timeout_seconds: float = 10.0
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    max_send_attempts: int = 12
    max_draft_attempts: int = 3
    office_hours: OfficeHours = field(default_factory=OfficeHours)

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    def require_line_secrets(self) -> None:
        """Fail start-up with one message if LINE credentials are missing."""
        missing = [name for name, value in (
            ("LINE_CHANNEL_SECRET", self.line_channel_secret),
            ("LINE_CHANNEL_ACCESS_TOKEN", self.line_channel_access_token),
        ) if not value]
        if missing:
            raise SettingsError(
                f"{' 與 '.join(missing)} 未設定 ({', '.join(missing)} is not set): "
                "set it in the environment or in .env (LINE Developers console → "
                "Messaging API channel)."
            )

    def with_(self, **changes) -> "ServiceSettings":
        return replace(self, **changes)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=VALUE`` lines, ``#`` comments, optional quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        if "=" not in line:
            raise SettingsError(f"{path}:{lineno}: expected KEY=VALUE")
        key, value = line.split("=", 1)
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def _number(env: Mapping[str, str], name: str, default, kind=float):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {raw!r}")
    return value


def _minutes(hhmm: str, name: str) -> int:
    try:
        h, m = hhmm.strip().split(":")
        value = int(h) * 60 + int(m)
    except ValueError:
        raise SettingsError(f"{name}: bad time {hhmm!r}, expected HH:MM") from None
    if not 0 <= value <= 24 * 60:
        raise SettingsError(f"{name}: bad time {hhmm!r}")
    return value


_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def parse_office_hours(spec: str, timezone: str, holidays: str) -> OfficeHours:
    """``"mon-fri 08:30-12:30,13:30-17:30"`` → OfficeHours (env WPA_OFFICE_HOURS)."""
    name = "WPA_OFFICE_HOURS"
    try:
        days_part, times_part = spec.strip().split(None, 1)
    except ValueError:
        raise SettingsError(f"{name}: expected e.g. 'mon-fri 08:30-17:30', got {spec!r}") from None
    weekdays: set[int] = set()
    for chunk in days_part.lower().split(","):
        if "-" in chunk:
            a, b = chunk.split("-", 1)
            if a not in _DAYS or b not in _DAYS:
                raise SettingsError(f"{name}: unknown day in {chunk!r}")
            i, j = _DAYS.index(a), _DAYS.index(b)
            weekdays.update(range(i, j + 1))
        elif chunk in _DAYS:
            weekdays.add(_DAYS.index(chunk))
        else:
            raise SettingsError(f"{name}: unknown day {chunk!r}")
    windows = []
    for chunk in times_part.replace(" ", "").split(","):
        if "-" not in chunk:
            raise SettingsError(f"{name}: bad window {chunk!r}, expected HH:MM-HH:MM")
        a, b = chunk.split("-", 1)
        start, end = _minutes(a, name), _minutes(b, name)
        if end <= start:
            raise SettingsError(f"{name}: window {chunk!r} ends before it starts")
        windows.append((start, end))
    days: set[date] = set()
    for chunk in holidays.replace(" ", "").split(","):
        if chunk:
            try:
                days.add(date.fromisoformat(chunk))
            except ValueError:
                raise SettingsError(f"WPA_HOLIDAYS: bad date {chunk!r}, expected YYYY-MM-DD") from None
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(timezone)
    except Exception:
        raise SettingsError(f"WPA_TIMEZONE: unknown time zone {timezone!r}") from None
    return OfficeHours(frozenset(weekdays), tuple(sorted(windows)), timezone, frozenset(days))


def load_service_settings(env: Mapping[str, str] | None = None,
                          env_file: Path | None = None) -> ServiceSettings:
    """Settings from ``.env`` (current directory unless given) overlaid by the environment."""
    merged: dict[str, str] = dict(read_env_file(env_file or Path.cwd() / ".env"))
    merged.update(os.environ if env is None else env)
    home = Path(merged["WPA_HOME"]) if merged.get("WPA_HOME") else wpa_home()
    home.mkdir(parents=True, exist_ok=True)
    database_url = merged.get("DATABASE_URL", "").strip() or f"sqlite:///{home / 'service.db'}"
    cookie_secure = merged.get("WPA_COOKIE_SECURE", "auto").strip().lower() or "auto"
    if cookie_secure not in {"auto", "true", "false"}:
        raise SettingsError(f"WPA_COOKIE_SECURE must be auto, true or false, got {cookie_secure!r}")
    for name in ("LINE_API_BASE_URL", "LINE_DATA_API_BASE_URL"):
        value = merged.get(name, "").strip()
        if value and not value.startswith(("http://", "https://")):
            raise SettingsError(f"{name} must start with http:// or https://, got {value!r}")
    return ServiceSettings(
        line_channel_secret=merged.get("LINE_CHANNEL_SECRET", "").strip(),
        line_channel_access_token=merged.get("LINE_CHANNEL_ACCESS_TOKEN", "").strip(),
        line_api_base_url=(merged.get("LINE_API_BASE_URL", "").strip() or LINE_API_DEFAULT).rstrip("/"),
        line_data_api_base_url=(merged.get("LINE_DATA_API_BASE_URL", "").strip()
                                or LINE_DATA_API_DEFAULT).rstrip("/"),
        database_url=database_url,
        home=home,
        sla_minutes=_number(merged, "WPA_SLA_MINUTES", 240, int),
        session_hours=_number(merged, "WPA_SESSION_HOURS", 8.0),
        session_idle_minutes=_number(merged, "WPA_SESSION_IDLE_MINUTES", 60.0),
        login_max_failures=_number(merged, "WPA_LOGIN_MAX_FAILURES", 5, int),
        login_window_minutes=_number(merged, "WPA_LOGIN_WINDOW_MINUTES", 15.0),
        cookie_secure=cookie_secure,
        webhook_max_bytes=_number(merged, "WPA_WEBHOOK_MAX_BYTES", 1024 * 1024, int),
        poll_seconds=_number(merged, "WPA_POLL_SECONDS", 0.5),
        line_timeout_seconds=_number(merged, "WPA_LINE_TIMEOUT_SECONDS", 10.0),
        retry_base_seconds=_number(merged, "WPA_RETRY_BASE_SECONDS", 2.0),
        retry_max_seconds=_number(merged, "WPA_RETRY_MAX_SECONDS", 300.0),
        max_send_attempts=_number(merged, "WPA_MAX_SEND_ATTEMPTS", 12, int),
        max_draft_attempts=_number(merged, "WPA_MAX_DRAFT_ATTEMPTS", 3, int),
        office_hours=parse_office_hours(
            merged.get("WPA_OFFICE_HOURS", "") or "mon-fri 08:30-12:30,13:30-17:30",
            merged.get("WPA_TIMEZONE", "") or "Asia/Taipei",
            merged.get("WPA_HOLIDAYS", ""),
        ),
    )
