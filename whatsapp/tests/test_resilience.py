"""Redis down while webhooks arrive: every webhook is still 200 and stored; once Redis is back
and the sweepers run, every parent is answered, none twice. Runs on a private stack (own
redis-server, gunicorn, worker); the shared Redis is never touched."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from celery import Celery

from conversations.models import Message
from kumon.testing import wait_for, wait_until_drained
from kumon.tests.factories import UnitFactory
from whatsapp.tests.conftest import payload
from whatsapp.tests.stack import QueueWorker, RedisServer, WebServer

SECRET = "s3cret-of-vila-mariana"
PARENTS = ["5511987650001", "5511987650002", "5511987650003"]


def webhook(i: int, phone: str) -> bytes:
    body = payload("evolution_messages_upsert_text.json")
    body["data"]["key"].update(id=f"REDISDOWN{i:04d}", remoteJid=f"{phone}@s.whatsapp.net")
    body["data"]["key"].pop("remoteJidAlt")
    return json.dumps(body).encode()


@pytest.mark.fault
@pytest.mark.django_db(transaction=True)
def test_redis_down_webhooks_are_stored_then_answered_once_after_the_sweepers() -> None:
    UnitFactory(evolution_instance="kumon-vila-mariana", webhook_secret=SECRET)
    with RedisServer() as redis_server:
        env = {"TEST_REDIS_URL": redis_server.url, "WHATSAPP_SWEEP_AFTER_SECONDS": "0"}
        with WebServer(env=env) as web:
            redis_server.kill()
            with httpx.Client(base_url=web.url, timeout=15) as http:
                started = time.monotonic()
                statuses = [
                    http.post(
                        "/api/v1/evolution/webhook",
                        content=webhook(i, phone),
                        headers={"Content-Type": "application/json", "X-Webhook-Secret": SECRET},
                    ).status_code
                    for i, phone in enumerate(PARENTS)
                ]
                elapsed = time.monotonic() - started
            assert statuses == [200, 200, 200]
            # Publishing with the broker down fails fast (no hang): generous bound, not a timing.
            assert elapsed < 10, f"webhooks took {elapsed:.1f}s with Redis down"
            assert Message.objects.filter(direction="in", status="received").count() == 3
            assert Message.objects.filter(direction="out").count() == 0

            redis_server.start()  # same port: the web and worker reconnect
            with QueueWorker(env=env) as _worker:
                beat = Celery(broker=redis_server.url, set_as_current=False)  # never replace current_app
                try:

                    def answered() -> bool:
                        # What beat does every few seconds: both sweepers. The outbound one runs
                        # with a 0 s threshold here, so it re-enqueues messages whose task is
                        # already queued: the claim must still send each once.
                        beat.send_task("conversations.run_due_turns")
                        beat.send_task("whatsapp.sweep_stuck_messages")
                        out = Message.objects.filter(direction="out")
                        done = {m.in_reply_to_id for m in out if m.status == "sent"}
                        return len(done) == 3 and not out.exclude(status="sent").exists()

                    wait_for(answered, timeout=45, interval=0.5)
                    for _ in range(3):
                        beat.send_task("conversations.run_due_turns")
                        beat.send_task("whatsapp.sweep_stuck_messages")
                    # The extra sweeps done (and whatever they enqueued), then the counts.
                    wait_until_drained(broker_url=redis_server.url, timeout=30, what="the extra sweeps done")
                finally:
                    beat.close()

    inbound = list(Message.objects.filter(direction="in").order_by("pk"))
    assert [m.status for m in inbound] == ["handled"] * 3
    out = list(Message.objects.filter(direction="out").order_by("pk"))
    per_turn: dict[int, list[int]] = {}
    for m in out:
        per_turn.setdefault(m.in_reply_to_id, []).append(m.seq)
    # Each parent got one answer (its parts numbered once), each part sent exactly once.
    assert sorted(per_turn) == [m.pk for m in inbound]
    assert all(seqs == list(range(len(seqs))) for seqs in per_turn.values())
    assert [(m.status, m.attempts) for m in out] == [("sent", 1)] * len(out)
    assert len({m.provider_id for m in out}) == len(out)
