"""Kill the service (SIGKILL, a real child process) mid-queue and mid-send; nothing is lost or doubled.

The service runs as ``python -m assistant.service serve`` with the real pipeline
(WPA_HOME = the session's real index), LINE is the emulator in this process.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import httpx
from sqlalchemy import func, select

from assistant.lineemu import events as ev
from assistant.service.db import make_engine, make_sessionmaker
from assistant.service.models import Job, LineEvent, Outbox, Question

from .service_support import REPO_ROOT, Console, ServiceProcess, make_user, post_events, service_env, wait_for

SHARED = Path(os.environ.get("WPA_SHARED", REPO_ROOT.parent / "shared"))
QUESTIONS = [json.loads(line)["question"] for line in
             (SHARED / "evals" / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:4]]
PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_kill_mid_queue_and_mid_send_loses_nothing_and_sends_nothing_twice(tmp_path, database_url, emu, real_home):
    env = service_env(real_home, database_url, emu.base_url)
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)

    def count(model, *where) -> int:
        with factory() as s:
            return s.scalar(select(func.count()).select_from(model).where(*where))

    # 1. questions arrive; the service dies while drafting them
    first = ServiceProcess(env, tmp_path / "service-1.log")
    first.start()
    events = [ev.text_message_event(q, user_id=ev.new_user_id()) for q in QUESTIONS]
    for event in events:
        assert post_events(first.base_url, [event]).status_code == 200
    wait_for(lambda: emu.delivered(REPLY), what="first acknowledgement")
    worker_pid = httpx.get(first.base_url + "/healthz").json()["worker_pid"]
    first.kill()
    # the worker (and its drafter) die with the web process: no orphan keeps working beside the restart
    wait_for(lambda: not _alive(worker_pid), timeout=10, what="worker process gone")
    pending_at_kill = count(Job, Job.status == "pending")
    assert pending_at_kill > 0, "the kill should land while work is still queued"
    # LINE redelivers what it may think was lost; the service must not double anything
    redelivered = [dict(e, deliveryContext={"isRedelivery": True}) for e in events[:3]]

    # 2. restart: every question is drafted exactly once
    second = ServiceProcess(env, tmp_path / "service-2.log")
    second.start()
    assert post_events(second.base_url, redelivered).status_code == 200
    wait_for(lambda: count(Question, Question.status == "waiting") == len(QUESTIONS), timeout=120,
             what="all questions drafted after restart")
    assert count(LineEvent) == len(QUESTIONS)
    assert count(Question) == len(QUESTIONS)
    with factory() as s:
        assert sorted(s.scalars(select(Question.text))) == sorted(QUESTIONS)
        assert all(q.current_draft_id for q in s.scalars(select(Question)))
    wait_for(lambda: count(Outbox, Outbox.purpose == "ack", Outbox.status == "pending") == 0, what="acks sent")
    acked = {r["body"]["replyToken"] for r in emu.delivered(REPLY)}
    assert acked == {e["replyToken"] for e in events}                        # every question acknowledged
    assert count(Outbox, Outbox.purpose == "ack") == len(QUESTIONS)          # and queued once each
    # (A reply repeated after a kill reuses its reply token, which LINE accepts only once.)

    # a worker process that dies on its own is restarted by the web process
    health = httpx.get(second.base_url + "/healthz").json()
    os.kill(health["worker_pid"], 9)
    restarted = wait_for(lambda: (h := httpx.get(second.base_url + "/healthz").json())["worker_restarts"] == 1
                         and h["worker_alive"] and h, timeout=20, what="worker restarted")
    assert restarted["worker_pid"] != health["worker_pid"]

    # 3. approve all; the service dies while LINE is still answering the first push
    make_user(SimpleNamespace(database_url=database_url), "rita", "reviewer")
    console = Console(second.base_url)
    assert console.login("rita", "correct horse battery").status_code == 303
    emu.fail(PUSH, [{"timeout_s": 1.5}])          # accepted at once, answered late
    with factory() as s:
        ids = list(s.scalars(select(Question.id).order_by(Question.id)))
    for qid in ids:
        resp = console.post(f"/console/questions/{qid}/edit",
                            {"version": console.version_of(qid), "text": f"第 {qid} 題的核准回覆", "action": "approve"})
        assert resp.status_code == 303
    wait_for(lambda: emu.requests(PUSH), what="first push in flight")
    second.kill()

    # 4. restart again: every answer reaches LINE exactly once
    third = ServiceProcess(env, tmp_path / "service-3.log")
    third.start()
    try:
        wait_for(lambda: count(Question, Question.status == "answered") == len(ids), timeout=60,
                 what="all answered after second restart")
    finally:
        third.stop()
    delivered = emu.delivered(PUSH)
    texts = Counter(d["body"]["messages"][0]["text"] for d in delivered)
    assert texts == Counter(f"第 {qid} 題的核准回覆" for qid in ids)
    keys = [d["headers"]["x-line-retry-key"] for d in delivered]
    assert len(set(keys)) == len(ids)
    with factory() as s:
        stored_keys = set(s.scalars(select(Outbox.retry_key).where(Outbox.purpose == "answer")))
    assert stored_keys == set(keys)
    repeats = [r for r in emu.requests(PUSH) if r["status"] == 409]
    assert all(r["headers"]["x-line-retry-key"] in stored_keys for r in repeats)
    engine.dispose()

    # no personal data in the service's logs: no LINE user ids, no message text
    logs = "".join((tmp_path / f"service-{i}.log").read_text(encoding="utf-8", errors="replace") for i in (1, 2, 3))
    assert "wpa.service" in logs                       # the logs are there and do say things
    for event in events:
        assert event["source"]["userId"] not in logs
        assert event["message"]["text"][:12] not in logs
    assert "的核准回覆" not in logs
