"""Test support shared by every app's tests: a real Celery worker process, polling, and the
HTTP server the fakes of the network boundary run on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
# Every queue of CELERY_TASK_ROUTES plus the default: what the Procfile's worker consumes.
ALL_QUEUES = "celery,inbound,outbound,embeddings"


class FakeServer(ThreadingHTTPServer):
    """A local fake of a provider's HTTP API (Evolution, Meta, OpenAI, Google), on a free port.

    A client that hung up (a worker's request timed out, the worker was stopped) is not an
    error worth a traceback: on Python 3.11 formatting one in a server thread runs ast.parse
    (the caret anchors), whose recursion counter is shared by every thread, and the test
    running in the main thread died with "SystemError: AST constructor recursion depth
    mismatch" (CPython gh-106905)."""

    daemon_threads = True

    def __init__(self, handler: type) -> None:
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class WaitTimeout(AssertionError, TimeoutError):
    """A wait_for condition not met in time: a failed assertion to a test, a timeout to a bench."""


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    what: str = "",
    tolerate: tuple[type[Exception], ...] = (),
) -> Any:
    """Poll until `predicate()` is truthy; return its value or raise WaitTimeout. An exception of
    `tolerate` counts as not yet (a server still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except tolerate:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeout(f"{what or 'condition'} not met within {timeout}s")
        time.sleep(interval)


def database_url_for_tests() -> str:
    """A URL for the test database (the one pytest-django created), for child processes."""
    params = connection.get_connection_params()
    host = params.get("host") or ""
    name = settings.DATABASES["default"]["NAME"]
    user = params.get("user") or "postgres"
    password = params.get("password") or ""
    port = params.get("port") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgres://{auth}/{name}?host={host}" + (f"&port={port}" if port else "")
    return f"postgres://{auth}{host}:{port or 5432}/{name}"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="kumon.settings_test",
        DATABASE_URL=database_url_for_tests(),
        SECRET_KEY=settings.SECRET_KEY,
        HTTPS_ONLY="0",
        TEST_REDIS_URL=settings.REDIS_URL,
        CONN_MAX_AGE="0",
        PYTHONUNBUFFERED="1",
        # Children put every task on "celery": whatsapp/tests/stack.py's QueueWorker consumes one
        # queue (see CELERY_TASK_ROUTES). WorkerProcess consumes all queues either way.
        CELERY_QUEUE_ROUTING="0",
    )
    env.update(extra)
    return env


def worker_command(*, queues: str, concurrency: int, name: str, heartbeat: bool = False) -> list[str]:
    """The argv of a test's Celery worker: the queues given, no gossip or mingle (a test's worker
    talks to no other), heartbeats only where a test needs them."""
    return [
        sys.executable, "-m", "celery", "-A", "kumon", "worker", "-l", "info", "-Q", queues,
        "-c", str(concurrency), "--without-gossip", "--without-mingle",
        *([] if heartbeat else ["--without-heartbeat"]), "-n", name,
    ]  # fmt: skip


class WorkerProcess:
    """`celery worker` as a child process against the test database and test Redis."""

    def __init__(self, *, concurrency: int = 2, env: dict[str, str] | None = None) -> None:
        self.concurrency = concurrency
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = BASE_DIR / ".local" / f"test-worker-{os.getpid()}.log"

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            worker_command(
                queues=ALL_QUEUES,
                concurrency=self.concurrency,
                name=f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ),
            cwd=BASE_DIR,
            env=child_env(**self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        from kumon.celery import app  # noqa: PLC0415 -- the Celery app needs Django settings, set up by the caller

        def ready() -> bool:
            assert self.running, f"worker exited, see {self.log_path}"
            return bool(app.control.ping(timeout=0.5))

        wait_for(ready, timeout=60, interval=0.2)
        return self

    def restart(self, *, env: dict[str, str] | None = None) -> WorkerProcess:
        """Stop, then start again with `env` (e.g. a language model configured)."""
        self.stop()
        self.env = env or {}
        return self.start()

    @property
    def running(self) -> bool:
        return bool(self.proc and self.proc.poll() is None)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.running:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.running:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def flush_test_redis() -> None:
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def queues_idle(client: redis.Redis, queues: str = ALL_QUEUES) -> bool:
    """No task waiting in a queue and none taken by a worker (every task is `acks_late`, so a
    task being run stays in kombu's `unacked` hash until it finishes). With `queues` other than
    every queue, only the tasks taken from those count (kombu keeps [message, exchange, routing
    key] per unacked task; a queue's routing key is its name)."""
    names = queues.split(",")
    pipe = client.pipeline()
    for queue in names:
        pipe.llen(queue)
    if queues == ALL_QUEUES:
        pipe.hlen("unacked")
    else:
        pipe.hvals("unacked")
    *lengths, unacked = pipe.execute()
    if queues != ALL_QUEUES:
        unacked = sum(1 for value in unacked if json.loads(value)[2] in names)
    return not any(lengths) and not unacked


def wait_until_drained(
    *, queues: str = ALL_QUEUES, timeout: float = 15.0, what: str = "", broker_url: str = ""
) -> None:
    """Wait for the event that proves the workers are done with what the test started: no task
    of `queues` waiting, held for a later retry (countdown) or running. Raises WaitTimeout.
    Idle at two looks in a row: a worker takes a message (BRPOP) and records it unacked in a
    second command, and one look can fall between the two. `broker_url`: a test's own Redis."""
    client = redis.Redis.from_url(broker_url or settings.REDIS_URL)
    looks = [0]

    def drained() -> bool:
        looks[0] = looks[0] + 1 if queues_idle(client, queues) else 0
        return looks[0] >= 2

    wait_for(drained, timeout=timeout, what=what or f"queues {queues} drained")


def wait_until_queues_idle(timeout: float = 30.0) -> bool:
    """Wait for the worker to finish what the test started. A task held back for a later retry
    (countdown) keeps the queues busy; after `timeout` the caller goes on regardless."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        wait_for(lambda: queues_idle(client), timeout=timeout, interval=0.05)
    except AssertionError:
        return False
    except redis.RedisError:
        return False  # a test stopped Redis: nothing can be running
    return True
