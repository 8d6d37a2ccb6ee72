"""The emulator, run as a real uvicorn server, behaves like LINE towards line-bot-sdk v3."""
from __future__ import annotations

import time
import uuid
from typing import Iterator

import httpx
import pytest
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)

from assistant.lineemu.contracts import validate_schema
from assistant.lineemu.server import EmulatorClient

from .conftest import ACCESS_TOKEN

USER = "U" + "c" * 32
PUSH = "/v2/bot/message/push"


@pytest.fixture()
def api(emu: EmulatorClient) -> Iterator[MessagingApi]:
    with ApiClient(Configuration(host=emu.base_url, access_token=ACCESS_TOKEN)) as client:
        yield MessagingApi(client)


def push_request(text: str = "您的許可申請已收件") -> PushMessageRequest:
    return PushMessageRequest(to=USER, messages=[TextMessage(text=text)])


def raw(emu: EmulatorClient, method: str, path: str, **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}", **kw.pop("headers", {})}
    return httpx.request(method, emu.base_url + path, headers=headers, timeout=10, **kw)


def test_sdk_push_is_accepted_and_recorded_valid(emu: EmulatorClient, api: MessagingApi) -> None:
    resp = api.push_message_with_http_info(push_request())
    assert resp.status_code == 200 and len(resp.data.sent_messages) == 1
    [rec] = emu.requests(PUSH)
    assert rec["valid"] and rec["delivered"] and rec["status"] == 200
    assert rec["body"]["messages"] == [{"type": "text", "text": "您的許可申請已收件"}]
    assert rec["headers"]["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert resp.headers["x-line-request-id"] == rec["requestId"]
    validate_schema("messaging-api", "PushMessageResponse", resp.data.to_dict())


def test_invalid_push_body_gets_line_style_400(emu: EmulatorClient) -> None:
    resp = raw(emu, "POST", PUSH, json={"to": USER, "messages": [{"type": "text"}]})
    assert resp.status_code == 400
    body = resp.json()
    validate_schema("messaging-api", "ErrorResponse", body)
    assert body["details"] == [{"message": "'text' is a required property", "property": "messages[0].text"}]
    assert resp.headers["x-line-request-id"]
    [rec] = emu.requests(PUSH)
    assert not rec["valid"] and not rec["delivered"] and rec["status"] == 400 and rec["errors"] == body["details"]
    assert rec["operationId"] == "pushMessage"
    assert emu.invalid() == [rec]


def test_auth_is_required_and_checked(emu: EmulatorClient) -> None:
    no_auth = httpx.post(emu.base_url + PUSH, json={"to": USER, "messages": [{"type": "text", "text": "x"}]})
    wrong = raw(emu, "POST", PUSH, json={"to": USER, "messages": [{"type": "text", "text": "x"}]}, headers={"Authorization": "Bearer nope"})
    assert no_auth.status_code == wrong.status_code == 401
    assert "Authentication failed" in no_auth.json()["message"]
    assert [r["valid"] for r in emu.requests(PUSH)] == [False, False]
    assert emu.delivered() == []


def test_retry_key_delivers_once_and_answers_409(emu: EmulatorClient, api: MessagingApi) -> None:
    key = str(uuid.uuid4())
    first = api.push_message_with_http_info(push_request(), x_line_retry_key=key)
    with pytest.raises(ApiException) as info:
        api.push_message(push_request(), x_line_retry_key=key)
    assert info.value.status == 409
    assert info.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert info.value.headers["x-line-request-id"] != first.headers["x-line-request-id"]
    recs = emu.requests(PUSH)
    assert [r["retryKey"] for r in recs] == [key, key]  # the SDK sends it as X-Line-Retry-Key
    assert [r["status"] for r in recs] == [200, 409] and len(emu.delivered(PUSH)) == 1
    api.push_message(push_request(), x_line_retry_key=str(uuid.uuid4()))  # a fresh key delivers again
    assert len(emu.delivered(PUSH)) == 2


def test_failure_plan_500_then_success(emu: EmulatorClient, api: MessagingApi) -> None:
    emu.fail(PUSH, [{"status": 500}])
    key = str(uuid.uuid4())
    with pytest.raises(ApiException) as info:
        api.push_message(push_request(), x_line_retry_key=key)
    assert info.value.status == 500 and info.value.headers["x-line-request-id"]
    assert api.push_message_with_http_info(push_request(), x_line_retry_key=key).status_code == 200
    assert [(r["status"], r["delivered"], r["injected"]) for r in emu.requests(PUSH)] == [(500, False, True), (200, True, False)]


def test_failure_plan_429_with_headers(emu: EmulatorClient, api: MessagingApi) -> None:
    emu.fail(PUSH, [{"status": 429, "headers": {"Retry-After": "1"}}, {"status": 429}])
    for _ in range(2):
        with pytest.raises(ApiException) as info:
            api.push_message(push_request())
        assert info.value.status == 429
    assert info.value.body and "Too Many Requests" in info.value.body
    api.push_message(push_request())
    assert [r["status"] for r in emu.requests(PUSH)] == [429, 429, 200]


def test_failure_plan_timeout_then_retry_is_deduplicated(emu: EmulatorClient, api: MessagingApi) -> None:
    emu.fail(PUSH, [{"timeout_s": 1.5}])
    key = str(uuid.uuid4())
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        api.push_message(push_request(), x_line_retry_key=key, _request_timeout=0.5)
    assert "timed out" in str(info.value).lower() and time.monotonic() - started < 1.4
    with pytest.raises(ApiException) as conflict:
        api.push_message(push_request(), x_line_retry_key=key)
    first = emu.requests(PUSH)[0]
    assert conflict.value.status == 409
    assert conflict.value.headers["x-line-accepted-request-id"] == first["requestId"]
    assert len(emu.delivered(PUSH)) == 1


def test_slow_failure_and_template_plans(emu: EmulatorClient) -> None:
    emu.fail("/v2/bot/message/{messageId}/content", [{"status": 503, "timeout_s": 0.2}])
    emu.put_content("42", b"%PDF-1.7 test", "application/pdf")
    started = time.monotonic()
    assert raw(emu, "GET", "/v2/bot/message/42/content").status_code == 503
    assert time.monotonic() - started >= 0.2
    ok = raw(emu, "GET", "/v2/bot/message/42/content")
    assert ok.status_code == 200 and ok.content == b"%PDF-1.7 test" and ok.headers["content-type"] == "application/pdf"


def test_sdk_blob_download_and_missing_content(emu: EmulatorClient) -> None:
    emu.put_content("777", b"\x89PNG fake", "image/png")
    with ApiClient(Configuration(host=emu.base_url, access_token=ACCESS_TOKEN)) as client:
        blob = MessagingApiBlob(client)
        assert bytes(blob.get_message_content("777")) == b"\x89PNG fake"
        with pytest.raises(ApiException) as info:
            blob.get_message_content("778")
    assert info.value.status == 404


def test_reply_multicast_broadcast_narrowcast_loading(emu: EmulatorClient, api: MessagingApi) -> None:
    reply = api.reply_message(ReplyMessageRequest(replyToken="r" * 32, messages=[TextMessage(text="收到"), TextMessage(text="稍候")]))
    assert len(reply.sent_messages) == 2
    api.multicast(MulticastRequest(to=[USER, "U" + "d" * 32], messages=[TextMessage(text="公告")]))
    assert raw(emu, "POST", "/v2/bot/message/broadcast", json={"messages": [{"type": "text", "text": "x"}]}).status_code == 200
    assert raw(emu, "POST", "/v2/bot/message/narrowcast", json={"messages": [{"type": "text", "text": "x"}]}).status_code == 202
    api.show_loading_animation(ShowLoadingAnimationRequest(chatId=USER, loadingSeconds=10))
    assert [r["status"] for r in emu.requests()] == [200, 200, 200, 202, 202]
    assert all(r["valid"] and r["delivered"] for r in emu.requests())


def test_quota_and_consumption(emu: EmulatorClient, api: MessagingApi) -> None:
    emu.set_quota("limited", 3, total_usage=0)
    api.reply_message(ReplyMessageRequest(replyToken="r" * 32, messages=[TextMessage(text="free")]))
    api.push_message(push_request())
    api.multicast(MulticastRequest(to=[USER, "U" + "d" * 32], messages=[TextMessage(text="x"), TextMessage(text="y")]))
    assert api.get_message_quota_consumption().total_usage == 3  # replies free; billed per recipient
    quota = api.get_message_quota()
    assert (quota.type.value, quota.value) == ("limited", 3)
    with pytest.raises(ApiException) as info:
        api.push_message(push_request())
    assert info.value.status == 429 and "monthly limit" in info.value.body
    validate_schema("messaging-api", "QuotaConsumptionResponse", raw(emu, "GET", "/v2/bot/message/quota/consumption").json())


def test_profiles(emu: EmulatorClient, api: MessagingApi) -> None:
    emu.set_profile(USER, "王小明", language="zh-TW")
    assert api.get_profile(USER).display_name == "王小明"
    other = "U" + "e" * 32
    validate_schema("messaging-api", "UserProfileResponse", raw(emu, "GET", f"/v2/bot/profile/{other}").json())
    assert raw(emu, "GET", "/v2/bot/profile/not-a-user").status_code == 404


def test_unknown_paths_and_unimplemented_operations(emu: EmulatorClient) -> None:
    missing = raw(emu, "GET", "/v2/bot/nowhere")
    assert missing.status_code == 404 and missing.headers["x-line-request-id"]
    assert raw(emu, "GET", "/v2/bot/info").status_code == 501
    assert raw(emu, "DELETE", PUSH).status_code == 405
    assert [r["valid"] for r in emu.requests()] == [False, True, False]


def test_requests_filter_and_reset(emu: EmulatorClient, api: MessagingApi) -> None:
    api.push_message(push_request())
    api.get_message_quota()
    assert len(emu.requests()) == 2 and len(emu.requests(PUSH)) == 1
    assert len(emu.requests(operation_id="getMessageQuota")) == 1
    emu.fail(PUSH, [{"status": 500}])
    emu.reset()
    assert emu.requests() == []
    api.push_message(push_request())  # the plan was cleared too


def test_rejected_call_does_not_burn_its_retry_key(emu: EmulatorClient) -> None:
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    assert raw(emu, "POST", PUSH, json={"to": USER, "messages": []}, headers=key).status_code == 400
    assert raw(emu, "POST", PUSH, json={"to": USER, "messages": [{"type": "text", "text": "x"}]}, headers=key).status_code == 200
    assert raw(emu, "POST", PUSH, json={"to": USER, "messages": [{"type": "text", "text": "x"}]}, headers=key).status_code == 409


def test_retry_keys_expire_after_24_hours() -> None:
    from assistant.lineemu.state import EmulatorState

    now = [1000.0]
    state = EmulatorState(clock=lambda: now[0])
    state.accept("k", "req-1", None)
    assert state.accepted("k").request_id == "req-1"
    now[0] += 24 * 3600 - 1
    assert state.accepted("k") is not None
    now[0] += 2
    assert state.accepted("k") is None
