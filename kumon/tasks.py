from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="kumon.heartbeat", acks_late=True)
def heartbeat() -> str:
    """Beat's liveness signal: a worker that runs it is consuming the queue."""

    now = timezone.now().isoformat()
    cache.set("kumon:heartbeat", now, timeout=600)
    return now
