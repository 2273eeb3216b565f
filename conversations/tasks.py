"""Celery tasks of the conversations app: every one of them, each loading by id and calling one
service function (the loops and policies live in the services)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from conversations import handoff, notifications, proactive, reminders, services, turns
from kumon.queue import publish

logger = logging.getLogger(__name__)


@shared_task(
    name="conversations.handle_turn",
    bind=True,
    acks_late=True,
    soft_time_limit=60,
    time_limit=80,
    max_retries=3,
)
def handle_turn(self: Any, *, conversation_id: int) -> int:
    """Answer the conversation's due turn (idempotent: a re-run stores nothing twice).
    Database hiccups (deadlock, dropped connection) are retried with backoff."""
    try:
        return len(turns.answer_turn(conversation_id=conversation_id))
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(name="conversations.expire_idle", acks_late=True)
def expire_idle() -> int:
    """Beat: close idle bot conversations (the lead data stays with the contact)."""
    return services.expire_idle_conversations()


@shared_task(name="conversations.run_due_turns", acks_late=True)
def run_due_turns() -> int:
    """Beat: enqueue every due turn that no worker holds (lost tasks, broker outages, restarts)."""
    ids = turns.due_conversation_ids(now=timezone.now())
    for conversation_id in ids:
        if not publish("conversations.handle_turn", conversation_id=conversation_id):
            break  # broker down: the next sweep tries again
    if ids:  # every 2 s: Celery's own lines about this task are dropped (kumon.logging.QUIET_TASKS)
        logger.info("due-turns sweep enqueued %d turns: %s", len(ids), ids[:20])
    return len(ids)


@shared_task(name="conversations.release_idle_handoffs", acks_late=True, soft_time_limit=50, time_limit=60)
def release_idle_handoffs() -> int:
    """Beat: idle conversations with staff go back to the bot (idempotent: a second run finds none)."""
    return handoff.release_idle_handoffs()


@shared_task(name="conversations.notify_handoff", acks_late=True, soft_time_limit=30, time_limit=45)
def notify_handoff(*, conversation_id: int) -> int | None:
    """Enqueued after a hand-off commits (conversations.turns). Idempotent."""
    message = notifications.notify_handoff(conversation_id=conversation_id)
    return message.pk if message else None


@shared_task(name="conversations.notify_question", acks_late=True, soft_time_limit=30, time_limit=45)
def notify_question(*, conversation_id: int, message_id: int) -> int | None:
    """Enqueued after a turn with unanswered questions commits (conversations.turns). Idempotent."""
    notice = notifications.notify_question(conversation_id=conversation_id, message_id=message_id)
    return notice.pk if notice else None


@shared_task(name="conversations.send_due_reminders", acks_late=True)
def send_due_reminders(*, limit: int = 100) -> int:
    """Beat, every minute (and at once when scheduling says a reminder is due now): send the
    reminders that are due. Returns how many were queued."""
    return reminders.send_reminders(now=timezone.now(), limit=limit)


@shared_task(name="conversations.send_due_followups", acks_late=True)
def send_due_followups() -> int:
    """Beat, every minute: follow-ups that are due. Idempotent (rows are claimed)."""
    return proactive.run_followups(now=timezone.now()).followups
