"""POST /line/webhook over real HTTP: signature, dedup, bad input — on SQLite and PostgreSQL."""
from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from assistant.lineemu import events as ev
from assistant.service.models import Contact, Job, LineEvent, Message, Question

from .service_support import CHANNEL_SECRET, post_events, signed, wait_for


def _count(svc, model) -> int:
    with svc.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_valid_event_is_stored_and_answered_200(service):
    event = ev.text_message_event("請問排放許可證要多久才能核發？")
    resp = post_events(service.base_url, [event])
    assert resp.status_code == 200
    with service.session() as s:
        row = s.scalars(select(LineEvent)).one()
        assert row.webhook_event_id == event["webhookEventId"]
        assert json.loads(row.payload) == event          # the raw event, as LINE sent it
        assert s.scalars(select(Job).where(Job.ref_id == row.id, Job.kind == "event")).one()


def test_redelivered_event_is_stored_once(service, emu):
    event = ev.text_message_event("同一個問題只能出現一次")
    assert post_events(service.base_url, [event]).status_code == 200
    again = dict(event, deliveryContext={"isRedelivery": True})
    assert post_events(service.base_url, [again]).status_code == 200
    assert post_events(service.base_url, [again, again]).status_code == 200
    wait_for(lambda: _count(service, Question) == 1, what="question")
    wait_for(lambda: len(emu.delivered("/v2/bot/message/reply")) == 1, what="ack")
    assert _count(service, LineEvent) == 1
    assert _count(service, Question) == 1
    assert _count(service, Job) == 2          # one event job, one draft job


def test_connectivity_check_with_no_events(service):
    raw, headers = signed([])
    assert httpx.post(service.base_url + "/line/webhook", content=raw, headers=headers).status_code == 200
    assert _count(service, LineEvent) == 0


def test_bad_signature_is_400_and_nothing_is_stored(service):
    raw, headers = signed([ev.text_message_event("假冒的請求")])
    headers["X-Line-Signature"] = ev.sign(raw, "some-other-secret")
    resp = httpx.post(service.base_url + "/line/webhook", content=raw, headers=headers)
    assert resp.status_code == 400
    assert resp.json()["message"] == "invalid X-Line-Signature"
    assert _count(service, LineEvent) == 0


def test_missing_signature_is_400(service):
    raw, headers = signed([ev.text_message_event("沒有簽章")])
    del headers["X-Line-Signature"]
    resp = httpx.post(service.base_url + "/line/webhook", content=raw, headers=headers)
    assert resp.status_code == 400
    assert resp.json()["message"] == "missing X-Line-Signature header"
    assert _count(service, LineEvent) == 0


def test_body_altered_after_signing_is_rejected(service):
    raw, headers = signed([ev.text_message_event("原本的內容")])
    tampered = raw.replace("原本".encode(), "竄改".encode())
    resp = httpx.post(service.base_url + "/line/webhook", content=tampered, headers=headers)
    assert resp.status_code == 400
    assert _count(service, LineEvent) == 0


def test_oversized_body_is_413_not_500(service):
    big = b'{"destination":"x","events":[],"pad":"' + b"a" * (service.settings.webhook_max_bytes + 10) + b'"}'
    resp = httpx.post(service.base_url + "/line/webhook", content=big,
                      headers={"X-Line-Signature": ev.sign(big, CHANNEL_SECRET), "Content-Type": "application/json"})
    assert resp.status_code == 413
    assert _count(service, LineEvent) == 0


def test_oversized_chunked_body_is_413(service):
    def chunks():
        for _ in range(40):
            yield b"x" * 32 * 1024
    resp = httpx.post(service.base_url + "/line/webhook", content=chunks(),
                      headers={"X-Line-Signature": "AAAA", "Content-Type": "application/json"})
    assert resp.status_code == 413


def test_malformed_bodies_are_specific_4xx(service):
    cases = {
        b"{not json": "not valid JSON",
        b"[1, 2]": "must be a JSON object",
        b'{"destination": "x"}': "'events' array",
        b'{"events": [{"type": "message"}]}': "webhookEventId",
        b'{"events": [{"webhookEventId": "01H", "type": 5}]}': "type",
        "\xff\xfe".encode("latin-1"): "UTF-8",
    }
    for body, expected in cases.items():
        resp = httpx.post(service.base_url + "/line/webhook", content=body,
                          headers={"X-Line-Signature": ev.sign(body, CHANNEL_SECRET)})
        assert resp.status_code == 400, body
        assert expected in resp.json()["message"], (body, resp.json())
    assert _count(service, LineEvent) == 0


def test_get_on_webhook_is_405_not_500(service):
    assert httpx.get(service.base_url + "/line/webhook").status_code == 405


def test_follow_unfollow_recorded(service, emu):
    user = ev.new_user_id()
    assert post_events(service.base_url, [ev.follow_event(user_id=user)]).status_code == 200

    def contact():
        with service.session() as s:
            return s.scalars(select(Contact).where(Contact.line_id == user)).first()
    wait_for(lambda: contact() is not None and contact().followed, what="follow")
    welcome = wait_for(lambda: emu.delivered("/v2/bot/message/reply"), what="welcome reply")
    assert "感謝您加入" in welcome[0]["body"]["messages"][0]["text"]
    assert post_events(service.base_url, [ev.unfollow_event(user_id=user)]).status_code == 200
    wait_for(lambda: contact().followed is False, what="unfollow")
    assert contact().unfollowed_at is not None
    with service.session() as s:
        kinds = sorted(s.scalars(select(LineEvent.event_type)))
    assert kinds == ["follow", "unfollow"]


def test_many_events_in_one_body_each_stored(service):
    events = [ev.text_message_event(f"問題 {i}", user_id=ev.new_user_id()) for i in range(5)]
    events.append(ev.sticker_message_event())
    assert post_events(service.base_url, events).status_code == 200
    assert _count(service, LineEvent) == 6
    wait_for(lambda: _count(service, Question) == 5, what="five questions")

    def stickers():
        with service.session() as s:
            return s.scalar(select(func.count()).select_from(Message).where(Message.kind == "sticker"))
    wait_for(lambda: stickers() == 1, what="sticker message")
