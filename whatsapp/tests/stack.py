"""A private stack for tests that break things: our own redis-server, a gunicorn web process and
Celery workers pointed at it, all children of the test process and killed in teardown.

Never touches the shared Redis on :6379. Usage (see test_resilience.py):

    with RedisServer() as redis_srv:
        env = {"TEST_REDIS_URL": redis_srv.url}
        with WebServer(env=env) as web, QueueWorker(env=env) as worker:
            httpx.post(web.url + "/api/v1/evolution/webhook", ...)
            redis_srv.kill(); ...; redis_srv.start()

QueueWorker(queue="x") consumes only queue "x": publish with `send_task(..., queue="x")` to
reach it without competing with the session's shared `celery_worker` (queue "celery").
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import redis

from kumon.testing import ALL_QUEUES, BASE_DIR, child_env, wait_for, worker_command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _log(name: str) -> Any:
    path = BASE_DIR / ".local" / f"test-{name}-{os.getpid()}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


class RedisServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def up() -> bool:
            try:
                return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2).ping())
            except redis.RedisError:
                return False

        wait_for(up, timeout=10)
        return self

    def kill(self) -> None:
        _stop(self.proc, signal.SIGKILL)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.kill()


class WebServer:
    """gunicorn serving kumon.wsgi on a free port, with the test database and `env`."""

    def __init__(self, *, env: dict[str, str] | None = None, workers: int = 1, threads: int = 4) -> None:
        self.env = env or {}
        self.port = free_port()
        self.workers, self.threads = workers, threads
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebServer:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "kumon.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(self.threads),
                "--timeout",
                "60",
            ],
            cwd=BASE_DIR,
            env=child_env(**self.env),
            stdout=_log("gunicorn"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def up() -> bool:
            assert self.proc and self.proc.poll() is None, "gunicorn exited (see .local/test-gunicorn-*.log)"
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code < 500
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=30, interval=0.2)
        return self

    def stop(self) -> None:
        _stop(self.proc)

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class QueueWorker:
    """`celery worker` consuming `queue` with `env` (e.g. EVOLUTION_API_URL of a fake)."""

    def __init__(
        self,
        *,
        queue: str = "celery",
        env: dict[str, str] | None = None,
        concurrency: int = 2,
        like_procfile: bool = False,
    ) -> None:
        # like_procfile: the Procfile's worker (every queue with the app's routing, heartbeats
        # on) rather than the lean single-queue test worker.
        self.queue = ALL_QUEUES if like_procfile else queue
        self.env = {"CELERY_QUEUE_ROUTING": "1", **(env or {})} if like_procfile else (env or {})
        self.heartbeat = like_procfile
        self.concurrency = concurrency
        self.name = f"wa-{os.getpid()}-{time.monotonic_ns()}@localhost"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> QueueWorker:
        env = child_env(**self.env)
        self.proc = subprocess.Popen(
            worker_command(
                queues=self.queue, concurrency=self.concurrency, name=self.name, heartbeat=self.heartbeat
            ),
            cwd=BASE_DIR,
            env=env,
            stdout=_log("worker"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        from celery import Celery

        probe = Celery(broker=env.get("CELERY_BROKER_URL") or env["TEST_REDIS_URL"], set_as_current=False)
        try:

            def ready() -> bool:
                assert self.proc and self.proc.poll() is None, "worker exited (see .local/test-worker-*.log)"
                return bool(probe.control.ping(destination=[self.name], timeout=0.5))

            wait_for(ready, timeout=60, interval=0.2)
        finally:
            probe.close()
        return self

    def stop(self) -> None:
        _stop(self.proc, timeout=5)  # then SIGKILL: a test worker holds nothing worth a warm shutdown

    def __enter__(self) -> QueueWorker:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
