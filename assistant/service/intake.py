"""Turn one stored webhook event into conversation rows, queue items and replies.

Runs in the worker, inside a single transaction together with marking the
event's job done — so after a crash an event is either fully handled or not
at all, never half. Drafting (slow) and media downloads (network) become
their own jobs so the acknowledgement goes out right away.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Contact, Job, LineEvent, Message, Question, utcnow
from .outbox import enqueue_text
from .replies import STICKER, UNSUPPORTED, WELCOME, acknowledgement, media_received
from .settings import ServiceSettings

log = logging.getLogger("wpa.service.intake")

MEDIA_KINDS = ("image", "file", "video", "audio")
MAX_QUESTION_CHARS = 5000   # LINE's own limit for a text message


def _chat_id(source: dict) -> tuple[str, str]:
    """The id a push goes to (group/room if the chat is one) and the source type."""
    kind = str(source.get("type") or "user")
    for key in ("groupId", "roomId", "userId"):
        value = source.get(key)
        if isinstance(value, str) and value:
            return value[:64], kind
    return "", kind


def get_or_create_contact(s: Session, line_id: str, source_type: str) -> Contact:
    contact = s.scalars(select(Contact).where(Contact.line_id == line_id)).first()
    if contact is None:
        contact = Contact(line_id=line_id, source_type=source_type[:16], created_at=utcnow())
        s.add(contact)
        s.flush()
    return contact


def _event_time(event: dict, fallback: datetime) -> datetime:
    ts = event.get("timestamp")
    if isinstance(ts, (int, float)) and ts > 0:
        try:
            return datetime.fromtimestamp(ts / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return fallback
    return fallback


def handle_event(s: Session, settings: ServiceSettings, event_row: LineEvent) -> None:
    """Apply one event; the caller commits (and marks the job done) in the same transaction."""
    event = json.loads(event_row.payload)
    kind = event.get("type")
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    line_id, source_type = _chat_id(source)
    if not line_id:
        log.info("event %d (%s): no source id, recorded only", event_row.id, kind)
        return
    now = utcnow()
    # In standby mode another channel answers; we record but never reply.
    reply_token = event.get("replyToken") if event.get("mode", "active") == "active" else ""
    reply_token = reply_token if isinstance(reply_token, str) else ""
    contact = get_or_create_contact(s, line_id, source_type)

    if kind == "follow":
        contact.followed = True
        contact.followed_at = _event_time(event, now)
        if reply_token:
            enqueue_text(s, contact, WELCOME, purpose="notice", reply_token=reply_token)
        return
    if kind == "unfollow":
        contact.followed = False
        contact.unfollowed_at = _event_time(event, now)
        return
    if kind != "message" or not isinstance(event.get("message"), dict):
        return   # postback, join, unsend …: kept in line_events, nothing to do yet

    message = event["message"]
    mtype = str(message.get("type") or "other")[:16]
    received = _event_time(event, now)
    row = Message(contact_id=contact.id, event_id=event_row.id, direction="in", kind=mtype,
                  line_message_id=str(message.get("id") or "")[:64], created_at=received)

    if mtype == "text":
        text = str(message.get("text") or "")[:MAX_QUESTION_CHARS]
        row.text = text
        s.add(row)
        s.flush()
        question = Question(contact_id=contact.id, event_id=event_row.id, message_id=row.id, text=text,
                            received_at=received, status="drafting", reject_reason="", version=1,
                            updated_at=now)
        s.add(question)
        s.flush()
        s.add(Job(kind="draft", ref_id=question.id, payload=json.dumps({"query": text}, ensure_ascii=False),
                  status="pending", attempts=0, run_after=now, last_error="", created_at=now))
        if reply_token:
            enqueue_text(s, contact, acknowledgement(settings.office_hours, now), purpose="ack",
                         reply_token=reply_token, question_id=question.id)
        return

    if mtype == "sticker":
        s.add(row)
        if reply_token:
            enqueue_text(s, contact, STICKER, purpose="notice", reply_token=reply_token)
        return

    if mtype in MEDIA_KINDS:
        provider = message.get("contentProvider") if isinstance(message.get("contentProvider"), dict) else {}
        row.file_name = str(message.get("fileName") or "")[:255]
        row.media_bytes = int(message.get("fileSize") or 0) if str(message.get("fileSize") or "0").isdigit() else 0
        # Images/videos from other providers live elsewhere; only LINE-hosted content can be fetched.
        hosted = mtype == "file" or provider.get("type", "line") == "line"
        row.media_status = "pending" if hosted and row.line_message_id else ""
        if not hosted:
            row.text = str(provider.get("originalContentUrl") or "")
        s.add(row)
        s.flush()
        if row.media_status == "pending":
            s.add(Job(kind="content", ref_id=row.id, payload="{}", status="pending", attempts=0,
                      run_after=now, last_error="", created_at=now))
        if reply_token:
            enqueue_text(s, contact, media_received(mtype), purpose="notice", reply_token=reply_token)
        return

    # location and anything newer LINE adds
    if mtype == "location":
        row.text = str(message.get("address") or message.get("title") or "")
    s.add(row)
    if reply_token:
        enqueue_text(s, contact, UNSUPPORTED, purpose="notice", reply_token=reply_token)
