"""Every call the service makes to LINE, through line-bot-sdk's API clients.

Each call returns a ``SendResult`` that says whether it worked, whether it is
worth retrying (5xx, 429, time-outs, connection errors) and LINE's own error
message, so the outbox can decide without knowing HTTP details. urllib3's own
retries are switched off: retrying is the outbox's job, with the stored key.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import urllib3
from linebot.v3.messaging import (
    ApiClient, ApiException, Configuration, MessagingApi, MessagingApiBlob,
    PushMessageRequest, ReplyMessageRequest, TextMessage,
)

from .settings import ServiceSettings

LINE_TEXT_LIMIT = 5000        # characters per text message object
LINE_MESSAGES_PER_REQUEST = 5


@dataclass
class SendResult:
    ok: bool
    status: int | None = None          # HTTP status, None when no response arrived
    retryable: bool = False
    error: str = ""                    # LINE's message, or the network error
    request_id: str = ""
    retry_after: float | None = None   # seconds, from a Retry-After header
    duplicate: bool = False            # 409: LINE already accepted this retry key


def split_text(text: str, limit: int = LINE_TEXT_LIMIT) -> list[str]:
    """Cut a long answer into message-sized parts, preferring paragraph breaks."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    if rest or not parts:
        parts.append(rest)
    return parts


def text_messages(text: str) -> list[dict]:
    """LINE message objects for ``text``; raises ValueError if it cannot fit one request."""
    parts = split_text(text)
    if len(parts) > LINE_MESSAGES_PER_REQUEST:
        raise ValueError(f"text too long: at most {LINE_TEXT_LIMIT * LINE_MESSAGES_PER_REQUEST} characters")
    return [{"type": "text", "text": p} for p in parts]


def _header(headers, name: str) -> str:
    if not headers:
        return ""
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def line_error_message(exc: ApiException) -> str:
    """LINE's error body ``{"message": …, "details": [...]}`` as one readable line."""
    body = exc.body
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    message = str(data.get("message") or exc.reason or "error")
    details = data.get("details") or []
    extra = "; ".join(f"{d.get('property', '')}: {d.get('message', '')}".strip(": ")
                      for d in details if isinstance(d, dict))
    return f"{message} ({extra})" if extra else message


def _classify(exc: Exception) -> SendResult:
    if isinstance(exc, ApiException):
        status = exc.status or None
        headers = exc.headers
        retry_after = None
        raw = _header(headers, "Retry-After")
        if raw:
            try:
                retry_after = float(raw)
            except ValueError:
                retry_after = None
        if not status:   # the SDK reports SSL/network failures as status 0
            return SendResult(ok=False, retryable=True, error=f"network error: {exc.reason}")
        request_id = _header(headers, "x-line-request-id")
        if status == 409 and _header(headers, "x-line-accepted-request-id"):
            return SendResult(ok=True, status=409, duplicate=True,
                              request_id=_header(headers, "x-line-accepted-request-id"))
        retryable = status >= 500 or status == 429
        return SendResult(ok=False, status=status, retryable=retryable, error=line_error_message(exc),
                          request_id=request_id, retry_after=retry_after)
    if isinstance(exc, urllib3.exceptions.HTTPError):
        kind = "timeout" if isinstance(exc, urllib3.exceptions.TimeoutError) else "network error"
        return SendResult(ok=False, retryable=True, error=f"{kind}: {type(exc).__name__}")
    if isinstance(exc, OSError):
        return SendResult(ok=False, retryable=True, error=f"network error: {type(exc).__name__}")
    return SendResult(ok=False, retryable=False, error=f"{type(exc).__name__}: {exc}")


class LineGateway:
    """Messaging API (api.line.me) and its data API (api-data.line.me) clients."""

    def __init__(self, settings: ServiceSettings):
        self.timeout = settings.line_timeout_seconds
        api_cfg = Configuration(host=settings.line_api_base_url,
                                access_token=settings.line_channel_access_token)
        data_cfg = Configuration(host=settings.line_data_api_base_url,
                                 access_token=settings.line_channel_access_token)
        for cfg in (api_cfg, data_cfg):
            cfg.retries = False
            cfg.connection_pool_maxsize = 8
        self._api_client = ApiClient(api_cfg)
        self._data_client = ApiClient(data_cfg)
        self.messaging = MessagingApi(self._api_client)
        self.blob = MessagingApiBlob(self._data_client)

    def close(self) -> None:
        for client in (self._api_client, self._data_client):
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    @staticmethod
    def _messages(messages: list[dict]) -> list[TextMessage]:
        return [TextMessage(text=m["text"]) for m in messages]

    def reply(self, reply_token: str, messages: list[dict]) -> SendResult:
        try:
            resp = self.messaging.reply_message_with_http_info(
                ReplyMessageRequest(reply_token=reply_token, messages=self._messages(messages)),
                _request_timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001 - classified, never raised
            return _classify(exc)
        return SendResult(ok=True, status=resp.status_code,
                          request_id=_header(resp.headers, "x-line-request-id"))

    def push(self, to: str, messages: list[dict], retry_key: str) -> SendResult:
        try:
            resp = self.messaging.push_message_with_http_info(
                PushMessageRequest(to=to, messages=self._messages(messages)),
                x_line_retry_key=retry_key, _request_timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001
            return _classify(exc)
        return SendResult(ok=True, status=resp.status_code,
                          request_id=_header(resp.headers, "x-line-request-id"))

    def content(self, message_id: str) -> tuple[bytes | None, str, SendResult]:
        """Download a file/image a user sent; returns (data, content type, result)."""
        try:
            resp = self.blob.get_message_content_with_http_info(
                message_id, _request_timeout=max(self.timeout, 30.0))
        except Exception as exc:  # noqa: BLE001
            return None, "", _classify(exc)
        data = resp.data if resp.data is not None else resp.raw_data
        return bytes(data or b""), _header(resp.headers, "Content-Type"), SendResult(ok=True, status=resp.status_code)
