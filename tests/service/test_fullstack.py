"""End to end with the real retrieval pipeline, real uvicorn servers and the LINE emulator.

signed webhook in → worker drafts with assistant.pipeline → draft in the queue →
a reviewer edits and approves through the console → the emulator receives a push
that validates against messaging-api.yml and carries the edited text.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from assistant.lineemu import events as ev
from assistant.service.drafting import citations_of
from assistant.service.models import AuditEntry, Draft, Question

from .service_support import Console, make_user, post_events, running_service, wait_for

QUESTION = "我們工廠的排放許可證明年三月底到期，最晚什麼時候要送件申請延長？"


def test_webhook_to_push_with_real_pipeline(settings, emu, real_assistant):
    user = ev.new_user_id()
    with running_service(settings, real_assistant.ask) as svc:
        event = ev.text_message_event(QUESTION, user_id=user)
        resp = post_events(svc.base_url, [event])
        assert resp.status_code == 200

        ack = wait_for(lambda: emu.delivered("/v2/bot/message/reply"), what="acknowledgement")[0]
        assert ack["body"]["replyToken"] == event["replyToken"]
        assert ack["body"]["messages"][0]["text"].startswith("已收到您的問題，將由專人確認後回覆")

        def drafted():
            with svc.session() as s:
                q = s.scalars(select(Question)).first()
                return q if q is not None and q.status == "waiting" else None
        question = wait_for(drafted, timeout=60, what="real draft")
        with svc.session() as s:
            draft = s.get(Draft, question.current_draft_id)
        citations = citations_of(draft)
        assert draft.query == QUESTION and draft.text and not draft.error
        assert citations, "the real pipeline should cite articles for a renewal question"
        assert any(c.pcode == "O0040055" for c in citations)

        make_user(svc.settings, "rita", "reviewer")
        console = Console(svc.base_url)
        assert console.login("rita", "correct horse battery").status_code == 303
        queue = console.get("/console/")
        assert f'data-question="{question.id}"' in queue.text
        page = console.get(f"/console/questions/{question.id}").text
        assert QUESTION in page
        assert '<mark class="passage">' in page                       # the cited passage is highlighted
        first = citations[0]
        assert first.label in page
        assert first.url.replace("&", "&amp;") in page                  # link to the official article

        version = int(re.search(r'name="version" value="(\d+)"', page).group(1))
        edited = draft.text + "\n\n（承辦人補充：請於期限內備齊文件送件。）"
        resp = console.post(f"/console/questions/{question.id}/edit",
                            {"version": version, "text": edited, "action": "approve"})
        assert resp.status_code == 303

        push = wait_for(lambda: emu.delivered("/v2/bot/message/push"), what="push")[0]
        assert push["valid"] and push["body"]["to"] == user
        assert "".join(m["text"] for m in push["body"]["messages"]) == edited.strip()
        assert push["headers"]["x-line-retry-key"]
        wait_for(lambda: svc.session().get(Question, question.id).status == "answered", what="answered")
        with svc.session() as s:
            approve = s.scalars(select(AuditEntry).where(AuditEntry.action == "approve")).one()
        assert approve.draft_text == draft.text and approve.sent_text == edited.strip()
        assert approve.diff.endswith("{+\n\n（承辦人補充：請於期限內備齊文件送件。）+}")
