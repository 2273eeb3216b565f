from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from conversations.tests.fake_openai import FakeOpenAI
from kumon.models import Unit


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["rules", "llm"])
def engine_mode(request, celery_worker, fake_openai) -> Iterator[str]:
    """Every dialogue runs twice: with no language model (rules) and with the fake
    OpenAI-compatible server (the LLM path). The real worker is restarted with that setting."""
    if request.param == "llm":
        celery_worker.restart(env=fake_openai.env())
    fake_openai.mode = "ok"
    fake_openai.requests.clear()
    yield request.param
    if request.param == "llm":
        celery_worker.restart(env={})


@pytest.fixture
def demo() -> Unit:
    call_command("seed_demo", stdout=io.StringIO())
    return Unit.objects.get(slug="demo")


def next_weekday_at(
    weekday: int, hour: int, minute: int = 0, *, tz: str = "America/Sao_Paulo"
) -> dt.datetime:
    """The next such weekday (at least 2 days ahead) at hour:minute, unit-local."""
    today = dt.datetime.now(ZoneInfo(tz)).date() + dt.timedelta(days=2)
    day = today + dt.timedelta(days=(weekday - today.weekday()) % 7)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz))


def chat(
    unit: Unit, phone: str, *messages: str, at: dt.datetime | None = None, timeout: float = 40
) -> list[str]:
    """`manage.py chat`: ingest like a webhook, the real worker answers, the console gateway
    sends; returns the replies the command printed, one per line."""
    out, err = io.StringIO(), io.StringIO()
    args = ["chat", "--unit", unit.slug, "--phone", phone, "--timeout", str(timeout)]
    for message in messages:
        args += ["--message", message]
    if at is not None:
        args += ["--at", at.isoformat()]
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exc:
        raise AssertionError(f"no reply: {err.getvalue()}") from exc
    return [line for line in out.getvalue().splitlines() if line]
