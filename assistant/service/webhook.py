"""``POST /line/webhook``: check the signature, store the events, answer 200.

Nothing slow happens here. LINE waits only a couple of seconds and redelivers
on failure, so the handler verifies ``X-Line-Signature`` over the exact bytes
(line-bot-sdk's SignatureValidator), stores each raw event once — keyed by
``webhookEventId`` so redeliveries are no-ops — with a job row in the same
transaction, wakes the worker and returns. Requests that arrive together are
written together (group commit: one transaction, one fsync for the lot), so a
burst costs one disk flush rather than one per request. Every rejection is a
4xx with a specific message; none of it logs user ids or message text.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from linebot.v3.webhook import SignatureValidator
from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from .db import transaction
from .models import Job, LineEvent, utcnow

log = logging.getLogger("wpa.service.webhook")

MAX_EVENT_ID_LENGTH = 64


class WebhookRejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class StoredBatch:
    received: int
    stored: int


def _event_problem(i: int, event: Any) -> str | None:
    if not isinstance(event, dict):
        return f"events[{i}] must be an object"
    if not isinstance(event.get("type"), str) or not event["type"]:
        return f"events[{i}].type must be a non-empty string"
    wid = event.get("webhookEventId")
    if not isinstance(wid, str) or not wid or len(wid) > MAX_EVENT_ID_LENGTH:
        return f"events[{i}].webhookEventId must be a string of 1–{MAX_EVENT_ID_LENGTH} characters"
    source = event.get("source")
    if source is not None and not isinstance(source, dict):
        return f"events[{i}].source must be an object"
    delivery = event.get("deliveryContext")
    if delivery is not None and not isinstance(delivery, dict):
        return f"events[{i}].deliveryContext must be an object"
    return None


def parse_webhook(body: bytes, signature: str | None, channel_secret: str) -> list[dict]:
    """Verified events from a raw webhook body, or WebhookRejected with a 4xx."""
    if not signature:
        raise WebhookRejected(400, "missing X-Line-Signature header")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(400, "request body is not valid UTF-8") from None
    if not SignatureValidator(channel_secret).validate(text, signature):
        raise WebhookRejected(400, "invalid X-Line-Signature")
    try:
        data = json.loads(text)
    except ValueError:
        raise WebhookRejected(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise WebhookRejected(400, "request body must be a JSON object")
    events = data.get("events")
    if not isinstance(events, list):
        raise WebhookRejected(400, "request body must have an 'events' array")
    for i, event in enumerate(events):
        problem = _event_problem(i, event)
        if problem:
            raise WebhookRejected(400, problem)
    return events


def _insert_ignoring_duplicates(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(LineEvent)
    if dialect == "sqlite":
        return sqlite.insert(LineEvent)
    raise RuntimeError(f"unsupported database: {dialect}")


def _store_in(session: Session, events: list[dict], now) -> int:
    stmt_base = _insert_ignoring_duplicates(session)
    stored = 0
    for event in events:
        delivery = event.get("deliveryContext") or {}
        stmt = (stmt_base.values(
            webhook_event_id=event["webhookEventId"],
            event_type=event["type"][:32],
            is_redelivery=bool(delivery.get("isRedelivery", False)),
            payload=json.dumps(event, ensure_ascii=False, separators=(",", ":")),
            received_at=now,
        ).on_conflict_do_nothing(index_elements=["webhook_event_id"]).returning(LineEvent.id))
        new_id = session.execute(stmt).scalar()
        if new_id is None:
            continue
        session.execute(insert(Job).values(kind="event", ref_id=new_id, payload="{}", status="pending",
                                           attempts=0, run_after=now, last_error="", created_at=now))
        stored += 1
    return stored


def store_many(factory: sessionmaker[Session], requests: list[list[dict]]) -> list[StoredBatch]:
    """Insert the events of several requests in one transaction; duplicates are skipped."""
    now = utcnow()
    with transaction(factory) as session:
        return [StoredBatch(len(events), _store_in(session, events, now)) for events in requests]


def store_events(factory: sessionmaker[Session], events: list[dict]) -> StoredBatch:
    if not events:
        return StoredBatch(0, 0)
    return store_many(factory, [events])[0]


class EventWriter:
    """Group commit: requests queue their events; one task writes whatever is waiting.

    While a transaction is being written, new requests pile up and go into the
    next one. A request is answered only after the transaction holding its
    events has committed; if it fails, every request in it gets the error (and
    LINE redelivers).
    """

    MAX_GROUP = 200

    def __init__(self, factory: sessionmaker[Session]):
        self.factory = factory
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def submit(self, events: list[dict]) -> StoredBatch:
        if not events:
            return StoredBatch(0, 0)
        if self._task is None or self._task.done():   # not started (e.g. no lifespan): write directly
            return await run_in_threadpool(store_events, self.factory, events)
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((events, future))
        return await future

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self.MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                results = await run_in_threadpool(store_many, self.factory, [events for events, _ in group])
            except Exception as exc:  # noqa: BLE001 - handed to each waiting request
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(group, results):
                if not future.done():
                    future.set_result(result)


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise WebhookRejected(413, f"request body larger than {limit} bytes")
        except ValueError:
            raise WebhookRejected(400, "bad Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookRejected(413, f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_router(get_context: Callable[[Request], Any]) -> APIRouter:
    router = APIRouter()

    @router.post("/line/webhook", include_in_schema=False)
    async def line_webhook(request: Request) -> JSONResponse:
        ctx = get_context(request)
        try:
            body = await read_limited(request, ctx.settings.webhook_max_bytes)
            events = parse_webhook(body, request.headers.get("x-line-signature"),
                                   ctx.settings.line_channel_secret)
        except WebhookRejected as exc:
            log.info("webhook rejected: %s (%s)", exc.status, exc.message)
            return JSONResponse({"message": exc.message}, status_code=exc.status)
        try:
            batch = await ctx.event_writer.submit(events)
        except Exception as exc:  # noqa: BLE001 - LINE redelivers on a 5xx; say nothing private
            log.error("webhook: could not store events: %s", type(exc).__name__)
            return JSONResponse({"message": "temporarily unable to store events"}, status_code=503)
        if batch.stored:
            ctx.wake_worker()
        log.info("webhook: %d event(s), %d new", batch.received, batch.stored)
        return JSONResponse({}, status_code=200)

    return router
