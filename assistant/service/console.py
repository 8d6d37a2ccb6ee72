"""The staff console: server-rendered pages under ``/console``.

Every page checks the session (and role) first; every POST also checks the
form's CSRF token against the session's before touching anything. Actions
follow post/redirect/get, so a refresh never repeats an approval. Problems a
person can fix are shown as a page with a specific message and a 4xx status.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import review
from .audit import ACTION_LABELS, csv_rows, diff_segments, record
from .auth import (
    ROLE_LABELS, AuthError, Staff, authenticate, create_user, end_session, resolve_session, set_password,
    start_session, tokens_match,
)
from .context import ServiceContext, get_context
from .db import transaction
from .drafting import citations_of, corrections_of
from .highlight import highlight
from .models import ROLES, AuditEntry, Contact, Draft, Message, Outbox, Question, Snippet, User, utcnow

SESSION_COOKIE = "wpa_session"
LOGIN_CSRF_COOKIE = "wpa_login_csrf"
PAGE_SIZE = 50

STATUS_LABELS = {
    "drafting": "草擬中", "waiting": "待審核", "sending": "傳送中", "answered": "已回覆",
    "rejected": "已退回", "send_failed": "傳送失敗",
}
OUTBOX_LABELS = {"pending": "等待傳送", "sent": "已送達", "failed": "失敗"}
PURPOSE_LABELS = {"ack": "收件通知", "notice": "自動回覆", "answer": "正式回覆", "rejection": "退回說明"}
FILTERS = {
    "open": ("待處理", ("drafting", "waiting", "send_failed")),
    "unclaimed": ("未認領", ("drafting", "waiting", "send_failed")),
    "mine": ("我認領的", ("drafting", "waiting", "send_failed")),
    "send_failed": ("傳送失敗", ("send_failed",)),
    "sending": ("傳送中", ("sending",)),
    "answered": ("已回覆", ("answered",)),
    "rejected": ("已退回", ("rejected",)),
    "all": ("全部", None),
}
NOTICES = {
    "claimed": "已認領此問題。", "released": "已釋出此問題。", "saved": "草稿已儲存。",
    "snippet": "已插入罐頭回覆。", "approved": "已核准，回覆正在送出。", "rejected": "已退回此問題。",
    "redraft": "已開始重新檢索，完成後頁面會自動更新。", "snippet_added": "已新增罐頭回覆。",
    "snippet_removed": "已停用罐頭回覆。", "user_added": "已新增帳號。", "user_updated": "已更新帳號。",
}
DEFAULT_REJECT_REPLY = "您好，經承辦人員確認，您的問題無法透過本服務回覆，敬請見諒。如需協助，請於上班時間來電洽詢。"


class LoginRequired(Exception):
    def __init__(self, expired: bool = False, next_url: str = "/console/"):
        self.expired = expired
        self.next_url = next_url


class ConsoleError(Exception):
    """Rendered as the error page with this status and message."""

    def __init__(self, status: int, message: str, back: str = "/console/"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.back = back


# --- helpers ---------------------------------------------------------------

def _tz(ctx: ServiceContext) -> ZoneInfo:
    return ZoneInfo(ctx.settings.office_hours.timezone)


def fmt_time(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def fmt_duration(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    days, rem = divmod(minutes, 24 * 60)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} 天 {hours} 小時"
    if hours:
        return f"{hours} 小時 {mins} 分"
    return f"{mins} 分"


def sla_state(waited_seconds: float, sla_minutes: int) -> str:
    target = sla_minutes * 60
    if target <= 0:
        return "ok"
    if waited_seconds >= target:
        return "over"
    return "warn" if waited_seconds >= 0.75 * target else "ok"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def cookie_secure(ctx: ServiceContext, request: Request) -> bool:
    mode = ctx.settings.cookie_secure
    return mode == "true" or (mode == "auto" and request.url.scheme == "https")


def safe_next(value: str | None) -> str:
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/"


def current_staff(request: Request, permission: str | None = None, csrf: str | None = None,
                  check_csrf: bool = False) -> Staff:
    """The signed-in staff member, or LoginRequired / ConsoleError(403)."""
    ctx = get_context(request)
    token = request.cookies.get(SESSION_COOKIE)
    with ctx.session_factory() as s:
        check = resolve_session(s, ctx.settings, token, write=False)
    if check.needs_write:
        with transaction(ctx.session_factory) as s:
            check = resolve_session(s, ctx.settings, token)
    if check.staff is None:
        next_url = request.url.path if request.method == "GET" else "/console/"
        raise LoginRequired(expired=check.expired, next_url=next_url)
    if check_csrf and not tokens_match(check.staff.csrf_token, csrf):
        raise ConsoleError(403, "安全驗證失敗（CSRF 權杖不符），請重新載入頁面後再試一次。")
    if permission and not check.staff.can(permission):
        raise ConsoleError(403, "您的帳號沒有使用此功能的權限。")
    return check.staff


def render(request: Request, name: str, context: dict, status: int = 200, staff: Staff | None = None) -> HTMLResponse:
    ctx = get_context(request)
    base = {"staff": staff, "role_labels": ROLE_LABELS, "status_labels": STATUS_LABELS,
            "notice": NOTICES.get(request.query_params.get("notice", ""), "")}
    base.update(context)
    return ctx.templates.TemplateResponse(request, name, base, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _question_url(qid: int, notice: str = "") -> str:
    return f"/console/questions/{qid}" + (f"?notice={notice}" if notice else "")


def _user_names(s: Session) -> dict[int, str]:
    return {u.id: (u.display_name or u.username) for u in s.scalars(select(User))}


# --- routes ----------------------------------------------------------------

def console_router() -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    # -- sign in / out ------------------------------------------------------
    @router.get("/login")
    def login_page(request: Request, next: str = "/console/", expired: int = 0) -> Response:
        ctx = get_context(request)
        with ctx.session_factory() as s:
            if resolve_session(s, ctx.settings, request.cookies.get(SESSION_COOKIE), write=False).staff is not None:
                return redirect(safe_next(next))
        token = secrets.token_urlsafe(32)
        message = "登入已逾時，請重新登入。" if expired else ""
        response = render(request, "login.html", {"login_csrf": token, "next": safe_next(next),
                                                  "error": message, "username": ""})
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/console/login",
                            secure=cookie_secure(ctx, request), max_age=3600)
        return response

    @router.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""),
              csrf_token: str = Form(""), next: str = Form("/console/")) -> Response:
        ctx = get_context(request)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not tokens_match(expected, csrf_token):
            raise ConsoleError(403, "安全驗證失敗（登入表單已過期），請重新整理登入頁面後再試。", back="/console/login")
        if not username.strip() or not password:
            return render(request, "login.html", {"login_csrf": expected, "next": safe_next(next),
                                                  "error": "請輸入帳號與密碼。", "username": username}, status=400)
        error: AuthError | None = None
        with transaction(ctx.session_factory) as s:
            try:
                user = authenticate(s, ctx.settings, username, password, client_ip(request))
            except AuthError as exc:   # the failed attempt is committed with this transaction
                error = exc
                record(s, None, "login_failed", detail={"username": username.strip()[:64]})
            else:
                token = start_session(s, ctx.settings, user)
                record(s, user, "login")
        if error is not None:
            return render(request, "login.html", {"login_csrf": expected, "next": safe_next(next),
                                                  "error": str(error), "username": username}, status=error.status)
        response = redirect(safe_next(next))
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                            secure=cookie_secure(ctx, request),
                            max_age=int(ctx.settings.session_hours * 3600))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
        return response

    @router.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        ctx = get_context(request)
        staff = current_staff(request, csrf=csrf_token, check_csrf=True)
        with transaction(ctx.session_factory) as s:
            end_session(s, request.cookies.get(SESSION_COOKIE))
            record(s, staff, "logout")
        response = redirect("/console/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- queue --------------------------------------------------------------
    @router.get("/")
    def queue(request: Request, status: str = "open", q: str = "", claimed: str = "", page: int = 1) -> Response:
        ctx = get_context(request)
        staff = current_staff(request, "review")
        if status not in FILTERS:
            raise ConsoleError(400, f"未知的篩選條件：{status}")
        page = max(1, page)
        now = utcnow()
        tz = _tz(ctx)
        with ctx.session_factory() as s:
            stmt = select(Question)
            statuses = FILTERS[status][1]
            if statuses:
                stmt = stmt.where(Question.status.in_(statuses))
            if status == "mine":
                stmt = stmt.where(Question.claimed_by_id == staff.id)
            if status == "unclaimed":
                stmt = stmt.where(Question.claimed_by_id.is_(None))
            if claimed.isdigit():
                stmt = stmt.where(Question.claimed_by_id == int(claimed))
            if q.strip():
                needle = q.strip()[:200].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                stmt = stmt.where(Question.text.like(f"%{needle}%", escape="\\"))
            total = s.scalar(select(func.count()).select_from(stmt.subquery()))
            newest_first = status in ("answered", "rejected")
            order = (Question.received_at.desc(), Question.id.desc()) if newest_first else (Question.received_at, Question.id)
            rows = list(s.scalars(stmt.order_by(*order).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
            names = _user_names(s)
            drafts = {d.id: d for d in s.scalars(select(Draft).where(
                Draft.id.in_([r.current_draft_id for r in rows if r.current_draft_id])))} if rows else {}
            open_count = s.scalar(select(func.count()).where(Question.status.in_(FILTERS["open"][1])))
            oldest_open = s.scalar(select(func.min(Question.received_at)).where(Question.status.in_(("drafting", "waiting"))))
            staff_list = list(s.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))
        items = []
        for r in rows:
            end = r.decided_at if r.status in ("answered", "rejected", "sending") and r.decided_at else now
            waited = (end - r.received_at).total_seconds()
            d = drafts.get(r.current_draft_id)
            items.append({
                "id": r.id, "text": r.text, "status": r.status, "received": fmt_time(r.received_at, tz),
                "waited": fmt_duration(waited), "sla": sla_state(waited, ctx.settings.sla_minutes)
                if r.status in FILTERS["open"][1] else "done",
                "claimed_by": names.get(r.claimed_by_id, "") if r.claimed_by_id else "",
                "abstained": bool(d and d.abstained), "draft_error": bool(d and d.error),
            })
        pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
        params = {"status": status, "q": q, "claimed": claimed}
        return render(request, "queue.html", {
            "items": items, "filters": {k: v[0] for k, v in FILTERS.items()}, "status": status, "q": q,
            "claimed": claimed, "staff_list": staff_list, "page": page, "pages": pages, "total": total,
            "open_count": open_count, "sla_minutes": ctx.settings.sla_minutes,
            "sla_label": fmt_duration(ctx.settings.sla_minutes * 60),
            "oldest_wait": fmt_duration((now - oldest_open).total_seconds()) if oldest_open else "",
            "page_url": lambda p: "/console/?" + urlencode({**params, "page": p}),
        }, staff=staff)

    # -- review page ----------------------------------------------------------
    @router.get("/questions/{question_id}")
    def review_page(request: Request, question_id: int) -> Response:
        staff = current_staff(request, "review")
        return _render_review(request, staff, question_id)

    def _render_review(request: Request, staff: Staff, question_id: int, error: str = "", status: int = 200,
                       text_override: str | None = None) -> Response:
        ctx = get_context(request)
        tz = _tz(ctx)
        now = utcnow()
        with ctx.session_factory() as s:
            question = s.get(Question, question_id)
            if question is None:
                raise ConsoleError(404, f"找不到問題 #{question_id}。")
            contact = s.get(Contact, question.contact_id)
            draft = review.current_draft(s, question)
            original = draft.text if draft else ""
            text = text_override if text_override is not None else review.working_text(s, question)
            history = list(s.scalars(select(Message).where(Message.contact_id == question.contact_id,
                                                           Message.id != question.message_id)
                                     .order_by(Message.created_at.desc(), Message.id.desc()).limit(30)))
            history.reverse()
            deliveries = list(s.scalars(select(Outbox).where(Outbox.question_id == question.id).order_by(Outbox.id)))
            audit = list(s.scalars(select(AuditEntry).where(AuditEntry.question_id == question.id)
                                   .order_by(AuditEntry.id)))
            snippets = list(s.scalars(select(Snippet).where(Snippet.active.is_(True)).order_by(Snippet.title)))
            earlier_drafts = list(s.scalars(select(Draft).where(Draft.question_id == question.id).order_by(Draft.id)))
            names = _user_names(s)
            redrafting = review.redraft_pending(s, question.id)
        citations = [{
            "n": c.n, "label": c.label, "law_name": c.law_name, "article": c.article, "url": c.url,
            "score": c.score, "abolished": c.abolished, "source_kind": c.source_kind,
            "html": highlight(c.text, c.passage), "passage": c.passage,
        } for c in citations_of(draft)]
        waited = ((question.decided_at or now) if question.status in ("answered", "rejected", "sending") else now) \
            - question.received_at
        is_open = question.status in review.OPEN_STATUSES
        editable = is_open and question.claimed_by_id in (None, staff.id)
        return render(request, "review.html", {
            "q": question, "contact": contact, "draft": draft, "text": text, "original": original,
            "diff": diff_segments(original, text) if draft and text != original else [],
            "citations": citations, "corrections": corrections_of(draft),
            "read_as": draft.read_as if draft else "",
            "history": history, "deliveries": deliveries, "audit": audit,
            "snippets": snippets, "earlier_drafts": earlier_drafts, "names": names, "redrafting": redrafting,
            "received": fmt_time(question.received_at, tz), "waited": fmt_duration(waited.total_seconds()),
            "sla": sla_state(waited.total_seconds(), ctx.settings.sla_minutes) if is_open else "done",
            "sla_label": fmt_duration(ctx.settings.sla_minutes * 60),
            "claimed_by": names.get(question.claimed_by_id, "") if question.claimed_by_id else "",
            "mine": question.claimed_by_id == staff.id, "is_open": is_open, "editable": editable,
            "can_release": question.claimed_by_id is not None and (question.claimed_by_id == staff.id
                                                                    or staff.can("release_any")),
            "error": error, "fmt_time": lambda v: fmt_time(v, tz), "action_labels": ACTION_LABELS,
            "outbox_labels": OUTBOX_LABELS, "purpose_labels": PURPOSE_LABELS,
            "default_reject_reply": DEFAULT_REJECT_REPLY,
            "auto_refresh": question.status in ("drafting", "sending") or redrafting,
        }, status=status, staff=staff)

    def _act(request: Request, staff: Staff, question_id: int, notice: str, fn, *args,
             text_on_error: str | None = None, wake: tuple[str, ...] = ()) -> Response:
        ctx = get_context(request)
        try:
            with transaction(ctx.session_factory) as s:
                fn(s, staff, question_id, *args)
        except review.ActionError as exc:
            if exc.status == 404:
                raise ConsoleError(404, exc.message) from None
            return _render_review(request, staff, question_id, error=exc.message, status=exc.status,
                                  text_override=text_on_error)
        if wake:
            ctx.wake_worker(*wake)
        return redirect(_question_url(question_id, notice))

    @router.post("/questions/{question_id}/claim")
    def claim(request: Request, question_id: int, csrf_token: str = Form("")) -> Response:
        staff = current_staff(request, "review", csrf=csrf_token, check_csrf=True)
        return _act(request, staff, question_id, "claimed", review.claim)

    @router.post("/questions/{question_id}/release")
    def release(request: Request, question_id: int, csrf_token: str = Form("")) -> Response:
        staff = current_staff(request, "review", csrf=csrf_token, check_csrf=True)
        return _act(request, staff, question_id, "released", review.release)

    @router.post("/questions/{question_id}/edit")
    def edit(request: Request, question_id: int, csrf_token: str = Form(""), version: int = Form(...),
             text: str = Form(""), action: str = Form("save"), snippet_id: str = Form(""),
             cursor: str = Form("")) -> Response:
        staff = current_staff(request, "review", csrf=csrf_token, check_csrf=True)
        if action == "approve":
            return _act(request, staff, question_id, "approved", review.approve, version, text,
                        text_on_error=text, wake=("outbox",))
        if action == "insert_snippet":
            if not snippet_id.isdigit():
                return _render_review(request, staff, question_id, error="請先選擇要插入的罐頭回覆。",
                                      status=400, text_override=text)
            pos = int(cursor) if cursor.isdigit() else None
            return _act(request, staff, question_id, "snippet", review.insert_snippet, version, text,
                        int(snippet_id), pos, text_on_error=text)
        if action == "save":
            return _act(request, staff, question_id, "saved", review.save, version, text, text_on_error=text)
        raise ConsoleError(400, f"未知的操作：{action}")

    @router.post("/questions/{question_id}/reject")
    def reject(request: Request, question_id: int, csrf_token: str = Form(""), version: int = Form(...),
               reason: str = Form(""), reply: str = Form("")) -> Response:
        staff = current_staff(request, "review", csrf=csrf_token, check_csrf=True)
        return _act(request, staff, question_id, "rejected", review.reject, version, reason, reply,
                    wake=("outbox",))

    @router.post("/questions/{question_id}/redraft")
    def redraft(request: Request, question_id: int, csrf_token: str = Form(""), version: int = Form(...),
                query: str = Form("")) -> Response:
        staff = current_staff(request, "review", csrf=csrf_token, check_csrf=True)
        return _act(request, staff, question_id, "redraft", review.redraft, version, query, wake=("drafts",))

    @router.get("/questions/{question_id}/state")
    def question_state(request: Request, question_id: int) -> Response:
        """Small JSON the review page polls while a draft or a send is in progress."""
        current_staff(request, "review")
        ctx = get_context(request)
        with ctx.session_factory() as s:
            q = s.get(Question, question_id)
            if q is None:
                raise ConsoleError(404, f"找不到問題 #{question_id}。")
            return Response(json.dumps({"version": q.version, "status": q.status,
                                        "redrafting": review.redraft_pending(s, q.id)}),
                            media_type="application/json")

    @router.get("/media/{message_id}")
    def media(request: Request, message_id: int) -> Response:
        current_staff(request, "review")
        ctx = get_context(request)
        with ctx.session_factory() as s:
            msg = s.get(Message, message_id)
        if msg is None or msg.media_status != "stored" or not msg.media_path:
            raise ConsoleError(404, "找不到這個檔案（可能尚未下載完成）。")
        path = (ctx.settings.home / msg.media_path).resolve()
        if ctx.settings.home.resolve() not in path.parents or not path.is_file():
            raise ConsoleError(404, "找不到這個檔案。")
        filename = msg.file_name or path.name
        return FileResponse(path, media_type=msg.media_type or "application/octet-stream",
                            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})

    # -- snippets -------------------------------------------------------------
    @router.get("/snippets")
    def snippets_page(request: Request) -> Response:
        staff = current_staff(request, "review")
        ctx = get_context(request)
        with ctx.session_factory() as s:
            rows = list(s.scalars(select(Snippet).where(Snippet.active.is_(True)).order_by(Snippet.title)))
        return render(request, "snippets.html", {"snippets": rows, "error": ""}, staff=staff)

    @router.post("/snippets")
    def snippet_add(request: Request, csrf_token: str = Form(""), title: str = Form(""), body: str = Form("")) -> Response:
        staff = current_staff(request, "snippets", csrf=csrf_token, check_csrf=True)
        ctx = get_context(request)
        title, body = title.strip(), body.replace("\r\n", "\n").strip()
        if not title or not body or len(title) > 128 or len(body) > 5000:
            with ctx.session_factory() as s:
                rows = list(s.scalars(select(Snippet).where(Snippet.active.is_(True)).order_by(Snippet.title)))
            return render(request, "snippets.html", {"snippets": rows,
                                                     "error": "標題（128 字內）與內容（5000 字內）皆為必填。"},
                          status=400, staff=staff)
        with transaction(ctx.session_factory) as s:
            row = Snippet(title=title, body=body, active=True, created_by_id=staff.id, created_at=utcnow())
            s.add(row)
            s.flush()
            record(s, staff, "snippet_add", detail={"snippet_id": row.id, "title": title})
        return redirect("/console/snippets?notice=snippet_added")

    @router.post("/snippets/{snippet_id}/remove")
    def snippet_remove(request: Request, snippet_id: int, csrf_token: str = Form("")) -> Response:
        staff = current_staff(request, "snippets", csrf=csrf_token, check_csrf=True)
        ctx = get_context(request)
        with transaction(ctx.session_factory) as s:
            row = s.get(Snippet, snippet_id)
            if row is None:
                raise ConsoleError(404, "找不到這則罐頭回覆。", back="/console/snippets")
            row.active = False
            record(s, staff, "snippet_remove", detail={"snippet_id": row.id, "title": row.title})
        return redirect("/console/snippets?notice=snippet_removed")

    # -- audit ----------------------------------------------------------------
    def _audit_query(action: str, actor: str, question: str):
        stmt = select(AuditEntry)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        if actor:
            stmt = stmt.where(AuditEntry.actor == actor)
        if question.isdigit():
            stmt = stmt.where(AuditEntry.question_id == int(question))
        return stmt

    @router.get("/audit")
    def audit_page(request: Request, action: str = "", actor: str = "", question: str = "", page: int = 1) -> Response:
        staff = current_staff(request, "audit")
        ctx = get_context(request)
        tz = _tz(ctx)
        page = max(1, page)
        with ctx.session_factory() as s:
            stmt = _audit_query(action, actor, question)
            total = s.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = list(s.scalars(stmt.order_by(AuditEntry.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
            actors = sorted({a for a in s.scalars(select(AuditEntry.actor).distinct())})
        params = {"action": action, "actor": actor, "question": question}
        return render(request, "audit.html", {
            "rows": rows, "action": action, "actor": actor, "question": question, "actors": actors,
            "action_labels": ACTION_LABELS, "fmt_time": lambda v: fmt_time(v, tz), "total": total,
            "page": page, "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "csv_url": "/console/audit.csv?" + urlencode(params),
            "page_url": lambda p: "/console/audit?" + urlencode({**params, "page": p}),
        }, staff=staff)

    @router.get("/audit.csv")
    def audit_csv(request: Request, action: str = "", actor: str = "", question: str = "") -> Response:
        current_staff(request, "audit")
        ctx = get_context(request)
        with ctx.session_factory() as s:
            rows = list(s.scalars(_audit_query(action, actor, question).order_by(AuditEntry.id)))
        stamp = utcnow().astimezone(_tz(ctx)).strftime("%Y%m%d-%H%M")
        return StreamingResponse(csv_rows(rows), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'})

    # -- users ----------------------------------------------------------------
    def _users_page(request: Request, staff: Staff, error: str = "", status: int = 200) -> Response:
        ctx = get_context(request)
        with ctx.session_factory() as s:
            users = list(s.scalars(select(User).order_by(User.username)))
        return render(request, "users.html", {"users": users, "roles": ROLES, "error": error}, status=status, staff=staff)

    @router.get("/users")
    def users_page(request: Request) -> Response:
        staff = current_staff(request, "users")
        return _users_page(request, staff)

    @router.post("/users")
    def user_add(request: Request, csrf_token: str = Form(""), username: str = Form(""), display_name: str = Form(""),
                 role: str = Form("reviewer"), password: str = Form("")) -> Response:
        staff = current_staff(request, "users", csrf=csrf_token, check_csrf=True)
        ctx = get_context(request)
        try:
            with transaction(ctx.session_factory) as s:
                user = create_user(s, username, password, role, display_name)
                record(s, staff, "user_add", detail={"user_id": user.id, "username": user.username, "role": role})
        except AuthError as exc:
            return _users_page(request, staff, error=str(exc), status=400)
        return redirect("/console/users?notice=user_added")

    @router.post("/users/{user_id}")
    def user_update(request: Request, user_id: int, csrf_token: str = Form(""), role: str = Form(""),
                    active: str = Form(""), password: str = Form("")) -> Response:
        staff = current_staff(request, "users", csrf=csrf_token, check_csrf=True)
        ctx = get_context(request)
        try:
            with transaction(ctx.session_factory) as s:
                user = s.get(User, user_id)
                if user is None:
                    raise ConsoleError(404, "找不到這個帳號。", back="/console/users")
                changes: dict = {}
                if role:
                    if role not in ROLES:
                        raise AuthError("角色不正確")
                    if user.id == staff.id and role != "admin":
                        raise AuthError("不能移除自己的管理員權限")
                    if role != user.role:
                        changes["role"] = [user.role, role]
                        user.role = role
                if active in ("0", "1"):
                    if user.id == staff.id and active == "0":
                        raise AuthError("不能停用自己的帳號")
                    if user.active != (active == "1"):
                        changes["active"] = active == "1"
                        user.active = active == "1"
                if password:
                    set_password(s, user, password)
                    changes["password"] = "reset"
                record(s, staff, "user_update", detail={"user_id": user.id, "username": user.username, **changes})
        except AuthError as exc:
            return _users_page(request, staff, error=str(exc), status=400)
        return redirect("/console/users?notice=user_updated")

    return router
