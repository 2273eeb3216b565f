"""The Content-Security-Policy in a real browser (issue #11): the reports' charts draw, the
inbox's refresh and the simulator run, and Chromium reports no violation on any of them."""

from __future__ import annotations

import shutil

import pytest

from conversations.models import Message
from conversations.tests.workplace import CHROMIUM, CHROMIUM_ARGS, make_world, waiting_conversation

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed"),
]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.mark.django_db(transaction=True)
def test_admin_reports_inbox_and_simulator_work_under_the_policy(live_server) -> None:
    from playwright.sync_api import expect, sync_playwright

    w = make_world()
    conversation = waiting_conversation(w.unit_a, name="Renata")
    violations: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="pt-BR")
            page.set_default_timeout(15_000)
            page.add_init_script(RECORD_VIOLATIONS)
            console = []
            page.on(
                "console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None
            )

            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "owner-ac")
            page.fill("#id_password", "pw")
            page.click("input[type=submit]")
            expect(page.locator("#site-name")).to_be_visible()
            page.select_option("#kr-language select", "en")  # submits its form (static/kumon/autosubmit.js)
            expect(page.locator("html")).to_have_attribute("lang", "en")
            violations["admin"] = page.evaluate("window.__csp")

            page.goto(f"{live_server.url}/admin/conversations/conversation/reports/")
            page.wait_for_function(
                "() => window.Chart && Chart.getChart('kr-chart-conversations') !== undefined"
            )
            violations["reports"] = page.evaluate("window.__csp")

            page.goto(f"{live_server.url}/admin/conversations/conversation/{conversation.pk}/change/")
            page.wait_for_function(
                "() => document.getElementById('kr-transcript').dataset.state !== undefined"
            )
            violations["inbox"] = page.evaluate("window.__csp")

            page.goto(f"{live_server.url}/simulator/")
            page.fill("#phone", "+55 11 99999-0123")
            page.fill("#text", "oi, quanto custa?")
            page.click("#send button")
            expect(page.locator("#chat .msg.in")).to_contain_text("oi, quanto custa?")
            violations["simulator"] = page.evaluate("window.__csp")
        finally:
            browser.close()
    assert violations == {"admin": [], "reports": [], "inbox": [], "simulator": []}
    assert console == []
    # (The session's worker may already have answered it: only the inbound message is counted.)
    assert Message.objects.filter(conversation__contact__phone="+5511999990123", direction="in").count() == 1
