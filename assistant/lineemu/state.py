"""In-memory state of the LINE emulator: recorded calls, failure plans, retry keys, content.

Kept apart from the HTTP layer so the rules (what counts as delivered, when a retry
key conflicts, how quota is consumed) read as plain Python.
"""
from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

RETRY_KEY_TTL_S = 24 * 3600


@dataclass
class FailStep:
    """One injected answer. ``status`` set: answer it, deliver nothing. Only ``timeout_s``:
    deliver at once but answer late (LINE accepted it; the client timed out), which is
    exactly the case X-Line-Retry-Key exists for."""

    status: int | None = None
    timeout_s: float = 0.0
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    """One request the service made, as the emulator saw it."""

    seq: int
    request_id: str
    method: str
    path: str
    operation_id: str | None
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    valid: bool
    errors: list[dict[str, str]]
    status: int = 0
    delivered: bool = False
    retry_key: str | None = None
    injected: bool = False
    received_at: float = field(default_factory=time.time)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            "seq": data["seq"],
            "requestId": data["request_id"],
            "method": data["method"],
            "path": data["path"],
            "operationId": data["operation_id"],
            "query": data["query"],
            "headers": data["headers"],
            "body": data["body"],
            "valid": data["valid"],
            "errors": data["errors"],
            "status": data["status"],
            "delivered": data["delivered"],
            "retryKey": data["retry_key"],
            "injected": data["injected"],
            "receivedAt": data["received_at"],
        }


@dataclass
class AcceptedKey:
    request_id: str
    accepted_at: float
    sent_messages: list[dict[str, str]] | None


@dataclass
class EmulatorState:
    """Everything the emulator remembers; ``reset()`` returns it to a fresh channel."""

    clock: Callable[[], float] = time.time
    requests: list[Recorded] = field(default_factory=list)
    plans: dict[str, deque[FailStep]] = field(default_factory=dict)
    accepted_keys: dict[str, AcceptedKey] = field(default_factory=dict)
    contents: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    quota: dict[str, Any] = field(default_factory=lambda: {"type": "none"})
    usage: int = 0
    followers: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.plans.clear()
        self.accepted_keys.clear()
        self.contents.clear()
        self.profiles.clear()
        self.quota = {"type": "none"}
        self.usage = 0
        self.followers = 0

    # -- failure plans ---------------------------------------------------------
    def add_plan(self, path: str, steps: list[FailStep]) -> None:
        self.plans.setdefault(path, deque()).extend(steps)

    def next_failure(self, path: str, template: str | None) -> FailStep | None:
        """Pop the next planned answer for the concrete path, its template, or ``*``."""
        for key in (path, template, "*"):
            queue = self.plans.get(key) if key else None
            if queue:
                return queue.popleft()
        return None

    # -- retry keys ------------------------------------------------------------
    def accepted(self, key: str) -> AcceptedKey | None:
        """The earlier acceptance of ``key`` if it is still within LINE's 24 hours."""
        hit = self.accepted_keys.get(key)
        if hit and self.clock() - hit.accepted_at < RETRY_KEY_TTL_S:
            return hit
        return None

    def accept(self, key: str, request_id: str, sent: list[dict[str, str]] | None) -> None:
        self.accepted_keys[key] = AcceptedKey(request_id, self.clock(), sent)

    # -- quota -----------------------------------------------------------------
    def over_quota(self, cost: int) -> bool:
        return self.quota.get("type") == "limited" and self.usage + cost > int(self.quota.get("value", 0))

    # -- helpers ---------------------------------------------------------------
    def record(self, **kwargs: Any) -> Recorded:
        rec = Recorded(seq=len(self.requests) + 1, **kwargs)
        self.requests.append(rec)
        return rec

    def profile(self, user_id: str) -> dict[str, Any]:
        return self.profiles.get(user_id) or {
            "userId": user_id,
            "displayName": f"使用者{user_id[-4:]}",
            "language": "zh-TW",
        }


def sent_messages(count: int) -> list[dict[str, str]]:
    """``sentMessages`` as LINE returns them: numeric ids plus a quote token each."""
    return [{"id": str(10**17 + secrets.randbelow(9 * 10**17)), "quoteToken": secrets.token_urlsafe(24)} for _ in range(count)]
