"""Outgoing LINE messages: queue them durably, send them at most once.

A push gets its ``X-Line-Retry-Key`` (a UUID) when the row is written, i.e.
before the first attempt; every retry — after a 5xx, a 429, a time-out or a
crash mid-request — reuses it, and LINE answers a repeat with 409, which we
count as sent. A reply uses the reply token, which LINE accepts only once.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .audit import record
from .db import transaction
from .leases import backoff_seconds
from .line_gateway import LineGateway, SendResult, text_messages
from .models import Contact, Message, Outbox, Question, utcnow
from .settings import ServiceSettings

log = logging.getLogger("wpa.service.outbox")

# LINE keeps a retry key for 24 hours; stop retrying well before a repeat could go out twice.
RETRY_KEY_LIFETIME = timedelta(hours=23)


def enqueue_text(session: Session, contact: Contact, text: str, *, purpose: str,
                 reply_token: str = "", question_id: int | None = None,
                 user_id: int | None = None) -> Outbox:
    """Queue ``text`` for ``contact`` (reply if a token is given, else push) and log it in the chat."""
    messages = text_messages(text)
    kind = "reply" if reply_token else "push"
    now = utcnow()
    row = Outbox(kind=kind, purpose=purpose, question_id=question_id, contact_id=contact.id,
                 reply_token=reply_token, messages=json.dumps(messages, ensure_ascii=False),
                 retry_key=str(uuid.uuid4()) if kind == "push" else "", status="pending",
                 attempts=0, next_attempt_at=now, last_error="", request_id="",
                 created_by_id=user_id, created_at=now)
    session.add(row)
    session.flush()
    session.add(Message(contact_id=contact.id, outbox_id=row.id, direction="out", kind="text",
                        text=text, created_at=now))
    return row


def send_one(factory: sessionmaker[Session], gateway: LineGateway, settings: ServiceSettings,
             row: Outbox) -> SendResult:
    """Try one claimed outbox row and record the outcome."""
    with factory() as s:
        contact = s.get(Contact, row.contact_id)
        to = contact.line_id if contact else ""
    messages = json.loads(row.messages)
    if row.kind == "reply":
        result = gateway.reply(row.reply_token, messages)
    else:
        result = gateway.push(to, messages, row.retry_key)
    finish(factory, settings, row.id, result)
    return result


def finish(factory: sessionmaker[Session], settings: ServiceSettings, row_id: int, result: SendResult) -> None:
    now = utcnow()
    with transaction(factory) as s:
        row = s.get(Outbox, row_id)
        if row is None or row.status != "pending":
            return
        row.locked_until = None
        row.last_status = result.status
        if result.ok:
            row.status = "sent"
            row.sent_at = now
            row.request_id = result.request_id[:64]
            row.last_error = "" if not result.duplicate else "409: retry key already accepted (counted as sent)"
            _on_sent(s, row)
            log.info("outbox %d sent (%s, attempt %d%s)", row.id, row.kind, row.attempts,
                     ", duplicate" if result.duplicate else "")
            return
        row.last_error = (f"{result.status}: {result.error}" if result.status else result.error)[:2000]
        expired = row.kind == "push" and now - row.created_at > RETRY_KEY_LIFETIME
        if result.retryable and row.attempts < settings.max_send_attempts and not expired:
            delay = backoff_seconds(row.attempts, settings.retry_base_seconds, settings.retry_max_seconds)
            if result.retry_after:
                delay = max(delay, min(result.retry_after, settings.retry_max_seconds))
            row.next_attempt_at = now + timedelta(seconds=delay)
            log.info("outbox %d: retry in %.1fs after %s", row.id, delay, result.status or "network error")
            return
        row.status = "failed"
        log.warning("outbox %d failed after %d attempt(s): status %s", row.id, row.attempts, result.status)
        _on_failed(s, row)


def _on_sent(s: Session, row: Outbox) -> None:
    if row.question_id is None or row.purpose != "answer":
        return
    q = s.get(Question, row.question_id)
    if q is not None and q.status == "sending":
        q.status = "answered"
        q.version += 1
        q.updated_at = utcnow()
    record(s, None, "sent", question_id=row.question_id,
           detail={"outbox_id": row.id, "attempts": row.attempts, "retry_key": row.retry_key})


def _on_failed(s: Session, row: Outbox) -> None:
    if row.question_id is None:
        return
    if row.purpose == "answer":
        q = s.get(Question, row.question_id)
        if q is not None and q.status == "sending":
            q.status = "send_failed"
            q.version += 1
            q.updated_at = utcnow()
    record(s, None, "send_failed", question_id=row.question_id,
           detail={"outbox_id": row.id, "purpose": row.purpose, "error": row.last_error})


def outbox_for_question(session: Session, question_id: int) -> list[Outbox]:
    return list(session.scalars(select(Outbox).where(Outbox.question_id == question_id).order_by(Outbox.id)))
