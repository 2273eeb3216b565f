"""Sending: the service against fake providers in-process, then the task on a real worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from celery import current_app
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.tests.factories import ContactFactory, ConversationFactory
from kumon.models import Contact, Unit
from kumon.testing import wait_for, wait_until_drained
from kumon.tests.factories import UnitFactory
from whatsapp import services
from whatsapp.tests.conftest import SEND_QUEUE, payload
from whatsapp.tests.fakes import FakeEvolution, FakeMeta, Reply, meta_error

PHONE = "+5511987654321"


def queued(
    unit: Unit,
    body: str = "Olá! Recebemos sua mensagem.",
    *,
    last_inbound: dt.datetime | None = None,
    **fields: Any,
) -> Message:
    contact = ContactFactory(unit=unit, phone=PHONE)
    conversation = ConversationFactory(
        unit=unit, contact=contact, last_inbound_at=last_inbound or timezone.now()
    )
    return Message.objects.create(
        unit=unit,
        conversation=conversation,
        direction="out",
        sender="bot",
        body=body,
        status=Message.Status.QUEUED,
        **fields,
    )


def evolution_unit() -> Unit:
    return UnitFactory(whatsapp_gateway=Unit.Gateway.EVOLUTION, evolution_instance="kumon-vila-mariana")


def meta_unit(**fields: Any) -> Unit:
    return UnitFactory(whatsapp_gateway=Unit.Gateway.META, meta_phone_number_id="106540352242922", **fields)


# --- the service, in-process ----------------------------------------------------------------


@pytest.mark.django_db
def test_console_gateway_marks_the_message_sent_without_network() -> None:
    message = queued(UnitFactory(whatsapp_gateway=Unit.Gateway.CONSOLE))
    assert services.send_message(message_id=message.pk).status == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, "")
    assert message.provider_id.startswith("console-") and message.sent_at is not None
    assert message.meta["gateway"] == "console"


@pytest.mark.django_db
def test_evolution_201_records_key_id_and_speaks_the_real_protocol(fake_evolution: FakeEvolution) -> None:
    message = queued(evolution_unit(), "Olá, Mariana! A mensalidade de matemática é R$ 380,00.")
    assert services.send_message(message_id=message.pk).status == "sent"
    message.refresh_from_db()
    (request,) = fake_evolution.requests
    expected = payload("evolution_send_text_request.json")
    assert (request.method, request.path) == ("POST", "/message/sendText/kumon-vila-mariana")
    assert request.headers["apikey"] == "evolution-test-key"
    assert request.json["number"] == expected["body"]["number"]
    assert request.json == {
        "number": "5511987654321",
        "text": "Olá, Mariana! A mensalidade de matemática é R$ 380,00.",
        "linkPreview": False,
    }
    assert (message.status, message.provider_id) == ("sent", "3EB0FAKE00000000000001")


@pytest.mark.django_db
def test_evolution_400_fails_at_once_with_the_providers_reason(fake_evolution: FakeEvolution) -> None:
    fake_evolution.script(Reply(400, payload("evolution_send_text_error_not_on_whatsapp.json")))
    message = queued(evolution_unit())
    outcome = services.send_message(message_id=message.pk)
    message.refresh_from_db()
    assert (outcome.status, message.status, message.attempts, len(fake_evolution.requests)) == (
        "failed",
        "failed",
        1,
        1,
    )
    assert message.last_error == (
        'HTTP 400: [{"jid": "5511900000000@s.whatsapp.net", "exists": false, "number": "5511900000000"}]'
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reply",
    [
        Reply.server_error(),
        Reply(429, {}),
        Reply(400, payload("evolution_send_text_error_connection_closed.json")),
    ],
)
def test_evolution_transient_error_requeues_with_backoff(fake_evolution: FakeEvolution, reply: Reply) -> None:
    fake_evolution.script(reply)
    message = queued(evolution_unit())
    outcome = services.send_message(message_id=message.pk)
    message.refresh_from_db()
    if reply.status == 400:
        # "Error: Connection Closed" comes as a 400 (#2229); classified permanent by the status
        # code like every 4xx: the reason tells staff to check the instance.
        assert (outcome.status, message.status) == ("failed", "failed")
        assert message.last_error == 'HTTP 400: ["Error: Connection Closed"]'
        return
    assert (outcome.status, message.status, message.attempts) == ("retry", "queued", 1)
    assert 0 < outcome.retry_in <= 5 * 1.25
    assert message.retry_at > timezone.now()
    assert message.last_error.startswith(f"HTTP {reply.status}")


@pytest.mark.django_db
def test_evolution_timeout_is_transient(fake_evolution: FakeEvolution, settings: Any) -> None:
    settings.WHATSAPP_HTTP_READ_TIMEOUT = 0.3
    fake_evolution.script(Reply.timeout(1.0))
    message = queued(evolution_unit())
    outcome = services.send_message(message_id=message.pk)
    assert (outcome.status, outcome.reason) == ("retry", "timeout: ReadTimeout")


@pytest.mark.django_db
def test_last_transient_attempt_fails_with_the_reason(fake_evolution: FakeEvolution, settings: Any) -> None:
    settings.WHATSAPP_SEND_MAX_ATTEMPTS = 2
    fake_evolution.script(Reply.server_error(), Reply.server_error())
    message = queued(evolution_unit())
    assert services.send_message(message_id=message.pk).status == "retry"
    assert services.send_message(message_id=message.pk).status == "failed"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 2)
    assert message.last_error == 'gave up after 2 attempts: HTTP 500: "Connection Closed"'


@pytest.mark.django_db
def test_a_message_not_queued_is_never_sent(fake_evolution: FakeEvolution) -> None:
    message = queued(evolution_unit())
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENT, provider_id="X1")
    assert services.send_message(message_id=message.pk).status == "not_claimed"
    assert services.send_message(message_id=999_999_999).status == "not_claimed"
    assert fake_evolution.requests == []


@pytest.mark.django_db
def test_long_reply_goes_as_bubbles_in_order(fake_evolution: FakeEvolution, settings: Any) -> None:
    settings.WHATSAPP_BUBBLE_CHARS = 40
    body = "Primeiro parágrafo curto.\n\nSegundo parágrafo, um pouco maior que o limite de quarenta."
    message = queued(evolution_unit(), body)
    assert services.send_message(message_id=message.pk).status == "sent"
    texts = [t for _, _, t in fake_evolution.sent_texts()]
    assert texts == [
        "Primeiro parágrafo curto.",
        "Segundo parágrafo, um pouco maior que o",
        "limite de quarenta.",
    ]
    message.refresh_from_db()
    assert message.meta["part_ids"] == [
        "3EB0FAKE00000000000001",
        "3EB0FAKE00000000000002",
        "3EB0FAKE00000000000003",
    ]
    assert message.provider_id == "3EB0FAKE00000000000003"


@pytest.mark.django_db
def test_split_reply_resumes_after_the_last_bubble_sent(fake_evolution: FakeEvolution, settings: Any) -> None:
    settings.WHATSAPP_BUBBLE_CHARS = 10
    fake_evolution.script(Reply(), Reply.server_error())
    message = queued(evolution_unit(), "um dois.\n\ntrês quatro.")
    assert services.send_message(message_id=message.pk).status == "retry"
    assert services.send_message(message_id=message.pk).status == "sent"
    assert [t for _, _, t in fake_evolution.sent_texts()] == ["um dois.", "três", "três", "quatro."]


def test_split_bubbles_keeps_short_text_whole() -> None:
    assert services.split_bubbles("  oi  ", 4096) == ["oi"]
    assert services.split_bubbles("a" * 10, 4) == ["aaaa", "aaaa", "aa"]


@pytest.mark.django_db
def test_simulated_conversation_never_reaches_a_real_gateway(fake_evolution: FakeEvolution) -> None:
    unit = evolution_unit()
    inbound = services.simulate_inbound(unit=unit, phone=PHONE, text="oi")
    reply = Message.objects.create(
        unit=unit,
        conversation=inbound.conversation,
        direction="out",
        sender="bot",
        body="Olá",
        status="queued",
    )
    assert services.send_message(message_id=reply.pk).status == "sent"
    reply.refresh_from_db()
    assert (reply.meta["gateway"], fake_evolution.requests) == ("console", [])


def real_inbound(unit: Unit, provider_id: str, text: str = "oi", name: str = "Mariana") -> Message:
    from conversations import services as conversation_services
    from conversations.inbound import InboundMessage

    stored = conversation_services.record_inbound(
        unit=unit, message=InboundMessage(phone=PHONE, provider_id=provider_id, text=text, push_name=name)
    )
    assert stored is not None
    return stored


def reply_to(inbound: Message) -> Message:
    return Message.objects.create(
        unit=inbound.unit,
        conversation=inbound.conversation,
        direction="out",
        sender="bot",
        body="Olá",
        status="queued",
    )


@pytest.mark.django_db
def test_a_simulator_message_from_a_real_familys_phone_is_refused_and_their_replies_still_reach_whatsapp(
    fake_evolution: FakeEvolution,
) -> None:
    unit = evolution_unit()
    inbound = real_inbound(unit, "3EB0REAL1")
    from kumon.exceptions import RealFamilyPhone

    with pytest.raises(RealFamilyPhone):
        services.simulate_inbound(unit=unit, phone="11 98765-4321", text="oi do simulador")
    assert list(Message.objects.values_list("provider_id", flat=True)) == ["3EB0REAL1"]
    reply = reply_to(inbound)
    assert services.send_message(message_id=reply.pk).status == "sent"
    reply.refresh_from_db()
    assert (reply.meta["gateway"], [(n, t) for _, n, t in fake_evolution.sent_texts()]) == (
        "evolution",
        [("5511987654321", "Olá")],
    )


@pytest.mark.django_db
def test_a_real_message_from_a_number_the_simulator_played_starts_that_familys_own_conversation(
    fake_evolution: FakeEvolution,
) -> None:
    unit = evolution_unit()
    simulated = services.simulate_inbound(unit=unit, phone=PHONE, text="oi", name="Teste Simulador")
    Contact.objects.filter(pk=simulated.conversation.contact_id).update(
        data={"parent_name": "Teste Simulador"}
    )
    inbound = real_inbound(unit, "3EB0REAL2", name="Mariana")

    contact = Contact.objects.get()
    assert (contact.simulated, contact.name, contact.data) == (False, "Mariana", {})
    assert inbound.conversation_id != simulated.conversation_id
    assert list(Conversation.objects.order_by("pk").values_list("mode", flat=True)) == ["closed", "bot"]
    reply = reply_to(inbound)
    assert services.send_message(message_id=reply.pk).status == "sent"
    reply.refresh_from_db()
    assert (reply.meta["gateway"], len(fake_evolution.sent_texts())) == ("evolution", 1)


@pytest.mark.django_db
def test_contacts_that_only_ever_used_the_simulator_are_marked_by_the_migration() -> None:
    import importlib

    from django.db import connection

    from conversations.tests.factories import MessageFactory

    forward = importlib.import_module("kumon.migrations.0005_contact_simulated").FORWARD
    unit = UnitFactory()
    only_sim, mixed, real = (ContactFactory(unit=unit, phone=f"+551198765000{i}") for i in range(3))
    for contact, ids in ((only_sim, ["sim-a", "sim-b"]), (mixed, ["sim-c", "3EB0X"]), (real, ["3EB0Y"])):
        conversation = ConversationFactory(unit=unit, contact=contact)
        for provider_id in ids:
            MessageFactory(conversation=conversation, provider_id=provider_id)
    with connection.cursor() as cursor:
        cursor.execute(forward)
    assert list(Contact.objects.order_by("phone").values_list("simulated", flat=True)) == [True, False, False]


@pytest.mark.django_db
def test_meta_inside_the_window_sends_text(fake_meta: FakeMeta) -> None:
    message = queued(meta_unit(), "Olá, Mariana! A mensalidade de matemática é R$ 380,00.")
    assert services.send_message(message_id=message.pk).status == "sent"
    (request,) = fake_meta.requests
    assert (request.path, request.headers["authorization"]) == (
        "/106540352242922/messages",
        "Bearer meta-test-token",
    )
    assert request.json == payload("meta_send_text_request.json")["body"]
    message.refresh_from_db()
    assert message.provider_id == "wamid.FAKE0000000001"


@pytest.mark.django_db
def test_meta_outside_the_window_uses_the_units_template(fake_meta: FakeMeta) -> None:
    unit = meta_unit(meta_reminder_template="lembrete_visita")
    message = queued(
        unit, "Sua visita é amanhã às 15h.", last_inbound=timezone.now() - dt.timedelta(hours=30)
    )
    assert services.send_message(message_id=message.pk).status == "sent"
    (request,) = fake_meta.requests
    assert request.json["type"] == "template"
    assert request.json["template"] == {
        "name": "lembrete_visita",
        "language": {"code": "pt_BR"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Sua visita é amanhã às 15h."}]}
        ],
    }
    message.refresh_from_db()
    assert message.meta["template"] == "lembrete_visita"


@pytest.mark.django_db
def test_meta_outside_the_window_without_template_is_skipped_with_the_reason(fake_meta: FakeMeta) -> None:
    message = queued(meta_unit(), last_inbound=timezone.now() - dt.timedelta(hours=25))
    assert services.send_message(message_id=message.pk).status == "skipped"
    message.refresh_from_db()
    assert (message.status, message.last_error, fake_meta.requests) == (
        "skipped",
        "outside the 24h window",
        [],
    )


@pytest.mark.django_db
def test_a_reminders_message_that_cannot_go_fails_the_reminder_with_the_reason(fake_meta: FakeMeta) -> None:
    from scheduling.tests.factories import ReminderFactory

    unit = meta_unit()
    message = queued(unit, last_inbound=timezone.now() - dt.timedelta(hours=25))
    reminder = ReminderFactory(appointment__unit=unit, status="sent")
    Message.objects.filter(pk=message.pk).update(meta={"reminder_id": reminder.pk, "kind": "reminder"})
    assert services.send_message(message_id=message.pk).status == "skipped"
    reminder.refresh_from_db()
    assert (reminder.status, reminder.last_error) == ("failed", "WhatsApp: outside the 24h window")


@pytest.mark.django_db
def test_meta_error_fails_with_the_graph_reason(fake_meta: FakeMeta) -> None:
    fake_meta.script(Reply(400, payload("meta_error_response.json")))
    message = queued(meta_unit())
    assert services.send_message(message_id=message.pk).status == "failed"
    message.refresh_from_db()
    assert message.last_error == (
        "HTTP 400: (131030) (#131030) Recipient phone number not in allowed list Recipient phone number not in "
        "allowed list: Add recipient phone number to recipient list and try again."
    )


@pytest.mark.django_db
def test_meta_send_response_file_is_read(fake_meta: FakeMeta) -> None:
    response = payload("meta_send_text_response.json")
    fake_meta.script(Reply(200, response))
    message = queued(meta_unit())
    services.send_message(message_id=message.pk)
    message.refresh_from_db()
    assert message.provider_id == response["messages"][0]["id"]


@pytest.mark.django_db
def test_evolution_send_response_file_is_read(fake_evolution: FakeEvolution) -> None:
    response = payload("evolution_send_text_response.json")
    fake_evolution.script(Reply(201, response))
    message = queued(evolution_unit())
    services.send_message(message_id=message.pk)
    message.refresh_from_db()
    assert message.provider_id == response["key"]["id"] == "3EB0C431C26A1916E07E7A"


@pytest.mark.django_db
def test_sweeper_requeues_old_queued_messages_and_fails_lost_claims(settings: Any) -> None:
    unit = UnitFactory()
    old = timezone.now() - dt.timedelta(minutes=5)
    stuck = queued(unit)
    fresh = Message.objects.create(
        unit=unit, conversation=stuck.conversation, direction="out", sender="bot", body="b", status="queued"
    )
    backing_off = Message.objects.create(
        unit=unit,
        conversation=stuck.conversation,
        direction="out",
        sender="bot",
        body="c",
        status="queued",
        retry_at=timezone.now() + dt.timedelta(seconds=120),
    )
    lost = Message.objects.create(
        unit=unit,
        conversation=stuck.conversation,
        direction="out",
        sender="bot",
        body="d",
        status="sending",
        claimed_until=timezone.now() - dt.timedelta(seconds=1),
        in_flight=True,
    )
    lost_before_call = Message.objects.create(
        unit=unit,
        conversation=stuck.conversation,
        direction="out",
        sender="bot",
        body="f",
        status="sending",
        claimed_until=timezone.now() - dt.timedelta(seconds=1),
    )
    live = Message.objects.create(
        unit=unit,
        conversation=stuck.conversation,
        direction="out",
        sender="bot",
        body="e",
        status="sending",
        claimed_until=timezone.now() + dt.timedelta(seconds=100),
    )
    Message.objects.filter(pk__in=[stuck.pk, backing_off.pk, lost.pk, live.pk, lost_before_call.pk]).update(
        created_at=old
    )
    result = services.sweep_stuck_messages()
    # The claim lost before the provider was called is queued again and re-enqueued with "a".
    assert (result.requeued, result.reclaimed, result.abandoned) == (2, 1, 1)
    statuses = dict(Message.objects.filter(conversation=stuck.conversation).values_list("body", "status"))
    assert statuses == {
        stuck.body: "queued",
        "b": "queued",
        "c": "queued",
        "d": "failed",
        "e": "sending",
        "f": "queued",
    }
    assert Message.objects.get(pk=lost.pk).last_error.startswith("send interrupted, outcome unknown")
    assert fresh.pk and live.pk


@pytest.mark.django_db
def test_the_migration_moves_send_state_from_meta_into_columns() -> None:
    import importlib

    from django.db import connection

    forward = importlib.import_module("conversations.migrations.0005_send_state_columns").FORWARD
    unit = UnitFactory()
    epoch = 1_796_000_000.5
    lost = queued(unit, "a")
    backing_off = Message.objects.create(
        unit=unit, conversation=lost.conversation, direction="out", sender="bot", body="b", status="queued"
    )
    untouched = Message.objects.create(
        unit=unit, conversation=lost.conversation, direction="out", sender="bot", body="c", status="sent"
    )
    Message.objects.filter(pk=lost.pk).update(
        status="sending",
        meta={"claimed_until": epoch, "in_flight": True, "part_ids": ["3EB0A"], "kind": "reminder"},
    )
    Message.objects.filter(pk=backing_off.pk).update(
        meta={"claimed_until": epoch, "in_flight": False, "retry_at": epoch + 60}
    )
    Message.objects.filter(pk=untouched.pk).update(meta={"gateway": "console"})
    with connection.cursor() as cursor:
        cursor.execute(forward)
    at = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    rows = Message.objects.order_by("body").values_list("claimed_until", "in_flight", "retry_at", "meta")
    assert list(rows) == [
        (at, True, None, {"part_ids": ["3EB0A"], "kind": "reminder"}),
        (at, False, at + dt.timedelta(seconds=60), {}),
        (None, False, None, {"gateway": "console"}),
    ]


# --- the task on a real worker (private queue, providers = the fakes) ------------------------


def enqueue(message: Message) -> None:
    current_app.send_task("whatsapp.send_message", kwargs={"message_id": message.pk}, queue=SEND_QUEUE)


def settled(message: Message) -> Message | None:
    message.refresh_from_db()
    return message if message.status in ("sent", "failed", "skipped") else None


@pytest.mark.django_db(transaction=True)
def test_worker_500_twice_then_201_delivers_once(send_worker: Any, fake_evolution: FakeEvolution) -> None:
    fake_evolution.script(Reply.server_error(), Reply.server_error())
    message = queued(evolution_unit())
    enqueue(message)
    wait_for(lambda: settled(message), timeout=20)
    assert (message.status, message.attempts, message.provider_id) == ("sent", 3, "3EB0FAKE00000000000003")
    assert len(fake_evolution.sent_texts()) == 3
    enqueue(message)  # a redelivered task: nothing is sent again
    wait_until_drained(queues=SEND_QUEUE, what="the redelivered task done")
    assert len(fake_evolution.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_worker_400_fails_with_the_reason_and_no_retry(
    send_worker: Any, fake_evolution: FakeEvolution
) -> None:
    fake_evolution.script(Reply.not_on_whatsapp())
    message = queued(evolution_unit())
    enqueue(message)
    wait_for(lambda: settled(message), timeout=20)
    wait_until_drained(queues=SEND_QUEUE, what="the task done, no retry held")  # a retry would be held
    assert (message.status, message.attempts, len(fake_evolution.requests)) == ("failed", 1, 1)
    assert '"exists": false' in message.last_error


@pytest.mark.django_db(transaction=True)
def test_worker_timeout_is_retried(send_worker: Any, fake_evolution: FakeEvolution) -> None:
    fake_evolution.script(Reply.timeout(2.5))  # the worker's read timeout is 1 s
    message = queued(evolution_unit())
    enqueue(message)
    wait_for(lambda: settled(message), timeout=20)
    assert (message.status, message.attempts, len(fake_evolution.requests)) == ("sent", 2, 2)


@pytest.mark.django_db(transaction=True)
def test_worker_meta_failure_then_success(send_worker: Any, fake_meta: FakeMeta) -> None:
    fake_meta.script(Reply(503, meta_error(131000, "Service unavailable")))
    message = queued(meta_unit())
    enqueue(message)
    wait_for(lambda: settled(message), timeout=20)
    assert (message.status, message.attempts, message.provider_id) == ("sent", 2, "wamid.FAKE0000000002")
    assert Conversation.objects.count() == 1


# --- the parts of one reply: one task, in order ----------------------------------------------


def reply_parts(unit: Unit, *bodies: str) -> list[Message]:
    """A turn's reply of several parts, as conversations.turns stores it (in_reply_to, seq)."""
    first = queued(unit, bodies[0], seq=0)
    inbound = Message.objects.create(
        unit=unit,
        conversation=first.conversation,
        direction="in",
        sender="parent",
        body="oi",
        status="handled",
    )
    Message.objects.filter(pk=first.pk).update(in_reply_to=inbound)
    rest = [
        Message.objects.create(
            unit=unit,
            conversation=first.conversation,
            direction="out",
            sender="bot",
            body=body,
            status=Message.Status.QUEUED,
            in_reply_to=inbound,
            seq=seq,
        )
        for seq, body in enumerate(bodies[1:], start=1)
    ]
    first.refresh_from_db()
    return [first, *rest]


@pytest.mark.django_db
def test_a_turn_of_two_parts_enqueues_one_send(django_capture_on_commit_callbacks: Any) -> None:
    from conversations import turns
    from conversations.inbound import InboundMessage
    from conversations.services import record_inbound

    unit = UnitFactory()
    inbound = record_inbound(
        unit=unit, message=InboundMessage(phone=PHONE, text="oi, quero saber do kumon", provider_id="IN1")
    )
    with django_capture_on_commit_callbacks() as callbacks:
        replies = turns.answer_turn(conversation_id=inbound.conversation_id)
    assert len(replies) >= 2 and [r.seq for r in replies] == list(range(len(replies)))
    # conversations.services.enqueue(task_name, **kwargs) registers publish() with both in its closure.
    sends = [c for c in callbacks if "whatsapp.send_message" in [v.cell_contents for v in c.__closure__]]
    assert len(sends) == 1  # the first part's task sends the others after it


@pytest.mark.django_db
def test_one_task_sends_every_part_of_a_reply_in_order(fake_evolution: FakeEvolution) -> None:
    from whatsapp.tasks import send_message

    parts = reply_parts(
        evolution_unit(), "Olá! Sou a assistente da unidade.", "Qual é o seu nome?", "E o da criança?"
    )
    result = send_message.apply(kwargs={"message_id": parts[0].pk})
    assert result.get() == "sent"
    assert [t for _, _, t in fake_evolution.sent_texts()] == [p.body for p in parts]
    assert {m.status for m in Message.objects.filter(pk__in=[p.pk for p in parts])} == {"sent"}


@pytest.mark.django_db
def test_send_reply_stops_at_the_part_that_must_wait(fake_evolution: FakeEvolution) -> None:
    fake_evolution.script(Reply(), Reply.server_error())  # part 1 goes, part 2 fails once
    parts = reply_parts(evolution_unit(), "Olá!", "Qual é o seu nome?", "E o da criança?")
    progress = services.send_reply(message_id=parts[0].pk)
    assert (progress.status, progress.pending, progress.error) == ("sent", parts[1].pk, None)
    assert 0 < progress.retry_in <= 5 * 1.25
    assert [t for _, _, t in fake_evolution.sent_texts()] == ["Olá!", "Qual é o seu nome?"]
    assert [Message.objects.get(pk=p.pk).status for p in parts] == ["sent", "queued", "queued"]


@pytest.mark.django_db
def test_sweeper_leaves_a_later_part_to_the_sender_of_the_earlier_one() -> None:
    first, second = reply_parts(UnitFactory(), "Olá!", "Qual é o seu nome?")
    old = timezone.now() - dt.timedelta(minutes=5)
    Message.objects.filter(pk__in=[first.pk, second.pk]).update(created_at=old)
    Message.objects.filter(pk=first.pk).update(
        retry_at=timezone.now() + dt.timedelta(seconds=120)
    )  # backing off

    assert services.sweep_stuck_messages().requeued == 0  # sending "second" now would overtake "first"

    Message.objects.filter(pk=first.pk).update(status="sent")  # its task died right after sending it
    assert services.sweep_stuck_messages().requeued == 1
    assert services.next_part(message_id=first.pk) == second.pk


@pytest.mark.django_db(transaction=True)
def test_worker_retries_the_failing_part_and_keeps_the_order(
    send_worker: Any, fake_evolution: FakeEvolution
) -> None:
    fake_evolution.script(Reply(), Reply.server_error())  # part 1 goes, part 2 fails once
    parts = reply_parts(evolution_unit(), "Olá!", "Qual é o seu nome?", "E o da criança?")
    enqueue(parts[0])
    wait_for(lambda: settled(parts[2]), timeout=20)
    assert [t for _, _, t in fake_evolution.sent_texts()] == [
        "Olá!",
        "Qual é o seu nome?",
        "Qual é o seu nome?",
        "E o da criança?",
    ]
    assert [Message.objects.get(pk=p.pk).attempts for p in parts] == [1, 2, 1]
