"""The due-turns sweep (beat, every 2 s) writes a log line only when it enqueued a turn (#14: it
was 4,531 of 10,208 lines in 50 minutes); Celery's own lines about it are dropped by the
project's logging configuration, other tasks' lines are kept."""

from __future__ import annotations

import io
import logging

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS
from django.conf import settings
from django.utils import timezone

from conversations.tasks import run_due_turns
from conversations.tests.factories import ConversationFactory
from kumon.logging import QuietSweepsFilter


def _console(stream: io.StringIO) -> logging.Handler:
    """The `console` handler of settings.LOGGING, writing to `stream`, with its filters in order."""
    config = settings.LOGGING
    handler = logging.StreamHandler(stream)
    for name in config["handlers"]["console"]["filters"]:
        spec = dict(config["filters"][name])
        factory = spec.pop("()")
        module, _, attr = factory.rpartition(".")
        handler.addFilter(getattr(__import__(module, fromlist=[attr]), attr)(**spec))
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    return handler


def _celery_lines(task: str, result: object) -> str:
    """What beat and a worker log about one run of `task`, through the project's console handler."""
    stream = io.StringIO()
    handler = _console(stream)
    loggers = [logging.getLogger(n) for n in ("celery.beat", "celery.worker.strategy", "celery.app.trace")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        loggers[0].info("Scheduler: Sending due task %s (%s)", "entry", task)
        loggers[1].info(LOG_RECEIVED, {"id": "abc", "name": task, "args": "()", "kwargs": "{}", "eta": None})
        loggers[2].info(
            LOG_SUCCESS,
            {
                "id": "abc",
                "name": task,
                "return_value": repr(result),
                "runtime": 0.002,
                "args": "()",
                "kwargs": "{}",
            },
        )
        loggers[2].error(
            "Task %(name)s[%(id)s] raised unexpected: %(exc)s", {"name": task, "id": "abc", "exc": "boom"}
        )
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    return stream.getvalue()


def test_celery_lines_of_the_due_turns_sweep_are_dropped_but_its_failures_kept() -> None:
    assert _celery_lines("conversations.run_due_turns", 0).splitlines() == [
        "celery.app.trace: Task conversations.run_due_turns[abc] raised unexpected: boom"
    ]


def test_celery_lines_of_other_tasks_are_kept() -> None:
    assert _celery_lines("conversations.handle_turn", 2).splitlines() == [
        "celery.beat: Scheduler: Sending due task entry (conversations.handle_turn)",
        "celery.worker.strategy: Task conversations.handle_turn[abc] received",
        "celery.app.trace: Task conversations.handle_turn[abc] succeeded in 0.002s: 2",
        "celery.app.trace: Task conversations.handle_turn[abc] raised unexpected: boom",
    ]


def test_quiet_filter_keeps_records_it_does_not_know() -> None:
    record = logging.makeLogRecord(
        {"name": "celery.app.trace", "msg": "something", "args": None, "levelno": 20}
    )
    assert QuietSweepsFilter().filter(record) is True


@pytest.mark.django_db
def test_sweep_logs_only_when_it_enqueued_turns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="conversations.tasks")
    idle = run_due_turns()
    idle_lines = [r.getMessage() for r in caplog.records if r.name == "conversations.tasks"]
    due = ConversationFactory(reply_due_at=timezone.now() - timezone.timedelta(seconds=1))

    busy = run_due_turns()

    lines = [r.getMessage() for r in caplog.records if r.name == "conversations.tasks"]
    assert (idle, idle_lines, busy) == (0, [], 1)
    assert lines == [f"due-turns sweep enqueued 1 turns: [{due.pk}]"]
