"""What the conversations app does when a lower app signals something (connected in apps.py)."""

from __future__ import annotations

from typing import Any

from conversations.understanding.intents import model
from kumon.queue import publish


def build_engine_models(**_: Any) -> None:
    """celery worker_init: once, in the worker's main process before it forks its pool, so the
    pool processes inherit the intent model (copy-on-write) instead of each building it in its
    first turn — seconds of CPU that, on a loaded machine, ran past the turn's 60 s soft time
    limit (fault tests). Reads files only; no database connection is opened."""
    model()


def send_due_reminders_now(sender: Any, **kwargs: Any) -> None:
    """scheduling.reminders.reminders_due (after commit): send the due reminders now."""
    publish("conversations.send_due_reminders")
