"""Sending the reminders scheduling keeps as rows: the beat task claims due ones and turns each
into an outbound WhatsApp message (conversations.services.queue_outbound).

Lives in conversations because a message is a conversation's; scheduling never imports us.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from conversations import services as conversation_services
from conversations.models import Conversation, Message
from kumon.exceptions import DomainError
from scheduling import reminders as scheduling_reminders
from scheduling import selectors, texts
from scheduling.models import Reminder

log = logging.getLogger(__name__)

PAUSE = dt.timedelta(minutes=15)
PAUSED = "paused: staff are talking with the family"


def send_reminders(*, now: dt.datetime, limit: int = 100) -> int:
    sent = 0
    for reminder in scheduling_reminders.claim_due_reminders(now=now, limit=limit):
        try:
            if send_reminder(reminder=reminder, now=now):
                sent += 1
        except Exception as exc:  # one bad row must not stop the batch; its reason shows in the admin
            log.exception("reminder %s could not be sent", reminder.pk)
            scheduling_reminders.mark_reminder_failed(reminder=reminder, error=f"{type(exc).__name__}: {exc}")
    return sent


def send_reminder(*, reminder: Reminder, now: dt.datetime) -> bool:
    """Queue the WhatsApp message of one claimed (`sending`) reminder and mark it sent, in one
    transaction: either both happen or neither (a crashed worker leaves it `sending`, and the
    claim takes it again later without a duplicate message)."""
    appointment = reminder.appointment
    contact = appointment.contact
    if contact is None:
        scheduling_reminders.mark_reminder_failed(reminder=reminder, error="appointment has no contact")
        return False
    open_conversation = (
        Conversation.objects.filter(contact=contact).exclude(mode=Conversation.Mode.CLOSED).first()
    )
    if open_conversation is not None and open_conversation.mode == Conversation.Mode.HUMAN:
        # Staff are talking with the family (admin or the unit's phone): the bot stays quiet;
        # the reminder waits and goes once they hand back (or is skipped when the visit starts).
        scheduling_reminders.defer_reminder(reminder=reminder, until=now + PAUSE, reason=PAUSED)
        return False
    tomorrow: list = []
    if reminder.kind == Reminder.NO_SHOW:
        tomorrow = _slots_today(reminder, now=now)
    body = texts.reminder_body(reminder, tomorrow_slots=tomorrow)
    with transaction.atomic():
        locked = (
            Reminder.objects.select_for_update()
            .filter(pk=reminder.pk, status=Reminder.Status.SENDING)
            .first()
        )
        if locked is None:
            return False  # handled meanwhile by another run
        message = conversation_services.queue_outbound(
            conversation=None,
            contact=contact,
            body=body,
            meta={
                "reminder_id": reminder.pk,
                "kind": "reminder",
                "reminder_kind": reminder.kind,
                "appointment_id": appointment.pk,
            },
        )
        if message.status == Message.Status.SKIPPED:
            scheduling_reminders.mark_reminder_skipped(
                reminder=locked, reason=message.last_error or "not sent"
            )
            return False
        scheduling_reminders.mark_reminder_sent(reminder=locked, message_id=message.pk, now=now)
    return True


def _slots_today(reminder: Reminder, *, now: dt.datetime) -> list:
    """Free slots on the day the no-show message goes out (its "next day"), for the offer."""
    unit = reminder.appointment.unit
    rules = selectors.unit_rules(unit)
    local = now.astimezone(rules.tz)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        return selectors.free_slots(unit=unit, start=day_start, end=day_start + dt.timedelta(days=1), now=now)
    except DomainError:
        return []  # calendar unreadable: the message asks for a day and time instead
