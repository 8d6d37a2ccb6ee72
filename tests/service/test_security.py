"""Console security over real HTTP: authentication, roles, CSRF, sessions, throttling, escaping."""
from __future__ import annotations

import time

import httpx
from sqlalchemy import select

from assistant.lineemu import events as ev
from assistant.service.models import Question, User, WebSession

from .conftest import make_settings
from .service_support import Console, make_user, post_events, running_service, wait_for

PASSWORD = "correct horse battery"


def _ask(svc, text: str) -> int:
    assert post_events(svc.base_url, [ev.text_message_event(text, user_id=ev.new_user_id())]).status_code == 200

    def waiting():
        with svc.session() as s:
            q = s.scalars(select(Question).where(Question.text == text)).first()
            return q.id if q is not None and q.status == "waiting" else None
    return wait_for(waiting, what="question")


def _signed_in(svc, username: str, role: str) -> Console:
    make_user(svc.settings, username, role, PASSWORD)
    c = Console(svc.base_url)
    assert c.login(username, PASSWORD).status_code == 303
    return c


def test_unauthenticated_requests_are_sent_to_login_and_change_nothing(service, emu):
    qid = _ask(service, "未登入測試")
    anon = httpx.Client(base_url=service.base_url, follow_redirects=False)
    for path in ("/console/", f"/console/questions/{qid}", "/console/audit", "/console/audit.csv",
                 "/console/users", "/console/snippets", f"/console/questions/{qid}/state"):
        resp = anon.get(path)
        assert resp.status_code == 303, path
        assert resp.headers["location"].startswith("/console/login?next=")
    resp = anon.post(f"/console/questions/{qid}/edit", data={"version": 1, "text": "x", "action": "approve",
                                                             "csrf_token": "x"})
    assert resp.status_code == 303 and resp.headers["location"].startswith("/console/login")
    with service.session() as s:
        assert s.get(Question, qid).status == "waiting"
    assert emu.delivered("/v2/bot/message/push") == []


def test_wrong_role_is_403(service):
    reviewer = _signed_in(service, "rita", "reviewer")
    for path in ("/console/audit", "/console/audit.csv", "/console/users"):
        resp = reviewer.get(path)
        assert resp.status_code == 403, path
        assert "沒有使用此功能的權限" in resp.text
    assert reviewer.post("/console/users", {"username": "evil", "role": "admin",
                                            "password": "long enough password"}).status_code == 403
    with service.session() as s:
        assert s.scalars(select(User).where(User.username == "evil")).first() is None
    legal = _signed_in(service, "lena", "legal")
    assert legal.get("/console/audit").status_code == 403
    assert legal.get("/console/snippets").status_code == 200


def test_csrf_token_required_on_every_form(service, emu):
    qid = _ask(service, "CSRF 測試")
    rita = _signed_in(service, "rita", "reviewer")
    other = _signed_in(service, "otto", "reviewer")
    version = rita.version_of(qid)
    form = {"version": version, "text": "偽造的核准", "action": "approve"}
    for token in ("", "forged-token", other.csrf):
        resp = rita.post(f"/console/questions/{qid}/edit", form, csrf=token)
        assert resp.status_code == 403
        assert "CSRF" in resp.text
    for path in (f"/console/questions/{qid}/claim", f"/console/questions/{qid}/reject", "/console/logout"):
        assert rita.post(path, {"version": version, "reason": "x"}, csrf="").status_code == 403, path
    with service.session() as s:
        q = s.get(Question, qid)
        assert (q.status, q.claimed_by_id) == ("waiting", None)
    assert emu.delivered("/v2/bot/message/push") == []
    assert rita.post(f"/console/questions/{qid}/edit", form).status_code == 303   # with the real token it works


def test_login_form_needs_its_csrf_cookie(service):
    make_user(service.settings, "rita", "reviewer", PASSWORD)
    resp = httpx.post(service.base_url + "/console/login",
                      data={"username": "rita", "password": PASSWORD, "csrf_token": "guess"})
    assert resp.status_code == 403
    assert "wpa_session" not in resp.cookies


def test_login_throttling_locks_the_account_for_a_while(service):
    make_user(service.settings, "rita", "reviewer", PASSWORD)
    c = Console(service.base_url)
    for _ in range(5):
        resp = c.login("rita", "wrong password!!")
        assert resp.status_code == 401 and "帳號或密碼錯誤" in resp.text
    locked = c.login("rita", PASSWORD)                 # even the right password is refused now
    assert locked.status_code == 429
    assert "登入失敗次數過多" in locked.text
    assert "wpa_session" not in c.http.cookies
    unknown = Console(service.base_url).login("nobody", "whatever password")
    assert unknown.status_code == 401                   # same message for unknown accounts


def test_sessions_expire_when_idle(tmp_path, emu, database_url):
    home = tmp_path / "h"
    home.mkdir()
    settings = make_settings(home, database_url, emu.base_url, WPA_SESSION_IDLE_MINUTES="0.05")   # 3 s
    with running_service(settings) as svc:
        c = _signed_in(svc, "rita", "reviewer")
        assert c.get("/console/").status_code == 200
        time.sleep(3.5)
        resp = c.get("/console/")
        assert resp.status_code == 303 and "expired=1" in resp.headers["location"]
        assert "登入已逾時" in c.get(resp.headers["location"]).text
        with svc.session() as s:
            assert s.scalars(select(WebSession)).first() is None


def test_sessions_have_an_absolute_lifetime(tmp_path, emu):
    home = tmp_path / "h"
    home.mkdir()
    settings = make_settings(home, f"sqlite:///{tmp_path / 'db.sqlite'}", emu.base_url,
                             WPA_SESSION_HOURS="0.001")    # 3.6 s, however active the user is
    with running_service(settings) as svc:
        c = _signed_in(svc, "rita", "reviewer")
        deadline = time.monotonic() + 4.5
        statuses = []
        while time.monotonic() < deadline:
            statuses.append(c.get("/console/").status_code)
            time.sleep(0.3)
        assert statuses[0] == 200 and statuses[-1] == 303


def test_logout_ends_the_session_server_side(service):
    c = _signed_in(service, "rita", "reviewer")
    cookie = c.http.cookies["wpa_session"]
    assert c.post("/console/logout").status_code == 303
    replay = httpx.get(service.base_url + "/console/", cookies={"wpa_session": cookie})
    assert replay.status_code == 303


def test_deactivated_user_loses_access(service):
    admin = _signed_in(service, "ada", "admin")
    rita = _signed_in(service, "rita", "reviewer")
    with service.session() as s:
        rita_id = s.scalars(select(User.id).where(User.username == "rita")).one()
    assert admin.post(f"/console/users/{rita_id}", {"active": "0"}).status_code == 303
    assert rita.get("/console/").status_code == 303
    assert Console(service.base_url).login("rita", PASSWORD).status_code == 401
    assert admin.post(f"/console/users/{rita_id}", {"active": "1"}).status_code == 303


def test_passwords_and_session_tokens_are_not_stored_in_clear(service):
    c = _signed_in(service, "rita", "reviewer")
    with service.session() as s:
        user = s.scalars(select(User).where(User.username == "rita")).one()
        sess = s.scalars(select(WebSession)).one()
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert sess.token_hash != c.http.cookies["wpa_session"]
    set_cookie = c.http.post("/console/logout", data={"csrf_token": c.csrf}).headers.get("set-cookie", "")
    assert "wpa_session" in set_cookie


def test_session_cookie_flags_and_security_headers(service):
    make_user(service.settings, "rita", "reviewer", PASSWORD)
    client = httpx.Client(base_url=service.base_url)
    page = client.get("/console/login")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    resp = client.post("/console/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token,
                                               "next": "//evil.example/"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/console/"     # no open redirect
    cookie = [v for k, v in resp.headers.multi_items() if k == "set-cookie" and v.startswith("wpa_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_oversized_console_form_is_413(service):
    c = _signed_in(service, "rita", "reviewer")
    resp = c.post("/console/snippets", {"title": "x", "body": "長" * (1024 * 1024)})
    assert resp.status_code == 413
    assert "送出的資料過大" in resp.text


def test_question_text_is_escaped(service):
    qid = _ask(service, "<script>alert('x')</script> 問題")
    c = _signed_in(service, "rita", "reviewer")
    for path in ("/console/", f"/console/questions/{qid}"):
        body = c.get(path).text
        assert "<script>alert" not in body
        assert "&lt;script&gt;alert" in body


def test_bad_console_urls_are_4xx_pages(service):
    c = _signed_in(service, "rita", "reviewer")
    for path, status in (("/console/questions/999999", 404), ("/console/questions/abc", 400),
                         ("/console/nope", 404), ("/console/?page=x", 400)):
        resp = c.get(path)
        assert resp.status_code == status, path
        assert "無法完成" in resp.text
