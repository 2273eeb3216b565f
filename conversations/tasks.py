"""Celery tasks of the conversations app: load by id, call one function."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from conversations import turns

logger = logging.getLogger(__name__)


@shared_task(
    name="conversations.handle_turn", bind=True, acks_late=True, soft_time_limit=60, time_limit=80, max_retries=3
)
def handle_turn(self: Any, *, conversation_id: int) -> int:
    """Answer the conversation's due turn (idempotent: a re-run stores nothing twice).
    Database hiccups (deadlock, dropped connection) are retried with backoff."""
    try:
        return len(turns.answer_turn(conversation_id=conversation_id))
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=2 ** self.request.retries) from exc


@shared_task(name="conversations.expire_idle", acks_late=True)
def expire_idle() -> int:
    """Beat: close idle bot conversations (the lead data stays with the contact)."""
    from conversations.services import expire_idle_conversations

    return expire_idle_conversations()


@shared_task(name="conversations.run_due_turns", acks_late=True)
def run_due_turns() -> int:
    """Beat: enqueue every due turn that no worker holds (lost tasks, broker outages, restarts)."""
    ids = turns.due_conversation_ids(now=timezone.now())
    for conversation_id in ids:
        handle_turn.delay(conversation_id=conversation_id)
    if ids:  # every 2 s: Celery's own lines about this task are dropped (kumon.logging.QUIET_TASKS)
        logger.info("due-turns sweep enqueued %d turns: %s", len(ids), ids[:20])
    return len(ids)

# Tasks defined next to their services; imported here so that the worker registers them.
from conversations import handoff, notifications, proactive, reminders  # noqa: E402,F401,I001
