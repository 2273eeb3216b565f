"""Hand-off around the inbox: staff notified on their phone, idle release, hand back → bot answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conversations import handoff, notifications, services
from conversations.inbound import InboundMessage
from conversations.models import Conversation, Message
from conversations.tests.factories import ContactFactory, ConversationFactory
from conversations.tests.workplace import waiting_conversation
from kumon.models import Contact
from kumon.testing import wait_for
from kumon.tests.factories import UnitFactory


@pytest.mark.django_db
def test_notify_handoff_sends_the_lead_summary_to_the_staff_phone() -> None:
    unit = UnitFactory(name="Kumon Centro", staff_phone="11 99999-0000")
    conversation = waiting_conversation(
        unit,
        name="Carla",
        data={
            "lead": {
                "parent_name": "Carla Souza",
                "children": [
                    {"name": "Lia", "age": 6, "subjects": ["Matemática"]},
                    {"name": "Rui", "school_year": "Pré II", "subjects": ["Português"]},
                ],
            }
        },
    )
    message = notifications.notify_handoff(conversation_id=conversation.pk)
    staff = Contact.objects.get(unit=unit, phone="+5511999990000")
    assert (staff.is_unit_staff, staff.data) == (True, {})
    assert (message.conversation.contact_id, message.status, message.sender) == (staff.pk, "queued", "bot")
    assert message.body.splitlines() == [
        "🔔 Atendimento humano solicitado – Kumon Centro",
        f"Telefone: {conversation.contact.phone} (Carla)",
        "Responsável: Carla Souza",
        "Criança: Lia – 6 anos – Matemática",
        "Criança: Rui – Pré II – Português",
        "Motivo: a família pediu para falar com uma pessoa",
        "Última mensagem: Quero falar com uma pessoa",
        "Responda pela caixa de entrada do painel.",
    ]
    # The staff phone's own conversation is held with staff: the bot never answers it.
    assert message.conversation.mode == Conversation.Mode.HUMAN


@pytest.mark.django_db
def test_notify_handoff_is_idempotent_and_a_noop_when_not_applicable() -> None:
    unit = UnitFactory(staff_phone="+5511999990000")
    conversation = waiting_conversation(unit)
    assert notifications.notify_handoff(conversation_id=conversation.pk) is not None
    assert notifications.notify_handoff(conversation_id=conversation.pk) is None  # already notified
    assert notifications.notify_handoff(conversation_id=999999) is None  # gone
    no_phone = waiting_conversation(UnitFactory(staff_phone=""))
    assert notifications.notify_handoff(conversation_id=no_phone.pk) is None
    bot = ConversationFactory(contact=ContactFactory(unit=unit))
    assert notifications.notify_handoff(conversation_id=bot.pk) is None  # no hand-off any more
    assert Message.objects.filter(conversation__contact__phone="+5511999990000").count() == 1


@pytest.mark.django_db
def test_release_idle_handoffs_hands_back_silently(settings) -> None:
    settings.HANDOFF_IDLE_MINUTES = 120
    unit = UnitFactory()
    now = timezone.now()
    idle = waiting_conversation(unit, assigned_to=None)
    busy = waiting_conversation(unit)
    staff_phone = ConversationFactory(
        contact=ContactFactory(unit=unit, is_unit_staff=True), mode=Conversation.Mode.HUMAN, handoff_at=now
    )
    Conversation.objects.filter(pk__in=[idle.pk, staff_phone.pk]).update(
        last_activity_at=now - dt.timedelta(minutes=121)
    )
    Conversation.objects.filter(pk=busy.pk).update(last_activity_at=now - dt.timedelta(minutes=30))
    outbound_before = Message.objects.filter(direction="out").count()
    assert handoff.release_idle_handoffs(now=now) == 1
    assert handoff.release_idle_handoffs(now=now) == 0
    modes = dict(Conversation.objects.values_list("pk", "mode"))
    assert (modes[idle.pk], modes[busy.pk], modes[staff_phone.pk]) == ("bot", "human", "human")
    assert Message.objects.filter(direction="out").count() == outbound_before  # nothing said to the parent


@pytest.mark.django_db(transaction=True)
def test_hand_back_then_next_parent_message_is_answered_by_the_bot(celery_worker) -> None:
    unit = UnitFactory(name="Kumon Volta")
    phone = "5511955554444"
    first = services.record_inbound(
        unit=unit, message=InboundMessage(phone=phone, provider_id="HB1", text="oi")
    )
    conversation = Conversation.objects.get(pk=first.conversation_id)
    wait_for(lambda: Message.objects.filter(in_reply_to=first).exists())
    services.take_over(conversation=conversation, user=None)
    during = services.record_inbound(
        unit=unit, message=InboundMessage(phone=phone, provider_id="HB2", text="oi?")
    )
    services.hand_back(conversation=conversation, note="")
    after = services.record_inbound(
        unit=unit, message=InboundMessage(phone=phone, provider_id="HB3", text="qual o horário?")
    )
    wait_for(lambda: Message.objects.filter(in_reply_to=after, sender="bot").exists())
    assert not Message.objects.filter(
        in_reply_to=during
    ).exists()  # what staff had is not answered by the bot
    conversation.refresh_from_db()
    assert conversation.assigned_to_id is None


@pytest.mark.django_db(transaction=True)
def test_notify_handoff_task_runs_on_the_worker(celery_worker) -> None:
    from celery import current_app

    unit = UnitFactory(staff_phone="+5511988887777")
    conversation = waiting_conversation(unit)
    current_app.send_task("conversations.notify_handoff", kwargs={"conversation_id": conversation.pk})
    wait_for(lambda: Message.objects.filter(conversation__contact__phone="+5511988887777").exists())
