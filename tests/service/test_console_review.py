"""The review workflow through the console over real HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
import re
import time

from sqlalchemy import select

from assistant.lineemu import events as ev
from assistant.service.models import AuditEntry, Draft, Outbox, Question, Snippet

from .service_support import Console, make_user, post_events, wait_for

PASSWORD = "correct horse battery"


def _ask(svc, text: str, user_id: str | None = None) -> int:
    event = ev.text_message_event(text, user_id=user_id or ev.new_user_id())
    assert post_events(svc.base_url, [event]).status_code == 200

    def waiting():
        with svc.session() as s:
            q = s.scalars(select(Question).where(Question.text == text)).first()
            return q.id if q is not None and q.status == "waiting" else None
    return wait_for(waiting, what="question drafted")


def _question(svc, qid: int) -> Question:
    with svc.session() as s:
        return s.get(Question, qid)


def _console(svc, username: str, role: str) -> Console:
    make_user(svc.settings, username, role, PASSWORD)
    c = Console(svc.base_url)
    assert c.login(username, PASSWORD).status_code == 303
    return c


def test_queue_lists_oldest_first_with_sla_and_filters(service):
    user = ev.new_user_id()
    first = _ask(service, "第一個問題：放流水標準在哪裡查？", user)
    time.sleep(0.05)
    second = _ask(service, "第二個問題：許可證展延要準備什麼？", user)
    c = _console(service, "rita", "reviewer")
    page = c.get("/console/")
    assert page.status_code == 200
    order = [int(x) for x in re.findall(r'data-question="(\d+)"', page.text)]
    assert order == [first, second]
    assert "待處理 <strong>2</strong> 件" in page.text
    assert "sla-ok" in page.text
    # claim one, then filter
    assert c.post(f"/console/questions/{second}/claim").status_code == 303
    mine = c.get("/console/?status=mine").text
    assert re.findall(r'data-question="(\d+)"', mine) == [str(second)]
    unclaimed = c.get("/console/?status=unclaimed").text
    assert re.findall(r'data-question="(\d+)"', unclaimed) == [str(first)]
    search = c.get("/console/?q=展延").text
    assert re.findall(r'data-question="(\d+)"', search) == [str(second)]
    assert c.get("/console/?status=bogus").status_code == 400


def test_review_page_shows_question_history_draft_and_highlighted_citation(service):
    user = ev.new_user_id()
    earlier = _ask(service, "之前問過：需要申請許可嗎？", user)
    qid = _ask(service, "我們工廠要排放廢水，要申請什麼？", user)
    c = _console(service, "rita", "reviewer")
    page = c.get(f"/console/questions/{qid}").text
    assert "我們工廠要排放廢水，要申請什麼？" in page
    assert "之前問過：需要申請許可嗎？" in page                    # earlier message from the business
    assert "依水污染防治法第 14 條規定" in page                    # the draft
    assert "水污染防治法第 14 條" in page                          # citation label
    assert '<mark class="passage">應向直轄市、縣（市）主管機關申請核發排放許可證</mark>' in page
    assert 'href="https://law.moj.gov.tw/LawClass/LawSingle.aspx?pcode=O0040001&amp;flno=14"' in page
    assert earlier != qid


def test_review_page_says_how_a_typo_was_read(service):
    typo = _ask(service, "許可正快到期了要做什麼？")
    clean = _ask(service, "許可證快到期了要做什麼？")
    c = _console(service, "rita", "reviewer")
    page = c.get(f"/console/questions/{typo}").text
    assert "檢索時將「許可正」讀作「許可證」" in page
    assert 'id="corrections"' not in c.get(f"/console/questions/{clean}").text


def test_review_page_says_how_a_simplified_question_was_read(service):
    simplified = _ask(service, "许可证快到期了要做什么？")
    traditional = _ask(service, "許可證快到期了要做什麼？")
    c = _console(service, "rita", "reviewer")
    page = c.get(f"/console/questions/{simplified}").text
    assert "许可证快到期了要做什么？" in page                       # the question as the business typed it
    assert "檢索時讀作：許可證快到期了要做什麼？" in page
    assert 'id="read-as"' not in c.get(f"/console/questions/{traditional}").text


def test_a_bureau_document_citation_is_marked_and_has_no_law_link(service):
    qid = _ask(service, "排放許可證的申請書要去哪裡拿？")
    page = _console(service, "rita", "reviewer").get(f"/console/questions/{qid}").text
    form = page[page.index('id="cite-2"'):]
    assert "[2] 水污染防治許可申請書表目錄〈WP-02 排放許可證（文件）申請書〉" in form
    assert 'data-kind="form">本局資料</span>' in form and "官方條文頁面" not in form
    first = page[page.index('id="cite-1"'):page.index('id="cite-2"')]
    assert "本局資料" not in first and "官方條文頁面" in first


def test_edit_approve_sends_edited_text_with_retry_key_and_audits_diff(service, emu):
    qid = _ask(service, "請問許可證有效期間多久？")
    c = _console(service, "rita", "reviewer")
    version = c.version_of(qid)
    edited = "依水污染防治法第 14 條規定，事業應申請許可 [1]。許可證有效期間為五年。"
    resp = c.post(f"/console/questions/{qid}/edit", {"version": version, "text": edited, "action": "save"})
    assert resp.status_code == 303
    assert _question(service, qid).working_text == edited
    version = c.version_of(qid)
    resp = c.post(f"/console/questions/{qid}/edit", {"version": version, "text": edited, "action": "approve"})
    assert resp.status_code == 303
    pushes = wait_for(lambda: emu.delivered("/v2/bot/message/push"), what="push")
    assert len(pushes) == 1
    assert pushes[0]["body"]["messages"] == [{"type": "text", "text": edited}]
    with service.session() as s:
        box = s.scalars(select(Outbox).where(Outbox.question_id == qid, Outbox.purpose == "answer")).one()
        assert pushes[0]["headers"]["x-line-retry-key"] == box.retry_key
    wait_for(lambda: _question(service, qid).status == "answered", what="answered")
    with service.session() as s:
        approve = s.scalars(select(AuditEntry).where(AuditEntry.question_id == qid,
                                                     AuditEntry.action == "approve")).one()
    assert approve.actor == "rita"
    assert approve.draft_text == "依水污染防治法第 14 條規定，事業應申請許可 [1]。"
    assert approve.sent_text == edited
    assert approve.diff.endswith("{+許可證有效期間為五年。+}")
    assert 0 < approve.similarity < 1
    # approving again (double click / stale page) is refused and sends nothing more
    again = c.post(f"/console/questions/{qid}/edit", {"version": version, "text": edited, "action": "approve"})
    assert again.status_code == 409
    time.sleep(0.3)
    assert len(emu.delivered("/v2/bot/message/push")) == 1


def test_reject_with_reason_sends_reply_to_business(service, emu):
    qid = _ask(service, "你們可以幫我寫投標文件嗎？")
    c = _console(service, "rita", "reviewer")
    version = c.version_of(qid)
    resp = c.post(f"/console/questions/{qid}/reject", {"version": version, "reason": "非本機關業務",
                                                        "reply": "您好，此問題非本服務範圍。"})
    assert resp.status_code == 303
    q = _question(service, qid)
    assert (q.status, q.reject_reason) == ("rejected", "非本機關業務")
    pushes = wait_for(lambda: emu.delivered("/v2/bot/message/push"), what="rejection reply")
    assert pushes[0]["body"]["messages"][0]["text"] == "您好，此問題非本服務範圍。"
    missing = c.post(f"/console/questions/{_ask(service, '另一題')}/reject", {"version": 1, "reason": ""})
    assert missing.status_code in (400, 409)


def test_claimed_question_is_read_only_for_others_until_released(service):
    qid = _ask(service, "認領測試")
    alice = _console(service, "alice", "reviewer")
    bob = _console(service, "bob", "reviewer")
    assert alice.post(f"/console/questions/{qid}/claim").status_code == 303
    page = bob.get(f"/console/questions/{qid}").text
    assert "此問題已由 alice 認領，您只能檢視" in page and 'id="draft-form"' not in page
    version = _question(service, qid).version      # as if bob's form were still open
    resp = bob.post(f"/console/questions/{qid}/edit", {"version": version, "text": "bob 的版本", "action": "save"})
    assert resp.status_code == 409
    assert "已由 alice 認領" in resp.text
    assert _question(service, qid).working_text is None
    assert bob.post(f"/console/questions/{qid}/release").status_code == 403
    assert alice.post(f"/console/questions/{qid}/release").status_code == 303
    version = bob.version_of(qid)
    assert bob.post(f"/console/questions/{qid}/edit", {"version": version, "text": "bob 的版本",
                                                        "action": "save"}).status_code == 303
    assert _question(service, qid).claimed_by_id is not None


def test_stale_version_is_refused(service):
    qid = _ask(service, "版本衝突測試")
    c = _console(service, "rita", "reviewer")
    version = c.version_of(qid)
    assert c.post(f"/console/questions/{qid}/edit", {"version": version, "text": "第一版", "action": "save"}).status_code == 303
    stale = c.post(f"/console/questions/{qid}/edit", {"version": version, "text": "第二版", "action": "save"})
    assert stale.status_code == 409
    assert _question(service, qid).working_text == "第一版"


def test_snippets_insert_at_cursor(service):
    qid = _ask(service, "罐頭回覆測試")
    legal = _console(service, "lena", "legal")
    assert legal.post("/console/snippets", {"title": "結語", "body": "如有疑問請來電洽詢。"}).status_code == 303
    with service.session() as s:
        snippet = s.scalars(select(Snippet)).one()
    c = _console(service, "rita", "reviewer")
    assert c.post("/console/snippets", {"title": "x", "body": "y"}).status_code == 403   # reviewers can't manage
    version = c.version_of(qid)
    resp = c.post(f"/console/questions/{qid}/edit", {"version": version, "text": "開頭。結尾。", "action": "insert_snippet",
                                                      "snippet_id": snippet.id, "cursor": 3})
    assert resp.status_code == 303
    assert _question(service, qid).working_text == "開頭。如有疑問請來電洽詢。結尾。"
    with service.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.question_id == qid)))
    assert "insert_snippet" in actions


def test_redraft_with_rephrased_query_makes_a_new_draft(service):
    qid = _ask(service, "那個許可要怎麼弄")
    c = _console(service, "rita", "reviewer")
    version = c.version_of(qid)
    resp = c.post(f"/console/questions/{qid}/redraft", {"version": version, "query": "水污染防治法 排放許可證 申請程序"})
    assert resp.status_code == 303

    def drafts():
        with service.session() as s:
            return list(s.scalars(select(Draft).where(Draft.question_id == qid).order_by(Draft.id)))
    wait_for(lambda: len(drafts()) == 2, what="second draft")
    assert drafts()[1].query == "水污染防治法 排放許可證 申請程序"
    assert drafts()[1].created_by_id is not None
    assert _question(service, qid).current_draft_id == drafts()[1].id
    empty = c.post(f"/console/questions/{qid}/redraft", {"version": c.version_of(qid), "query": "   "})
    assert empty.status_code == 400
    assert "請輸入改寫後的檢索問題" in empty.text


def test_empty_or_too_long_answer_is_refused_with_message(service, emu):
    qid = _ask(service, "空白回覆測試")
    c = _console(service, "rita", "reviewer")
    resp = c.post(f"/console/questions/{qid}/edit", {"version": c.version_of(qid), "text": "  ", "action": "approve"})
    assert resp.status_code == 400
    assert "回覆內容不可空白" in resp.text
    resp = c.post(f"/console/questions/{qid}/edit", {"version": c.version_of(qid), "text": "長" * 25001,
                                                      "action": "approve"})
    assert resp.status_code == 400
    assert "回覆內容過長" in resp.text
    bad = c.post(f"/console/questions/{qid}/edit", {"version": "abc", "text": "x", "action": "approve"})
    assert bad.status_code == 400
    assert emu.delivered("/v2/bot/message/push") == []


def test_long_answer_is_split_into_several_line_messages(service, emu):
    qid = _ask(service, "長回覆測試")
    c = _console(service, "rita", "reviewer")
    text = ("第一段" * 1000 + "\n") * 2        # 6002 characters > one LINE message
    assert c.post(f"/console/questions/{qid}/edit", {"version": c.version_of(qid), "text": text,
                                                      "action": "approve"}).status_code == 303
    push = wait_for(lambda: emu.delivered("/v2/bot/message/push"), what="push")[0]
    parts = [m["text"] for m in push["body"]["messages"]]
    assert len(parts) == 2 and all(len(p) <= 5000 for p in parts)
    assert "".join(parts) == text.strip().replace("\n", "")


def test_audit_csv_export_for_admin(service):
    qid = _ask(service, "稽核匯出測試")
    admin = _console(service, "ada", "admin")
    edited = "=HYPERLINK(\"x\") 經修改的回覆"
    assert admin.post(f"/console/questions/{qid}/edit", {"version": admin.version_of(qid), "text": edited,
                                                          "action": "approve"}).status_code == 303
    page = admin.get("/console/audit")
    assert page.status_code == 200 and "核准送出" in page.text
    resp = admin.get("/console/audit.csv")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    approve = [r for r in rows if r["action"] == "approve"][0]
    assert approve["actor"] == "ada" and approve["question_id"] == str(qid)
    assert approve["sent_text"] == "'" + edited                # formula neutralised for spreadsheets
    assert approve["draft_text"].startswith("依水污染防治法")
    assert json.loads(approve["detail"])["retry_key"]
    assert {"login", "claim", "approve"} <= {r["action"] for r in rows}
    filtered = admin.get("/console/audit.csv?action=login").content.decode("utf-8-sig")
    assert all(r["action"] == "login" for r in csv.DictReader(io.StringIO(filtered)))


def test_admin_manages_users_from_console(service):
    admin = _console(service, "ada", "admin")
    resp = admin.post("/console/users", {"username": "newbie", "display_name": "新同仁", "role": "reviewer",
                                          "password": "short"})
    assert resp.status_code == 400 and "密碼至少需" in resp.text
    assert admin.post("/console/users", {"username": "newbie", "display_name": "新同仁", "role": "reviewer",
                                          "password": "long enough password"}).status_code == 303
    newbie = Console(service.base_url)
    assert newbie.login("newbie", "long enough password").status_code == 303
    assert newbie.get("/console/users").status_code == 403
