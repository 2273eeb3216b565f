"""Pacing of proactive sends per WhatsApp number (Evolution): about one message every
`WHATSAPP_PROACTIVE_INTERVAL_SECONDS` with jitter, so a burst of reminders or follow-ups does not
look like a spam run to WhatsApp (numbers on the unofficial API are banned for that).

A reservation in Redis: one atomic script moves the instance's "next free moment" forward and
returns the moment this message may go. The send task waits for it by being retried at that
moment (the row is `queued` with `retry_at`), never by sleeping in a worker. With Redis down the
message goes at once: pacing protects the number, it must not stop reminders.
"""

from __future__ import annotations

import logging
import random

import redis
from django.conf import settings

log = logging.getLogger(__name__)

# KEYS[1] = the instance's key; ARGV = now, interval (both seconds, floats). Returns the
# reserved moment. The key expires soon after the last reservation.
_RESERVE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
redis.call('SET', KEYS[1], tostring(slot + interval), 'EX', math.ceil(slot + interval - now) + 60)
return tostring(slot)
"""

_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _clients[url]


def reserve(*, key: str, now: float) -> float:
    """The epoch second at which the next proactive message of `key` (an instance) may go."""
    base = settings.WHATSAPP_PROACTIVE_INTERVAL_SECONDS
    interval = base * random.uniform(0.8, 1.4)  # jitter: a fixed rhythm looks automated too
    try:
        return float(_redis().eval(_RESERVE, 1, f"kumon:pace:{key}", repr(now), repr(interval)))
    except redis.RedisError as exc:
        log.warning("pacing unavailable (%s): sending at once", type(exc).__name__)
        return now
