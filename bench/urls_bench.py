"""Bench-only URLconf (ROOT_URLCONF=bench.urls_bench, set only by bench/webhook_ingest.py):
every production route, plus two reference views served by the same gunicorn and settings.

- `bench/ok`: a bare Django view returning 200 (the ceiling of the stack: middleware + WSGI);
- `bench/minimal-webhook`: what any webhook must do at least — parse the same JSON, one
  INSERT … ON CONFLICT DO NOTHING into a scratch table (autocommit = one commit), one Redis LPUSH.
"""

from __future__ import annotations

import json

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

SCRATCH_TABLE = "bench_minimal_webhook"
_redis = redis.Redis.from_url(settings.REDIS_URL)


@csrf_exempt
def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csrf_exempt
def minimal_webhook(request: HttpRequest) -> JsonResponse:
    payload = json.loads(request.body)
    key = payload["data"]["key"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SCRATCH_TABLE} (provider_id, phone, body) VALUES (%s, %s, %s) "
            "ON CONFLICT (provider_id) DO NOTHING",
            [key["id"], key["remoteJid"], payload["data"]["message"].get("conversation", "")],
        )
    _redis.lpush("bench:minimal", key["id"])
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/ok", ok),
    path("bench/minimal-webhook", minimal_webhook),
    path("", include("kumon.urls")),
]
