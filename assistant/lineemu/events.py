"""Build and sign webhook bodies the way the LINE Platform sends them.

Tests feed these to the service's webhook endpoint, so they must look like the real
thing: ULID ``webhookEventId``, ``deliveryContext.isRedelivery``, millisecond
timestamps, ``mode: active``, a user source, a reply token, and an ``X-Line-Signature``
computed over the exact bytes sent (non-ASCII text is sent as raw UTF-8, as LINE does,
so signature checks that re-encode the body would be caught). Every builder's output
passes :func:`assistant.lineemu.contracts.validate_webhook_body`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Any, Iterable

DEFAULT_USER_ID = "U" + "1" * 32
DEFAULT_DESTINATION = "U" + "d" * 32
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

Event = dict[str, Any]


def ulid(timestamp_ms: int | None = None) -> str:
    """A 26-character ULID (48-bit ms time + 80 random bits, Crockford base32), like LINE's event ids."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    value = (ts << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_user_id() -> str:
    """A user id in LINE's ``U[0-9a-f]{32}`` form."""
    return "U" + secrets.token_hex(16)


def new_message_id() -> str:
    """A numeric message id (LINE's are 18-digit decimal strings)."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def new_reply_token() -> str:
    return secrets.token_hex(16)


def _base(
    kind: str,
    *,
    user_id: str,
    timestamp: int | None,
    redelivery: bool,
    webhook_event_id: str | None,
    reply_token: str | None | bool,
) -> Event:
    """Fields every event shares; ``reply_token=False`` omits it (unfollow has none)."""
    ts = int(time.time() * 1000) if timestamp is None else timestamp
    event: Event = {
        "type": kind,
        "timestamp": ts,
        "source": {"type": "user", "userId": user_id},
        "mode": "active",
        "webhookEventId": webhook_event_id or ulid(ts),
        "deliveryContext": {"isRedelivery": redelivery},
    }
    if reply_token is not False:
        event["replyToken"] = reply_token or new_reply_token()
    return event


def _message_event(content: dict[str, Any], common: dict[str, Any]) -> Event:
    event = _base("message", **common)
    event["message"] = content
    return event


def text_message_event(
    text: str,
    *,
    message_id: str | None = None,
    quote_token: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    timestamp: int | None = None,
    redelivery: bool = False,
    webhook_event_id: str | None = None,
    reply_token: str | None = None,
) -> Event:
    """A user typed ``text``."""
    content = {"type": "text", "id": message_id or new_message_id(), "quoteToken": quote_token or secrets.token_urlsafe(24), "text": text}
    return _message_event(content, dict(user_id=user_id, timestamp=timestamp, redelivery=redelivery, webhook_event_id=webhook_event_id, reply_token=reply_token))


def sticker_message_event(
    package_id: str = "446",
    sticker_id: str = "1988",
    *,
    keywords: list[str] | None = None,
    message_id: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    timestamp: int | None = None,
    redelivery: bool = False,
    webhook_event_id: str | None = None,
    reply_token: str | None = None,
) -> Event:
    """A user sent a sticker (the service should answer without drafting)."""
    content: dict[str, Any] = {
        "type": "sticker",
        "id": message_id or new_message_id(),
        "quoteToken": secrets.token_urlsafe(24),
        "stickerId": sticker_id,
        "packageId": package_id,
        "stickerResourceType": "STATIC",
    }
    if keywords:
        content["keywords"] = keywords[:15]
    return _message_event(content, dict(user_id=user_id, timestamp=timestamp, redelivery=redelivery, webhook_event_id=webhook_event_id, reply_token=reply_token))


def image_message_event(
    *,
    message_id: str | None = None,
    image_set: dict[str, Any] | None = None,
    user_id: str = DEFAULT_USER_ID,
    timestamp: int | None = None,
    redelivery: bool = False,
    webhook_event_id: str | None = None,
    reply_token: str | None = None,
) -> Event:
    """A user sent a photo; bytes are fetched later from /v2/bot/message/{id}/content."""
    content: dict[str, Any] = {
        "type": "image",
        "id": message_id or new_message_id(),
        "quoteToken": secrets.token_urlsafe(24),
        "contentProvider": {"type": "line"},
    }
    if image_set:
        content["imageSet"] = image_set
    return _message_event(content, dict(user_id=user_id, timestamp=timestamp, redelivery=redelivery, webhook_event_id=webhook_event_id, reply_token=reply_token))


def file_message_event(
    file_name: str,
    file_size: int,
    *,
    message_id: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    timestamp: int | None = None,
    redelivery: bool = False,
    webhook_event_id: str | None = None,
    reply_token: str | None = None,
) -> Event:
    """A user sent a document (PDF, docx …); note LINE sends no quoteToken for files."""
    content = {"type": "file", "id": message_id or new_message_id(), "fileName": file_name, "fileSize": file_size}
    return _message_event(content, dict(user_id=user_id, timestamp=timestamp, redelivery=redelivery, webhook_event_id=webhook_event_id, reply_token=reply_token))


def follow_event(
    *,
    is_unblocked: bool = False,
    user_id: str = DEFAULT_USER_ID,
    timestamp: int | None = None,
    redelivery: bool = False,
    webhook_event_id: str | None = None,
    reply_token: str | None = None,
) -> Event:
    """A user added (or unblocked) the official account."""
    event = _base("follow", user_id=user_id, timestamp=timestamp, redelivery=redelivery, webhook_event_id=webhook_event_id, reply_token=reply_token)
    event["follow"] = {"isUnblocked": is_unblocked}
    return event


def unfollow_event(
    *,
    user_id: str = DEFAULT_USER_ID,
    timestamp: int | None = None,
    redelivery: bool = False,
    webhook_event_id: str | None = None,
) -> Event:
    """A user blocked the account; carries no reply token."""
    return _base("unfollow", user_id=user_id, timestamp=timestamp, redelivery=redelivery, webhook_event_id=webhook_event_id, reply_token=False)


def postback_event(
    data: str,
    *,
    params: dict[str, str] | None = None,
    user_id: str = DEFAULT_USER_ID,
    timestamp: int | None = None,
    redelivery: bool = False,
    webhook_event_id: str | None = None,
    reply_token: str | None = None,
) -> Event:
    """A user tapped a postback action (rich menu, quick reply, buttons)."""
    event = _base("postback", user_id=user_id, timestamp=timestamp, redelivery=redelivery, webhook_event_id=webhook_event_id, reply_token=reply_token)
    event["postback"] = {"data": data, **({"params": params} if params else {})}
    return event


def webhook_body(events: Iterable[Event], destination: str = DEFAULT_DESTINATION) -> dict[str, Any]:
    """Wrap events into the CallbackRequest LINE posts (an empty list is LINE's connectivity check)."""
    return {"destination": destination, "events": list(events)}


def encode_body(body: dict[str, Any]) -> bytes:
    """Compact JSON with raw UTF-8, as LINE sends it; sign these exact bytes."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(body_bytes: bytes, channel_secret: str) -> str:
    """``X-Line-Signature``: base64(HMAC-SHA256(channel secret, raw body))."""
    digest = hmac.new(channel_secret.encode("utf-8"), body_bytes, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_request(
    events: Iterable[Event], secret: str, *, destination: str = DEFAULT_DESTINATION
) -> tuple[bytes, dict[str, str]]:
    """Body bytes and headers for POSTing a webhook to the service, signed with ``secret``."""
    body = encode_body(webhook_body(events, destination))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "LineBotWebhook/2.0",
        "X-Line-Signature": sign(body, secret),
    }
    return body, headers
