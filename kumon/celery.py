"""The Celery app. Broker: Redis (REDIS_URL). Every periodic job is listed here, in one place."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kumon.settings")

app = Celery("kumon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat schedule: names are the tasks' stable names.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "heartbeat": {"task": "kumon.heartbeat", "schedule": 60.0},
    "conversations.send_due_reminders": {"task": "conversations.send_due_reminders", "schedule": 60.0},
    "conversations.send_due_followups": {"task": "conversations.send_due_followups", "schedule": 60.0},
    "scheduling.resync_calendars": {"task": "scheduling.resync_calendars", "schedule": 600.0},
    "scheduling.purge_expired_holds": {"task": "scheduling.purge_expired_holds", "schedule": 3600.0},
    "knowledge-reindex-stale": {"task": "knowledge.reindex_stale", "schedule": 300.0},
    "due-turns": {"task": "conversations.run_due_turns", "schedule": 2.0},
    "expire-conversations": {"task": "conversations.expire_idle", "schedule": 300.0},
    "whatsapp-sweep-stuck": {"task": "whatsapp.sweep_stuck_messages", "schedule": 15.0},
    "whatsapp-sweep-inbound-events": {"task": "whatsapp.sweep_inbound_events", "schedule": 15.0},
    "release-idle-handoffs": {"task": "conversations.release_idle_handoffs", "schedule": 60.0},
}
app.conf.beat_schedule = BEAT_SCHEDULE


@signals.before_task_publish.connect
def _propagate_correlation_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    from kumon.logging import correlation_id  # noqa: PLC0415 -- kumon.logging reads settings: not at Celery app creation

    if headers is not None and "kumon_correlation_id" not in headers:
        headers["kumon_correlation_id"] = correlation_id.get()


@signals.task_prerun.connect
def _adopt_correlation_id(task: Any = None, **_: Any) -> None:
    from kumon.logging import correlation_id, new_correlation_id  # noqa: PLC0415 -- kumon.logging reads settings: not at Celery app creation

    incoming = getattr(task.request, "kumon_correlation_id", None) if task else None
    correlation_id.set(incoming if incoming and incoming != "-" else new_correlation_id())


@signals.setup_logging.connect
def _use_django_logging(**_: Any) -> None:
    # Keep Django's LOGGING (JSON, masking) in the worker instead of Celery's own handlers.
    import logging.config  # noqa: PLC0415 -- configured once the worker's Django is set up

    from django.conf import settings  # noqa: PLC0415 -- configured once the worker's Django is set up

    logging.config.dictConfig(settings.LOGGING)
