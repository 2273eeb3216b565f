"""Proactive messages on WhatsApp (issue 15, item 4/5): Meta's 24-hour window (the unit's template
or skipped with the reason, shown on the follow-up), opt-out re-checked at send time, Evolution
sends paced per number, staff typing on the unit's phone pausing follow-ups and reminders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from celery import current_app
from django.utils import timezone

from conversations.models import Followup, Message, ProactiveOptions
from conversations.tests.factories import ConversationFactory, MessageFactory
from kumon.models import Unit
from kumon.testing import wait_for
from kumon.tests.factories import ContactFactory, UnitFactory
from whatsapp import services
from whatsapp.tests.conftest import SEND_QUEUE
from whatsapp.tests.fakes import FakeEvolution, FakeMeta

PHONE = "+5511987654321"


def followup_message(unit: Unit, *, last_inbound: dt.datetime, phone: str = PHONE, **contact: Any) -> Message:
    """A follow-up stored as the runner stores it: the row sent, its message queued."""
    family = ContactFactory(unit=unit, phone=phone, **contact)
    conversation = ConversationFactory(
        unit=unit,
        contact=family,
        last_inbound_at=last_inbound,
        data={"lead": {"parent_name": "Mariana Alves", "child_name": "Ana"}},
    )
    anchor = MessageFactory(conversation=conversation)
    message = Message.objects.create(
        unit=unit,
        conversation=conversation,
        direction="out",
        sender="bot",
        status="queued",
        body="Oi, Mariana! 😊 Ainda dá para agendar a visita de Ana.",
        meta={"kind": "followup", "proactive": True},
    )
    followup = Followup.objects.create(
        unit=unit,
        conversation=conversation,
        contact=family,
        anchor_at=last_inbound,
        anchor_message=anchor,
        due_at=timezone.now(),
        status="sent",
        sent_at=timezone.now(),
        message=message,
    )
    message.meta["followup_id"] = followup.pk
    message.save(update_fields=["meta"])
    return message


def meta_unit() -> Unit:
    return UnitFactory(whatsapp_gateway=Unit.Gateway.META, meta_phone_number_id="106540352242922")


@pytest.mark.django_db
def test_meta_followup_outside_the_window_goes_as_the_units_template(fake_meta: FakeMeta) -> None:
    unit = meta_unit()
    ProactiveOptions.objects.create(
        unit=unit,
        meta_template_name="retomar_visita",
        meta_template_language="pt_BR",
        meta_template_parameters="{parent_name}|{child_name}",
    )
    message = followup_message(unit, last_inbound=timezone.now() - dt.timedelta(hours=30))

    outcome = services.send_message(message_id=message.pk)

    (request,) = fake_meta.requests
    assert outcome.status == "sent"
    assert request.json["template"] == {
        "name": "retomar_visita",
        "language": {"code": "pt_BR"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Mariana"}, {"type": "text", "text": "Ana"}],
            }
        ],
    }


@pytest.mark.django_db
def test_meta_followup_outside_the_window_without_template_is_skipped_and_the_followup_says_why(
    fake_meta: FakeMeta,
) -> None:
    message = followup_message(meta_unit(), last_inbound=timezone.now() - dt.timedelta(hours=25))

    outcome = services.send_message(message_id=message.pk)

    followup = Followup.objects.get()
    assert (outcome.status, fake_meta.requests) == ("skipped", [])
    assert (followup.status, followup.reason) == ("skipped", "WhatsApp: outside the 24h window")


@pytest.mark.django_db
def test_meta_followup_inside_the_window_goes_as_text(fake_meta: FakeMeta) -> None:
    message = followup_message(meta_unit(), last_inbound=timezone.now() - dt.timedelta(hours=3))

    services.send_message(message_id=message.pk)

    (request,) = fake_meta.requests
    assert (request.json["type"], request.json["text"]["body"]) == ("text", message.body)


@pytest.mark.django_db
def test_opt_out_after_queueing_is_rechecked_at_send_time(fake_evolution: FakeEvolution) -> None:
    unit = UnitFactory(whatsapp_gateway=Unit.Gateway.EVOLUTION, evolution_instance="kumon-vila-mariana")
    message = followup_message(unit, last_inbound=timezone.now() - dt.timedelta(hours=3))
    type(message.conversation.contact).objects.filter(pk=message.conversation.contact_id).update(
        opted_out_at=timezone.now()
    )

    outcome = services.send_message(message_id=message.pk)

    message.refresh_from_db()
    assert (outcome.status, message.status, message.last_error, fake_evolution.requests) == (
        "skipped",
        "skipped",
        "contact opted out",
        [],
    )
    assert Followup.objects.get().status == "skipped"


@pytest.mark.django_db
def test_evolution_proactive_sends_are_spaced_per_number(
    fake_evolution: FakeEvolution, settings: Any
) -> None:
    settings.WHATSAPP_PROACTIVE_INTERVAL_SECONDS = 5.0
    unit = UnitFactory(whatsapp_gateway=Unit.Gateway.EVOLUTION, evolution_instance="kumon-pace-1")
    first, second = (
        followup_message(unit, last_inbound=timezone.now(), phone=f"+55119876500{i:02d}") for i in range(2)
    )

    one = services.send_message(message_id=first.pk)
    two = services.send_message(message_id=second.pk)

    second.refresh_from_db()
    assert one.status == "sent"
    assert (two.status, two.reason, second.status, second.attempts) == ("retry", "paced", "queued", 0)
    assert 3.9 <= two.retry_in <= 7.1  # 5 s ± jitter
    assert len(fake_evolution.sent_texts()) == 1


@pytest.mark.django_db(transaction=True)
def test_worker_paces_a_burst_of_followups_on_one_number(
    send_worker: Any, fake_evolution: FakeEvolution
) -> None:
    unit = UnitFactory(whatsapp_gateway=Unit.Gateway.EVOLUTION, evolution_instance="kumon-pace-2")
    messages = [
        followup_message(unit, last_inbound=timezone.now(), phone=f"+55119876501{i:02d}") for i in range(3)
    ]

    for message in messages:
        current_app.send_task("whatsapp.send_message", kwargs={"message_id": message.pk}, queue=SEND_QUEUE)
    assert wait_for(
        lambda: Message.objects.filter(pk__in=[m.pk for m in messages], status="sent").count() == 3,
        timeout=30,
    )

    times = sorted(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("sent_at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert len(fake_evolution.sent_texts()) == 3
    assert all(gap >= 0.9 for gap in gaps), gaps  # 1.2 s with jitter (0.96–1.68 s)


@pytest.mark.django_db
def test_staff_typing_on_the_units_phone_pauses_followups_and_reminders_and_the_inbox_shows_it(
    client: Any,
) -> None:
    from conversations.reminders import send_reminders  # noqa: PLC0415
    from kumon.tests.factories import MembershipFactory  # noqa: PLC0415
    from scheduling.models import Reminder  # noqa: PLC0415
    from scheduling.tests.factories import AppointmentFactory, ReminderFactory  # noqa: PLC0415
    from whatsapp.tests.conftest import payload  # noqa: PLC0415
    from whatsapp.tests.test_webhooks import post_evolution  # noqa: PLC0415

    unit = UnitFactory(
        evolution_instance="kumon-vila-mariana",
        webhook_secret="s3cret-of-vila-mariana",
        meta_phone_number_id="106540352242922",
    )
    post_evolution(client, payload("evolution_messages_upsert_text.json"), secret=unit.webhook_secret)
    inbound = Message.objects.get()
    conversation = inbound.conversation
    followup = Followup.objects.create(
        unit=unit,
        conversation=conversation,
        contact=conversation.contact,
        anchor_at=timezone.now(),
        anchor_message=inbound,
        due_at=timezone.now() + dt.timedelta(hours=3),
    )
    start = timezone.now() + dt.timedelta(hours=5)
    appointment = AppointmentFactory(
        unit=unit,
        contact=conversation.contact,
        phone=conversation.contact.phone,
        start=start,
        end=start + dt.timedelta(hours=1),
    )
    reminder = ReminderFactory(
        appointment=appointment, kind="2h", due_at=timezone.now() - dt.timedelta(minutes=1)
    )

    post_evolution(client, payload("evolution_messages_upsert_fromme.json"), secret=unit.webhook_secret)
    now = timezone.now()
    queued = send_reminders(now=now)

    followup.refresh_from_db()
    reminder.refresh_from_db()
    assert (followup.status, followup.reason) == ("cancelled", "staff have the conversation")
    assert (queued, reminder.status, reminder.last_error) == (
        0,
        "pending",
        "paused: staff are talking with the family",
    )
    assert reminder.due_at == now + dt.timedelta(minutes=15)
    assert Reminder.objects.count() == 1
    client.force_login(MembershipFactory(unit=unit).user)
    page = client.get(f"/admin/conversations/conversation/{conversation.pk}/change/")
    assert page.content.decode().count('<div class="kr-who">atendente · no celular da unidade · ') == 1
