"""Shared by the benchmarks in bench/: a throwaway database, the production processes (the
Procfile's own commands), a private Redis, percentiles, tables and results.

Never touches the `kumon` database or the shared Redis on :6379: each run creates its own
database on the embedded server (dropped at the end) and starts a redis-server on a free port.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
LOG_DIR = BASE_DIR / ".local" / "bench"
VENV_BIN = Path(sys.executable).parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from kumon import testing  # noqa: E402  (after the path: the benches run as scripts)

BENCH_SECRET = "bench-webhook-secret-0123456789"
BENCH_INSTANCE = "kumon-bench"
PAYLOAD = BASE_DIR / "whatsapp" / "tests" / "payloads" / "evolution_messages_upsert_text.json"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# SIGTERM (run_all's time limit, a Ctrl-C of make) unwinds like Ctrl-C: every `finally` stops
# the processes this script started and drops its database.
signal.signal(signal.SIGTERM, _interrupt)


# --- numbers and output -----------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def write_results(name: str, results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), **results}
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return path


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "") -> Any:
    """kumon.testing.wait_for, where any error means "not up yet"; raises TimeoutError."""
    return testing.wait_for(predicate, timeout=timeout, interval=interval, what=what, tolerate=(Exception,))


def procfile_command(name: str) -> str:
    """The Procfile's command for `name`: the benchmarks run exactly what production runs."""
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name:
            return command.strip()
    raise KeyError(name)


class Process:
    """A child process in its own session, its output in .local/bench/<name>.log."""

    def __init__(self, name: str, command: str, env: dict[str, str]) -> None:
        self.name, self.command, self.env = name, command, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = LOG_DIR / f"{name}.log"

    def start(self) -> Process:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "PATH": f"{VENV_BIN}:{self.env.get('PATH', os.environ.get('PATH', ''))}"}
        self.proc = subprocess.Popen(
            ["sh", "-c", "exec " + self.command],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


class Redis(Process):
    def __init__(self) -> None:
        self.port = free_port()
        super().__init__(
            "redis", f"redis-server --port {self.port} --bind 127.0.0.1 --save '' --appendonly no", {}
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        super().start()
        import redis

        wait_for(
            lambda: redis.Redis(port=self.port, socket_connect_timeout=0.2).ping(), timeout=10, what="redis"
        )
        return self


# --- the bench database and the production environment ---------------------------------------


def _admin_dsn(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")).replace("postgres://", "postgresql://", 1)


def bench_database_url(name: str) -> str:
    """The URL of database `name` on the embedded server (or BENCH_DATABASE_URL's server)."""
    from kumon.embedded_db import database_url

    assert name != "kumon" and name.startswith("kumon_bench"), name
    base = os.environ.get("BENCH_DATABASE_URL") or database_url()
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def admin_connect(url: str) -> Any:
    """An autocommit connection to the server's `postgres` database (CREATE/DROP DATABASE)."""
    import psycopg

    return psycopg.connect(_admin_dsn(url), autocommit=True)


@contextlib.contextmanager
def bench_database(name: str) -> Iterator[str]:
    """A fresh database `name` on the embedded server (or BENCH_DATABASE_URL's server), dropped
    at the end. Yields its URL."""
    url = bench_database_url(name)
    with admin_connect(url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield url
    finally:
        with admin_connect(url) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def in_process_django(database_url: str) -> None:
    """Point this process's Django at a bench database (before django.setup())."""
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="kumon.settings",
        HTTPS_ONLY="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret"),
        CONN_MAX_AGE="0",
    )


@contextlib.contextmanager
def production_stack(database: str) -> Iterator[tuple[Process, str, Process]]:
    """A private redis-server, bench database `database` with the demo knowledge, and the
    Procfile's web and worker on them. Yields (web, its URL, worker); stops all at the end."""
    redis_server = Redis().start()
    processes: list[Process] = []
    try:
        with bench_database(database) as database_url:
            from django.db import connections

            env = production_env(database_url, redis_server.url)
            setup_django(env)
            migrate_and_seed(knowledge=True)
            connections.close_all()
            try:
                web_process, url = web(env)
                processes.append(web_process)
                worker_process = worker(env)
                processes.append(worker_process)
                yield web_process, url, worker_process
            finally:
                connections.close_all()
                for proc in reversed(processes):  # before the database is dropped
                    proc.stop()
    finally:
        redis_server.stop()


@contextlib.contextmanager
def query_times(width: int = 150) -> Iterator[dict[str, list[float]]]:
    """Milliseconds of every SQL statement run inside, keyed by its first `width` characters."""
    from django.db import connection

    per: dict[str, list[float]] = {}

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            per.setdefault(sql[:width], []).append((time.perf_counter() - started) * 1000)

    with connection.execute_wrapper(wrapper):
        yield per


def production_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The settings of a production deployment, on loopback: DEBUG off, a real SECRET_KEY,
    DATABASE_URL set (so LOCAL is off), no HTTPS redirect (no TLS proxy in front here)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TEST_", "OPENAI_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="kumon.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghijklmnop",
        DEBUG="0",
        HTTPS_ONLY="0",
        ALLOWED_HOSTS="127.0.0.1",
        WHATSAPP_GATEWAY="console",
        CONVERSATION_DEBOUNCE_SECONDS="0",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def setup_django(env: dict[str, str]) -> None:
    """Make this process a Django process on the bench database (to seed and read results)."""
    os.environ.update(
        {
            k: env[k]
            for k in (
                "DJANGO_SETTINGS_MODULE",
                "DATABASE_URL",
                "REDIS_URL",
                "SECRET_KEY",
                "DEBUG",
                "HTTPS_ONLY",
                "ALLOWED_HOSTS",
                "WHATSAPP_GATEWAY",
                "CONVERSATION_DEBOUNCE_SECONDS",
            )
        }
    )
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def migrate_and_seed(*, knowledge: bool = False) -> Any:
    """Migrate the bench database and create the bench unit (Evolution instance + secret);
    with `knowledge`, import the demo FAQ (knowledge/eval/faq.json) so turns answer from it."""
    from django.core.management import call_command

    from kumon.models import Unit

    call_command("migrate", verbosity=0, interactive=False)
    unit, _ = Unit.objects.update_or_create(
        slug="bench",
        defaults={
            "name": "Kumon Bench",
            "evolution_instance": BENCH_INSTANCE,
            "webhook_secret": BENCH_SECRET,
            "timezone": "America/Sao_Paulo",
        },
    )
    if knowledge:
        call_command(
            "knowledge",
            "import",
            str(BASE_DIR / "knowledge" / "eval" / "faq.json"),
            "--unit",
            "bench",
            verbosity=0,
        )
    return unit


def web(env: dict[str, str], *, port: int | None = None, name: str = "gunicorn") -> tuple[Process, str]:
    """The Procfile's web command on a free loopback port; waits for /healthz."""
    import httpx

    port = port or free_port()
    # Steady state: no recycling of workers mid-measurement (the Procfile's --max-requests would
    # restart each worker every few seconds at benchmark rates; a later flag wins in gunicorn).
    command = procfile_command("web").replace("0.0.0.0:", "127.0.0.1:") + " --max-requests 0"
    proc = Process(name, command, {**env, "PORT": str(port)}).start()
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.alive(), f"gunicorn exited, see {proc.log_path}"
        return httpx.get(url + "/healthz", timeout=1).status_code == 200

    wait_for(up, timeout=60, interval=0.2, what="gunicorn")
    return proc, url


def worker(env: dict[str, str], *, name: str = "worker") -> Process:
    """The Procfile's worker command; waits until it answers a ping."""
    proc = Process(name, procfile_command("worker") + f" -n bench-{name}@%h", env).start()
    from celery import Celery

    probe = Celery(broker=env["REDIS_URL"], set_as_current=False)
    try:

        def ready() -> bool:
            assert proc.alive(), f"worker exited, see {proc.log_path}"
            return bool(probe.control.ping(timeout=0.5))

        wait_for(ready, timeout=90, interval=0.3, what="celery worker")
    finally:
        probe.close()
    return proc


def evolution_body(message_id: str, phone: str, text: str | None = None) -> bytes:
    body = json.loads(PAYLOAD.read_text())
    body["instance"] = BENCH_INSTANCE
    body["data"]["key"].update(id=message_id, remoteJid=f"{phone}@s.whatsapp.net")
    body["data"]["key"].pop("remoteJidAlt", None)
    if text is not None:
        body["data"]["message"]["conversation"] = text
    return json.dumps(body).encode()


def children(pid: int) -> list[Any]:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
