"""Staff accounts, sessions, CSRF tokens and login throttling.

* Passwords: argon2id (argon2-cffi), rehashed on login when parameters change.
* Sessions: a random cookie token; only its SHA-256 is stored, so a leaked
  database does not leak live sessions. Each session has an absolute expiry
  and an idle timeout.
* CSRF: a per-session random token that every console form must echo.
* Throttling: too many failed logins for one username or one address within a
  window lock further attempts (even correct ones) until the window passes.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import ROLES, LoginAttempt, User, WebSession, utcnow
from .settings import ServiceSettings

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-timing")

MIN_PASSWORD_LENGTH = 10
ROLE_LABELS = {"reviewer": "審核人員", "legal": "法務人員", "admin": "系統管理員"}
# Who may do what; "review" covers claim, edit, approve, reject and re-run retrieval.
PERMISSIONS = {
    "review": {"reviewer", "legal", "admin"},
    "snippets": {"legal", "admin"},
    "audit": {"admin"},
    "users": {"admin"},
    "release_any": {"admin"},
}


class AuthError(Exception):
    """A user-facing problem with an account or password (message in Chinese)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    display_name: str
    role: str
    csrf_token: str
    session_id: int

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"密碼至少需 {MIN_PASSWORD_LENGTH} 個字元")


def validate_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > 64:
        raise AuthError("帳號需為 1 到 64 個字元")
    if not all(ch.isalnum() or ch in "._-@" for ch in username):
        raise AuthError("帳號只能包含英數字與 . _ - @")
    return username


def create_user(s: Session, username: str, password: str, role: str, display_name: str = "") -> User:
    username = validate_username(username)
    if role not in ROLES:
        raise AuthError(f"角色必須是 {', '.join(ROLES)} 之一")
    check_password_rules(password)
    if s.scalars(select(User).where(User.username == username)).first() is not None:
        raise AuthError(f"帳號 {username} 已存在")
    user = User(username=username, display_name=display_name.strip()[:128], role=role,
                password_hash=hash_password(password), active=True, created_at=utcnow())
    s.add(user)
    s.flush()
    return user


def set_password(s: Session, user: User, password: str) -> None:
    check_password_rules(password)
    user.password_hash = hash_password(password)
    s.execute(delete(WebSession).where(WebSession.user_id == user.id))


def throttled(s: Session, settings: ServiceSettings, username: str, ip: str, now: datetime) -> int:
    """Seconds until another attempt is allowed, 0 if allowed now."""
    since = now - timedelta(minutes=settings.login_window_minutes)
    limit = settings.login_max_failures
    waits = []
    for column, value, cap in ((LoginAttempt.username, username, limit), (LoginAttempt.ip, ip, limit * 4)):
        recent = (select(LoginAttempt.at)
                  .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at > since)
                  .order_by(LoginAttempt.at.desc()))
        # The lock lifts when the cap-th most recent failure leaves the window.
        pivot = s.scalar(recent.offset(cap - 1).limit(1)) if cap > 0 else None
        if pivot is not None:
            waits.append(int((pivot + timedelta(minutes=settings.login_window_minutes) - now).total_seconds()) + 1)
    return max(waits) if waits else 0


def authenticate(s: Session, settings: ServiceSettings, username: str, password: str, ip: str) -> User:
    """The active user with this password, or AuthError; records the attempt either way."""
    now = utcnow()
    username = username.strip()[:64]
    wait = throttled(s, settings, username, ip, now)
    if wait:
        minutes = max(1, (wait + 59) // 60)
        raise AuthError(f"登入失敗次數過多，請於 {minutes} 分鐘後再試", status=429)
    user = s.scalars(select(User).where(User.username == username)).first()
    ok = False
    if user is not None and user.active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    else:
        try:   # same work for unknown users, so timing does not reveal which accounts exist
            _hasher.verify(_DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass
    s.add(LoginAttempt(username=username, ip=ip[:64], at=now, success=ok))
    if not ok:
        raise AuthError("帳號或密碼錯誤", status=401)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(s: Session, settings: ServiceSettings, user: User) -> str:
    """Create a session row; returns the cookie token (shown once, stored hashed)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    s.add(WebSession(token_hash=_token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                     created_at=now, last_seen_at=now,
                     expires_at=now + timedelta(hours=settings.session_hours)))
    s.execute(delete(WebSession).where(WebSession.expires_at < now))
    return token


@dataclass(frozen=True)
class SessionCheck:
    staff: Staff | None
    expired: bool = False
    needs_write: bool = False     # the row must be deleted or its last-seen time moved


def resolve_session(s: Session, settings: ServiceSettings, token: str | None, write: bool = True) -> SessionCheck:
    """The staff member behind a cookie; slides the idle timeout on each use.

    With ``write=False`` nothing is changed and ``needs_write`` says whether a
    write transaction should repeat the call (most page views need none).
    """
    if not token:
        return SessionCheck(None)
    row = s.scalars(select(WebSession).where(WebSession.token_hash == _token_hash(token))).first()
    if row is None:
        return SessionCheck(None)
    now = utcnow()
    idle_limit = row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if now >= row.expires_at or now >= idle_limit:
        if write:
            s.delete(row)
        return SessionCheck(None, expired=True, needs_write=True)
    user = s.get(User, row.user_id)
    if user is None or not user.active:
        if write:
            s.delete(row)
        return SessionCheck(None, needs_write=True)
    stale = (now - row.last_seen_at).total_seconds() > 15
    if stale and write:
        row.last_seen_at = now
    return SessionCheck(Staff(user.id, user.username, user.display_name, user.role, row.csrf_token, row.id),
                        needs_write=stale)


def end_session(s: Session, token: str | None) -> None:
    if token:
        s.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())
