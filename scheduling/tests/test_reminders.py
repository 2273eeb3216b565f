import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from conversations.models import Message
from conversations.reminders import send_reminders
from conversations.tasks import send_due_reminders
from kumon.testing import wait_for
from kumon.tests.factories import UnitFactory
from scheduling import services, texts
from scheduling.models import Reminder
from scheduling.tests.factories import AppointmentFactory, ContactFactory, ReminderFactory, weekly_hours

SP = ZoneInfo("America/Sao_Paulo")
START = dt.datetime(2026, 12, 7, 14, 0, tzinfo=SP)  # Monday
NOW = START - dt.timedelta(hours=23)


def due_reminder(unit=None, *, kind="24h", status="booked", opted_out=False, start=START):
    unit = unit or UnitFactory(name="Kumon Centro", address="Rua A, 1")
    contact = ContactFactory(unit=unit, opted_out_at=NOW if opted_out else None)
    appointment = AppointmentFactory(
        unit=unit,
        contact=contact,
        phone=contact.phone,
        start=start,
        end=start + dt.timedelta(hours=1),
        status=status,
    )
    return ReminderFactory(appointment=appointment, kind=kind, due_at=start - dt.timedelta(hours=24))


def test_when_pt_formats_unit_local_time():
    assert (
        texts.when_pt(dt.datetime(2025, 12, 2, 19, 0, tzinfo=dt.UTC), "America/Sao_Paulo")
        == "terça 02/12 às 16h"
    )
    assert (
        texts.when_pt(dt.datetime(2026, 12, 7, 17, 30, tzinfo=dt.UTC), "America/Sao_Paulo")
        == "segunda 07/12 às 14h30"
    )


def test_claim_due_reminders_marks_sending_once(db):
    due = due_reminder()
    later = ReminderFactory(appointment=due.appointment, kind="2h", due_at=START - dt.timedelta(hours=2))

    first = services.claim_due_reminders(now=NOW)
    second = services.claim_due_reminders(now=NOW)

    assert [(r.pk, r.status, r.attempts) for r in first] == [(due.pk, "sending", 1)]
    assert second == []
    later.refresh_from_db()
    assert later.status == "pending"


def test_claim_due_reminders_skips_opted_out_and_cancelled(db):
    opted_out = due_reminder(opted_out=True)
    cancelled = due_reminder(status="cancelled")
    started = due_reminder(start=NOW - dt.timedelta(minutes=5))

    claimed = services.claim_due_reminders(now=NOW)

    assert claimed == []
    rows = {r.pk: (r.status, r.last_error) for r in Reminder.objects.all()}
    assert rows == {
        opted_out.pk: ("skipped", "contact opted out"),
        cancelled.pk: ("skipped", "appointment cancelled"),
        started.pk: ("skipped", "visit already started"),
    }


def test_claim_due_reminders_reclaims_stale_sending(db):
    reminder = due_reminder()
    services.claim_due_reminders(now=NOW)

    soon = services.claim_due_reminders(now=NOW + dt.timedelta(minutes=5))
    stale = services.claim_due_reminders(now=NOW + dt.timedelta(minutes=11))

    assert soon == []
    assert [(r.pk, r.attempts) for r in stale] == [(reminder.pk, 2)]


@pytest.mark.django_db(transaction=True)
def test_claim_due_reminders_two_racing_ticks_never_share_a_row():
    ids = {due_reminder().pk for _ in range(30)}  # one unit each: one visit at START per unit
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = []

    def tick() -> None:
        try:
            barrier.wait()
            claimed.append([r.pk for r in services.claim_due_reminders(now=NOW, limit=20)])
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    together = claimed[0] + claimed[1]
    # Each tick skips the rows the other holds (SKIP LOCKED): how the 30 split depends on how the
    # two scans interleave ([20, 10] one after the other, e.g. [14, 16] side by side), never shared.
    assert len(claimed) == 2 and max(len(c) for c in claimed) <= 20
    assert set(together) == ids
    assert len(together) == 30
    assert Reminder.objects.filter(status="sending", attempts=1).count() == 30


def test_send_reminders_queues_one_whatsapp_message(db):
    reminder = due_reminder()
    reminder.appointment.parent_name = "Ana Souza"
    reminder.appointment.save()

    sent = send_reminders(now=NOW)
    again = send_reminders(now=NOW + dt.timedelta(minutes=20))

    reminder.refresh_from_db()
    message = Message.objects.get()
    assert (sent, again) == (1, 0)
    assert (reminder.status, reminder.message_id, reminder.sent_at) == ("sent", message.pk, NOW)
    assert message.body == (
        "Olá, Ana! Lembrete da visita do(a) Pedro na Kumon Centro: segunda 07/12 às 14h (Rua A, 1).\n"
        "Responda:\n1 - confirmo\n2 - preciso remarcar"
    )
    assert (message.direction, message.status, message.conversation.contact_id) == (
        "out",
        "queued",
        reminder.appointment.contact_id,
    )
    assert message.meta == {
        "reminder_id": reminder.pk,
        "kind": "reminder",
        "reminder_kind": "24h",
        "appointment_id": reminder.appointment_id,
    }


def test_send_reminders_without_contact_failed_with_reason(db):
    reminder = due_reminder()
    reminder.appointment.contact = None
    reminder.appointment.save()

    send_reminders(now=NOW)

    reminder.refresh_from_db()
    assert (reminder.status, reminder.last_error) == ("failed", "appointment has no contact")


def test_send_reminders_no_show_offers_times_that_day(db):
    unit = UnitFactory(name="Kumon Centro", min_notice_minutes=60)
    weekly_hours(unit)
    appointment = AppointmentFactory(
        unit=unit,
        contact=ContactFactory(unit=unit),
        start=START,
        end=START + dt.timedelta(hours=1),
        parent_name="Ana",
    )
    services.mark_no_show(appointment=appointment, now=START + dt.timedelta(hours=3))
    due = dt.datetime(2026, 12, 8, 10, 0, tzinfo=SP)

    send_reminders(now=due)

    assert Message.objects.get().body == (
        "Olá, Ana! Sentimos sua falta ontem na Kumon Centro. Tudo bem? Podemos remarcar a visita: "
        "hoje temos 11h, 14h, 15h. Qual horário fica melhor?"
    )


@pytest.mark.django_db(transaction=True)
def test_send_due_reminders_task_on_real_worker(celery_worker):
    now = timezone.now()
    unit = UnitFactory()
    contact = ContactFactory(unit=unit)
    appointment = AppointmentFactory(
        unit=unit, contact=contact, start=now + dt.timedelta(hours=1), end=now + dt.timedelta(hours=2)
    )
    reminder = ReminderFactory(appointment=appointment, kind="2h", due_at=now - dt.timedelta(minutes=1))

    send_due_reminders.delay()

    wait_for(lambda: Reminder.objects.filter(pk=reminder.pk, status="sent").exists(), timeout=30)
    assert Message.objects.filter(conversation__contact=contact, direction="out").count() == 1


def test_staff_reschedule_tells_the_family_the_new_time_once_per_move(db):
    unit = UnitFactory(name="Kumon Centro", address="Rua A, 1")
    weekly_hours(unit)
    contact = ContactFactory(unit=unit)
    appointment = AppointmentFactory(
        unit=unit,
        contact=contact,
        phone=contact.phone,
        parent_name="Ana Souza",
        child_name="Pedro",
        start=START + dt.timedelta(days=1),
        end=START + dt.timedelta(days=1, hours=1),
    )

    services.reschedule_appointment(
        appointment=appointment,
        start=START + dt.timedelta(days=2, hours=2),
        changed_by=None,
        notify_family=True,
        now=NOW,
    )
    first = send_reminders(now=NOW)
    services.reschedule_appointment(
        appointment=appointment,
        start=START + dt.timedelta(days=3),
        changed_by=None,
        notify_family=True,
        now=NOW + dt.timedelta(minutes=5),
    )
    second = send_reminders(now=NOW + dt.timedelta(minutes=5))
    services.reschedule_appointment(
        appointment=appointment,
        start=START + dt.timedelta(days=3, hours=1),
        now=NOW + dt.timedelta(minutes=6),
    )  # the chat's own move: no notice
    third = send_reminders(now=NOW + dt.timedelta(minutes=6))

    bodies = list(
        Message.objects.filter(direction="out").order_by("pk").values_list("body", "meta__reminder_kind")
    )
    assert (first, second, third) == (1, 1, 0)
    assert bodies == [
        (
            "Olá, Ana! A equipe da Kumon Centro remarcou a visita do(a) Pedro para quarta 09/12 às 16h (Rua A, 1).\n"
            "Responda:\n1 - confirmo\n2 - preciso remarcar",
            "rescheduled",
        ),
        (
            "Olá, Ana! A equipe da Kumon Centro remarcou a visita do(a) Pedro para quinta 10/12 às 14h (Rua A, 1).\n"
            "Responda:\n1 - confirmo\n2 - preciso remarcar",
            "rescheduled",
        ),
    ]
    assert list(appointment.reminders.filter(kind="rescheduled").values_list("status", "attempts")) == [
        ("sent", 1)
    ]
