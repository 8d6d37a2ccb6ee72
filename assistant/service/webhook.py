"""``POST /line/webhook``: check the signature, store the events, answer 200.

Nothing slow happens here. LINE waits only a couple of seconds and redelivers
on failure, so the handler verifies ``X-Line-Signature`` over the exact bytes
(line-bot-sdk's SignatureValidator), stores each raw event once — keyed by
``webhookEventId`` so redeliveries are no-ops — with a job row in the same
transaction, wakes the worker and returns. Every rejection is a 4xx with a
specific message; none of it logs user ids or message text.
"""
from __future__ import annotations

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


def store_events(factory: sessionmaker[Session], events: list[dict]) -> StoredBatch:
    """Insert new events and their jobs in one transaction; duplicates are skipped."""
    stored = 0
    if not events:
        return StoredBatch(0, 0)
    now = utcnow()
    with transaction(factory) as session:
        stmt_base = _insert_ignoring_duplicates(session)
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
    return StoredBatch(len(events), stored)


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
        batch = await run_in_threadpool(store_events, ctx.session_factory, events)
        if batch.stored:
            ctx.wake_worker()
        log.info("webhook: %d event(s), %d new", batch.received, batch.stored)
        return JSONResponse({}, status_code=200)

    return router
