"""The spec checks catch what LINE would reject, including discriminated subtypes."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from assistant.lineemu import events as ev
from assistant.lineemu.contracts import (
    ContractViolation,
    contracts_dir,
    validate_request,
    validate_schema,
    validate_webhook_body,
)

AUTH = {"Authorization": "Bearer t", "Content-Type": "application/json"}
USER = "U" + "a" * 32

BUILDERS = {
    "text": lambda: ev.text_message_event("請問放流水許可要多久?"),
    "sticker": lambda: ev.sticker_message_event(keywords=["ok"]),
    "image": lambda: ev.image_message_event(image_set={"id": "set1", "index": 1, "total": 2}),
    "file": lambda: ev.file_message_event("申請書.pdf", 12345),
    "follow": lambda: ev.follow_event(is_unblocked=True),
    "unfollow": lambda: ev.unfollow_event(),
    "postback": lambda: ev.postback_event("action=faq", params={"date": "2024-05-01"}),
}


def test_contracts_dir_default_points_at_shared_specs() -> None:
    assert (contracts_dir() / "messaging-api.yml").is_file()


def test_missing_contracts_folder_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WPA_LINE_CONTRACTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="WPA_LINE_CONTRACTS"):
        validate_webhook_body({"destination": ev.DEFAULT_DESTINATION, "events": []})


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_every_builder_validates(kind: str) -> None:
    event = BUILDERS[kind]()
    validate_webhook_body(ev.webhook_body([event]))
    assert len(event["webhookEventId"]) == 26 and event["mode"] == "active"
    assert event["deliveryContext"] == {"isRedelivery": False}
    assert event["source"] == {"type": "user", "userId": ev.DEFAULT_USER_ID}


def test_all_builders_together_and_empty_connectivity_check_validate() -> None:
    validate_webhook_body(ev.webhook_body([b() for b in BUILDERS.values()]))
    validate_webhook_body(ev.webhook_body([]))


@pytest.mark.parametrize(
    "breakage, where",
    [
        (lambda b: b["events"][0]["message"].pop("text"), "events[0].message.text"),
        (lambda b: b["events"][0]["message"].pop("quoteToken"), "events[0].message.quoteToken"),
        (lambda b: b["events"][0]["message"].update(type="hologram"), "events[0].message.type"),
        (lambda b: b["events"][0].update(type="teleport"), "events[0].type"),
        (lambda b: b["events"][0]["source"].update(type="group"), "events[0].source.groupId"),
        (lambda b: b["events"][0].pop("deliveryContext"), "events[0].deliveryContext"),
        (lambda b: b["events"][0].update(mode="sleepy"), "events[0].mode"),
        (lambda b: b.update(destination="not-a-bot-id"), "destination"),
    ],
)
def test_broken_webhook_bodies_fail_with_their_location(breakage, where: str) -> None:
    body = ev.webhook_body([ev.text_message_event("hi")])
    broken = copy.deepcopy(body)
    breakage(broken)
    with pytest.raises(ContractViolation) as info:
        validate_webhook_body(broken)
    assert where in {p.property for p in info.value.problems}, str(info.value)


def test_follow_event_needs_its_follow_detail() -> None:
    event = ev.follow_event()
    del event["follow"]
    with pytest.raises(ContractViolation, match="follow"):
        validate_webhook_body(ev.webhook_body([event]))


def push(body: object, headers: dict[str, str] = AUTH) -> None:
    validate_request("POST", "/v2/bot/message/push", headers, body)


def test_valid_push_resolves_operation() -> None:
    op = validate_request("POST", "/v2/bot/message/push", AUTH, {"to": USER, "messages": [{"type": "text", "text": "您好"}]})
    assert op.operation_id == "pushMessage" and op.accepts_header("X-Line-Retry-Key")


@pytest.mark.parametrize(
    "message, where",
    [
        ({"type": "text"}, "messages[0].text"),  # openapi-core 0.23 lets this through
        ({"type": "bogus"}, "messages[0].type"),
        ({"type": "image", "originalContentUrl": "nope", "previewImageUrl": "https://x/p.png"}, "messages[0].originalContentUrl"),
        (
            {"type": "text", "text": "x", "quickReply": {"items": [{"type": "action", "action": {"type": "teleport"}}]}},
            "messages[0].quickReply.items[0].action.type",
        ),
        ({"type": "template", "altText": "x", "template": {"type": "confirm", "text": "ok?"}}, "messages[0].template.actions"),
    ],
)
def test_push_body_discriminators_are_enforced(message: dict, where: str) -> None:
    with pytest.raises(ContractViolation) as info:
        push({"to": USER, "messages": [message]})
    assert where in {p.property for p in info.value.problems}, str(info.value)


def test_push_body_problems_are_all_listed() -> None:
    with pytest.raises(ContractViolation) as info:
        push({"messages": [], "notificationDisabled": "yes"})
    props = {p.property for p in info.value.problems}
    assert {"to", "messages", "notificationDisabled"} <= props
    assert "3 problem(s)" in str(info.value)


def test_headers_and_auth_are_checked() -> None:
    body = {"to": USER, "messages": [{"type": "text", "text": "x"}]}
    with pytest.raises(ContractViolation) as info:
        push(body, {"Content-Type": "application/json"})
    assert info.value.kind == "auth"
    with pytest.raises(ContractViolation, match="X-Line-Retry-Key"):
        push(body, {**AUTH, "X-Line-Retry-Key": "not-a-uuid"})
    push(body, {**AUTH, "X-Line-Retry-Key": "123e4567-e89b-12d3-a456-426614174000"})
    with pytest.raises(ContractViolation, match="Content-Type"):
        push(body, {"Authorization": "Bearer t", "Content-Type": "text/plain"})


def test_raw_bytes_and_unparseable_json() -> None:
    push(b'{"to":"%s","messages":[{"type":"text","text":"x"}]}' % USER.encode())
    with pytest.raises(ContractViolation, match="parsed as JSON"):
        push(b'{"to": ')


def test_path_templates_methods_and_query() -> None:
    op = validate_request("GET", "/v2/bot/message/325708/content", {"Authorization": "Bearer t"})
    assert (op.operation_id, op.path_params) == ("getMessageContent", {"messageId": "325708"})
    assert validate_request("GET", "/v2/bot/message/quota/consumption", {"Authorization": "Bearer t"}).operation_id == "getMessageQuotaConsumption"
    with pytest.raises(ContractViolation) as info:
        validate_request("DELETE", "/v2/bot/message/push", AUTH)
    assert info.value.kind == "method"
    with pytest.raises(ContractViolation) as info:
        validate_request("GET", "/v2/bot/nowhere", AUTH)
    assert info.value.kind == "not_found"
    with pytest.raises(ContractViolation, match="requestId"):
        validate_request("GET", "/v2/bot/message/progress/narrowcast", AUTH)
    validate_request("GET", "/v2/bot/message/progress/narrowcast", AUTH, query={"requestId": "r1"})


def test_loading_animation_limits() -> None:
    validate_request("POST", "/v2/bot/chat/loading/start", AUTH, {"chatId": USER, "loadingSeconds": 20})
    with pytest.raises(ContractViolation, match="loadingSeconds"):
        validate_request("POST", "/v2/bot/chat/loading/start", AUTH, {"chatId": USER, "loadingSeconds": 90})


def test_validate_schema_by_name() -> None:
    validate_schema("messaging-api", "MessageQuotaResponse", {"type": "limited", "value": 200})
    with pytest.raises(ContractViolation):
        validate_schema("messaging-api", "MessageQuotaResponse", {"type": "unlimited"})
