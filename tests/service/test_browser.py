"""A real browser (Debian's chromium via Playwright) logs in, edits a draft and approves it.

Screenshots go to ``artifacts/`` (gitignored) so a person can look at the pages.
Chromium is a system package here: install it with ``apt-get install -y chromium``.
"""
from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import select

from assistant.lineemu import events as ev
from assistant.service.models import Question

from .service_support import make_user, post_events, running_service, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
QUESTION = "我們工廠的排放許可證明年三月底到期，最晚什麼時候要送件申請延長？"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium") or os.path.exists(CHROMIUM), \
        "Debian's chromium is required: apt-get install -y chromium fonts-noto-cjk"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def test_reviewer_logs_in_edits_and_approves_in_chromium(browser, sqlite_settings, emu, real_assistant, artifacts_dir):
    with running_service(sqlite_settings, real_assistant.ask) as svc:
        make_user(svc.settings, "rita", "reviewer")
        assert post_events(svc.base_url, [ev.text_message_event(QUESTION, user_id=ev.new_user_id())]).status_code == 200

        def drafted():
            with svc.session() as s:
                q = s.scalars(select(Question)).first()
                return q if q is not None and q.status == "waiting" else None
        question = wait_for(drafted, timeout=60, what="draft")

        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-TW")
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(svc.base_url + "/console/")
        assert "/console/login" in page.url
        page.fill("input[name=username]", "rita")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url("**/console/")
        assert page.locator(f'tr[data-question="{question.id}"]').is_visible()
        page.screenshot(path=str(artifacts_dir / "console-queue.png"), full_page=True)

        page.click(f'tr[data-question="{question.id}"] td.question-cell a')
        page.wait_for_url(f"**/console/questions/{question.id}")
        assert page.locator("#question-text").inner_text() == QUESTION
        assert page.locator("mark.passage").count() >= 1
        box = page.locator("#draft-text")
        draft_text = box.input_value()
        assert draft_text
        box.click()
        page.keyboard.press("Control+End")
        page.keyboard.type("\n（承辦人補充：如有疑問請來電。）")
        assert page.locator("#char-count").inner_text() == str(len(box.input_value()))
        page.screenshot(path=str(artifacts_dir / "console-review.png"), full_page=True)
        page.click("#approve")
        page.wait_for_url(f"**/console/questions/{question.id}?notice=approved")
        assert "已核准" in page.locator(".notice").first.inner_text()

        push = wait_for(lambda: emu.delivered("/v2/bot/message/push"), what="push")[0]
        sent = "".join(m["text"] for m in push["body"]["messages"])
        assert sent.endswith("（承辦人補充：如有疑問請來電。）")
        assert sent.startswith(draft_text.strip()[:20])
        wait_for(lambda: page.reload() or "已回覆" in page.locator(".q-head .badge").inner_text(), timeout=15,
                 what="answered badge")
        page.screenshot(path=str(artifacts_dir / "console-answered.png"), full_page=True)

        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.context.add_cookies([{"name": c["name"], "value": c["value"], "url": svc.base_url}
                                   for c in page.context.cookies()])
        phone.goto(svc.base_url + f"/console/questions/{question.id}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        wide = phone.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5).map(e => e.tagName + '.' + e.className)""")
        assert width <= 400, f"the review page scrolls sideways on a phone: {wide}"
        phone.screenshot(path=str(artifacts_dir / "console-review-phone.png"), full_page=True)
        assert errors == []
