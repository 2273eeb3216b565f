"""Rate limits (issue #11 M5): the REST API per user / anonymous client, the webhooks per unit.

All of them count in Redis (the cache) and fail open: with Redis down a webhook must still be
stored (the sweepers answer it later) and the API keeps serving; a limit that cannot be counted
for a moment is a smaller risk than an outage. Admin logins are limited by django-axes instead
(kumon/settings.py AXES_*), in the database.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from rest_framework import throttling

logger = logging.getLogger(__name__)


class _Throttle:
    """DRF's throttle, failing open, its rate from API_THROTTLE_ANON / API_THROTTLE_USER (read
    when DRF makes the throttle, for each request; DRF's own THROTTLE_RATES is bound at import)."""

    scope: str

    def get_rate(self) -> str | None:
        return getattr(settings, f"API_THROTTLE_{self.scope.upper()}", None) or None

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001 -- the cache's error classes depend on its backend
            logger.warning("API throttle not counted (%s): request allowed", type(exc).__name__)
            return True

    def get_ident(self, request: Any) -> str:
        from kumon.security import client_ip  # noqa: PLC0415 -- kumon.security imports the throttles' settings at load

        return client_ip(request) or "unknown"


class AnonRateThrottle(_Throttle, throttling.AnonRateThrottle):
    """Per client address (kumon.security.client_ip: X-Forwarded-For only with TRUSTED_PROXY_COUNT)."""


class UserRateThrottle(_Throttle, throttling.UserRateThrottle):
    """Per signed-in user (per address for anonymous requests)."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until the window ends, when not allowed


_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _clients[url]


def webhook_allowed(*, key: str, now: float | None = None) -> Verdict:
    """Count one webhook of `key` (a unit's instance or Meta number) in the current minute.

    A fixed one-minute window in one round trip (INCR + EXPIRE in a pipeline): cheap enough for
    the webhook's hot path, unlike DRF's per-request timestamp lists. Over
    WEBHOOK_RATE_PER_MINUTE → not allowed, with the seconds left in the minute.
    """
    limit = settings.WEBHOOK_RATE_PER_MINUTE
    if limit <= 0:
        return Verdict(True)
    now = time.time() if now is None else now
    window = int(now // 60)
    counter = f"kumon:throttle:webhook:{key}:{window}"
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.incr(counter)
        pipe.expire(counter, 120)
        count = int(pipe.execute()[0])
    except Exception as exc:  # noqa: BLE001 -- redis-py also raises ValueError (a reply it cannot
        # parse, a buffer closed under it by a dropped connection): a webhook is never lost to it
        logger.warning("webhook throttle not counted (%s): allowed", type(exc).__name__)
        return Verdict(True)
    if count <= limit:
        return Verdict(True)
    return Verdict(False, retry_after=max(1, 60 - int(now % 60)))
