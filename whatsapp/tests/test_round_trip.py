"""Webhook → worker → console gateway, with the session's real worker: concurrent duplicate
deliveries, and the simulator page."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from conversations.models import Message
from kumon.testing import wait_for, wait_until_drained
from kumon.tests.factories import MembershipFactory, UnitFactory
from whatsapp.models import InboundEvent
from whatsapp.tests.conftest import payload

SECRET = "s3cret-of-vila-mariana"


def replies(**filters: Any) -> list[Message]:
    return list(Message.objects.filter(direction="out", sender="bot", **filters).order_by("pk"))


@pytest.mark.django_db(transaction=True)
def test_same_webhook_delivered_three_times_concurrently_gives_one_message_and_one_reply(
    celery_worker: Any,
) -> None:
    UnitFactory(evolution_instance="kumon-vila-mariana", webhook_secret=SECRET)
    body = json.dumps(payload("evolution_messages_upsert_text.json"))
    barrier = threading.Barrier(3)
    statuses: list[int] = []

    def deliver() -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(
                "/api/v1/evolution/webhook",
                data=body,
                content_type="application/json",
                HTTP_X_WEBHOOK_SECRET=SECRET,
            )
            statuses.append(response.status_code)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [200, 200, 200]
    # One event stored (the duplicate check is the webhook's INSERT); the worker records it.
    assert InboundEvent.objects.count() == 1
    wait_for(lambda: InboundEvent.objects.filter(status="done").exists(), timeout=30)
    assert Message.objects.filter(direction="in").count() == 1
    inbound = Message.objects.get(direction="in")
    first = wait_for(
        lambda: replies() and all(r.status == "sent" for r in replies()) and replies(), timeout=30
    )
    wait_until_drained(what="the turn and its sends done")  # a second turn or send would be a task
    answer = replies()
    # One answer: the engine may split it into parts (seq 0..n-1), each sent exactly once.
    assert [r.pk for r in answer] == [r.pk for r in first]
    assert [(r.in_reply_to_id, r.seq, r.status) for r in answer] == [
        (inbound.pk, i, "sent") for i in range(len(answer))
    ]
    assert len({r.provider_id for r in answer}) == len(answer)
    assert all(r.provider_id.startswith("console-") for r in answer)
    assert Message.objects.get(direction="in").status == "handled"


@pytest.mark.django_db(transaction=True)
def test_simulator_round_trip_shows_the_bots_reply(celery_worker: Any) -> None:
    unit = UnitFactory(name="Kumon Simulada")
    other = UnitFactory(name="Kumon Outra")
    membership = MembershipFactory(unit=unit)
    membership.user.save()
    client = Client()
    client.force_login(membership.user)

    page = client.get("/simulator/")
    assert page.status_code == 200
    assert "Kumon Simulada" in page.content.decode()
    assert "Kumon Outra" not in page.content.decode()  # only the user's units

    sent = client.post(
        "/simulator/send",
        data=json.dumps({"unit": unit.slug, "phone": "+55 11 99999-0000", "text": "Quanto custa?"}),
        content_type="application/json",
    )
    assert sent.status_code == 201

    def transcript() -> list[dict[str, Any]]:
        response = client.get("/simulator/messages", {"unit": unit.slug, "phone": "+55 11 99999-0000"})
        messages = response.json()["messages"]
        return messages if any(m["direction"] == "out" and m["status"] == "sent" for m in messages) else []

    messages = wait_for(transcript, timeout=30)
    assert [(m["direction"], m["sender"]) for m in messages][:2] == [("in", "parent"), ("out", "bot")]
    assert {m["direction"] for m in messages[1:]} == {"out"}
    assert messages[0]["body"] == "Quanto custa?"
    assert all(
        m.provider_id.startswith("console-") for m in Message.objects.filter(direction="out", status="sent")
    )
    # another unit's simulator is out of reach
    assert (
        client.post(
            "/simulator/send",
            data=json.dumps({"unit": other.slug, "phone": "+5511999990000", "text": "oi"}),
            content_type="application/json",
        ).status_code
        == 404
    )
    assert (
        client.get("/simulator/messages", {"unit": other.slug, "phone": "+5511999990000"}).status_code == 404
    )


@pytest.mark.django_db
def test_simulator_requires_login_and_valid_input(client: Client) -> None:
    response = client.get("/simulator/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/simulator/")
    unit = UnitFactory()
    membership = MembershipFactory(unit=unit)
    membership.user.save()
    client.force_login(membership.user)
    bad_phone = client.post(
        "/simulator/send",
        data=json.dumps({"unit": unit.slug, "phone": "12", "text": "oi"}),
        content_type="application/json",
    )
    empty = client.post(
        "/simulator/send",
        data=json.dumps({"unit": unit.slug, "phone": "+5511999990000", "text": " "}),
        content_type="application/json",
    )
    assert (bad_phone.status_code, bad_phone.json()) == (400, {"error": "telefone inválido"})
    assert (empty.status_code, empty.json()) == (400, {"error": "mensagem vazia ou longa demais"})
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_simulator_page_sets_the_csrf_cookie_its_script_sends() -> None:
    unit = UnitFactory()
    membership = MembershipFactory(unit=unit)
    membership.user.save()
    client = Client(enforce_csrf_checks=True)
    client.force_login(membership.user)
    client.get("/simulator/")
    token = client.cookies["csrftoken"].value
    body = json.dumps({"unit": unit.slug, "phone": "+5511999990000", "text": "oi"})
    refused = client.post("/simulator/send", data=body, content_type="application/json")
    accepted = client.post(
        "/simulator/send", data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert (refused.status_code, accepted.status_code) == (403, 201)
    assert Message.objects.filter(direction="in").count() == 1


@pytest.mark.django_db
def test_simulator_refuses_a_real_familys_number_and_never_shows_their_messages(client: Client) -> None:
    from conversations.tests.factories import ContactFactory, ConversationFactory, MessageFactory

    unit = UnitFactory()
    family = ContactFactory(unit=unit, phone="+5511987650001")
    MessageFactory(conversation=ConversationFactory(unit=unit, contact=family), body="mensagem da família")
    client.force_login(MembershipFactory(unit=unit).user)
    response = client.post(
        "/simulator/send",
        data={"unit": unit.slug, "phone": "11 98765-0001", "text": "oi"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (
        409,
        {"error": "este número é de uma família de verdade: use outro número no simulador"},
    )
    assert list(Message.objects.values_list("body", flat=True)) == ["mensagem da família"]
    shown = client.get("/simulator/messages", {"unit": unit.slug, "phone": "+5511987650001"})
    assert (shown.status_code, shown.json()) == (200, {"messages": [], "typing": False})
