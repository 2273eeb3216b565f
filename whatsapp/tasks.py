"""Celery tasks of the channel: load by id, call one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from whatsapp import ingest, services


@shared_task(
    name="whatsapp.send_message",
    bind=True,
    acks_late=True,
    soft_time_limit=100,
    time_limit=120,
    max_retries=None,
)
def send_message(self: Any, *, message_id: int) -> str:
    """Deliver one outbound message, then the later parts of the same reply, in order.
    Idempotent: only a `queued` row is claimed, so a redelivered or duplicated task sends
    nothing twice. Transient errors come back with the backoff the service chose (attempts are
    counted on the row, not here); the retry resumes at the part that failed."""
    progress = services.send_reply(message_id=message_id)
    if progress.error is not None:
        # A deadlock or a dropped connection: that part is retried a few times; a claim left
        # behind is repaired by the sweeper (re-queued, or failed if the provider call had started).
        if self.request.retries >= 5:
            raise progress.error
        raise self.retry(
            exc=progress.error, countdown=1 + self.request.retries, kwargs={"message_id": progress.pending}
        ) from progress.error
    if progress.pending is not None:
        # The retry resumes at the part that must wait, with the backoff its send chose.
        raise self.retry(
            countdown=progress.retry_in, max_retries=None, kwargs={"message_id": progress.pending}
        )
    return progress.status


@shared_task(name="whatsapp.sweep_stuck_messages", acks_late=True)
def sweep_stuck_messages() -> dict[str, int]:
    """Beat: re-enqueue outbound messages whose task was lost; fail claims of lost workers."""
    result = services.sweep_stuck_messages()
    return {"requeued": result.requeued, "reclaimed": result.reclaimed, "abandoned": result.abandoned}


@shared_task(
    name="whatsapp.record_events",
    bind=True,
    acks_late=True,
    soft_time_limit=30,
    time_limit=45,
    max_retries=5,
)
def record_events(self: Any, *, event_ids: list[int]) -> int:
    """Turn inbound events into contacts, conversations, messages and due turns: every pending
    event of these events' contacts, in order per contact. Idempotent: a redelivered task finds
    them done and records nothing. Database hiccups (deadlock, dropped connection) are retried
    with backoff; past the retries the sweeper publishes the events again."""
    try:
        return ingest.record_events(event_ids=event_ids)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(name="whatsapp.sweep_inbound_events", acks_late=True)
def sweep_inbound_events() -> dict[str, int]:
    """Beat: publish again the inbound events whose publish or task was lost; purge old done ones."""
    result = ingest.sweep_inbound_events()
    return {"published": result.published, "purged": result.purged}
