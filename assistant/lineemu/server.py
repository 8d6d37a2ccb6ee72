"""Start the emulator as a real HTTP server and drive its /_emu/ control API.

Tests of the service should talk to LINE over real sockets (the SDK's urllib3 client,
timeouts, headers) rather than an in-process TestClient, so this runs uvicorn on a
free loopback port in a background thread. No pytest dependency: any test or script
can use ``with running_emulator() as emu: ...``.
"""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import httpx
import uvicorn

from .app import create_app


class EmulatorClient:
    """Thin client for the emulator's control endpoints; ``base_url`` is what the service should use."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def requests(self, path: str | None = None, *, valid: bool | None = None, operation_id: str | None = None) -> list[dict[str, Any]]:
        """Recorded LINE calls, oldest first (keys: requestId, path, headers, body, valid, errors, status, delivered …)."""
        params: dict[str, Any] = {}
        if path is not None:
            params["path"] = path
        if valid is not None:
            params["valid"] = str(valid).lower()
        if operation_id is not None:
            params["operationId"] = operation_id
        resp = self._http.get("/_emu/requests", params=params)
        resp.raise_for_status()
        return resp.json()

    def delivered(self, path: str | None = None) -> list[dict[str, Any]]:
        """Only the calls that actually reached users (not rejected, injected-failed or retry-deduplicated)."""
        return [r for r in self.requests(path) if r["delivered"]]

    def invalid(self) -> list[dict[str, Any]]:
        """Calls that broke messaging-api.yml; a healthy service leaves this empty."""
        return self.requests(valid=False)

    def reset(self) -> None:
        self._http.post("/_emu/reset").raise_for_status()

    def fail(self, path: str, responses: list[dict[str, Any]]) -> None:
        """Queue injected answers for ``path`` (or a spec template, or ``*``), e.g. ``[{"status": 500}, {"timeout_s": 5}]``."""
        self._http.post("/_emu/fail", json={"path": path, "responses": responses}).raise_for_status()

    def put_content(self, message_id: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Make ``GET /v2/bot/message/{message_id}/content`` return ``data``."""
        self._http.put(f"/_emu/content/{message_id}", content=data, headers={"Content-Type": content_type}).raise_for_status()

    def set_profile(self, user_id: str, display_name: str, **extra: str) -> None:
        self._http.post("/_emu/profiles", json={"userId": user_id, "displayName": display_name, **extra}).raise_for_status()

    def set_quota(self, type: str = "limited", value: int | None = None, *, total_usage: int | None = None, followers: int | None = None) -> dict[str, Any]:
        """Set what /v2/bot/message/quota reports; sends beyond a ``limited`` value get LINE's 429."""
        body = {"type": type, "value": value, "totalUsage": total_usage, "followers": followers}
        resp = self._http.post("/_emu/quota", json=body)
        resp.raise_for_status()
        return resp.json()

    def close(self) -> None:
        self._http.close()


@contextmanager
def running_emulator(host: str = "127.0.0.1", port: int = 0, *, access_token: str | None = None) -> Iterator[EmulatorClient]:
    """Run the emulator on ``host:port`` (0 = a free port) until the block exits; yields its client."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(access_token=access_token), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"line-emulator:{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("LINE emulator failed to start")
        time.sleep(0.01)
    client = EmulatorClient(f"http://{host}:{bound_port}")
    try:
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
