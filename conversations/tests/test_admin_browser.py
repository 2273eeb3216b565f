"""The staff's take-over in a real browser (headless Debian chromium driven by Playwright)."""

from __future__ import annotations

import shutil

import pytest

from conversations import state
from conversations.models import Conversation, Message
from conversations.tests.workplace import CHROMIUM, CHROMIUM_ARGS, make_world, waiting_conversation

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_staff_takes_over_replies_and_hands_back_in_the_browser(live_server) -> None:
    from playwright.sync_api import expect, sync_playwright

    w = make_world()
    conversation = waiting_conversation(w.unit_a, name="Renata", minutes_ago=12)
    waiting_conversation(w.unit_b, name="Outra Família")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="pt-BR")
            page.set_default_timeout(15_000)
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "staff-a")
            page.fill("#id_password", "pw")
            page.click("input[type=submit]")
            expect(page.locator("#kr-waiting-badge")).to_have_text("1")

            page.goto(f"{live_server.url}/admin/conversations/conversation/")
            expect(page.locator("#result_list")).not_to_contain_text("Outra Família")
            page.click("text=Renata")
            expect(page.locator("#kr-transcript")).to_contain_text("Quero falar com uma pessoa")

            page.click("#kr-take-over")
            expect(page.locator("#kr-state")).to_contain_text("staff-a")

            page.fill("#kr-reply-form textarea", "Olá Renata, aqui é a Ana da unidade!")
            page.click("#kr-send")
            expect(page.locator("#kr-transcript .kr-staff")).to_contain_text(
                "Olá Renata, aqui é a Ana da unidade!"
            )

            page.fill("input[name=note]", "mãe prefere sábado")
            page.click("#kr-hand-back")
            expect(page.locator("#kr-state")).to_have_text("robô")
        finally:
            browser.close()
    conversation.refresh_from_db()
    assert (conversation.mode, state.State.of(conversation).flow.staff_note) == (
        Conversation.Mode.BOT,
        "mãe prefere sábado",
    )
    assert list(
        Message.objects.filter(conversation=conversation, sender="staff").values_list("body", "staff_user")
    ) == [("Olá Renata, aqui é a Ana da unidade!", w.staff_a.pk)]
