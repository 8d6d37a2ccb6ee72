"""Talking to LINE: acknowledgements, non-text replies, media downloads, push retries and failures.

LINE is the emulator; its failure plans produce 500s, 429s, time-outs and 4xx.
"""
from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from assistant.lineemu import events as ev
from assistant.service.models import Message, Outbox, Question
from assistant.service.replies import ACK, STICKER

from .conftest import make_settings
from .service_support import Console, make_user, post_events, running_service, wait_for

PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"


def _ask(svc, text: str, **kw) -> tuple[int, dict]:
    event = ev.text_message_event(text, user_id=ev.new_user_id(), **kw)
    assert post_events(svc.base_url, [event]).status_code == 200

    def waiting():
        with svc.session() as s:
            q = s.scalars(select(Question).where(Question.event_id.is_not(None), Question.text == text)).first()
            return q.id if q is not None and q.status == "waiting" else None
    return wait_for(waiting, what="drafted question"), event


def _approve(svc, qid: int, text: str) -> Console:
    make_user(svc.settings, f"r{qid}", "reviewer")
    c = Console(svc.base_url)
    assert c.login(f"r{qid}", "correct horse battery").status_code == 303
    resp = c.post(f"/console/questions/{qid}/edit", {"version": c.version_of(qid), "text": text, "action": "approve"})
    assert resp.status_code == 303, resp.text
    return c


def _answer_row(svc, qid: int) -> Outbox:
    with svc.session() as s:
        return s.scalars(select(Outbox).where(Outbox.question_id == qid, Outbox.purpose == "answer")
                         .order_by(Outbox.id.desc())).first()


def _status(svc, qid: int) -> str:
    with svc.session() as s:
        return s.get(Question, qid).status


def test_text_question_gets_acknowledgement_through_reply_token(service, emu):
    qid, event = _ask(service, "請問放流水採樣頻率？")
    reply = wait_for(lambda: emu.delivered(REPLY), what="ack")[0]
    assert reply["body"]["replyToken"] == event["replyToken"]
    text = reply["body"]["messages"][0]["text"]
    assert text.startswith("已收到您的問題，將由專人確認後回覆")
    assert reply["headers"]["authorization"] == "Bearer test-channel-access-token"


def test_acknowledgement_outside_office_hours_names_next_service_time(tmp_path, sqlite_url_emu):
    db_url, emu = sqlite_url_emu
    home = tmp_path / "h"
    home.mkdir()
    # An office open one minute a week: practically always closed, next opening is a Sunday.
    settings = make_settings(home, db_url, emu.base_url, WPA_OFFICE_HOURS="sun 03:00-03:01")
    with running_service(settings) as svc:
        post_events(svc.base_url, [ev.text_message_event("下班時間的問題", user_id=ev.new_user_id())])
        reply = wait_for(lambda: emu.delivered(REPLY), what="ack")[0]
    text = reply["body"]["messages"][0]["text"]
    assert text.startswith(ACK)
    assert "目前為非上班時間" in text and "（星期日）上午3:00" in text


@pytest.fixture
def sqlite_url_emu(tmp_path, emu):
    return f"sqlite:///{tmp_path / 'svc.db'}", emu


def test_sticker_gets_helpful_reply_and_no_question(service, emu):
    assert post_events(service.base_url, [ev.sticker_message_event(user_id=ev.new_user_id())]).status_code == 200
    reply = wait_for(lambda: emu.delivered(REPLY), what="sticker reply")[0]
    assert reply["body"]["messages"][0]["text"] == STICKER
    with service.session() as s:
        assert s.scalars(select(Question)).first() is None


def test_image_and_file_are_downloaded_and_kept_under_wpa_home(service, emu):
    image = ev.image_message_event(user_id=ev.new_user_id())
    doc = ev.file_message_event("排放許可申請書.pdf", 11, user_id=ev.new_user_id())
    emu.put_content(image["message"]["id"], b"\x89PNG fake image bytes", "image/png")
    emu.put_content(doc["message"]["id"], b"%PDF-1.4 ok", "application/pdf")
    assert post_events(service.base_url, [image, doc]).status_code == 200

    def stored():
        with service.session() as s:
            rows = list(s.scalars(select(Message).where(Message.direction == "in")))
            return rows if len(rows) == 2 and all(r.media_status == "stored" for r in rows) else None
    rows = {r.kind: r for r in wait_for(stored, what="media stored")}
    assert (service.settings.home / rows["image"].media_path).read_bytes() == b"\x89PNG fake image bytes"
    assert (service.settings.home / rows["file"].media_path).read_bytes() == b"%PDF-1.4 ok"
    assert rows["file"].media_path.endswith(".pdf") and rows["file"].file_name == "排放許可申請書.pdf"
    texts = [r["body"]["messages"][0]["text"] for r in wait_for(lambda: len(emu.delivered(REPLY)) == 2 and emu.delivered(REPLY))]
    assert any("圖片" in t for t in texts) and any("檔案" in t for t in texts)
    # staff can download what was kept
    make_user(service.settings, "rita", "reviewer")
    c = Console(service.base_url)
    c.login("rita", "correct horse battery")
    got = c.get(f"/console/media/{rows['file'].id}")
    assert got.status_code == 200 and got.content == b"%PDF-1.4 ok"
    assert httpx.get(service.base_url + f"/console/media/{rows['file'].id}").status_code == 303   # not signed in


def test_missing_content_is_marked_failed_not_retried_forever(service, emu):
    image = ev.image_message_event(user_id=ev.new_user_id())       # no content uploaded: emulator 404s
    assert post_events(service.base_url, [image]).status_code == 200

    def failed():
        with service.session() as s:
            row = s.scalars(select(Message).where(Message.kind == "image")).first()
            return row is not None and row.media_status == "failed"
    wait_for(failed, what="media failed")
    assert len(emu.requests(f"/v2/bot/message/{image['message']['id']}/content")) == 1


def test_push_500_then_200_delivers_once_with_same_retry_key(service, emu):
    qid, _ = _ask(service, "500 測試")
    emu.fail(PUSH, [{"status": 500}])
    _approve(service, qid, "核准的回覆（500 後重試）")
    wait_for(lambda: _status(service, qid) == "answered", what="answered")
    calls = emu.requests(PUSH)
    assert [c["status"] for c in calls] == [500, 200]
    assert len({c["headers"]["x-line-retry-key"] for c in calls}) == 1
    assert len(emu.delivered(PUSH)) == 1
    assert _answer_row(service, qid).attempts == 2


def test_push_429_is_retried(service, emu):
    qid, _ = _ask(service, "429 測試")
    emu.fail(PUSH, [{"status": 429}, {"status": 429}])
    _approve(service, qid, "核准的回覆（429 後重試）")
    wait_for(lambda: _status(service, qid) == "answered", what="answered")
    calls = emu.requests(PUSH)
    assert [c["status"] for c in calls] == [429, 429, 200]
    assert len({c["headers"]["x-line-retry-key"] for c in calls}) == 1
    assert len(emu.delivered(PUSH)) == 1


def test_push_timeout_after_acceptance_is_not_sent_twice(service, emu):
    """LINE took the message but answered too late: the retry gets 409 and counts as sent."""
    qid, _ = _ask(service, "逾時測試")
    emu.fail(PUSH, [{"timeout_s": 3.0}])            # delivered, answered after our 1.5 s timeout
    _approve(service, qid, "核准的回覆（逾時後重試）")
    wait_for(lambda: _status(service, qid) == "answered", timeout=30, what="answered")
    calls = emu.requests(PUSH)
    assert len(calls) == 2
    assert calls[0]["headers"]["x-line-retry-key"] == calls[1]["headers"]["x-line-retry-key"]
    assert calls[1]["status"] == 409
    assert len(emu.delivered(PUSH)) == 1
    row = _answer_row(service, qid)
    assert row.status == "sent" and "409" in row.last_error


def test_push_timeout_without_acceptance_is_retried(service, emu):
    qid, _ = _ask(service, "逾時未送達測試")
    emu.fail(PUSH, [{"status": 500, "timeout_s": 3.0}])   # slow and failing: nothing delivered
    _approve(service, qid, "核准的回覆（逾時未送達）")
    wait_for(lambda: _status(service, qid) == "answered", timeout=30, what="answered")
    delivered = emu.delivered(PUSH)
    assert len(delivered) == 1 and delivered[0]["body"]["messages"][0]["text"] == "核准的回覆（逾時未送達）"


def test_push_4xx_fails_with_lines_message_shown_in_console(service, emu):
    qid, _ = _ask(service, "4xx 測試")
    message = "Failed to send messages"
    emu.fail(PUSH, [{"status": 400, "body": {"message": message, "details": [
        {"message": "The user hasn't added the LINE Official Account as a friend.", "property": "to"}]}}])
    c = _approve(service, qid, "不會送達的回覆")
    wait_for(lambda: _status(service, qid) == "send_failed", what="send_failed")
    assert len(emu.requests(PUSH)) == 1                     # 4xx: no retry
    row = _answer_row(service, qid)
    assert row.status == "failed" and row.last_status == 400
    page = c.get(f"/console/questions/{qid}").text
    assert "傳送失敗" in page
    assert "The user hasn&#39;t added the LINE Official Account as a friend." in page
    # staff can fix and approve again: a new retry key, delivered once
    resp = c.post(f"/console/questions/{qid}/edit", {"version": c.version_of(qid), "text": "再送一次",
                                                      "action": "approve"})
    assert resp.status_code == 303
    wait_for(lambda: _status(service, qid) == "answered", what="answered after resend")
    keys = [r["headers"]["x-line-retry-key"] for r in emu.requests(PUSH)]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert [d["body"]["messages"][0]["text"] for d in emu.delivered(PUSH)] == ["再送一次"]


def test_reply_500_is_retried(service, emu):
    emu.fail(REPLY, [{"status": 500}])
    _ask(service, "回覆 500 測試")
    wait_for(lambda: emu.delivered(REPLY), what="ack after retry")
    assert [c["status"] for c in emu.requests(REPLY)] == [500, 200]


def test_retries_give_up_after_max_attempts(tmp_path, sqlite_url_emu):
    db_url, emu = sqlite_url_emu
    home = tmp_path / "h"
    home.mkdir()
    settings = make_settings(home, db_url, emu.base_url, WPA_MAX_SEND_ATTEMPTS="3")
    with running_service(settings) as svc:
        qid, _ = _ask(svc, "一直失敗")
        emu.fail(PUSH, [{"status": 503}] * 5)
        _approve(svc, qid, "送不出去")
        wait_for(lambda: _status(svc, qid) == "send_failed", what="gave up")
        assert len(emu.requests(PUSH)) == 3
        assert _answer_row(svc, qid).last_error.startswith("503")
    assert json.loads(_answer_row(svc, qid).messages)[0]["text"] == "送不出去"
