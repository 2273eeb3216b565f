"""The one way to put work on the queue: a task by its name, after the transaction commits.

By name, not by importing the task: a service never imports its app's tasks module (which
imports the services), so there is no import cycle, and an app can start work of a lower one
without importing it. After commit: a worker must find the rows the task is about.

A broker outage never fails the caller (a webhook, a booking, an admin save): the row is stored
and the beat sweeper of its kind re-enqueues it (turns, sends, calendar syncs, indexing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(
    task_name: str,
    *,
    countdown: float | None = None,
    if_refused: Callable[[], object] | None = None,
    **kwargs: Any,
) -> None:
    """Publish `task_name(**kwargs)` once the current transaction commits (at once outside one),
    `countdown` seconds later if given. `if_refused`: called instead when the broker refused the
    publish (the webhook does the task's work itself then: whatsapp.ingest)."""

    def publish_or_fall_back() -> None:
        if not publish(task_name, countdown=countdown, **kwargs) and if_refused is not None:
            if_refused()

    transaction.on_commit(publish_or_fall_back)


def publish(task_name: str, *, countdown: float | None = None, **kwargs: Any) -> bool:
    """Publish now (a sweeper outside any transaction). Returns False, logged, when the broker
    refused it: the caller's sweeper tries again on its next run."""
    try:
        current_app.send_task(task_name, kwargs=kwargs, countdown=countdown or None)
    except Exception as exc:  # broker down: the beat sweepers repair it
        logger.warning("could not enqueue %s %s: %s", task_name, kwargs, type(exc).__name__)
        return False
    return True
