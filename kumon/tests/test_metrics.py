"""/metrics: protected (Bearer token, or loopback when no token is set) and showing what
README "Operating" tells people to watch."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from celery import shared_task
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.tests.factories import ConversationFactory, MessageFactory
from kumon.metrics import EMBEDDING_LATENCY, LLM_LATENCY, LLM_TOKENS


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in an exposition, or None when it is absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        got = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
        if got == wanted:
            return float(match.group(3))
    return None


@pytest.mark.django_db
def test_metrics_without_token_answers_loopback(client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE kumon_http_request_duration_seconds histogram" in response.content.decode()


@pytest.mark.django_db
def test_metrics_without_token_refuses_other_addresses(client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 403
    assert response.json() == {"error": "forbidden"}


@pytest.mark.django_db
def test_metrics_with_token_requires_the_bearer_token_even_on_loopback(client, settings) -> None:
    settings.METRICS_TOKEN = "metrics-token-123"

    missing = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    wrong = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer nope")
    right = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer metrics-token-123")

    assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)


@pytest.mark.django_db
def test_metrics_show_messages_by_status_failures_and_inbound_lag(client) -> None:
    conversation = ConversationFactory()
    old = MessageFactory(conversation=conversation)
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(seconds=90))
    MessageFactory(conversation=conversation)
    MessageFactory(conversation=conversation, status=Message.Status.HANDLED)
    MessageFactory(
        conversation=conversation,
        direction=Message.Direction.OUT,
        sender=Message.Sender.BOT,
        status=Message.Status.SENT,
    )
    MessageFactory(
        conversation=conversation,
        direction=Message.Direction.OUT,
        sender=Message.Sender.BOT,
        status=Message.Status.FAILED,
        last_error="400 not on WhatsApp",
    )
    human = ConversationFactory(mode=Conversation.Mode.HUMAN)
    waiting_for_staff = MessageFactory(conversation=human)
    Message.objects.filter(pk=waiting_for_staff.pk).update(created_at=timezone.now() - dt.timedelta(hours=3))

    text = client.get("/metrics").content.decode()

    assert sample(text, "kumon_messages_last_24h", direction="in", status="received") == 3.0
    assert sample(text, "kumon_messages_last_24h", direction="in", status="handled") == 1.0
    assert sample(text, "kumon_messages_last_24h", direction="out", status="sent") == 1.0
    assert sample(text, "kumon_send_failures_last_24h") == 1.0
    # The oldest received message of a bot conversation (90 s), not the one waiting for staff.
    lag = sample(text, "kumon_inbound_queue_lag_seconds")
    assert lag is not None and 90 <= lag < 150
    assert sample(text, "kumon_metrics_database_up") == 1.0


@pytest.mark.django_db
def test_metrics_inbound_lag_is_zero_when_nothing_waits(client) -> None:
    MessageFactory(status=Message.Status.HANDLED)

    text = client.get("/metrics").content.decode()

    assert sample(text, "kumon_inbound_queue_lag_seconds") == 0.0


@pytest.mark.django_db
def test_metrics_record_request_latency_by_route_pattern(client) -> None:
    before = (
        sample(
            client.get("/metrics").content.decode(),
            "kumon_http_request_duration_seconds_count",
            route="api/v1/evolution/webhook",
            method="POST",
            status="4xx",
        )
        or 0.0
    )

    client.post("/api/v1/evolution/webhook", data=b"not json", content_type="application/json")
    text = client.get("/metrics").content.decode()

    after = sample(
        text,
        "kumon_http_request_duration_seconds_count",
        route="api/v1/evolution/webhook",
        method="POST",
        status="4xx",
    )
    assert after == before + 1


@shared_task(name="kumon.tests.metrics_boom")
def _boom() -> None:
    raise ValueError("boom")


@pytest.mark.django_db
def test_metrics_record_celery_task_duration_and_failures(client) -> None:
    from kumon.tasks import heartbeat

    text = client.get("/metrics").content.decode()
    ok_before = (
        sample(text, "kumon_celery_task_duration_seconds_count", task="kumon.heartbeat", outcome="success")
        or 0
    )
    failed_before = (
        sample(
            text, "kumon_celery_task_failures_total", task="kumon.tests.metrics_boom", exception="ValueError"
        )
        or 0
    )

    heartbeat.apply()
    _boom.apply()
    text = client.get("/metrics").content.decode()

    assert (
        sample(text, "kumon_celery_task_duration_seconds_count", task="kumon.heartbeat", outcome="success")
        == ok_before + 1
    )
    assert (
        sample(
            text, "kumon_celery_task_failures_total", task="kumon.tests.metrics_boom", exception="ValueError"
        )
        == failed_before + 1
    )


@pytest.mark.django_db
def test_metrics_expose_llm_and_embedding_metrics_for_their_callers(client) -> None:
    LLM_LATENCY.labels("answer", "ok").observe(0.8)
    LLM_TOKENS.labels("input").inc(120)
    LLM_TOKENS.labels("output").inc(30)
    EMBEDDING_LATENCY.labels("query").observe(0.004)

    text = client.get("/metrics").content.decode()

    assert (sample(text, "kumon_llm_request_duration_seconds_count", kind="answer", outcome="ok") or 0) >= 1
    assert (sample(text, "kumon_llm_tokens_total", direction="input") or 0) >= 120
    assert (sample(text, "kumon_llm_tokens_total", direction="output") or 0) >= 30
    assert (sample(text, "kumon_embedding_duration_seconds_count", kind="query") or 0) >= 1


def test_sentry_is_on_with_a_dsn_without_personal_data() -> None:
    import subprocess
    import sys

    from kumon.testing import BASE_DIR

    probe = (
        "import django; django.setup(); import sentry_sdk; c = sentry_sdk.get_client(); "
        "print(c.is_active(), c.options['send_default_pii'], sorted(c.integrations)[:0] == [], "
        "'django' in c.integrations, 'celery' in c.integrations)"
    )
    env = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"}
    on = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "kumon.settings_test",
            "SENTRY_DSN": "https://public@sentry.example.invalid/1",
        },
    )
    off = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "DJANGO_SETTINGS_MODULE": "kumon.settings_test"},
    )

    assert on.stdout.split() == ["True", "False", "True", "True", "True"], on.stderr[-2000:]
    assert off.stdout.split()[0] == "False", off.stderr[-2000:]
