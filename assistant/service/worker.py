"""The background worker: four lanes, each a thread pulling rows from the database.

* intake — webhook events (fast, DB only)
* drafts — retrieval + drafting for queued questions (slow)
* media  — downloading files and images users sent (network)
* outbox — sending to LINE, with retries

Separate lanes keep a slow draft or download from delaying acknowledgements. Each lane
sleeps on an Event that the webhook/console set, with a short poll as the
fallback, so work written by another process (or before a restart) is found.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from sqlalchemy import or_, select

from .db import transaction
from .drafting import DraftFn, apply_draft, draft_row
from .leases import backoff_seconds, claim_job, claim_outbox, release_all_leases
from .line_gateway import LineGateway
from .media import store as store_media
from .models import Draft as DraftRow
from .models import Job, LineEvent, Message, Question, utcnow
from .intake import handle_event
from .outbox import send_one
from .settings import ServiceSettings

log = logging.getLogger("wpa.service.worker")

MAX_EVENT_ATTEMPTS = 5
INTAKE_BATCH = 10
MAX_CONTENT_ATTEMPTS = 6


@dataclass
class Lane:
    name: str
    step: Callable[[], bool]
    wake: threading.Event
    thread: threading.Thread | None = None


class Worker:
    def __init__(self, settings: ServiceSettings, factory, gateway: LineGateway, make_draft: DraftFn,
                 warm_up: Callable[[], None] | None = None, wake_events: dict | None = None):
        self.settings = settings
        self.factory = factory
        self.gateway = gateway
        self.make_draft = make_draft
        self.warm_up = warm_up
        self._stop = threading.Event()
        # Wake-ups come from the web process (multiprocessing Events) or, when the
        # worker runs as threads of the web process, from plain threading Events.
        wake = wake_events or {}
        self.lanes = {
            name: Lane(name, step, wake.get(name) or threading.Event())
            for name, step in (("intake", self.intake_step), ("drafts", self.drafts_step),
                               ("media", self.media_step), ("outbox", self.outbox_step))
        }

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        release_all_leases(self.factory)
        for lane in self.lanes.values():
            lane.thread = threading.Thread(target=self._run, args=(lane,), name=f"wpa-{lane.name}", daemon=True)
            lane.thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Ask the lanes to finish; a lane stuck in a long call is abandoned (its lease is
        released at the next start, so the work is redone, never lost)."""
        self._stop.set()
        for lane in self.lanes.values():
            lane.wake.set()
        deadline = time.monotonic() + timeout
        for lane in self.lanes.values():
            if lane.thread is not None:
                lane.thread.join(max(0.1, deadline - time.monotonic()))

    def wake(self, *names: str) -> None:
        for name in names or tuple(self.lanes):
            self.lanes[name].wake.set()

    def _run(self, lane: Lane) -> None:
        if lane.name == "drafts" and self.warm_up is not None:
            try:
                self.warm_up()
            except Exception as exc:  # noqa: BLE001 - drafting jobs will report it per question
                if not self._stop.is_set():
                    log.error("drafter warm-up failed: %s", type(exc).__name__)
        while not self._stop.is_set():
            lane.wake.clear()      # before looking, so a wake-up during the step is not lost
            try:
                did_work = lane.step()
            except Exception as exc:  # noqa: BLE001 - a lane must never die
                log.error("%s lane error: %s", lane.name, type(exc).__name__)
                did_work = False
                self._stop.wait(self.settings.poll_seconds)
            if not did_work:
                lane.wake.wait(self.settings.poll_seconds)

    # -- job bookkeeping -------------------------------------------------
    def _job_done(self, s, job_id: int) -> bool:
        job = s.get(Job, job_id)
        if job is None or job.status != "pending":
            return False
        job.status = "done"
        job.locked_until = None
        job.finished_at = utcnow()
        return True

    def _job_retry_or_fail(self, job_id: int, error: str, max_attempts: int) -> bool:
        """Reschedule with back-off; returns True when the job has now failed for good."""
        with transaction(self.factory) as s:
            job = s.get(Job, job_id)
            if job is None or job.status != "pending":
                return False
            job.last_error = error[:2000]
            job.locked_until = None
            if job.attempts >= max_attempts:
                job.status = "failed"
                job.finished_at = utcnow()
                return True
            delay = backoff_seconds(job.attempts, self.settings.retry_base_seconds, self.settings.retry_max_seconds)
            job.run_after = utcnow() + timedelta(seconds=delay)
            return False

    # -- lanes -----------------------------------------------------------
    def intake_step(self) -> bool:
        """Handle up to INTAKE_BATCH events in one transaction (one commit, one lock turn).

        Each event runs in a savepoint, so one that fails is retried later without
        holding back the others; a crash mid-batch commits nothing and redoes it all.
        """
        now = utcnow()
        with transaction(self.factory) as s:
            q = (select(Job).where(Job.status == "pending", Job.kind == "event", Job.run_after <= now,
                                   or_(Job.locked_until.is_(None), Job.locked_until < now))
                 .order_by(Job.run_after, Job.id).limit(INTAKE_BATCH))
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            jobs = list(s.scalars(q))
            if not jobs:
                return False
            for job in jobs:
                job.attempts += 1
                try:
                    with s.begin_nested():
                        event = s.get(LineEvent, job.ref_id)
                        if event is not None:
                            handle_event(s, self.settings, event)
                except Exception as exc:  # noqa: BLE001 - recorded on the job, retried later
                    log.error("event job %d failed: %s", job.id, type(exc).__name__)
                    job.last_error = type(exc).__name__
                    if job.attempts >= MAX_EVENT_ATTEMPTS:
                        job.status, job.finished_at = "failed", now
                    else:
                        job.run_after = now + timedelta(seconds=backoff_seconds(
                            job.attempts, self.settings.retry_base_seconds, self.settings.retry_max_seconds))
                    continue
                job.status, job.locked_until, job.finished_at = "done", None, now
        self.wake("outbox", "drafts", "media")
        return True

    def media_step(self) -> bool:
        job = claim_job(self.factory, ("content",), utcnow(), timedelta(seconds=300))
        if job is None:
            return False
        self._handle_content_job(job)
        return True

    def _handle_content_job(self, job: Job) -> None:
        with self.factory() as s:
            msg = s.get(Message, job.ref_id)
            if msg is None:
                return
            line_message_id, contact_id, file_name = msg.line_message_id, msg.contact_id, msg.file_name
        data, content_type, result = self.gateway.content(line_message_id)
        if not result.ok:
            error = f"{result.status or ''} {result.error}".strip()
            final = (not result.retryable) or self._job_retry_or_fail(job.id, error, MAX_CONTENT_ATTEMPTS)
            if final:
                with transaction(self.factory) as s:
                    row = s.get(Message, job.ref_id)
                    row.media_status = "failed"
                    j = s.get(Job, job.id)
                    if j.status == "pending":
                        j.status, j.last_error, j.locked_until, j.finished_at = "failed", error[:2000], None, utcnow()
            return
        rel = store_media(self.settings.home, contact_id, job.ref_id, data or b"", content_type, file_name)
        with transaction(self.factory) as s:
            row = s.get(Message, job.ref_id)
            row.media_path, row.media_type = rel, content_type[:128]
            row.media_bytes, row.media_status = len(data or b""), "stored"
            self._job_done(s, job.id)

    def drafts_step(self) -> bool:
        job = claim_job(self.factory, ("draft",), utcnow(), timedelta(seconds=600))
        if job is None:
            return False
        payload = json.loads(job.payload or "{}")
        query = str(payload.get("query") or "")
        user_id = payload.get("user_id")
        with self.factory() as s:
            question = s.get(Question, job.ref_id)
            live = question is not None and question.status in ("drafting", "waiting", "send_failed")
        if not live or not query:
            with transaction(self.factory) as s:
                self._job_done(s, job.id)
            return True
        started = time.monotonic()
        try:
            draft = self.make_draft(query)
        except Exception as exc:  # noqa: BLE001 - reported to staff on the question
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.error("draft job %d failed (attempt %d): %s", job.id, job.attempts, type(exc).__name__)
            if not self._job_retry_or_fail(job.id, error, self.settings.max_draft_attempts):
                return True
            with transaction(self.factory) as s:
                q = s.get(Question, job.ref_id)
                row = DraftRow(question_id=q.id, query=query, text="", citations="[]", abstained=True,
                               reason="", timings="{}", error=error, created_by_id=user_id, created_at=utcnow())
                apply_draft(s, q, row, by_staff=False)
            return True
        with transaction(self.factory) as s:
            if not self._job_done(s, job.id):
                return True
            q = s.get(Question, job.ref_id)
            if q.status not in ("drafting", "waiting", "send_failed"):
                return True
            apply_draft(s, q, draft_row(q.id, query, draft, user_id), by_staff=user_id is not None)
        log.info("question %d drafted in %.0f ms", job.ref_id, (time.monotonic() - started) * 1000)
        return True

    def outbox_step(self) -> bool:
        lease = timedelta(seconds=self.settings.line_timeout_seconds * 2 + 30)
        row = claim_outbox(self.factory, utcnow(), lease)
        if row is None:
            return False
        send_one(self.factory, self.gateway, self.settings, row)
        return True
