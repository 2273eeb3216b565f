"""Prometheus metrics: what to watch in production (README "Operating").

Three sources, one `/metrics` page:
- process metrics recorded where things happen: HTTP latency by route (kumon.middleware), Celery
  task duration and failures (the signals below), LLM latency and tokens, embedding latency
  (called by conversations/llm.py and knowledge);
- database state read at scrape time by the collectors apps register
  (`conversations.metrics.DatabaseCollector`): messages of the last 24 h by
  direction and status, send failures, the age of the oldest unanswered inbound message
  (queue lag). The rows are the truth, so every web process reports the same figures and a
  restart loses nothing;
- several processes: with `PROMETHEUS_MULTIPROC_DIR` set (an empty directory per host, shared by
  the gunicorn workers and the Celery worker processes of that host, emptied at start), every
  process writes its samples there and `/metrics` aggregates them (prometheus-client multiprocess
  mode). Without it each process only sees its own samples (fine for one process, tests, dev).
  A worker host without web sets `CELERY_METRICS_PORT` to serve the same aggregate itself.

Protection: `/metrics` answers only `Authorization: Bearer $METRICS_TOKEN`; with no token set,
only requests from loopback (a sidecar or an SSH tunnel) — never the open internet.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from celery import signals
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# Buckets in seconds: webhooks answer in a few ms; the tail matters (providers time out at 5–20 s).
HTTP_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
LLM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0)
EMBED_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

HTTP_LATENCY = Histogram(
    "kumon_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class.",
    ["route", "method", "status"],
    buckets=HTTP_BUCKETS,
)
TASK_DURATION = Histogram(
    "kumon_celery_task_duration_seconds",
    "Run time of a Celery task, by task name and outcome.",
    ["task", "outcome"],
    buckets=TASK_BUCKETS,
)
TASK_FAILURES = Counter(
    "kumon_celery_task_failures",
    "Celery tasks that raised (retries are counted in kumon_celery_task_retries).",
    ["task", "exception"],
)
TASK_RETRIES = Counter("kumon_celery_task_retries", "Celery task retries, by task name.", ["task"])
# Called by conversations/llm.py (latency of one chat/transcription call, tokens by direction
# "input"/"output") and by the embedding service (one encode call).
LLM_LATENCY = Histogram(
    "kumon_llm_request_duration_seconds",
    "Latency of one language-model call, by kind (understand, answer, transcribe) and outcome.",
    ["kind", "outcome"],
    buckets=LLM_BUCKETS,
)
LLM_TOKENS = Counter(
    "kumon_llm_tokens", "Language-model tokens used, by direction (input/output).", ["direction"]
)
LLM_BUDGET_EXHAUSTED = Counter(
    "kumon_llm_budget_exhausted_turns",
    "Turns answered by the rules because the unit spent its daily LLM budget.",
)
EMBEDDING_LATENCY = Histogram(
    "kumon_embedding_duration_seconds",
    "Latency of one embedding call (a query or a batch of chunks).",
    ["kind"],
    buckets=EMBED_BUCKETS,
)


# Collectors of figures read from the rows at scrape time, registered by the apps that own the
# rows (conversations registers its messages collector in its AppConfig.ready): kumon never
# imports an app.
_scrape_collectors: list[Callable[[], Collector]] = []


def register_scrape_collector(factory: Callable[[], Collector]) -> None:
    """Add a collector built at every scrape of `/metrics` (idempotent per factory)."""
    if factory not in _scrape_collectors:
        _scrape_collectors.append(factory)


def _process_registry() -> CollectorRegistry:
    if MULTIPROCESS:
        from prometheus_client import multiprocess  # noqa: PLC0415 -- multiprocess mode only with PROMETHEUS_MULTIPROC_DIR

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def render() -> bytes:
    """The whole exposition: process metrics (all processes of the host in multiprocess mode)
    followed by the database figures."""
    database = CollectorRegistry(auto_describe=False)
    for factory in _scrape_collectors:
        database.register(factory())
    return generate_latest(_process_registry()) + generate_latest(database)


def request_allowed(*, authorization: str | None, remote_addr: str | None, token: str) -> bool:
    """Bearer token when one is configured; otherwise loopback only."""
    if token:
        expected = f"Bearer {token}".encode()
        return hmac.compare_digest((authorization or "").encode(), expected)
    try:
        return ipaddress.ip_address(remote_addr or "").is_loopback
    except ValueError:
        return False


def metrics_view(request: Any) -> Any:
    from django.conf import settings  # noqa: PLC0415 -- the view loads Django's HTTP layer, the metrics module must not (worker import)
    from django.http import HttpResponse, JsonResponse  # noqa: PLC0415 -- the view loads Django's HTTP layer, the metrics module must not (worker import)

    if not request_allowed(
        authorization=request.headers.get("Authorization"),
        remote_addr=request.META.get("REMOTE_ADDR"),
        token=settings.METRICS_TOKEN,
    ):
        return JsonResponse({"error": "forbidden"}, status=403)
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)


# --- Celery: task duration and failures, recorded in the process that runs the task ------------
_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id or "", None)
    if started is not None and task is not None:
        TASK_DURATION.labels(task.name, (state or "unknown").lower()).observe(time.perf_counter() - started)


@signals.task_failure.connect
def _task_failed(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    TASK_FAILURES.labels(getattr(sender, "name", "unknown"), type(exception).__name__).inc()


@signals.task_retry.connect
def _task_retried(sender: Any = None, **_: Any) -> None:
    TASK_RETRIES.labels(getattr(sender, "name", "unknown")).inc()


@signals.worker_ready.connect
def _serve_worker_metrics(**_: Any) -> None:
    """A worker host without web: CELERY_METRICS_PORT serves this host's aggregate."""
    port = int(os.environ.get("CELERY_METRICS_PORT") or 0)
    if not port:
        return
    from prometheus_client import start_http_server  # noqa: PLC0415 -- the worker's own metrics server, started only there

    start_http_server(
        port, addr=os.environ.get("CELERY_METRICS_ADDR", "127.0.0.1"), registry=_process_registry()
    )
    logger.info("worker metrics on port %s", port)
