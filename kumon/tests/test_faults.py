"""Fault tests (issue #8): the things that break WhatsApp bots in practice, against the real
pieces — gunicorn, Celery workers, a private redis-server, Postgres — with only the network
boundary faked (whatsapp/tests/fakes.py, conversations/tests/fake_openai.py).

Run alone with `pytest -m fault`. Each test is bounded (wait_for timeouts, pytest-level
deadlines); the stack tests use whatsapp/tests/stack.py, so the shared Redis on :6379 and the
session's worker are never involved. Sizes scale with FAULT_SCALE (default 1.0 → the figures of
the tests' names are reduced where noted, to keep the module under ~4 minutes on 2 cores).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from conversations.models import Conversation, Message
from kumon.models import Contact
from kumon.testing import BASE_DIR, wait_for
from kumon.tests.factories import MembershipFactory, UnitFactory, UserFactory
from whatsapp.tests.stack import QueueWorker, RedisServer, WebServer

pytestmark = pytest.mark.fault

PAYLOADS = BASE_DIR / "whatsapp" / "tests" / "payloads"
SECRET = "fault-webhook-secret-7d1e9c"
INSTANCE = "kumon-faults"
META_SECRET = "fault-meta-app-secret-44aa"
SCALE = float(os.environ.get("FAULT_SCALE", "1"))
# Every parent phone of this module starts with this; the log scan looks for them.
PHONE_PREFIX = "55119861"


def phone(i: int) -> str:
    return f"{PHONE_PREFIX}{i:05d}"


def envelope(message_id: str, number: str, text: str = "Quanto custa a mensalidade?") -> bytes:
    body = json.loads((PAYLOADS / "evolution_messages_upsert_text.json").read_text())
    body["instance"] = INSTANCE
    body["data"]["key"].update(id=message_id, remoteJid=f"{number}@s.whatsapp.net")
    body["data"]["key"].pop("remoteJidAlt", None)
    body["data"]["message"]["conversation"] = text
    return json.dumps(body).encode()


def post_all(url: str, bodies: list[bytes], *, concurrency: int = 16, timeout: float = 20) -> list[int]:
    """POST every body to the Evolution webhook concurrently; the statuses in order."""
    with httpx.Client(base_url=url, timeout=timeout, limits=httpx.Limits(max_connections=concurrency)) as http:
        def one(body: bytes) -> int:
            try:
                return http.post("/api/v1/evolution/webhook", content=body,
                                 headers={"Content-Type": "application/json", "X-Webhook-Secret": SECRET}).status_code
            except httpx.HTTPError:
                return 0

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, bodies))


class Beat:
    """What beat does every few seconds, on demand: both sweepers."""

    def __init__(self, broker_url: str) -> None:
        self.app = Celery(broker=broker_url, set_as_current=False)  # never replace current_app

    def sweep(self) -> None:
        self.app.send_task("conversations.run_due_turns")
        self.app.send_task("whatsapp.sweep_stuck_messages")

    def close(self) -> None:
        self.app.close()


def all_answered(expected: int, *, beat: Beat | None = None) -> bool:
    if beat is not None:
        beat.sweep()
    inbound = Message.objects.filter(direction="in")
    if inbound.count() != expected or inbound.exclude(status="handled").exists():
        return False
    out = Message.objects.filter(direction="out", sender="bot")
    answered = set(out.filter(seq=0).values_list("in_reply_to_id", flat=True))
    return len(answered) == expected and not out.filter(status__in=["queued", "sending"]).exists()


def assert_answered_exactly_once(expected: int, *, allow_unknown_outcome: bool = False) -> None:
    """Every inbound message handled; one reply per turn (parts numbered once); each part went
    out once (distinct provider ids)."""
    inbound = list(Message.objects.filter(direction="in").values_list("pk", "status"))
    assert len(inbound) == expected
    assert Counter(status for _, status in inbound) == Counter({"handled": expected})
    out = list(Message.objects.filter(direction="out", sender="bot").values("in_reply_to_id", "seq", "status",
                                                                            "provider_id", "last_error"))
    per_turn: dict[int, list[int]] = {}
    for m in out:
        per_turn.setdefault(m["in_reply_to_id"], []).append(m["seq"])
    # Turns are per conversation: with distinct phones every inbound message is its own turn.
    assert sorted(per_turn) == sorted(pk for pk, _ in inbound)
    assert all(sorted(seqs) == list(range(len(seqs))) for seqs in per_turn.values())
    sent = [m for m in out if m["status"] == "sent"]
    assert len({m["provider_id"] for m in sent}) == len(sent)
    unknown = [m for m in out if m["status"] == "failed" and "outcome unknown" in m["last_error"]]
    assert len(sent) + (len(unknown) if allow_unknown_outcome else 0) == len(out), Counter(m["status"] for m in out)


def stack_env(redis_url: str, **extra: str) -> dict[str, str]:
    return {"TEST_REDIS_URL": redis_url, "WHATSAPP_SWEEP_AFTER_SECONDS": "0", **extra}


@pytest.fixture
def unit(db: None) -> Any:
    return UnitFactory(evolution_instance=INSTANCE, webhook_secret=SECRET)


# --- duplicates -------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_distinct_webhooks_delivered_three_times_concurrently_store_each_once_and_answer_once(unit: Any) -> None:
    # 1,000 in the issue; FAULT_SCALE=3.4 runs that. 300 × 3 deliveries keeps the module bounded.
    n = int(300 * SCALE)
    bodies = [envelope(f"DUP{i:05d}", phone(i)) for i in range(n)] * 3
    random.Random(8).shuffle(bodies)
    with RedisServer() as redis_server:
        env = stack_env(redis_server.url)
        with WebServer(env=env, workers=2, threads=8) as web, QueueWorker(env=env):
            statuses = post_all(web.url, bodies, concurrency=24)
            assert Counter(statuses) == Counter({200: 3 * n})
            assert Message.objects.filter(direction="in").count() == n
            wait_for(lambda: all_answered(n), timeout=60 + n * 0.4, interval=1)
    assert_answered_exactly_once(n)
    assert Contact.objects.count() == n
    assert Conversation.objects.count() == n


# --- broker outage ----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_broker_outage_webhooks_are_stored_then_all_answered_once_after_the_sweepers(unit: Any) -> None:
    n = int(200 * SCALE)
    with RedisServer() as redis_server:
        env = stack_env(redis_server.url)
        with WebServer(env=env, workers=2, threads=8) as web:
            redis_server.kill()
            started = time.monotonic()
            statuses = post_all(web.url, [envelope(f"OUT{i:05d}", phone(1000 + i)) for i in range(n)])
            elapsed = time.monotonic() - started
            assert Counter(statuses) == Counter({200: n})
            assert elapsed < 60, f"{n} webhooks took {elapsed:.0f}s with the broker down (publishing must fail fast)"
            assert Message.objects.filter(direction="in", status="received").count() == n
            assert not Message.objects.filter(direction="out").exists()

            redis_server.start()  # same port: web and worker reconnect
            beat = Beat(redis_server.url)
            try:
                with QueueWorker(env=env):
                    wait_for(lambda: all_answered(n, beat=beat), timeout=60 + n * 0.4, interval=2)
                    for _ in range(2):  # more sweeps after the fact must not answer anyone twice
                        beat.sweep()
                        time.sleep(1)
            finally:
                beat.close()
    assert_answered_exactly_once(n)


# --- worker crash -----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_then_replaced_answers_every_message_exactly_once(unit: Any) -> None:
    n = int(80 * SCALE)
    with RedisServer() as redis_server:
        env = stack_env(redis_server.url)
        with WebServer(env=env, workers=2, threads=8) as web:
            worker = QueueWorker(env=env).start()
            try:
                assert Counter(post_all(web.url, [envelope(f"KIL{i:05d}", phone(2000 + i)) for i in range(n)])) == \
                    Counter({200: n})
                wait_for(lambda: Message.objects.filter(direction="in", status="handled").count() >= n // 4,
                         timeout=60, interval=0.05)
                assert worker.proc is not None
                os.killpg(worker.proc.pid, signal.SIGKILL)  # the main process and its pool, mid-batch
                worker.proc.wait(timeout=10)
                handled_at_kill = Message.objects.filter(direction="in", status="handled").count()
                assert handled_at_kill < n, "the batch finished before the kill: raise n"
            finally:
                worker.stop()
            # The dead worker's leases (turn: 90 s, send claim: 150 s — longer than the task time
            # limits, so a slow live worker is never doubled) would hold its rows that long.
            # Fast-forward them instead of waiting: what follows is the sweepers' repair.
            held_turns = Conversation.objects.filter(turn_lease_until__gt=timezone.now()).update(
                turn_lease_until=timezone.now())
            held_sends = list(Message.objects.filter(direction="out", status="sending"))
            for message in held_sends:
                message.meta = {**(message.meta or {}), "claimed_until": time.time() - 1}
                message.save(update_fields=["meta"])
            print(f"killed with {n - handled_at_kill} turns unanswered, {held_turns} turn leases and "
                  f"{len(held_sends)} send claims held")
            beat = Beat(redis_server.url)
            try:
                with QueueWorker(env=env):
                    wait_for(lambda: all_answered(n, beat=beat), timeout=60 + n * 0.4, interval=2)
            finally:
                beat.close()
    # A reply whose send was cut inside the provider call is failed "outcome unknown" rather
    # than risk a second copy (whatsapp/services.py's policy); none is ever sent twice.
    assert_answered_exactly_once(n, allow_unknown_outcome=True)


# --- gateway flakiness ------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_flaky_gateway_delivers_every_reply_once_and_permanent_errors_fail_with_the_reason(db: None) -> None:
    from whatsapp.tests.fakes import FakeEvolution, Reply

    UnitFactory(evolution_instance=INSTANCE, webhook_secret=SECRET, whatsapp_gateway="evolution")
    n = int(12 * SCALE)
    with FakeEvolution(api_key="fault-evolution-key") as evolution, RedisServer() as redis_server:
        # Half of the calls fail: 500s, and hangs past the read timeout that end in a 503 (the
        # provider did not send; the client cannot know and retries).
        failures = [Reply.server_error() if i % 2 else Reply(503, delay=1.5) for i in range(4 * n)]
        evolution.script(*[r for pair in zip(failures, [Reply()] * len(failures), strict=True) for r in pair])
        env = stack_env(redis_server.url, EVOLUTION_API_URL=evolution.url, EVOLUTION_API_KEY="fault-evolution-key",
                        WHATSAPP_SEND_RETRY_BASE_SECONDS="0.2", WHATSAPP_SEND_RETRY_MAX_SECONDS="1",
                        WHATSAPP_HTTP_READ_TIMEOUT="1", WHATSAPP_SEND_MAX_ATTEMPTS="8",
                        WHATSAPP_SWEEP_AFTER_SECONDS="2")
        beat = Beat(redis_server.url)
        with WebServer(env=env) as web, QueueWorker(env=env, concurrency=4):
            assert set(post_all(web.url, [envelope(f"GW{i:05d}", phone(3000 + i)) for i in range(n)])) == {200}
            # The sweeper is part of the delivery path: Celery gives up after its own retry limit.
            wait_for(lambda: all_answered(n, beat=beat), timeout=120, interval=2)
            beat.close()
            out = list(Message.objects.filter(direction="out", sender="bot"))
            delivered = [r for r in evolution.requests if r.path.startswith("/message/sendText/")]
            statuses_seen = len(delivered)

            # A permanent error: the number is not on WhatsApp → failed at once, with the reason.
            evolution.reset()
            evolution.script(*[Reply.not_on_whatsapp(phone(3999))] * 5)
            assert post_all(web.url, [envelope("GW-PERM", phone(3999))]) == [200]
            failed = wait_for(lambda: Message.objects.filter(direction="out", status="failed",
                                                             conversation__contact__phone=f"+{phone(3999)}").first(),
                              timeout=30)
    assert_answered_exactly_once(n)
    assert statuses_seen > len(out), "the script failed no call"
    sent_texts = Counter((r.json["number"], r.json["text"]) for r in delivered if isinstance(r.json, dict))
    assert sorted(m.provider_id for m in out) == sorted(set(m.provider_id for m in out))
    # Each reply text reached each parent at least once and the provider acknowledged it once.
    assert all(sent_texts[(re.sub(r"\D", "", m.conversation.contact.phone), m.body)] >= 1 for m in out)
    assert "exists" in failed.last_error or "WhatsApp" in failed.last_error, failed.last_error
    assert failed.attempts == 1


# --- LLM flakiness ----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["down", "slow"])
def test_flaky_language_model_every_turn_still_answered_within_the_task_time_limit(unit: Any, mode: str) -> None:
    from conversations.tests.fake_openai import FakeOpenAI

    llm = FakeOpenAI().start()
    llm.mode = mode
    llm.slow_seconds = 10.0  # past OPENAI_TIMEOUT_SECONDS (3 s in its env)
    n = 4
    try:
        with RedisServer() as redis_server:
            env = stack_env(redis_server.url, **llm.env())
            with WebServer(env=env) as web, QueueWorker(env=env):
                started = time.monotonic()
                assert set(post_all(web.url, [envelope(f"LLM{mode}{i}", phone(4000 + i)) for i in range(n)])) == {200}
                wait_for(lambda: all_answered(n), timeout=75, interval=0.5)
                elapsed = time.monotonic() - started
    finally:
        llm.stop()
    from django.conf import settings

    assert_answered_exactly_once(n)
    assert llm.requests, "the worker never called the language model"
    # Two turns at a time (concurrency 2): every one finished well inside the soft time limit.
    assert elapsed < settings.CELERY_TASK_SOFT_TIME_LIMIT * (n / 2)
    replies = Message.objects.filter(direction="out", sender="bot")
    assert all(m.body.strip() for m in replies)
