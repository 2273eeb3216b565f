"""The simulator answers as soon as the person stops typing, like `manage.py chat`, and says
"digitando…" while a turn is pending (its layout at 390×844: conversations/tests/test_workplace_browser.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from conversations.models import Conversation, Message
from kumon.testing import wait_for
from kumon.tests.factories import MembershipFactory, UnitFactory

PHONE = "+55 11 99999-0000"


def _client(unit: Any) -> Client:
    membership = MembershipFactory(unit=unit)
    membership.user.save()
    client = Client()
    client.force_login(membership.user)
    return client


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.django_db(transaction=True)
def test_simulator_answers_once_the_person_stops_typing_not_after_the_debounce(
    celery_worker: Any, settings
) -> None:
    unit = UnitFactory()
    client = _client(unit)
    # Warm the worker up (its first turn loads the embedding model), on another phone, no debounce.
    settings.CONVERSATION_DEBOUNCE_SECONDS = 0
    _post(client, "/simulator/send", {"unit": unit.slug, "phone": "+5511988887777", "text": "oi"})
    wait_for(lambda: Message.objects.filter(sender="bot").exists(), timeout=60)
    Message.objects.all().delete()
    # Then WhatsApp's debounce: only "answer now" brings the reply before it ends.
    settings.CONVERSATION_DEBOUNCE_SECONDS = 12

    _post(client, "/simulator/send", {"unit": unit.slug, "phone": PHONE, "text": "oi"})
    _post(client, "/simulator/send", {"unit": unit.slug, "phone": PHONE, "text": "quanto custa?"})
    pending = client.get("/simulator/messages", {"unit": unit.slug, "phone": PHONE}).json()
    due_at = Conversation.objects.get(contact__phone="+5511999990000").reply_due_at
    answered = _post(client, "/simulator/answer", {"unit": unit.slug, "phone": PHONE}).json()

    def replied() -> list[Message]:
        return list(Message.objects.filter(sender="bot").order_by("pk"))

    replies = wait_for(replied, timeout=10)
    after = wait_for(
        lambda: (lambda d: d if not d["typing"] else None)(
            client.get("/simulator/messages", {"unit": unit.slug, "phone": PHONE}).json()
        ),
        timeout=10,
    )
    assert ([m["body"] for m in pending["messages"]], pending["typing"]) == (["oi", "quanto custa?"], True)
    assert answered == {"ok": True, "answered": True}
    assert replies[0].created_at < due_at  # one turn for both messages, before the debounce ended
    assert {m.in_reply_to.body for m in replies} == {"quanto custa?"}
    assert [m["direction"] for m in after["messages"]][:2] == ["in", "in"]


@pytest.mark.django_db
def test_simulator_answer_with_nothing_pending_or_of_another_unit() -> None:
    unit, other = UnitFactory(), UnitFactory()
    client = _client(unit)

    nothing = _post(client, "/simulator/answer", {"unit": unit.slug, "phone": PHONE})
    outsider = _post(client, "/simulator/answer", {"unit": other.slug, "phone": PHONE})
    idle = client.get("/simulator/messages", {"unit": unit.slug, "phone": PHONE}).json()

    assert (nothing.status_code, nothing.json()) == (200, {"ok": True, "answered": False})
    assert (outsider.status_code, outsider.json()) == (404, {"error": "unidade não encontrada"})
    assert idle == {"messages": [], "typing": False}
