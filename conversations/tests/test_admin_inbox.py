"""The inbox and the conversation page: scoping, order, actions, refresh endpoint, badge."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from conversations import inbox, state
from conversations.models import Conversation, Message
from conversations.tests.factories import ContactFactory, ConversationFactory, MessageFactory
from conversations.tests.workplace import make_world, waiting_conversation

pytestmark = pytest.mark.django_db

INBOX = "/admin/conversations/conversation/"


def page_url(conversation: Conversation, action: str = "change") -> str:
    return reverse(f"admin:conversations_conversation_{action}", args=[conversation.pk])


def listed_ids(response) -> list[int]:
    return [obj.pk for obj in response.context["cl"].result_list]


def test_inbox_staff_sees_only_their_unit_waiting_first_oldest_first(client) -> None:
    w = make_world()
    bot = ConversationFactory(contact=ContactFactory(unit=w.unit_a))
    newer = waiting_conversation(w.unit_a, minutes_ago=5)
    older = waiting_conversation(w.unit_a, minutes_ago=50)
    with_staff = waiting_conversation(w.unit_a, assigned_to=w.staff_a)
    closed = ConversationFactory(contact=ContactFactory(unit=w.unit_a), mode=Conversation.Mode.CLOSED)
    waiting_conversation(w.unit_b)
    client.force_login(w.staff_a)
    response = client.get(INBOX)
    assert response.status_code == 200
    assert listed_ids(response) == [older.pk, newer.pk, with_staff.pk, bot.pk, closed.pk]
    html = response.content.decode()
    assert "staff-a" in html  # "with staff: staff-a"
    assert 'id="kr-waiting-badge"' in html


def test_inbox_ignores_the_staff_phone_contact(client) -> None:
    w = make_world()
    staff_phone = ContactFactory(unit=w.unit_a, is_unit_staff=True)
    ConversationFactory(contact=staff_phone, mode=Conversation.Mode.HUMAN, handoff_at=timezone.now())
    family = waiting_conversation(w.unit_a)
    client.force_login(w.staff_a)
    assert listed_ids(client.get(INBOX)) == [family.pk]


def test_inbox_state_filter_waiting(client) -> None:
    w = make_world()
    waiting = waiting_conversation(w.unit_a)
    waiting_conversation(w.unit_a, assigned_to=w.staff_a)
    ConversationFactory(contact=ContactFactory(unit=w.unit_a))
    client.force_login(w.staff_a)
    assert listed_ids(client.get(INBOX, {"state": "waiting"})) == [waiting.pk]


def test_inbox_owner_sees_exactly_their_units(client) -> None:
    w = make_world()
    a = waiting_conversation(w.unit_a)
    waiting_conversation(w.unit_b)
    c = waiting_conversation(w.unit_c, minutes_ago=30)
    client.force_login(w.owner)
    assert listed_ids(client.get(INBOX)) == [c.pk, a.pk]


def test_inbox_unit_filter_lists_only_own_units(client) -> None:
    w = make_world()
    client.force_login(w.staff_a)
    response = client.get(INBOX)
    html = response.content.decode()
    assert "Kumon A" in html and "Kumon B" not in html


@pytest.mark.parametrize("rows", [1, 3])
def test_inbox_query_count_is_constant(client, django_assert_max_num_queries, rows: int) -> None:
    w = make_world()
    for i in range(rows):
        waiting_conversation(w.unit_a, minutes_ago=i + 1)
        waiting_conversation(w.unit_a, assigned_to=w.staff_a)
    client.force_login(w.staff_a)
    with django_assert_max_num_queries(12):
        assert client.get(INBOX).status_code == 200


def test_conversation_page_shows_transcript_lead_sources_and_appointments(client) -> None:
    from scheduling.models import Appointment

    w = make_world()
    conversation = waiting_conversation(
        w.unit_a, data={"child_name": "Pedro", "child_age": 8, "_failed_turns": 1}
    )
    MessageFactory(
        conversation=conversation,
        direction="out",
        sender="bot",
        body="A mensalidade é R$ 400.",
        status="sent",
        provider_id=None,
        meta={
            "sources": [{"source_id": 1, "external_id": "preco", "question": "Quanto custa?", "score": 0.91}]
        },
    )
    start = timezone.now() + timezone.timedelta(days=2)
    Appointment.objects.create(
        unit=w.unit_a,
        contact=conversation.contact,
        start=start,
        end=start + timezone.timedelta(hours=1),
        child_name="Pedro",
    )
    client.force_login(w.staff_a)
    response = client.get(page_url(conversation))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="kr-msg kr-parent"' in html and 'class="kr-msg kr-bot"' in html
    assert "Quanto custa?" in html  # the knowledge the bot answer used
    assert "Pedro" in html and "_failed_turns" not in html
    assert 'id="kr-take-over"' in html


def test_conversation_page_of_another_unit_is_404(client) -> None:
    w = make_world()
    other = waiting_conversation(w.unit_b)
    client.force_login(w.staff_a)
    assert client.get(page_url(other)).status_code == 404
    assert client.get(page_url(other, "transcript")).status_code == 404
    for action in ("take_over", "reply", "hand_back"):
        assert client.post(page_url(other, action), {"body": "oi"}).status_code == 404
    other.refresh_from_db()
    assert (other.mode, other.assigned_to_id) == (Conversation.Mode.HUMAN, None)
    assert other.messages.filter(sender="staff").count() == 0


def test_take_over_reply_hand_back_from_the_page(client) -> None:
    w = make_world()
    conversation = waiting_conversation(w.unit_a)
    client.force_login(w.staff_a)

    assert client.post(page_url(conversation, "take_over")).status_code == 302
    conversation.refresh_from_db()
    assert (conversation.mode, conversation.assigned_to) == (Conversation.Mode.HUMAN, w.staff_a)

    assert client.post(page_url(conversation, "reply"), {"body": "Olá, aqui é a Ana!"}).status_code == 302
    reply = conversation.messages.get(sender=Message.Sender.STAFF)
    assert (reply.body, reply.status, reply.staff_user) == (
        "Olá, aqui é a Ana!",
        Message.Status.QUEUED,
        w.staff_a,
    )
    data = client.get(page_url(conversation, "transcript")).json()
    assert data["state"] == "with_staff" and data["assigned_to"] == "staff-a"
    assert "Olá, aqui é a Ana!" in data["html"]

    assert client.post(page_url(conversation, "hand_back"), {"note": "mãe prefere sábado"}).status_code == 302
    conversation.refresh_from_db()
    assert (
        conversation.mode,
        conversation.assigned_to,
        state.Flow.from_data(conversation.data).staff_note,
    ) == (Conversation.Mode.BOT, None, "mãe prefere sábado")


def test_take_over_of_a_bot_conversation_silences_the_bot(client) -> None:
    w = make_world()
    conversation = ConversationFactory(contact=ContactFactory(unit=w.unit_a))
    client.force_login(w.staff_a)
    client.post(page_url(conversation, "take_over"))
    conversation.refresh_from_db()
    assert (conversation.mode, conversation.assigned_to, conversation.handoff_reason) == (
        Conversation.Mode.HUMAN,
        w.staff_a,
        "staff",
    )


def test_badge_counts_waiting_conversations_of_own_units(client) -> None:
    w = make_world()
    waiting_conversation(w.unit_a)
    waiting_conversation(w.unit_a)
    waiting_conversation(w.unit_a, assigned_to=w.staff_a)
    waiting_conversation(w.unit_b)
    client.force_login(w.staff_a)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert str(response.context["waiting_count"]) == "2"


def test_admin_index_has_language_switcher_and_english_works(client) -> None:
    w = make_world()
    client.force_login(w.staff_a)
    html = client.get("/admin/").content.decode()
    assert 'action="/i18n/setlang/"' in html and "Caixa de entrada" in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert "Inbox" in client.get("/admin/").content.decode()


def test_message_admin_is_scoped_and_read_only(client) -> None:
    w = make_world()
    mine = MessageFactory(conversation=ConversationFactory(contact=ContactFactory(unit=w.unit_a)))
    other = MessageFactory(conversation=ConversationFactory(contact=ContactFactory(unit=w.unit_b)))
    client.force_login(w.staff_a)
    response = client.get("/admin/conversations/message/")
    assert [m.pk for m in response.context["cl"].result_list] == [mine.pk]
    assert client.get(f"/admin/conversations/message/{other.pk}/change/").status_code == 404
    assert client.post(f"/admin/conversations/message/{mine.pk}/change/", {"body": "x"}).status_code == 403


@pytest.mark.parametrize("rows", [1, 3])
def test_conversation_page_and_refresh_query_count_is_constant(
    client, django_assert_max_num_queries, rows: int
) -> None:
    w = make_world()
    conversation = waiting_conversation(w.unit_a)
    for _ in range(rows):
        MessageFactory(
            conversation=conversation,
            direction="out",
            sender="staff",
            status="sent",
            provider_id=None,
            staff_user=w.staff_a,
        )
    client.force_login(w.staff_a)
    with django_assert_max_num_queries(10):
        assert client.get(page_url(conversation)).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(page_url(conversation, "transcript")).status_code == 200


def _cells(html: str, row_of: str) -> list[str]:
    """The text of each cell of the inbox row that mentions `row_of`."""
    row = next(r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S) if row_of in r)
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
        for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
    ]


def test_inbox_row_in_portuguese_with_learned_name_preview_wait_and_local_time(client) -> None:
    w = make_world()
    conversation = waiting_conversation(
        w.unit_a,
        name="",
        phone="+5511955554444",
        minutes_ago=0,
        data={"lead": {"parent_name": "Juliana"}},
        stage=state.Stage.HANDOFF,
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        handoff_at=timezone.now() - timezone.timedelta(seconds=20),
        last_activity_at=dt.datetime(2026, 12, 3, 17, 0, tzinfo=dt.UTC),
    )
    older = waiting_conversation(w.unit_a, name="Renata", minutes_ago=75)
    MessageFactory(conversation=older, body="Vocês abrem no sábado? " * 10)
    client.force_login(w.staff_a)

    html = client.get(INBOX).content.decode()

    table = html.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    headers = re.findall(
        r'<th scope="col"[^>]*>.*?<(?:a|span)[^>]*>([^<]+)<', table.split("</thead>")[0], re.S
    )
    assert [h.strip() for h in headers] == [
        "Situação",
        "Família",
        "Aguardando há",
        "Etapa",
        "Atendente responsável",
        "Última atividade",
    ]  # one unit: no unit column
    assert _cells(html, "Juliana")[1:] == [
        "Juliana +5511955554444 família: Quero falar com uma pessoa",
        "menos de 1 minuto",
        "passada para a equipe",
        "–",
        "03/12 14:00",
    ]  # the name learned in the chat; 17:00 UTC is 14:00 in São Paulo
    renata = _cells(html, "Renata")
    assert renata[2] == "1 h 15 min"
    assert renata[1].startswith("Renata") and renata[1].endswith(
        ("Vocês abrem no sábado? " * 10)[:120].strip()
    )


def test_inbox_shows_the_unit_to_someone_of_several_units(client) -> None:
    w = make_world()
    waiting_conversation(w.unit_c, name="Carla")
    client.force_login(w.owner)

    html = client.get(INBOX).content.decode()

    assert _cells(html, "Carla")[-1] == "Kumon C"


def test_conversation_page_in_portuguese_links_appointments_both_ways(client) -> None:
    from scheduling.models import Appointment

    w = make_world()
    conversation = waiting_conversation(
        w.unit_a,
        name="",
        data={
            "lead": {
                "parent_name": "Juliana",
                "children": [{"name": "Pedro", "age": 7, "subjects": ["Matemática", "Português"]}],
            }
        },
        stage=state.Stage.BOOKING,
        step=state.Step.CONFIRM_SLOT,
    )
    Conversation.objects.filter(pk=conversation.pk).update(handoff_reason="unknown_question")
    MessageFactory(conversation=conversation, body="oi")
    Message.objects.filter(conversation=conversation).update(
        created_at=dt.datetime(2026, 12, 3, 17, 0, tzinfo=dt.UTC)
    )
    start = dt.datetime(2026, 12, 10, 17, 0, tzinfo=dt.UTC)
    appointment = Appointment.objects.create(
        unit=w.unit_a,
        contact=conversation.contact,
        start=start,
        end=start + dt.timedelta(hours=1),
        child_name="Pedro",
    )
    client.force_login(w.staff_a)

    html = client.get(page_url(conversation)).content.decode()
    back = client.get(reverse("admin:conversations_conversation_family", args=[conversation.contact_id]))
    appointment_page = client.get(
        reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    ).content.decode()

    assert "<title>Juliana | Recepção Kumon</title>" in html
    assert re.search(r'id="kr-reason">([^<]+)<', html).group(1) == "pergunta que o robô não soube responder"
    assert (
        re.search(r'id="kr-stage">([^<]+)<', html).group(1)
        == "agendando visita · aguardando confirmar o horário"
    )
    assert "disciplinas</th><td>Matemática, Português" in html and "responsável</th><td>Juliana" in html
    assert "família · 03/12 14:00" in html  # the transcript in São Paulo time
    assert f'href="/admin/scheduling/appointment/{appointment.pk}/change/">10/12/2026 14:00</a>' in html
    assert f'href="/admin/scheduling/appointment/{appointment.pk}/reschedule/"' in html
    assert "Só o modelo de linguagem (quando houver um configurado) e a equipe leem esta observação" in html
    assert (back.status_code, back["Location"]) == (302, page_url(conversation))
    assert f'href="/admin/conversations/conversation/family/{conversation.contact_id}/"' in appointment_page


def test_family_link_of_another_units_contact_is_404(client) -> None:
    w = make_world()
    other = waiting_conversation(w.unit_b)
    client.force_login(w.staff_a)

    assert (
        client.get(reverse("admin:conversations_conversation_family", args=[other.contact_id])).status_code
        == 404
    )


def test_every_code_the_engine_writes_has_a_portuguese_label() -> None:
    # Stages and steps are enums; hand-off reasons are literals of hand_off(turn, "...") and take_over.
    source = "\n".join(
        p.read_text()
        for p in Path(settings.BASE_DIR, "conversations").rglob("*.py")
        if "tests" not in p.parts
    )
    reasons = set(re.findall(r'hand_off\(turn, "(\w+)"\)', source)) | set(
        re.findall(r'reason="(\w+)"', source)
    )
    with translation.override("pt-br"):
        labels = {
            "stages": {s.value: inbox.stage_label(s) for s in state.Stage},
            "steps": {s.value: inbox.step_label(s) for s in state.Step if s.value},
            "reasons": {r: inbox.handoff_reason_label(r) for r in reasons},
        }
    untranslated = [
        (kind, code)
        for kind, table in labels.items()
        for code, label in table.items()
        if not label or label == code.replace("_", " ")
    ]
    assert reasons >= {"requested", "complaint", "staff", "staff_phone"}
    assert untranslated == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "menos de 1 minuto"),
        (59, "menos de 1 minuto"),
        (60, "1 minuto"),
        (120, "2 minutos"),
        (3600, "1 h 00 min"),
        (86_400, "1 dia"),
        (3 * 86_400 + 5, "3 dias"),
    ],
)
def test_wait_reads_in_portuguese(seconds: int, text: str) -> None:
    with translation.override("pt-br"):
        assert inbox.duration_text(dt.timedelta(seconds=seconds)) == text
