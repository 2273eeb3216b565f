"""Issue #14's "done when", in headless Chromium: the staff path (inbox → conversation → take over →
reply → hand back → reschedule the visit → edit a phrasing → test search) and the owner path
(reports → CSV), with Portuguese labels and São Paulo times asserted on each page; the simulator on
a phone; /docs with the network cut. Screenshots go to .local/screens/ for a person to look at."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.tests.workplace import CHROMIUM, CHROMIUM_ARGS, make_world, waiting_conversation
from knowledge import services as knowledge_services
from knowledge.models import Source
from kumon.testing import wait_for
from scheduling.models import Appointment, AppointmentEvent
from scheduling.tests.factories import weekly_hours

SCREENS = Path(settings.BASE_DIR) / ".local" / "screens"
SP = ZoneInfo("America/Sao_Paulo")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed"),
]


def _local(moment: dt.datetime, fmt: str = "%d/%m %H:%M") -> str:
    return moment.astimezone(SP).strftime(fmt)


def _shot(page: Any, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")


def _no_sideways_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _next_monday_3pm() -> dt.datetime:
    day = timezone.now().astimezone(SP).date() + dt.timedelta(days=7)
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime.combine(monday, dt.time(15), tzinfo=SP)


@pytest.mark.django_db(transaction=True)
def test_staff_and_owner_walk_the_workplace_in_portuguese(
    live_server: Any, celery_worker: Any, monkeypatch
) -> None:
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread: Django refuses ORM calls there
    # unless told the test knows what it does (it waits for the worker between two pages).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    w = make_world()
    weekly_hours(w.unit_a)
    renata = waiting_conversation(
        w.unit_a,
        name="Renata",
        minutes_ago=12,
        data={
            "lead": {
                "parent_name": "Renata",
                "children": [{"name": "Laura", "age": 7, "subjects": ["Matemática", "Português"]}],
            }
        },
    )
    first_message = renata.messages.get()
    start = _next_monday_3pm()
    visit = Appointment.objects.create(
        unit=w.unit_a,
        contact=renata.contact,
        phone=renata.contact.phone,
        start=start,
        end=start + dt.timedelta(hours=1),
        child_name="Laura",
        parent_name="Renata",
    )
    source, _ = knowledge_services.upsert_faq(
        unit=w.unit_a,
        external_id="estacionamento",
        question="Tem estacionamento?",
        answer="Há um estacionamento conveniado na esquina.",
        phrasings=["onde eu paro o carro?"],
        enqueue=False,
    )
    knowledge_services.index_source(source_id=source.pk)
    base = live_server.url

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="pt-BR", viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(20_000)

            # Staff: the inbox, in Portuguese, nothing wider than the screen.
            _login(page, base, "staff-a")
            page.goto(f"{base}/admin/conversations/conversation/")
            expect(page.locator("#result_list thead")).to_contain_text("Aguardando há")
            expect(page.locator("#result_list thead")).to_contain_text("Atendente responsável")
            row = page.locator("#result_list tbody tr", has_text="Renata")
            expect(row).to_contain_text("aguardando atendente")
            expect(row).to_contain_text("12 minutos")
            expect(row).to_contain_text("família: Quero falar com uma pessoa")
            assert _no_sideways_scroll(page)
            _shot(page, "01-inbox")

            # The conversation: reason and times in words and in São Paulo time.
            row.locator("a.kr-family").click()
            expect(page.locator("#kr-state")).to_have_text("aguardando atendente")
            expect(page.locator("#kr-reason")).to_have_text("a família pediu para falar com uma pessoa")
            expect(page.locator("#kr-transcript")).to_contain_text(
                f"família · {_local(first_message.created_at)}"
            )
            expect(page.locator("#kr-lead")).to_contain_text("Matemática, Português")
            expect(page.locator("#kr-appointments")).to_contain_text(_local(start, "%d/%m/%Y %H:%M"))
            expect(page.locator("#kr-note-help")).to_contain_text("as regras do robô não a usam")
            _shot(page, "02-conversation")

            page.click("#kr-take-over")
            expect(page.locator("#kr-state")).to_contain_text("com atendente: staff-a")
            page.fill("#kr-reply-form textarea", "Olá Renata, aqui é a Ana da unidade!")
            page.click("#kr-send")
            expect(page.locator("#kr-transcript .kr-staff")).to_contain_text(
                "Olá Renata, aqui é a Ana da unidade!"
            )
            expect(page.locator("#kr-transcript .kr-staff")).to_contain_text("atendente · staff-a")
            page.fill("input[name=note]", "mãe prefere sábado")
            page.click("#kr-hand-back")
            expect(page.locator("#kr-state")).to_have_text("robô")
            expect(page.locator(".messagelist")).to_contain_text("Conversa devolvida ao robô.")
            _shot(page, "03-handed-back")

            # Reschedule the visit from the conversation: free times listed, the family told.
            page.click("#kr-appointments a.kr-reschedule")
            expect(page.locator("h1")).to_have_text("Remarcar a visita")
            tuesday = start + dt.timedelta(days=1, hours=1)
            expect(page.locator("#kr-free-slots")).to_contain_text(f"terça {tuesday:%d/%m}")
            page.locator("#kr-free-slots > div", has_text=f"terça {tuesday:%d/%m}").get_by_label(
                "16h", exact=True
            ).check()
            _shot(page, "04-reschedule")
            page.click("#kr-reschedule-submit")
            expect(page.locator(".messagelist")).to_contain_text(
                f"Visita remarcada para terça {tuesday:%d/%m} às 16h."
            )
            expect(page.locator("h2").first).to_contain_text(f"Laura {_local(tuesday)}")
            history = page.locator("#events-group")
            expect(history).to_contain_text("remarcada")
            expect(history).to_contain_text("Horário anterior")
            expect(page.locator("#reminders-group")).to_contain_text("aviso de novo horário")
            assert page.locator("#kr-conversation-link").get_attribute("href") == (
                f"/admin/conversations/conversation/family/{renata.contact_id}/"
            )
            _shot(page, "05-appointment")

            # Edit a phrasing of the FAQ entry, then test the search with it.
            page.goto(f"{base}/admin/knowledge/source/{source.pk}/change/")
            page.fill("input[name='phrasings-0-text']", "tem onde estacionar perto da unidade?")
            page.click("input[name=_save]")
            expect(page.locator(".messagelist")).to_contain_text("Alteração salva: fonte de conhecimento")
            wait_for(
                lambda: Source.objects.get(pk=source.pk).index_status == Source.IndexStatus.INDEXED,
                timeout=60,
            )
            page.goto(
                f"{base}/admin/knowledge/source/test-search/?unit={w.unit_a.pk}"
                "&query=tem+onde+estacionar+perto+da+unidade%3F&limit=5"
            )
            expect(page.locator("#test-search-answer")).to_contain_text(
                "Há um estacionamento conveniado na esquina."
            )
            expect(page.locator("#content")).to_contain_text("O assistente enviaria")
            expect(page.locator("#test-search-results thead")).to_contain_text("o que coincidiu")
            expect(page.locator("#test-search-results tbody")).to_contain_text(
                "tem onde estacionar perto da unidade?"
            )
            _shot(page, "06-test-search")

            # Back in the conversation: the family got the new time on WhatsApp (console gateway).
            page.goto(f"{base}/admin/conversations/conversation/{renata.pk}/change/")
            expect(page.locator("#kr-transcript")).to_contain_text(
                f"remarcou a visita do(a) Laura para terça {tuesday:%d/%m} às 16h", timeout=30_000
            )
            _shot(page, "07-conversation-after")

            # Owner: the reports, then the CSV for Excel.
            page.context.clear_cookies()
            _login(page, base, "owner-ac")
            page.goto(f"{base}/admin/conversations/conversation/reports/?period=day")
            expect(page.locator("#kr-totals thead")).to_contain_text("Kumon A")
            expect(page.locator("#kr-totals")).to_contain_text("Taxa de transferência")
            handoff = page.locator("#kr-totals tr[data-metric=handoff_rate] td").nth(1)
            expect(handoff).to_have_text("100,0 %")  # Renata's conversation went to staff
            expect(page.locator("#kr-rows")).to_contain_text("sem movimento")
            # The three charts share the page's width: side by side, filling the content column.
            boxes = [
                page.locator(f"#kr-chart-{n}").bounding_box() for n in ("conversations", "visits", "handoff")
            ]
            content = page.locator("#content").bounding_box()
            assert len({round(b["y"]) for b in boxes}) == 1
            assert sum(b["width"] for b in boxes) > 0.9 * content["width"] - 60
            assert _no_sideways_scroll(page)
            _shot(page, "08-reports")
            with page.expect_download() as download_info:
                page.click("#kr-csv")
            text = Path(download_info.value.path()).read_bytes().decode("utf-8")
            rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
            assert text.startswith("\ufeff")
            assert rows[0][:4] == ["Unidade", "Período", "Conversas", "Novos contatos"]
            assert [r[1] for r in rows[1:]][-2:] == ["total", "total"]
        finally:
            browser.close()

    renata.refresh_from_db()
    visit.refresh_from_db()
    assert renata.mode == Conversation.Mode.BOT
    assert (visit.start, visit.changed_by) == (tuesday, w.staff_a)
    assert list(AppointmentEvent.objects.filter(appointment=visit).values_list("kind", flat=True)) == [
        "rescheduled"
    ]
    assert (
        Message.objects.filter(
            conversation__contact=renata.contact, meta__reminder_kind="rescheduled"
        ).count()
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_simulator_on_a_phone_keeps_the_message_box_in_view_with_one_scrollbar(live_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    from whatsapp.services import simulate_inbound

    w = make_world()
    first = simulate_inbound(unit=w.unit_a, phone="+5511999990000", text="Quero falar com uma pessoa")
    for n in range(40):  # a long chat: more than a phone's screen
        last = Message.objects.create(
            unit=w.unit_a,
            conversation=first.conversation,
            direction="out",
            sender="bot",
            body=f"Resposta número {n} do robô, longa o bastante para ocupar a tela.",
            status="sent",
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="pt-BR", viewport={"width": 390, "height": 844})
            page.set_default_timeout(20_000)
            _login(page, live_server.url, "staff-a")
            page.goto(f"{live_server.url}/simulator/")
            # (A worker of the session may answer the first message too: one bubble more.)
            expect(page.locator(f"#m{last.pk}")).to_be_attached()
            box = page.locator("#text").bounding_box()
            page_scrolls = page.evaluate("document.scrollingElement.scrollHeight > window.innerHeight + 1")
            chat_scrolls = page.evaluate(
                "(c => c.scrollHeight > c.clientHeight)(document.getElementById('chat'))"
            )
            assert (page_scrolls, chat_scrolls) == (False, True)  # one scrollbar: the chat's
            assert 0 <= box["y"] and box["y"] + box["height"] <= 844 and box["x"] + box["width"] <= 390
            assert _no_sideways_scroll(page)
            expect(page.locator(f"#m{first.pk} .meta")).to_contain_text(
                f"você · {_local(first.created_at, '%H:%M')} · "
            )
            _shot(page, "09-simulator-phone")
        finally:
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_docs_render_their_operations_with_the_network_cut(live_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(20_000)

            def offline(route: Any) -> None:
                if route.request.url.startswith(live_server.url):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.goto(f"{live_server.url}/docs")
            expect(page.locator(".opblock").first).to_be_visible()
            expect(page.locator("#swagger-ui")).to_contain_text("/api/v1/slots/")
            assert page.locator(".opblock").count() > 10
            _shot(page, "10-docs-offline")
            page.goto(f"{live_server.url}/redoc")
            expect(page.locator("#content, redoc, body").first).to_contain_text("/api/v1/slots/")
        finally:
            browser.close()
    assert blocked == []  # nothing was even asked of the internet
