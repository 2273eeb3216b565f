"""Reminder rows of appointments: scheduled with the appointment, claimed by the beat task that
sends them (conversations.reminders), and marked sent / failed / skipped with the reason.

A row, not an ETA task: work due far ahead lives in the database, where the admin shows it and
a lost task cannot lose it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from scheduling.models import Appointment, Reminder, UnitBookingOptions

# Sent after commit when a reminder became due now (a visit moved): whoever sends reminders
# connects to it (conversations.receivers), so the family hears at once, not at the next minute.
reminders_due = Signal()


def claim_due_reminders(*, now: dt.datetime | None = None, limit: int = 100) -> list[Reminder]:
    """Claim up to `limit` due reminders for sending; returns them, marked `sending`.

    Rows locked by a concurrent claim are skipped (two beat ticks never claim one row). Rows
    left `sending` for 10 minutes by a crashed worker are claimed again: sending and marking
    sent are one transaction (conversations.reminders), so such a row sent nothing.
    Due reminders of cancelled (or otherwise not live) appointments, of opted-out contacts and
    of visits already started are marked skipped with the reason instead.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(minutes=10)
    claimed: list[Reminder] = []
    with transaction.atomic():
        rows = list(
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("appointment", "appointment__unit", "appointment__contact")
            .filter(due_at__lte=now)
            .filter(
                Q(status=Reminder.Status.PENDING) | Q(status=Reminder.Status.SENDING, claimed_at__lt=stale)
            )
            .order_by("due_at")[:limit]
        )
        for reminder in rows:
            reason = _skip_reason(reminder, now=now)
            if reason:
                reminder.status = Reminder.Status.SKIPPED
                reminder.last_error = reason
                reminder.save(update_fields=["status", "last_error"])
                continue
            reminder.status = Reminder.Status.SENDING
            reminder.attempts += 1
            reminder.claimed_at = now
            reminder.save(update_fields=["status", "attempts", "claimed_at"])
            claimed.append(reminder)
    return claimed


def mark_reminder_sent(
    *, reminder: Reminder, message_id: int | None = None, now: dt.datetime | None = None
) -> Reminder:
    """The reminder's message is queued for WhatsApp. Only a `sending` row changes.
    Call it in the transaction that stored the message."""
    now = now or timezone.now()
    Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.SENDING).update(
        status=Reminder.Status.SENT, sent_at=now, message_id=message_id, last_error=""
    )
    reminder.refresh_from_db()
    return reminder


def mark_reminder_failed(*, reminder: Reminder, error: str) -> Reminder:
    """The reminder could not be sent; the reason shows in the admin. Also for a `sent` one
    whose WhatsApp message failed later (the channel reports it with the provider's reason)."""
    Reminder.objects.filter(
        pk=reminder.pk, status__in=[Reminder.Status.SENDING, Reminder.Status.SENT]
    ).update(status=Reminder.Status.FAILED, last_error=error[:500])
    reminder.refresh_from_db()
    return reminder


def mark_reminder_skipped(*, reminder: Reminder, reason: str) -> Reminder:
    Reminder.objects.filter(
        pk=reminder.pk, status__in=[Reminder.Status.SENDING, Reminder.Status.PENDING]
    ).update(status=Reminder.Status.SKIPPED, last_error=reason[:500])
    reminder.refresh_from_db()
    return reminder


def _skip_reason(reminder: Reminder, *, now: dt.datetime) -> str:
    appointment = reminder.appointment
    contact = appointment.contact
    if contact is not None and contact.opted_out_at is not None:
        return "contact opted out"
    if reminder.kind == Reminder.NO_SHOW:
        if appointment.status != Appointment.Status.NO_SHOW:
            return f"appointment {appointment.status}"
        return ""
    if appointment.status == Appointment.Status.CANCELLED:
        return "appointment cancelled"
    if appointment.status not in Appointment.LIVE:
        return f"appointment {appointment.status}"
    if appointment.start <= now:
        return "visit already started"
    return ""


def schedule_reminders(appointment: Appointment, *, now: dt.datetime) -> None:
    """(Called inside the appointment services' transactions.) One reminder per offset before the visit; moved and re-armed when the visit moves. An
    offset already past at booking time is not created (or is skipped if it existed)."""
    for hours in settings.REMINDER_OFFSETS_HOURS:
        kind = f"{hours:g}h"
        due = appointment.start - dt.timedelta(hours=hours)
        if due <= now:
            Reminder.objects.filter(
                appointment=appointment, kind=kind, status=Reminder.Status.PENDING
            ).update(status=Reminder.Status.SKIPPED, last_error="visit booked after this reminder was due")
            continue
        Reminder.objects.update_or_create(
            appointment=appointment,
            kind=kind,
            defaults={
                "due_at": due,
                "status": Reminder.Status.PENDING,
                "last_error": "",
                "sent_at": None,
                "claimed_at": None,
                "message_id": None,
            },
        )


def schedule_rescheduled_notice(appointment: Appointment, *, now: dt.datetime) -> None:
    """(Inside reschedule_appointment's transaction.) The family's "your visit moved" message, due
    now; moving the visit again re-arms the same row with the newest time. `reminders_due` is sent
    after commit so the sender (in conversations, which scheduling never imports) sends it at
    once; beat's minute tick is the fallback when the broker is down."""
    Reminder.objects.update_or_create(
        appointment=appointment,
        kind=Reminder.RESCHEDULED,
        defaults={
            "due_at": now,
            "status": Reminder.Status.PENDING,
            "last_error": "",
            "sent_at": None,
            "claimed_at": None,
            "message_id": None,
            "attempts": 0,
        },
    )
    transaction.on_commit(lambda: reminders_due.send(sender=Reminder), robust=True)


def schedule_no_show_followup(appointment: Appointment, *, now: dt.datetime) -> None:
    options = UnitBookingOptions.objects.filter(unit=appointment.unit).first()
    enabled = settings.NO_SHOW_FOLLOWUP and (options is None or options.no_show_followup)
    if not enabled:
        return
    hour = options.no_show_followup_hour if options else 10
    tz = ZoneInfo(appointment.unit.timezone)
    next_day = appointment.start.astimezone(tz).date() + dt.timedelta(days=1)
    due = dt.datetime.combine(next_day, dt.time(hour), tzinfo=tz)
    Reminder.objects.get_or_create(
        appointment=appointment, kind=Reminder.NO_SHOW, defaults={"due_at": max(due, now)}
    )


def defer_reminder(*, reminder: Reminder, until: dt.datetime, reason: str) -> Reminder:
    """A claimed reminder that must wait (staff are talking with the family): back to pending,
    due again at `until`, the reason shown. A visit that starts meanwhile skips it at the claim."""
    Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.SENDING).update(
        status=Reminder.Status.PENDING, due_at=until, last_error=reason[:500]
    )
    reminder.refresh_from_db()
    return reminder


def retry_reminder(*, reminder: Reminder, now: dt.datetime | None = None) -> Reminder:
    """Staff: send a failed reminder again at the next beat tick (it is skipped if no longer
    relevant)."""
    Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.FAILED).update(
        status=Reminder.Status.PENDING, due_at=now or timezone.now(), last_error=""
    )
    reminder.refresh_from_db()
    return reminder
