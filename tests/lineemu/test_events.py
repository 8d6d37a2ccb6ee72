"""Webhook bodies and signatures are accepted by line-bot-sdk v3's own parser."""
from __future__ import annotations

import json
import re

import pytest
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import SignatureValidator
from linebot.v3.webhooks import FileMessageContent, FollowEvent, MessageEvent, PostbackEvent, TextMessageContent, UnfollowEvent

from assistant.lineemu import events as ev

SECRET = "0123456789abcdef0123456789abcdef"


def test_signature_matches_sdk_validator() -> None:
    body, headers = ev.signed_request([ev.text_message_event("排放許可證 展延")], SECRET)
    assert SignatureValidator(SECRET).validate(body.decode("utf-8"), headers["X-Line-Signature"])
    assert not SignatureValidator("other-secret").validate(body.decode("utf-8"), headers["X-Line-Signature"])
    assert ev.sign(body, SECRET) == headers["X-Line-Signature"]


def test_body_is_compact_raw_utf8_like_line() -> None:
    body, headers = ev.signed_request([ev.text_message_event("水污染")], SECRET)
    assert "水污染".encode() in body and b"\\u" not in body and b", " not in body
    assert headers["Content-Type"].startswith("application/json")


def test_sdk_webhook_parser_reads_every_builder() -> None:
    events = [
        ev.text_message_event("你好", user_id="U" + "b" * 32),
        ev.file_message_event("plan.pdf", 2048),
        ev.follow_event(),
        ev.unfollow_event(),
        ev.postback_event("menu=forms"),
        ev.sticker_message_event(),
        ev.image_message_event(),
    ]
    body, headers = ev.signed_request(events, SECRET)
    payload = WebhookParser(SECRET).parse(body.decode("utf-8"), headers["X-Line-Signature"], as_payload=True)
    parsed = payload.events
    assert payload.destination == ev.DEFAULT_DESTINATION
    assert isinstance(parsed[0], MessageEvent) and isinstance(parsed[0].message, TextMessageContent)
    assert parsed[0].message.text == "你好" and parsed[0].source.user_id == "U" + "b" * 32
    assert isinstance(parsed[1].message, FileMessageContent) and parsed[1].message.file_size == 2048
    assert [type(e) for e in parsed[2:5]] == [FollowEvent, UnfollowEvent, PostbackEvent]
    assert parsed[0].webhook_event_id == events[0]["webhookEventId"]
    assert parsed[0].delivery_context.is_redelivery is False


def test_sdk_parser_rejects_tampered_body() -> None:
    body, headers = ev.signed_request([ev.text_message_event("a")], SECRET)
    tampered = body.replace(b'"text":"a"', b'"text":"b"')
    with pytest.raises(InvalidSignatureError):
        WebhookParser(SECRET).parse(tampered.decode("utf-8"), headers["X-Line-Signature"])


def test_ids_look_like_lines() -> None:
    ids = {ev.ulid() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", i) for i in ids)
    assert ev.ulid(0).startswith("0000000000")
    assert re.fullmatch(r"U[0-9a-f]{32}", ev.new_user_id())
    assert re.fullmatch(r"\d{18}", ev.new_message_id())


def test_redelivery_and_fixed_ids_are_kept() -> None:
    event = ev.text_message_event("x", redelivery=True, webhook_event_id="01HXYZ" + "0" * 20, reply_token="rt", timestamp=1700000000000)
    body = json.loads(ev.encode_body(ev.webhook_body([event])))
    got = body["events"][0]
    assert got["deliveryContext"]["isRedelivery"] is True
    assert (got["webhookEventId"], got["replyToken"], got["timestamp"]) == ("01HXYZ" + "0" * 20, "rt", 1700000000000)
    assert "replyToken" not in ev.unfollow_event()
