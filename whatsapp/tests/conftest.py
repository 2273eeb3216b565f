"""Fixtures of the channel's tests: fake providers, a send worker wired to them, payload files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from whatsapp import selectors
from whatsapp.models import InboundEvent
from whatsapp.tasks import record_events
from whatsapp.tests.fakes import FakeEvolution, FakeMeta
from whatsapp.tests.stack import QueueWorker

PAYLOADS = Path(__file__).resolve().parent / "payloads"
EVOLUTION_KEY = "evolution-test-key"
META_TOKEN = "meta-test-token"
SEND_QUEUE = f"whatsapp-send-{os.getpid()}"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def record_pending_events() -> int:
    """What the inbound worker does with the `whatsapp.record_events` tasks the webhooks
    published, run here: the task itself, in the test's process. A test inside a transaction
    has no worker that could see its rows (and the publish waits for a commit that never comes).
    Returns how many events were recorded."""
    ids = list(InboundEvent.objects.filter(status=InboundEvent.Status.PENDING).values_list("pk", flat=True))
    return record_events(event_ids=ids) if ids else 0


@pytest.fixture(autouse=True)
def _fresh_unit_cache() -> Iterator[None]:
    # Units are recreated per test with the payload files' instance names.
    selectors.clear_unit_cache()
    yield
    selectors.clear_unit_cache()


@pytest.fixture(scope="session")
def fake_evolution_server() -> Iterator[FakeEvolution]:
    with FakeEvolution(api_key=EVOLUTION_KEY) as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_meta_server() -> Iterator[FakeMeta]:
    with FakeMeta(access_token=META_TOKEN) as fake:
        yield fake


@pytest.fixture
def fake_evolution(fake_evolution_server: FakeEvolution, settings: Any) -> Iterator[FakeEvolution]:
    fake_evolution_server.reset()
    fake_evolution_server.states.clear()
    settings.EVOLUTION_API_URL = fake_evolution_server.url
    settings.EVOLUTION_API_KEY = EVOLUTION_KEY
    yield fake_evolution_server
    fake_evolution_server.reset()


@pytest.fixture
def fake_meta(fake_meta_server: FakeMeta, settings: Any) -> Iterator[FakeMeta]:
    fake_meta_server.reset()
    settings.META_GRAPH_URL = fake_meta_server.url
    settings.META_ACCESS_TOKEN = META_TOKEN
    yield fake_meta_server
    fake_meta_server.reset()


@pytest.fixture(scope="session")
def send_worker(
    django_db_setup: None, fake_evolution_server: FakeEvolution, fake_meta_server: FakeMeta
) -> Iterator[QueueWorker]:
    """A real worker on a private queue (SEND_QUEUE) whose providers are the fakes, with fast
    backoff and a 1 s read timeout. Publish `whatsapp.send_message` with queue=SEND_QUEUE."""
    env = {
        "EVOLUTION_API_URL": fake_evolution_server.url,
        "EVOLUTION_API_KEY": EVOLUTION_KEY,
        "META_GRAPH_URL": fake_meta_server.url,
        "META_ACCESS_TOKEN": META_TOKEN,
        "WHATSAPP_SEND_RETRY_BASE_SECONDS": "0.2",
        "WHATSAPP_SEND_RETRY_MAX_SECONDS": "1",
        "WHATSAPP_HTTP_READ_TIMEOUT": "1",
        "WHATSAPP_SEND_MAX_ATTEMPTS": "4",
    }
    with QueueWorker(queue=SEND_QUEUE, env=env) as worker:
        yield worker
