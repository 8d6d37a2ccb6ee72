"""A LINE Messaging API emulator that checks every call against LINE's own spec.

The service under test points its LINE base URL (and data-API base URL) here. Each
request is validated against messaging-api.yml and recorded; invalid ones get LINE's
error shape ``{"message", "details"}`` so the service sees what production would
send. X-Line-Retry-Key, quota and injected failures (``/_emu/fail``) let tests
exercise the retry/idempotency paths the real platform makes hard to reproduce.
"""
from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .contracts import ContractViolation, Operation, Problem, resolve_operation, validate_request
from .state import EmulatorState, FailStep, Recorded, sent_messages

_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
_AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
_STATUS_FOR_KIND = {"not_found": 404, "method": 405, "auth": 401, "invalid": 400}
_DEFAULT_FAIL_MESSAGE = {500: "Internal server error", 429: "Too Many Requests", 503: "Service unavailable"}


def _json(status: int, body: Any, **headers: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


# --------------------------------------------------------------- LINE endpoints
# Each handler gets a validated request; it returns the answer and marks delivery.


def _cost(op: Operation, body: Any, state: EmulatorState) -> int:
    """Messages billed per recipient per request (not per message object), like LINE."""
    if op.operation_id == "pushMessage":
        return 1
    if op.operation_id == "multicast":
        return len(body.get("to", []))
    if op.operation_id in ("broadcast", "narrowcast"):
        return state.followers
    return 0


def _profile(state: EmulatorState, op: Operation) -> Response:
    user_id = op.path_params["userId"]
    if user_id not in state.profiles and not _USER_ID.match(user_id):
        return _json(404, {"message": "Not found"})
    return _json(200, state.profile(user_id))


def _content(state: EmulatorState, op: Operation) -> Response:
    hit = state.contents.get(op.path_params["messageId"])
    if hit is None:
        return _json(404, {"message": "Not found"})
    data, ctype = hit
    return Response(data, media_type=ctype)


_SENDS = {"replyMessage": 200, "pushMessage": 200, "multicast": 200, "broadcast": 200, "narrowcast": 202}


def _answer(state: EmulatorState, op: Operation, body: Any, rec: Recorded) -> Response:
    """Normal (non-injected) behaviour of the served endpoints."""
    oid = op.operation_id
    if oid in _SENDS:
        cost = _cost(op, body, state)
        if state.over_quota(cost):
            return _json(429, {"message": "You have reached your monthly limit."})
        state.usage += cost
        rec.delivered = True
        if oid in ("replyMessage", "pushMessage"):
            return _json(200, {"sentMessages": sent_messages(len(body["messages"]))})
        return _json(_SENDS[oid], {})
    if oid == "showLoadingAnimation":
        rec.delivered = True
        return _json(202, {})
    if oid == "getMessageQuota":
        return _json(200, dict(state.quota))
    if oid == "getMessageQuotaConsumption":
        return _json(200, {"totalUsage": state.usage})
    if oid == "getProfile":
        return _profile(state, op)
    if oid == "getMessageContent":
        return _content(state, op)
    return _json(501, {"message": f"The emulator does not implement {oid}"})


# ------------------------------------------------------------ request pipeline


async def _read_body(request: Request) -> tuple[bytes, Any]:
    raw = await request.body()
    if not raw:
        return raw, None
    try:
        return raw, json.loads(raw)
    except ValueError:
        return raw, raw.decode("utf-8", "replace")


def _check(request: Request, raw: bytes, access_token: str | None) -> tuple[Operation | None, ContractViolation | None]:
    try:
        op = resolve_operation(request.method, request.url.path)
    except ContractViolation as exc:  # unknown path or method
        return None, exc
    try:  # resolved first so that invalid calls still record their operation
        validate_request(request.method, request.url.path, dict(request.headers), raw, query=dict(request.query_params))
    except ContractViolation as exc:
        return op, exc
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    if access_token is not None and token != access_token:
        problem = Problem("Bearer token is not this channel's access token", "Authorization")
        return op, ContractViolation(op.operation_id, [problem], kind="auth")
    return op, None


def _error_response(exc: ContractViolation) -> JSONResponse:
    status = _STATUS_FOR_KIND[exc.kind]
    if exc.kind == "auth":
        return _json(status, {"message": _AUTH_FAILED})
    if exc.kind in ("not_found", "method"):
        return _json(status, {"message": exc.problems[0].message})
    return _json(status, {"message": f"The request body has {len(exc.problems)} error(s)", "details": exc.details})


async def _injected(step: FailStep, deliver: Callable[[], Response]) -> Response:
    if step.status is None:  # accepted now, answered late
        response = deliver()
        await asyncio.sleep(step.timeout_s)
        return response
    await asyncio.sleep(step.timeout_s)
    body = step.body or {"message": _DEFAULT_FAIL_MESSAGE.get(step.status, "Injected failure")}
    return _json(step.status, body, **step.headers)


async def handle_line_call(request: Request, state: EmulatorState, access_token: str | None) -> Response:
    """Validate, record, then answer one Messaging API call (see module docstring)."""
    request_id = str(uuid.uuid4())
    raw, body = await _read_body(request)
    op, violation = _check(request, raw, access_token)
    retry_key = request.headers.get("x-line-retry-key") if op and op.accepts_header("X-Line-Retry-Key") else None
    rec = state.record(
        request_id=request_id,
        method=request.method,
        path=request.url.path,
        operation_id=op.operation_id if op else None,
        query=dict(request.query_params),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        valid=violation is None,
        errors=violation.details if violation else [],
        retry_key=retry_key,
    )

    def deliver() -> Response:
        if violation is not None:
            return _error_response(violation)
        assert op is not None  # validate_request either resolves an operation or raises
        earlier = state.accepted(retry_key) if retry_key else None
        if earlier is not None:
            payload: dict[str, Any] = {"message": "The retry key is already accepted"}
            if earlier.sent_messages:
                payload["sentMessages"] = earlier.sent_messages
            return _json(409, payload, **{"x-line-accepted-request-id": earlier.request_id})
        response = _answer(state, op, body, rec)
        if retry_key and rec.delivered:
            sent = json.loads(response.body).get("sentMessages") if response.media_type == "application/json" else None
            state.accept(retry_key, request_id, sent)
        return response

    step = state.next_failure(request.url.path, op.template if op else None)
    if step is not None:
        rec.injected = True
        response = await _injected(step, deliver)
    else:
        response = deliver()
    rec.status = response.status_code
    response.headers["x-line-request-id"] = request_id
    return response


# -------------------------------------------------------------- control API


class FailStepIn(BaseModel):
    status: int | None = None
    timeout_s: float = 0.0
    body: dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class FailPlanIn(BaseModel):
    path: str = Field(description="Concrete path, spec template, or '*' for any LINE path")
    responses: list[FailStepIn]


class ProfileIn(BaseModel):
    userId: str
    displayName: str
    pictureUrl: str | None = None
    statusMessage: str | None = None
    language: str | None = None


class QuotaIn(BaseModel):
    type: str = "none"
    value: int | None = None
    totalUsage: int | None = None
    followers: int | None = None


def _control_routes(app: FastAPI, state: EmulatorState) -> None:
    @app.get("/_emu/requests")
    async def list_requests(path: str | None = None, valid: bool | None = None, operationId: str | None = None) -> list[dict[str, Any]]:
        return [
            r.as_json()
            for r in state.requests
            if (path is None or r.path == path)
            and (valid is None or r.valid == valid)
            and (operationId is None or r.operation_id == operationId)
        ]

    @app.post("/_emu/reset")
    async def reset() -> dict[str, bool]:
        state.reset()
        return {"ok": True}

    @app.post("/_emu/fail")
    async def fail(plan: FailPlanIn) -> dict[str, Any]:
        state.add_plan(plan.path, [FailStep(**s.model_dump()) for s in plan.responses])
        return {"ok": True, "pending": len(state.plans[plan.path])}

    @app.put("/_emu/content/{message_id}")
    async def put_content(message_id: str, request: Request) -> dict[str, Any]:
        data = await request.body()
        state.contents[message_id] = (data, request.headers.get("content-type", "application/octet-stream"))
        return {"ok": True, "size": len(data)}

    @app.post("/_emu/profiles")
    async def put_profile(profile: ProfileIn) -> dict[str, bool]:
        state.profiles[profile.userId] = profile.model_dump(exclude_none=True)
        return {"ok": True}

    @app.post("/_emu/quota")
    async def set_quota(quota: QuotaIn) -> dict[str, Any]:
        state.quota = {"type": quota.type, **({"value": quota.value} if quota.value is not None else {})}
        if quota.totalUsage is not None:
            state.usage = quota.totalUsage
        if quota.followers is not None:
            state.followers = quota.followers
        return {"quota": state.quota, "totalUsage": state.usage, "followers": state.followers}


def create_app(*, access_token: str | None = None, state: EmulatorState | None = None) -> FastAPI:
    """Build the emulator. ``access_token``: if given, any other Bearer token gets LINE's 401.

    One app serves both api.line.me and api-data.line.me paths, so the service may
    use one base URL or two pointing here.
    """
    app = FastAPI(title="LINE Messaging API emulator", docs_url="/_emu/docs", openapi_url="/_emu/openapi.json")
    app.state.emu = state = state or EmulatorState()
    _control_routes(app, state)

    async def line_call(request: Request) -> Response:
        if request.url.path.startswith("/_emu/"):
            return _json(404, {"message": "Not found"})
        return await handle_line_call(request, state, access_token)

    app.add_api_route("/{full_path:path}", line_call, methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    return app


def main(host: str = "127.0.0.1", port: int = 8787, access_token: str | None = None) -> None:
    """Run the emulator in the foreground (``python -m assistant.lineemu``)."""
    import uvicorn

    uvicorn.run(create_app(access_token=access_token), host=host, port=port, log_level="info")
