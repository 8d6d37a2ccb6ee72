"""The audit log: who did what and when, and how the sent text differs from the draft.

Each entry is written in the same transaction as the action it describes, so
the log can't claim something that didn't happen (or miss something that
did). The diff and a similarity ratio are stored, not recomputed, so later
measurement of drafting quality reads them straight from the table.
"""
from __future__ import annotations

import csv
import difflib
import io
import json
from typing import Iterable, Iterator

from sqlalchemy.orm import Session

from .models import AuditEntry, utcnow

ACTION_LABELS = {
    "login": "登入", "login_failed": "登入失敗", "logout": "登出",
    "claim": "認領", "release": "釋出", "save": "儲存草稿", "insert_snippet": "插入罐頭回覆",
    "approve": "核准送出", "reject": "退回", "redraft": "重新檢索", "redraft_done": "重新檢索完成",
    "draft_failed": "自動草擬失敗", "sent": "已送達 LINE", "send_failed": "LINE 傳送失敗",
    "resend": "重新送出", "user_add": "新增帳號", "user_update": "更新帳號",
    "snippet_add": "新增罐頭回覆", "snippet_remove": "停用罐頭回覆",
}


def inline_diff(before: str, after: str) -> str:
    """Character-level diff as ``[-removed-]{+added+}`` (readable in a CSV cell, works for CJK)."""
    if before == after:
        return ""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(before[i1:i2])
        if op in ("delete", "replace"):
            out.append(f"[-{before[i1:i2]}-]")
        if op in ("insert", "replace"):
            out.append(f"{{+{after[j1:j2]}+}}")
    return "".join(out)


def diff_segments(before: str, after: str) -> list[tuple[str, str]]:
    """(kind, text) pieces for rendering a diff: kind is equal | del | ins."""
    segments: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(("equal", before[i1:i2]))
        if op in ("delete", "replace"):
            segments.append(("del", before[i1:i2]))
        if op in ("insert", "replace"):
            segments.append(("ins", after[j1:j2]))
    return segments


def similarity(before: str, after: str) -> float:
    if not before and not after:
        return 1.0
    return round(difflib.SequenceMatcher(None, before, after, autojunk=False).ratio(), 4)


def record(session: Session, actor, action: str, *, question_id: int | None = None,
           draft_text: str = "", sent_text: str = "", detail: dict | None = None,
           compare: bool = False) -> AuditEntry:
    """Append one entry; ``actor`` is a user-like object (id, username) or None for the system."""
    entry = AuditEntry(
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor=getattr(actor, "username", None) or "system",
        action=action,
        question_id=question_id,
        draft_text=draft_text,
        sent_text=sent_text,
        diff=inline_diff(draft_text, sent_text) if compare else "",
        similarity=similarity(draft_text, sent_text) if compare else None,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
    )
    session.add(entry)
    return entry


CSV_COLUMNS = ["id", "at_utc", "actor", "action", "question_id", "draft_text", "sent_text",
               "diff", "similarity", "detail"]


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (a citizen's text may start with '=')."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_rows(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """CSV text, with a BOM so Excel opens the Chinese correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    for e in entries:
        buf.seek(0)
        buf.truncate()
        writer.writerow([e.id, e.at.isoformat(), _cell(e.actor), e.action, e.question_id or "",
                         _cell(e.draft_text), _cell(e.sent_text), _cell(e.diff),
                         "" if e.similarity is None else e.similarity, _cell(e.detail)])
        yield buf.getvalue()
