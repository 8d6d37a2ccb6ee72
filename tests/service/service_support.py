"""Helpers shared by the service tests: real servers on loopback, signed webhooks, a console client.

Nothing here fakes our own code: the service runs under uvicorn on a real
port, LINE is the emulator (assistant.lineemu), and the database is a real
SQLite file or a PostgreSQL database created for the test.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import uvicorn

from assistant.citations import Citation, Draft
from assistant.simplified import ScriptReader
from assistant.lineemu.contracts import validate_webhook_body
from assistant.lineemu.events import encode_body, sign, webhook_body

CHANNEL_SECRET = "5ecret0f7he7e57channel0123456789"
ACCESS_TOKEN = "test-channel-access-token"
REPO_ROOT = Path(__file__).resolve().parents[2]
PG_BASE = os.environ.get("WPA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


# --- PostgreSQL ------------------------------------------------------------

def _pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def pg_admin_url() -> str | None:
    """A reachable PostgreSQL URL (user postgres, else root), or None."""
    import psycopg

    candidates = [PG_BASE]
    if "postgres@" in PG_BASE:
        candidates.append(PG_BASE.replace("postgres@", "root@"))
    for url in candidates:
        try:
            with psycopg.connect(_pg_conninfo(url), connect_timeout=3):
                return url
        except psycopg.Error:
            continue
    return None


@contextmanager
def fresh_pg_database(admin_url: str) -> Iterator[str]:
    """Create an empty database for one test and drop it afterwards."""
    import psycopg

    name = "wpa_t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(_pg_conninfo(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(_pg_conninfo(admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- drafts ------------------------------------------------------------------

def fixed_draft(question: str) -> Draft:
    """A deterministic drafting function for tests about the service, not about retrieval."""
    text = "依水污染防治法第 14 條規定，事業應申請許可 [1]。"
    article = "事業排放廢（污）水於地面水體者，應向直轄市、縣（市）主管機關申請核發排放許可證或簡易排放許可文件後，始得排放。"
    cite = Citation(n=1, unit_id="O0040001:14", law_name="水污染防治法", pcode="O0040001", article="第 14 條",
                    url="https://law.moj.gov.tw/LawClass/LawSingle.aspx?pcode=O0040001&flno=14", text=article,
                    passage="應向直轄市、縣（市）主管機關申請核發排放許可證", score=0.91)
    # As the real search reports a homophone typo it read as a term (see assistant/typos.py).
    corrections = [("許可正", "許可證")] if "許可正" in question else []
    # And how it reads simplified characters: the real reader, with the cited article as its corpus.
    read_as = ScriptReader.build(article + "快到期了要做什麼").to_traditional(question)
    cites = [cite]
    if "申請書" in question:      # as the real drafter points to the forms catalog (drafting.form_for)
        cites.append(Citation(n=2, unit_id="form:forms:0", law_name="水污染防治許可申請書表目錄", pcode="",
                              article="WP-02 排放許可證（文件）申請書", url="", text="排放許可證申請時填寫。",
                              passage="排放許可證申請時填寫。", score=0.6, source_kind="form"))
        text += "\n相關書表：\n[2] 水污染防治許可申請書表目錄〈WP-02 排放許可證（文件）申請書〉"
    return Draft(question=question, text=text, citations=cites, corrections=corrections,
                 read_as=read_as if read_as != question else "")


# --- servers -----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningService:
    base_url: str
    settings: Any
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def ctx(self):
        return self.app.state.ctx

    def session(self):
        return self.ctx.session_factory()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@contextmanager
def running_service(settings, make_draft: Callable[[str], Draft] | None = fixed_draft) -> Iterator[RunningService]:
    """The whole service (webhook, console, worker) under uvicorn on a loopback port."""
    from assistant.service.app import create_app

    app = create_app(settings, make_draft)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("service failed to start")
        time.sleep(0.02)
    svc = RunningService(f"http://127.0.0.1:{port}", settings, app, server, thread)
    try:
        yield svc
    finally:
        svc.stop()
        sock.close()


def service_env(home: Path, database_url: str, emulator_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_URL"))}
    env.update({
        "WPA_HOME": str(home), "DATABASE_URL": database_url,
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_API_BASE_URL": emulator_url, "LINE_DATA_API_BASE_URL": emulator_url,
        "WPA_RETRY_BASE_SECONDS": "0.2", "WPA_RETRY_MAX_SECONDS": "2", "WPA_POLL_SECONDS": "0.1",
        "WPA_LINE_TIMEOUT_SECONDS": "2", "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class ServiceProcess:
    """``python -m assistant.service serve`` as a child process the test can SIGKILL."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.service", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("service did not come up")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# --- webhook -------------------------------------------------------------------

def signed(events: list[dict], secret: str = CHANNEL_SECRET) -> tuple[bytes, dict[str, str]]:
    """Body + headers exactly as LINE would send them; the body is checked against webhook.yml first."""
    body = webhook_body(events)
    validate_webhook_body(body)
    raw = encode_body(body)
    return raw, {"Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0",
                 "X-Line-Signature": sign(raw, secret)}


def post_events(base_url: str, events: list[dict], client: httpx.Client | None = None) -> httpx.Response:
    raw, headers = signed(events)
    if client is not None:
        return client.post(base_url + "/line/webhook", content=raw, headers=headers)
    return httpx.post(base_url + "/line/webhook", content=raw, headers=headers, timeout=10)


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


# --- console -------------------------------------------------------------------

_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    """A browser-like HTTP client for the staff console (cookies, CSRF tokens from pages)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=15)
        self.csrf = ""

    def get(self, path: str, **kw) -> httpx.Response:
        resp = self.http.get(path, **kw)
        m = _HIDDEN.search(resp.text)
        if m and resp.status_code == 200:
            self.csrf = m.group(1)
        return resp

    def post(self, path: str, data: dict | None = None, csrf: str | None = None) -> httpx.Response:
        form = dict(data or {})
        form.setdefault("csrf_token", self.csrf if csrf is None else csrf)
        return self.http.post(path, data=form)

    def login(self, username: str, password: str) -> httpx.Response:
        page = self.http.get("/console/login")
        token = _HIDDEN.search(page.text).group(1)
        resp = self.http.post("/console/login", data={"username": username, "password": password,
                                                      "csrf_token": token, "next": "/console/"})
        if resp.status_code == 303:
            self.get("/console/")
        return resp

    def version_of(self, question_id: int) -> int:
        page = self.get(f"/console/questions/{question_id}")
        return int(re.search(r'name="version" value="(\d+)"', page.text).group(1))

    def close(self) -> None:
        self.http.close()


def make_user(settings, username: str, role: str, password: str = "correct horse battery") -> None:
    from assistant.service.auth import create_user
    from assistant.service.db import make_engine, make_sessionmaker, transaction

    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            create_user(s, username, password, role)
    finally:
        engine.dispose()
