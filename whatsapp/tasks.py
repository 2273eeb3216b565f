"""Celery tasks of the channel: load by id, call one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from whatsapp import services


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
