"""What staff can do to a queued question, each in one transaction with its audit entry.

Rules that keep two reviewers from stepping on each other:
* a question claimed by someone else can only be read (an admin may release it);
* every change carries the version the reviewer saw; a stale version is refused
  instead of silently overwriting (this is also what stops a double "approve").
"""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import record
from .auth import Staff
from .line_gateway import LINE_MESSAGES_PER_REQUEST, LINE_TEXT_LIMIT, text_messages
from .models import Contact, Draft, Job, Question, Snippet, User, utcnow
from .outbox import enqueue_text

OPEN_STATUSES = ("drafting", "waiting", "send_failed")
MAX_ANSWER_CHARS = LINE_TEXT_LIMIT * LINE_MESSAGES_PER_REQUEST
MAX_QUERY_CHARS = 1000


class ActionError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def load_for_action(s: Session, staff: Staff, question_id: int, version: int | None) -> Question:
    q = s.get(Question, question_id)
    if q is None:
        raise ActionError("找不到這個問題", 404)
    if version is not None and q.version != version:
        raise ActionError("此問題已被其他人更新，請重新載入頁面後再操作", 409)
    if q.claimed_by_id not in (None, staff.id):
        owner = s.get(User, q.claimed_by_id)
        raise ActionError(f"此問題已由 {owner.display_name or owner.username if owner else '其他人'} 認領", 409)
    return q


def current_draft(s: Session, q: Question) -> Draft | None:
    return s.get(Draft, q.current_draft_id) if q.current_draft_id else None


def working_text(s: Session, q: Question) -> str:
    if q.working_text is not None:
        return q.working_text
    draft = current_draft(s, q)
    return draft.text if draft else ""


def _touch(q: Question) -> None:
    q.version += 1
    q.updated_at = utcnow()


def _check_answer(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ActionError("回覆內容不可空白")
    if len(text) > MAX_ANSWER_CHARS:
        raise ActionError(f"回覆內容過長（上限 {MAX_ANSWER_CHARS} 字）")
    text_messages(text)
    return text


def claim(s: Session, staff: Staff, question_id: int) -> Question:
    q = load_for_action(s, staff, question_id, None)
    if q.status not in OPEN_STATUSES:
        raise ActionError("此問題已處理完畢，無法認領", 409)
    if q.claimed_by_id != staff.id:
        q.claimed_by_id, q.claimed_at = staff.id, utcnow()
        _touch(q)
        record(s, staff, "claim", question_id=q.id)
    return q


def release(s: Session, staff: Staff, question_id: int) -> Question:
    q = s.get(Question, question_id)
    if q is None:
        raise ActionError("找不到這個問題", 404)
    if q.claimed_by_id is None:
        return q
    if q.claimed_by_id != staff.id and not staff.can("release_any"):
        raise ActionError("只能釋出自己認領的問題", 403)
    previous = q.claimed_by_id
    q.claimed_by_id, q.claimed_at = None, None
    _touch(q)
    record(s, staff, "release", question_id=q.id, detail={"previous_claimant_id": previous})
    return q


def _auto_claim(s: Session, staff: Staff, q: Question) -> None:
    if q.claimed_by_id is None:
        q.claimed_by_id, q.claimed_at = staff.id, utcnow()
        record(s, staff, "claim", question_id=q.id, detail={"automatic": True})


def save(s: Session, staff: Staff, question_id: int, version: int, text: str) -> Question:
    q = load_for_action(s, staff, question_id, version)
    if q.status not in OPEN_STATUSES:
        raise ActionError("此問題已處理完畢，無法再編輯", 409)
    text = text.replace("\r\n", "\n")
    if len(text) > MAX_ANSWER_CHARS:
        raise ActionError(f"回覆內容過長（上限 {MAX_ANSWER_CHARS} 字）")
    _auto_claim(s, staff, q)
    draft = current_draft(s, q)
    if text != working_text(s, q):
        q.working_text = text
        record(s, staff, "save", question_id=q.id, draft_text=draft.text if draft else "", sent_text=text,
               compare=True, detail={"draft_id": q.current_draft_id})
    _touch(q)
    return q


def insert_snippet(s: Session, staff: Staff, question_id: int, version: int, text: str,
                   snippet_id: int, cursor: int | None) -> Question:
    snippet = s.get(Snippet, snippet_id)
    if snippet is None or not snippet.active:
        raise ActionError("找不到這則罐頭回覆")
    text = text.replace("\r\n", "\n")
    pos = len(text) if cursor is None or not 0 <= cursor <= len(text) else cursor
    new_text = text[:pos] + snippet.body + text[pos:]
    q = save(s, staff, question_id, version, new_text)
    record(s, staff, "insert_snippet", question_id=q.id, detail={"snippet_id": snippet.id, "title": snippet.title})
    return q


def approve(s: Session, staff: Staff, question_id: int, version: int, text: str) -> Question:
    q = load_for_action(s, staff, question_id, version)
    if q.status not in OPEN_STATUSES:
        raise ActionError("此問題已送出或已退回", 409)
    text = _check_answer(text)
    contact = s.get(Contact, q.contact_id)
    _auto_claim(s, staff, q)
    draft = current_draft(s, q)
    now = utcnow()
    q.working_text = text
    q.final_text = text
    q.status = "sending"
    q.decided_by_id, q.decided_at = staff.id, now
    _touch(q)
    row = enqueue_text(s, contact, text, purpose="answer", question_id=q.id, user_id=staff.id)
    record(s, staff, "approve", question_id=q.id, draft_text=draft.text if draft else "", sent_text=text,
           compare=True, detail={"draft_id": q.current_draft_id, "outbox_id": row.id, "retry_key": row.retry_key,
                                 "abstained": bool(draft.abstained) if draft else None})
    return q


def reject(s: Session, staff: Staff, question_id: int, version: int, reason: str, reply: str) -> Question:
    q = load_for_action(s, staff, question_id, version)
    if q.status not in OPEN_STATUSES:
        raise ActionError("此問題已送出或已退回", 409)
    reason = reason.strip()
    if not reason:
        raise ActionError("請填寫退回原因")
    if len(reason) > 2000:
        raise ActionError("退回原因過長（上限 2000 字）")
    reply = reply.replace("\r\n", "\n").strip()
    if reply:
        reply = _check_answer(reply)
    _auto_claim(s, staff, q)
    draft = current_draft(s, q)
    q.status = "rejected"
    q.reject_reason = reason
    q.final_text = reply or None
    q.decided_by_id, q.decided_at = staff.id, utcnow()
    _touch(q)
    outbox_id = None
    if reply:
        contact = s.get(Contact, q.contact_id)
        outbox_id = enqueue_text(s, contact, reply, purpose="rejection", question_id=q.id, user_id=staff.id).id
    record(s, staff, "reject", question_id=q.id, draft_text=draft.text if draft else "", sent_text=reply,
           compare=bool(reply), detail={"reason": reason, "outbox_id": outbox_id})
    return q


def redraft(s: Session, staff: Staff, question_id: int, version: int, query: str) -> Question:
    q = load_for_action(s, staff, question_id, version)
    if q.status not in OPEN_STATUSES:
        raise ActionError("此問題已處理完畢，無法重新檢索", 409)
    query = " ".join(query.split())
    if not query:
        raise ActionError("請輸入改寫後的檢索問題")
    if len(query) > MAX_QUERY_CHARS:
        raise ActionError(f"檢索問題過長（上限 {MAX_QUERY_CHARS} 字）")
    if redraft_pending(s, q.id):
        raise ActionError("已在重新檢索中，請稍候", 409)
    _auto_claim(s, staff, q)
    now = utcnow()
    s.add(Job(kind="draft", ref_id=q.id, payload=json.dumps({"query": query, "user_id": staff.id}, ensure_ascii=False),
              status="pending", attempts=0, run_after=now, last_error="", created_at=now))
    _touch(q)
    record(s, staff, "redraft", question_id=q.id, detail={"query": query})
    return q


def redraft_pending(s: Session, question_id: int) -> bool:
    return s.scalar(select(Job.id).where(Job.kind == "draft", Job.ref_id == question_id,
                                         Job.status == "pending").limit(1)) is not None


def resend_allowed(q: Question) -> bool:
    return q.status == "send_failed"
