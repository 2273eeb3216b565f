"""Celery tasks of scheduling: load by id, call one function. Stable names."""

from __future__ import annotations

import datetime as dt
import logging
import random

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from kumon.queue import publish
from scheduling import calendars, services
from scheduling.client import TransientError
from scheduling.models import Appointment

log = logging.getLogger(__name__)


def _backoff(retries: int) -> float:
    base = settings.GOOGLE_CALENDAR_RETRY_SECONDS
    # At most 10 min (×1.2): a countdown is held unacknowledged by the worker, and one longer than
    # the broker's visibility timeout (kumon/settings.py) would be delivered twice; the beat job
    # resync_calendars picks up what is still pending after the retries anyway.
    return min(500.0, base * (2**retries)) * random.uniform(0.8, 1.2)


@shared_task(name="scheduling.sync_appointment", bind=True, acks_late=True, max_retries=8)
def sync_appointment(self, *, appointment_id: int) -> str:  # type: ignore[no-untyped-def]
    """Push one appointment to its unit's calendar. Idempotent (deterministic event id, and a
    synced row is simply written again); transient errors retry with backoff, then the beat
    job `scheduling.resync_calendars` takes over."""
    appointment = Appointment.objects.filter(pk=appointment_id).first()
    if appointment is None:
        log.info("sync_appointment: appointment %s is gone", appointment_id)
        return "missing"
    try:
        return calendars.sync_appointment_calendar(appointment=appointment)
    except TransientError as exc:
        log.warning("sync_appointment %s: %s (retry %s)", appointment_id, exc, self.request.retries)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(name="scheduling.resync_calendars")
def resync_calendars(*, limit: int = 200) -> int:
    """Beat: re-enqueue appointments whose calendar sync is still pending (Google was down, the
    broker lost the task). Rows changed in the last 2 minutes are left to their own task."""
    quiet = timezone.now() - dt.timedelta(minutes=2)
    ids = list(
        Appointment.objects.filter(calendar_sync_status=calendars.SyncStatus.PENDING, changed_at__lt=quiet)
        .order_by("changed_at")
        .values_list("pk", flat=True)[:limit]
    )
    for appointment_id in ids:
        if not publish("scheduling.sync_appointment", appointment_id=appointment_id):
            break  # broker down: the next run tries again
    return len(ids)


@shared_task(name="scheduling.purge_expired_holds")
def purge_expired_holds() -> int:
    """Beat: expired holds already count for nothing; this only keeps the table small."""
    return services.purge_expired_holds()
