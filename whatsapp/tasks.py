"""Celery tasks of the channel: load by id, call one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from whatsapp import services


@shared_task(
    name="whatsapp.send_message", bind=True, acks_late=True, soft_time_limit=100, time_limit=120, max_retries=None
)
def send_message(self: Any, *, message_id: int) -> str:
    """Deliver one outbound message, then the later parts of the same reply, in order.
    Idempotent: only a `queued` row is claimed, so a redelivered or duplicated task sends
    nothing twice. Transient errors come back with the backoff the service chose (attempts are
    counted on the row, not here); the retry resumes at the part that failed."""
    current: int | None = message_id
    first_status = ""  # what happened to the message this task was given
    while current is not None:
        try:
            outcome = services.send_message(message_id=current)
        except OperationalError as exc:
            # A deadlock or a dropped connection: retried a few times; a claim left behind is
            # repaired by the sweeper (re-queued, or failed if the provider call had started).
            if self.request.retries >= 5:
                raise
            raise self.retry(exc=exc, countdown=1 + self.request.retries, kwargs={"message_id": current}) from exc
        if outcome.status == "retry":
            raise self.retry(countdown=outcome.retry_in, max_retries=None, kwargs={"message_id": current})
        first_status = first_status or outcome.status
        current = services.next_part(message_id=current)
    return first_status


@shared_task(name="whatsapp.sweep_stuck_messages", acks_late=True)
def sweep_stuck_messages() -> dict[str, int]:
    """Beat: re-enqueue outbound messages whose task was lost; fail claims of lost workers."""
    result = services.sweep_stuck_messages()
    return {"requeued": result.requeued, "reclaimed": result.reclaimed, "abandoned": result.abandoned}
