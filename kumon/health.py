"""Health endpoints: /healthz (the process answers) and /readyz (it can do its work)."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; the reason is shown
        return f"unreachable: {type(exc).__name__}"
    return None


def _check_migrations() -> str | None:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return f"cannot read migrations: {type(exc).__name__}"
    return f"{len(plan)} unapplied" if plan else None


def _check_redis() -> str | None:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}"
    return None


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database()}
    checks["migrations"] = _check_migrations() if checks["database"] is None else "skipped"
    checks["redis"] = _check_redis()
    failing = {name: problem for name, problem in checks.items() if problem}
    body: dict[str, Any] = {
        "status": "ok" if not failing else "unavailable",
        "checks": {name: problem or "ok" for name, problem in checks.items()},
    }
    if failing:
        body["failing"] = sorted(failing)
    return JsonResponse(body, status=200 if not failing else 503)
