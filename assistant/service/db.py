"""Engine, sessions and migrations for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode. Its writers — the web process and the worker
process, several threads each — take turns through one lock file (flock), so
a waiting writer is woken the moment the lock is free instead of sleeping in
SQLite's busy handler. The web process commits with ``synchronous=FULL`` (a
200 to LINE means the event is on disk, even across a power cut); the worker
commits with ``NORMAL`` because everything it writes is re-derived from those
events if the machine dies: a lost step is simply done again.
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` / ``postgresql://`` and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class _WriteLock:
    """Threads of this process queue on a mutex, processes on an flock'd lock file."""

    def __init__(self, path: Path):
        self._mutex = threading.Lock()
        self._path = path
        self._fd: int | None = None

    def __enter__(self):
        self._mutex.acquire()
        try:
            if self._fd is None or self._pid != os.getpid():
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise
        return self

    def __exit__(self, *exc):
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()


def make_engine(url: str, durable: bool = True) -> Engine:
    """``durable=False`` (the worker) skips the fsync per commit on SQLite; see the module doc."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=10, max_overflow=20, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # pysqlite's implicit transactions defer the write lock; a write transaction
        # takes it up front (BEGIN IMMEDIATE) so it can never fail half-way on a lock
        # upgrade, while reads stay deferred and, under WAL, never block writers.
        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("wpa_write") else "BEGIN")

        # Writers queue on a lock instead of SQLite's busy handler, which sleeps up
        # to 100 ms between retries and wrecks webhook latency.
        lock_path = Path(parsed.database + ".writelock") if parsed.database and parsed.database != ":memory:" else None
        engine.info_write_lock = _WriteLock(lock_path) if lock_path else threading.Lock()  # type: ignore[attr-defined]
        engine.info_write_engine = engine.execution_options(wpa_write=True)  # type: ignore[attr-defined]
        return engine
    # hide_parameters: SQL errors must not carry message text or LINE ids into logs.
    engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)
    if not durable:
        # Same trade as SQLite's synchronous=NORMAL: the worker's commits need not wait for the
        # WAL flush; a crash loses at most its last steps, which are redone from the events.
        @event.listens_for(engine, "connect")
        def _async_commit(dbapi_conn, _record):  # noqa: ANN001
            with dbapi_conn.cursor() as cur:
                cur.execute("SET synchronous_commit TO OFF")
            dbapi_conn.commit()
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One write unit of work: commit on success, roll back on any error.

    Plain ``factory()`` sessions are for reading; anything that writes goes here.
    """
    engine = factory.kw["bind"]
    lock = getattr(engine, "info_write_lock", None)
    write_engine = getattr(engine, "info_write_engine", engine)
    with lock if lock is not None else nullcontext():
        with factory(bind=write_engine) as session:
            with session.begin():
                yield session


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("questions")
