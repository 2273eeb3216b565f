"""Inbound events (issue #16): the webhook's one INSERT, then the worker's recording — idempotent,
in order per contact, debounced from the provider's timestamp, repaired by the sweeper — and the
statements of an event, a turn and a part sent."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import turns
from conversations.inbound import InboundMessage
from conversations.models import Conversation, Message
from kumon.testing import wait_for
from kumon.tests.factories import UnitFactory
from whatsapp import ingest, services, tasks
from whatsapp.models import InboundEvent

PHONE = "+5511987654321"


def message(provider_id: str, text: str = "oi", *, phone: str = PHONE, **fields: Any) -> InboundMessage:
    return InboundMessage(phone=phone, provider_id=provider_id, text=text, **fields)


def bodies() -> list[str]:
    return list(Message.objects.filter(direction="in").order_by("pk").values_list("body", flat=True))


@pytest.mark.django_db
def test_inbound_event_duplicate_delivery_stores_no_second_event_and_no_second_message() -> None:
    unit = UnitFactory()
    assert len(ingest.store_events(unit=unit, messages=[message("E1")])) == 1
    assert ingest.store_events(unit=unit, messages=[message("E1", "oi de novo")]) == []
    assert tasks.record_events(event_ids=list(InboundEvent.objects.values_list("pk", flat=True))) == 1
    # Delivered again once recorded (and once the event is purged: the message keeps the id).
    assert ingest.store_events(unit=unit, messages=[message("E1")]) == []
    InboundEvent.objects.all().delete()
    assert ingest.store_events(unit=unit, messages=[message("E1")]) == []
    assert list(Message.objects.values_list("provider_id", "body")) == [("E1", "oi")]


@pytest.mark.django_db
def test_inbound_event_the_same_id_twice_in_one_batch_is_one_event() -> None:
    unit = UnitFactory()
    ids = ingest.store_events(unit=unit, messages=[message("B1"), message("B1"), message("B2", "tudo bem?")])
    assert len(ids) == 2
    assert list(InboundEvent.objects.order_by("pk").values_list("provider_id", flat=True)) == ["B1", "B2"]


@pytest.mark.django_db
def test_inbound_event_redelivered_task_is_a_no_op() -> None:
    unit = UnitFactory()
    ids = ingest.store_events(unit=unit, messages=[message("R1"), message("R2", "qto custa?")])
    assert tasks.record_events(event_ids=ids) == 2
    before = list(Message.objects.order_by("pk").values_list("pk", "status"))
    assert tasks.record_events(event_ids=ids) == 0  # the same task delivered again
    assert tasks.record_events(event_ids=ids[:1]) == 0
    assert list(Message.objects.order_by("pk").values_list("pk", "status")) == before
    assert list(InboundEvent.objects.values_list("status", flat=True)) == ["done", "done"]


@pytest.mark.django_db
def test_inbound_event_missing_is_a_no_op() -> None:
    assert tasks.record_events(event_ids=[987654]) == 0
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_inbound_events_of_a_contact_are_recorded_in_provider_timestamp_order() -> None:
    unit = UnitFactory()
    t0 = timezone.now() - dt.timedelta(seconds=10)
    # Delivered out of order (each in its own webhook), recorded by one task.
    late = ingest.store_events(
        unit=unit, messages=[message("O2", "segunda", sent_at=t0 + dt.timedelta(seconds=2))]
    )
    ingest.store_events(unit=unit, messages=[message("O1", "primeira", sent_at=t0)])
    ingest.store_events(unit=unit, messages=[message("O3", "terceira", sent_at=t0 + dt.timedelta(seconds=4))])
    assert tasks.record_events(event_ids=late) == 3  # every pending event of the contact
    assert bodies() == ["primeira", "segunda", "terceira"]
    assert Conversation.objects.count() == 1


@pytest.mark.django_db
def test_inbound_event_that_cannot_be_recorded_fails_with_the_reason_and_the_others_go_on() -> None:
    unit = UnitFactory()
    ids = ingest.store_events(unit=unit, messages=[message("F1", "oi"), message("F2", "alô")])
    InboundEvent.objects.filter(provider_id="F1").update(payload={"nonsense": 1})
    assert tasks.record_events(event_ids=ids) == 1
    failed = InboundEvent.objects.get(provider_id="F1")
    assert (failed.status, failed.attempts, failed.last_error.split(":")[0]) == ("failed", 1, "TypeError")
    assert list(Message.objects.values_list("provider_id", flat=True)) == ["F2"]
    assert tasks.record_events(event_ids=ids) == 0  # failed is final: not retried


@pytest.mark.django_db
def test_inbound_event_debounce_is_measured_from_the_providers_timestamp(settings: Any) -> None:
    settings.CONVERSATION_DEBOUNCE_SECONDS = 8
    unit = UnitFactory()
    sent = timezone.now() - dt.timedelta(seconds=5)  # the worker gets to it 5 s late
    ingest.store_events(unit=unit, messages=[message("D1", sent_at=sent)])
    ingest.store_events(
        unit=unit, messages=[message("D2", "tudo bem?", sent_at=sent + dt.timedelta(seconds=3))]
    )
    ingest.record_events(event_ids=list(InboundEvent.objects.values_list("pk", flat=True)))
    conversation = Conversation.objects.get()
    # One turn for the burst, due 8 s after the last message as the parent sent it.
    assert (conversation.turn_started_at, conversation.reply_due_at, conversation.last_inbound_at) == (
        sent,
        sent + dt.timedelta(seconds=11),
        sent + dt.timedelta(seconds=3),
    )


@pytest.mark.django_db
def test_inbound_event_debounce_window_is_capped_from_the_providers_timestamp(settings: Any) -> None:
    settings.CONVERSATION_DEBOUNCE_SECONDS = 8
    settings.CONVERSATION_DEBOUNCE_MAX_SECONDS = 20
    unit = UnitFactory()
    first = timezone.now() - dt.timedelta(seconds=19)
    for i in range(4):  # every 5 s, recorded together once the worker gets to them
        ingest.store_events(
            unit=unit, messages=[message(f"C{i}", f"m{i}", sent_at=first + dt.timedelta(seconds=5 * i))]
        )
    ingest.record_events(event_ids=list(InboundEvent.objects.values_list("pk", flat=True)))
    assert Conversation.objects.get().reply_due_at == first + dt.timedelta(seconds=20)


@pytest.mark.django_db
def test_inbound_event_with_an_old_or_future_timestamp_is_measured_from_its_receipt(settings: Any) -> None:
    settings.CONVERSATION_DEBOUNCE_SECONDS = 8
    unit = UnitFactory()
    # A phone that was offline delivers an hour-old message; another phone's clock is ahead.
    ingest.store_events(unit=unit, messages=[message("OLD1", sent_at=timezone.now() - dt.timedelta(hours=1))])
    ingest.store_events(
        unit=unit,
        messages=[
            message("AHEAD1", phone="+5511912345678", sent_at=timezone.now() + dt.timedelta(minutes=5))
        ],
    )
    ingest.record_events(event_ids=list(InboundEvent.objects.values_list("pk", flat=True)))
    for event in InboundEvent.objects.all():
        conversation = Conversation.objects.get(contact__phone=event.phone)
        assert conversation.reply_due_at == event.received_at + dt.timedelta(seconds=8)


# --- concurrency, the sweeper: committed rows and the session's real worker ------------------


@pytest.mark.django_db(transaction=True)
def test_inbound_events_interleaved_with_a_recording_wait_for_it_and_keep_the_order() -> None:
    unit = UnitFactory()
    t0 = timezone.now() - dt.timedelta(seconds=5)
    first = ingest.store_events(
        unit=unit, messages=[message("I1", "um", sent_at=t0), message("I2", "dois", sent_at=t0)]
    )
    done: list[int] = []

    def second_worker() -> None:
        try:
            later = ingest.store_events(
                unit=unit, messages=[message("I3", "três", sent_at=t0 + dt.timedelta(seconds=1))]
            )
            done.append(ingest.record_events(event_ids=later))
        finally:
            connection.close()

    def waiting_for_a_lock() -> bool:
        with connection.cursor() as cursor:
            # Inside a transaction the statistics views keep their first snapshot: a fresh one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] == 1

    with transaction.atomic():  # the first worker, mid-recording: its locks held
        assert ingest.record_contact_events(unit_id=unit.pk, phone=PHONE) == 2
        thread = threading.Thread(target=second_worker)
        thread.start()
        # The second worker's task (for the event that arrived meanwhile) waits for the first.
        wait_for(waiting_for_a_lock, timeout=15, what="the second worker waiting for the contact's locks")
    thread.join(timeout=15)
    assert done == [1]  # it found the first worker's events done and recorded its own after them
    assert bodies() == ["um", "dois", "três"]
    assert first and Conversation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_inbound_events_two_concurrent_workers_keep_a_contacts_order() -> None:
    unit = UnitFactory()
    t0 = timezone.now() - dt.timedelta(seconds=20)
    n = 12
    ids = [
        ingest.store_events(
            unit=unit, messages=[message(f"W{i:02d}", f"m{i:02d}", sent_at=t0 + dt.timedelta(seconds=i))]
        )[0]
        for i in range(n)
    ]
    barrier = threading.Barrier(2)
    recorded: list[int] = []

    def worker(mine: list[int]) -> None:
        try:
            barrier.wait(timeout=10)
            for event_id in mine:  # one task per event, as the webhooks published them
                recorded.append(ingest.record_events(event_ids=[event_id]))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(ids[::2],)),
        threading.Thread(target=worker, args=(ids[1::2],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(recorded) == n
    assert bodies() == [f"m{i:02d}" for i in range(n)]
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {"done"}
    assert Conversation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_inbound_event_whose_publish_was_lost_is_recorded_after_the_sweeper(celery_worker: Any) -> None:
    unit = UnitFactory()
    # Stored, never published (the web process died between the INSERT and the publish).
    lost = ingest.store_events(unit=unit, messages=[message("L1", "alguém aí?")])
    fresh = ingest.store_events(unit=unit, messages=[message("L2", "oi", phone="+5511912345678")])
    InboundEvent.objects.filter(pk__in=lost).update(received_at=timezone.now() - dt.timedelta(minutes=2))
    swept = ingest.sweep_inbound_events()
    assert swept.published == 1  # the fresh one is left to its own task
    wait_for(lambda: InboundEvent.objects.filter(pk__in=lost, status="done").exists(), timeout=30)
    assert list(Message.objects.filter(direction="in").values_list("provider_id", flat=True)) == ["L1"]
    wait_for(
        lambda: Message.objects.filter(direction="out", in_reply_to__provider_id="L1").exists(), timeout=30
    )
    # Swept once per interval: a second sweep does not publish it again; the fresh one is pending.
    assert ingest.sweep_inbound_events().published == 0
    assert InboundEvent.objects.get(pk=fresh[0]).status == "pending"


@pytest.mark.django_db
def test_inbound_sweep_purges_done_events_after_two_days_and_keeps_failed_ones() -> None:
    unit = UnitFactory()
    ids = ingest.store_events(unit=unit, messages=[message("P1"), message("P2", phone="+5511912345678")])
    ingest.record_events(event_ids=ids)
    InboundEvent.objects.filter(provider_id="P2").update(status="failed")
    swept = ingest.sweep_inbound_events(now=timezone.now() + dt.timedelta(days=3))
    assert swept.purged == 1
    assert list(InboundEvent.objects.values_list("provider_id", flat=True)) == ["P2"]


# --- statements -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_statements_of_an_event_a_turn_and_a_part_sent(settings: Any) -> None:
    """The round trips behind one message of a known family, counted as Django sends them
    (BEGIN and COMMIT included)."""
    unit = UnitFactory()
    ids = ingest.store_events(unit=unit, messages=[message("S1", "oi")])
    ingest.record_events(event_ids=ids)
    conversation_id = Conversation.objects.get().pk
    turns.answer_turn(conversation_id=conversation_id)  # the greeting: a known family now
    warm = ingest.store_events(unit=unit, messages=[message("S2", "qual o horário de vocês?")])
    ingest.record_events(event_ids=warm)
    turns.answer_turn(conversation_id=conversation_id)  # the first search's one-off rows
    ids = ingest.store_events(unit=unit, messages=[message("S3", "e quanto custa?")])
    with CaptureQueriesContext(connection) as event:
        assert ingest.record_events(event_ids=ids) == 1
    inbound = Message.objects.get(provider_id="S3")
    with CaptureQueriesContext(connection) as turn:
        replies = turns.answer_turn(conversation_id=inbound.conversation_id)
    assert replies
    part = Message.objects.create(
        unit=unit,
        conversation=inbound.conversation,
        direction="out",
        sender="bot",
        body="Até já!",
        status="queued",
    )
    with CaptureQueriesContext(connection) as sent:
        assert services.send_message(message_id=part.pk).status == "sent"
        assert services.next_part(message_id=part.pk) is None

    def listing(captured: CaptureQueriesContext) -> str:
        return "\n".join(q["sql"][:140] for q in captured.captured_queries)

    print(
        f"\nevent {len(event)}:\n{listing(event)}\nturn {len(turn)}:\n{listing(turn)}\npart {len(sent)}:\n{listing(sent)}"
    )
    # The event: the contacts of the task's events, BEGIN, the contact's events FOR UPDATE, contact,
    # open conversation FOR UPDATE, INSERT message, UPDATE conversation, UPDATE events, COMMIT.
    # A part: claim, load, in-flight mark, sent, the next part. The turn is the engine's (another
    # engineer's work changes it): a bound, not an exact figure.
    assert (len(event), len(sent)) == (9, 5), listing(event) + "\n--\n" + listing(sent)
    assert len(turn) <= 25, listing(turn)
