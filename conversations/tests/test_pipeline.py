"""Ingest → turn → replies: the pipeline the channel relies on, with a real worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conversations import services, state, turns
from conversations.inbound import InboundMessage, StatusUpdate
from conversations.models import Conversation, Message
from kumon.testing import wait_for
from kumon.tests.factories import UnitFactory


def inbound(
    text: str = "oi", provider_id: str = "ABC1", phone: str = "5511987654321", **kw
) -> InboundMessage:
    return InboundMessage(phone=phone, provider_id=provider_id, text=text, **kw)


@pytest.mark.django_db
def test_record_inbound_duplicate_provider_id_stores_nothing_new() -> None:
    unit = UnitFactory()
    first = services.record_inbound(unit=unit, message=inbound())
    again = services.record_inbound(unit=unit, message=inbound(phone="551187654321"))  # old 8-digit form
    assert first is not None and again is None
    assert Message.objects.filter(unit=unit).count() == 1
    assert first.conversation.contact.phone == "+5511987654321"


@pytest.mark.django_db
def test_answer_turn_replies_once_and_marks_messages_handled() -> None:
    unit = UnitFactory(name="Kumon Teste")
    msg = services.record_inbound(unit=unit, message=inbound())
    replies = turns.answer_turn(conversation_id=msg.conversation_id)
    assert [r.body for r in replies] == [
        "Olá! Aqui é a recepção virtual da Kumon Teste. 😊",
        "Posso te ajudar com valores, horários e como funciona o método, ou agendar uma visita gratuita com o teste "
        "diagnóstico. O que você gostaria de saber?",
    ]
    assert [(r.in_reply_to_id, r.seq) for r in replies] == [(msg.pk, 0), (msg.pk, 1)]
    assert turns.answer_turn(conversation_id=msg.conversation_id) == []
    msg.refresh_from_db()
    assert msg.status == Message.Status.HANDLED
    assert {r.status for r in replies} == {Message.Status.QUEUED}


@pytest.mark.django_db
def test_debounce_answers_a_burst_once_after_the_last_message(settings) -> None:
    settings.CONVERSATION_DEBOUNCE_SECONDS = 8
    unit = UnitFactory()
    t0 = timezone.now()
    first = services.record_inbound(unit=unit, message=inbound("oi", "B1"), now=t0)
    services.record_inbound(unit=unit, message=inbound("tudo bem?", "B2"), now=t0 + dt.timedelta(seconds=3))
    cid = first.conversation_id
    assert turns.answer_turn(conversation_id=cid, now=t0 + dt.timedelta(seconds=9)) == []  # not yet due
    replies = turns.answer_turn(conversation_id=cid, now=t0 + dt.timedelta(seconds=12))
    assert [r.in_reply_to.provider_id for r in replies] == ["B2", "B2"]  # one answer to the burst
    assert Message.objects.filter(conversation_id=cid, status=Message.Status.HANDLED).count() == 2


@pytest.mark.django_db
def test_debounce_window_is_capped_for_a_parent_who_keeps_typing(settings) -> None:
    settings.CONVERSATION_DEBOUNCE_SECONDS = 8
    settings.CONVERSATION_DEBOUNCE_MAX_SECONDS = 30
    unit = UnitFactory()
    t0 = timezone.now()
    for i in range(8):
        msg = services.record_inbound(
            unit=unit, message=inbound(f"m{i}", f"C{i}"), now=t0 + dt.timedelta(seconds=5 * i)
        )
    conversation = Conversation.objects.get(pk=msg.conversation_id)
    assert conversation.reply_due_at == t0 + dt.timedelta(seconds=30)


@pytest.mark.django_db
def test_take_over_while_the_turn_is_computed_drops_the_reply() -> None:
    unit = UnitFactory()
    msg = services.record_inbound(unit=unit, message=inbound())
    now = timezone.now()
    conversation, pending = turns.claim_turn(conversation_id=msg.conversation_id, now=now)
    result = turns.engine.respond(conversation=conversation, messages=pending, now=now)
    services.take_over(conversation=conversation, user=None)  # staff click while computing
    assert turns.commit_turn(conversation_id=conversation.pk, last=pending[-1], result=result, now=now) == []
    conversation.refresh_from_db()
    assert conversation.mode == Conversation.Mode.HUMAN
    assert Message.objects.filter(conversation=conversation, direction="out").count() == 0


@pytest.mark.django_db
def test_newer_message_supersedes_the_turn_being_computed() -> None:
    unit = UnitFactory()
    msg = services.record_inbound(unit=unit, message=inbound("oi", "S1"))
    now = timezone.now()
    conversation, pending = turns.claim_turn(conversation_id=msg.conversation_id, now=now)
    result = turns.engine.respond(conversation=conversation, messages=pending, now=now)
    services.record_inbound(unit=unit, message=inbound("tudo bem?", "S2"))
    assert turns.commit_turn(conversation_id=conversation.pk, last=pending[-1], result=result, now=now) == []
    replies = turns.answer_turn(conversation_id=conversation.pk)
    assert [r.in_reply_to.provider_id for r in replies] == ["S2", "S2"]


@pytest.mark.django_db
def test_staff_message_from_phone_takes_over_but_our_echo_does_not() -> None:
    unit = UnitFactory()
    msg = services.record_inbound(unit=unit, message=inbound())
    reply, _ = turns.answer_turn(conversation_id=msg.conversation_id)
    Message.objects.filter(pk=reply.pk).update(provider_id="OURS1", status=Message.Status.SENT)
    assert services.record_inbound(unit=unit, message=inbound("echo", "OURS1", from_me=True)) is None
    assert Conversation.objects.get(pk=msg.conversation_id).mode == Conversation.Mode.BOT
    staff = services.record_inbound(unit=unit, message=inbound("Oi, aqui é a Carla", "STAFF1", from_me=True))
    assert (staff.sender, staff.direction) == (Message.Sender.STAFF, Message.Direction.OUT)
    assert Conversation.objects.get(pk=msg.conversation_id).mode == Conversation.Mode.HUMAN


@pytest.mark.django_db
def test_delivery_status_never_moves_backwards() -> None:
    unit = UnitFactory()
    msg = services.record_inbound(unit=unit, message=inbound())
    reply, _ = turns.answer_turn(conversation_id=msg.conversation_id)
    Message.objects.filter(pk=reply.pk).update(provider_id="OUT1", status=Message.Status.SENT)
    assert services.update_delivery_status(unit=unit, update=StatusUpdate("OUT1", "read"))
    assert not services.update_delivery_status(unit=unit, update=StatusUpdate("OUT1", "delivered"))
    assert not services.update_delivery_status(unit=unit, update=StatusUpdate("OUT1", "failed", "late"))
    reply.refresh_from_db()
    assert reply.status == Message.Status.READ


@pytest.mark.django_db
def test_opted_out_contact_gets_nothing_queued() -> None:
    unit = UnitFactory()
    msg = services.record_inbound(unit=unit, message=inbound())
    contact = msg.conversation.contact
    contact.opted_out_at = timezone.now()
    contact.save()
    out = services.queue_outbound(contact=contact, body="Lembrete")
    assert (out.status, out.last_error) == (Message.Status.SKIPPED, "contact opted out")


@pytest.mark.django_db(transaction=True)
def test_worker_answers_an_inbound_message_after_commit(celery_worker) -> None:
    unit = UnitFactory()
    msg = services.record_inbound(unit=unit, message=inbound())
    reply = wait_for(
        lambda: Message.objects.filter(conversation_id=msg.conversation_id, direction="out").first(),
        timeout=20,
    )
    assert reply.sender == Message.Sender.BOT
    assert Message.objects.get(pk=msg.pk).status == Message.Status.HANDLED


@pytest.mark.django_db
def test_hand_back_keeps_the_hand_off_on_record_and_a_new_take_over_restarts_its_clock() -> None:
    unit = UnitFactory()
    msg = services.record_inbound(unit=unit, message=inbound())
    t0 = timezone.now()
    services.take_over(conversation=msg.conversation, user=None, now=t0, reason="requested")
    back = services.hand_back(conversation=msg.conversation, note="mãe quer sábado")
    assert (back.mode, back.handoff_at, back.handoff_reason, state.Flow.from_data(back.data).staff_note) == (
        "bot",
        t0,
        "requested",
        "mãe quer sábado",
    )
    again = services.take_over(conversation=back, user=None, now=t0 + dt.timedelta(hours=1), reason="staff")
    assert (again.mode, again.handoff_at, again.handoff_reason) == (
        "human",
        t0 + dt.timedelta(hours=1),
        "staff",
    )


@pytest.mark.django_db
def test_a_superseded_turn_records_no_knowledge_gap() -> None:
    """Only the turn that is sent records its gaps (a burst recomputed 21 times wrote 4,047)."""
    from conversations import engine
    from knowledge.models import KnowledgeGap

    unit = UnitFactory()
    first = services.record_inbound(unit=unit, message=inbound("vcs vendem uniforme?", "G1"))
    conversation, pending = turns.claim_turn(conversation_id=first.conversation_id, now=timezone.now())
    result = engine.respond(conversation=conversation, messages=pending, now=timezone.now())
    assert [g.text for g in result.gaps] == ["vcs vendem uniforme?"]
    services.record_inbound(unit=unit, message=inbound("alô?", "G2"))  # arrives while it was computed

    stored = turns.commit_turn(
        conversation_id=first.conversation_id, last=pending[-1], result=result, now=timezone.now()
    )

    assert (stored, KnowledgeGap.objects.count()) == ([], 0)
    replies = turns.answer_turn(
        conversation_id=first.conversation_id, now=timezone.now() + dt.timedelta(seconds=1)
    )
    assert replies and KnowledgeGap.objects.count() == 1


@pytest.mark.django_db
def test_the_llm_budget_of_a_unit_sends_its_turns_to_the_rules(settings) -> None:
    from conversations import budget

    settings.OPENAI_API_KEY = "sk-test"
    settings.LLM_DAILY_TOKEN_BUDGET = 1000
    unit = UnitFactory()
    now = timezone.now()
    assert budget.allowed(unit=unit, now=now)
    budget.spend(unit=unit, tokens=600, now=now)
    budget.spend(unit=unit, tokens=500, now=now)
    assert (budget.tokens_today(unit=unit, now=now), budget.allowed(unit=unit, now=now)) == (1100, False)
    assert budget.allowed(unit=UnitFactory(), now=now)  # another unit's day is its own
