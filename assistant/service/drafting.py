"""Drafts for queued questions: run retrieval, keep every draft, never lose a question.

The drafting function (``assistant.pipeline.Assistant.ask`` in production, any
``Callable[[str], Draft]`` in tests) runs outside any transaction; its result
is written together with marking the job done. If drafting keeps failing the
question still reaches the queue, flagged, for staff to answer by hand.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Callable

from assistant.citations import Citation, Draft

from .audit import record
from .models import Draft as DraftRow
from .models import Question, utcnow

log = logging.getLogger("wpa.service.drafting")

DraftFn = Callable[[str], Draft]


class LazyAssistant:
    """Loads ``assistant.pipeline.Assistant`` on first use (the index can be large)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._assistant = None

    def load(self) -> None:
        with self._lock:
            if self._assistant is None:
                from assistant.pipeline import Assistant

                self._assistant = Assistant.load()

    def __call__(self, question: str) -> Draft:
        self.load()
        return self._assistant.ask(question)


def draft_row(question_id: int, query: str, draft: Draft, user_id: int | None) -> DraftRow:
    return DraftRow(
        question_id=question_id, query=query, text=draft.text or "",
        citations=json.dumps([c.__dict__ for c in draft.citations], ensure_ascii=False),
        abstained=bool(draft.abstained), reason=draft.reason or "",
        timings=json.dumps(draft.timings or {}), error="", created_by_id=user_id, created_at=utcnow(),
        corrections=json.dumps([list(c) for c in draft.corrections], ensure_ascii=False),
        read_as=draft.read_as or "",
    )


def corrections_of(row: DraftRow | None) -> list[tuple[str, str]]:
    """How the search read the question's typos (「許可正」 as 「許可證」), for the reviewer."""
    if row is None:
        return []
    try:
        return [(str(t), str(w)) for t, w in json.loads(row.corrections or "[]")]
    except (ValueError, TypeError):
        return []


def citations_of(row: DraftRow | None) -> list[Citation]:
    if row is None:
        return []
    out = []
    for item in json.loads(row.citations or "[]"):
        try:
            out.append(Citation(**item))
        except TypeError:
            continue
    return out


def apply_draft(s, question: Question, row: DraftRow, by_staff: bool) -> None:
    """Make ``row`` the question's current draft (staff edits are superseded, not deleted)."""
    s.add(row)
    s.flush()
    previous_text = question.working_text
    question.current_draft_id = row.id
    question.working_text = None
    if question.status == "drafting":
        question.status = "waiting"
    question.version += 1
    question.updated_at = utcnow()
    if by_staff:
        record(s, None, "redraft_done", question_id=question.id, draft_text=row.text,
               detail={"draft_id": row.id, "query": row.query, "superseded_edit": previous_text or ""})
    elif row.error:
        record(s, None, "draft_failed", question_id=question.id, detail={"draft_id": row.id, "error": row.error})
