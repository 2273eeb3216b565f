"""What the conversations app does when a lower app signals something (connected in apps.py)."""

from __future__ import annotations

from typing import Any

from conversations import proactive
from conversations.models import Message
from conversations.understanding.intents import model
from kumon.queue import publish
from scheduling import services as scheduling_services
from scheduling.models import Reminder

# The meta kinds conversations.reminders gives the messages of a reminder row.
REMINDER_KINDS = frozenset({"reminder", "no_show"})


def build_engine_models(**_: Any) -> None:
    """celery worker_init: once, in the worker's main process before it forks its pool, so the
    pool processes inherit the intent model (copy-on-write) instead of each building it in its
    first turn — seconds of CPU that, on a loaded machine, ran past the turn's 60 s soft time
    limit (fault tests). Reads files only; no database connection is opened."""
    model()


def send_due_reminders_now(sender: Any, **kwargs: Any) -> None:
    """scheduling.reminders.reminders_due (after commit): send the due reminders now."""
    publish("conversations.send_due_reminders")


def report_send_failure(
    sender: Any, *, message_id: int, status: str, reason: str, kind: str, **_: Any
) -> None:
    """conversations.signals.send_failed: the row the message was sent for says why it did not go
    (a reminder in the admin, a follow-up), with the channel's reason."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        return
    reminder_id = (message.meta or {}).get("reminder_id")
    if kind in REMINDER_KINDS and reminder_id:
        reminder = Reminder.objects.filter(pk=reminder_id).first()
        if reminder is not None:
            scheduling_services.mark_reminder_failed(reminder=reminder, error=f"WhatsApp: {reason}")
    proactive.report_message_outcome(message=message, status=status, reason=reason)
