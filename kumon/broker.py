"""The Celery broker transport: kombu's Redis transport with one repair (issue #11 H1).

A Redis outage under traffic killed the worker with `CRITICAL celery.worker: Unrecoverable error:
AttributeError("'NoneType' object has no attribute 'hostname'")`. The sequence, in celery 5.7.0 /
kombu 5.7.0 (reproduced by kumon/tests/test_faults.py, traceback in the issue notes):

1. the connection loss is first seen on the remote-control (pub/sub) channel while the task
   channel has a BRPOP in flight and a task taken but not yet acknowledged (`acks_late`): the
   worker is busy but not full, which is why it happened under traffic and never idle;
2. `Consumer.on_connection_error_after_connected` calls `connection.collect()`: closing the task
   channel fails at once (reading the BRPOP reply from the dead socket), the other channels are
   not closed, and `collect()` detaches the transport (`transport.client = None`);
3. then — new in celery 5.7.0; 5.6 stopped after `collect()` — it calls `connection.close()`,
   which closes the task channel again: its pools are dropped first, then its unacked task is
   restored, which builds a new pool from `transport.client.hostname` → AttributeError. Celery
   ignores connection errors there, not an AttributeError, so the worker stops.

No released celery/kombu has a fix (5.7.0 is the newest of both), and going back to celery 5.6
would downgrade the shared environment. The repair is the narrowest one: a channel whose
transport has been detached raises the ConnectionError that the situation is (the broker
connection is gone), which every caller handles: the close is ignored, a late ack is logged
("Couldn't ack") and the task is delivered again after the visibility timeout, where it finds its
row done (every acks_late task is idempotent; the sweepers re-enqueue from the rows anyway).
Installed with CELERY_BROKER_TRANSPORT (kumon/settings.py) for redis:// and rediss:// URLs.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    """Also: one publishing client per connection pool (issue #16). kombu builds a new
    `redis.Redis` in every `conn_or_acquire()`, i.e. for every message published: about a fifth
    of a publish's CPU, paid in each webhook. A redis-py client is thread-safe (it takes a
    connection from the pool per command); it is built again when kombu replaces the pool (after
    a reconnect)."""

    _publisher: tuple[Any, Any] | None = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        pool = self.pool
        cached = self._publisher
        if cached is None or cached[0] is not pool:
            cached = self._publisher = (pool, self._create_client())
        yield cached[1]

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport is None or transport.client is None:
            # Detached by Connection.collect() or Transport.close_channel(): there is no broker
            # to build a pool for (see the module docstring).
            raise RedisConnectionError("the broker connection of this channel was already closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel


class SecureTransport(Transport):
    """For rediss:// URLs. Naming a transport class bypasses kombu's scheme check that turns TLS
    on for rediss://, so it is turned on here — verifying the server's certificate, unless the
    URL says otherwise (`?ssl_cert_reqs=none|optional`)."""

    def __init__(self, client: Any, **kwargs: Any) -> None:
        if not client.ssl:
            client.ssl = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
        super().__init__(client, **kwargs)


def transport_for(url: str) -> str | None:
    """The transport class path for a broker URL, or None to let kombu pick by scheme."""
    scheme = url.split("://", 1)[0].lower()
    return {"redis": "kumon.broker:Transport", "rediss": "kumon.broker:SecureTransport"}.get(scheme)
