"""The REST API for staff tools: scoping, the phone lookup contract, actions, reports, schema."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conversations import state
from conversations.models import Conversation, Message
from conversations.tests.factories import ContactFactory, ConversationFactory, MessageFactory
from conversations.tests.workplace import make_world, waiting_conversation

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_conversation_by_phone_in_any_brazilian_spelling() -> None:
    w = make_world()
    conversation = ConversationFactory(
        contact=ContactFactory(unit=w.unit_a, phone="+5511987654321"),
        stage="qualifying",
        data={"child_age": 7},
    )
    MessageFactory(conversation=conversation, body="oi")
    MessageFactory(
        conversation=conversation, direction="out", sender="bot", body="Olá!", status="sent", provider_id=None
    )
    client = api(w.staff_a)
    for spelling in ["+5511987654321", "5511987654321", "11987654321", "551187654321", "(11) 98765-4321"]:
        response = client.get(f"/api/v1/conversation/{spelling}")
        assert response.status_code == 200, spelling
    body = response.json()
    assert {k: body[k] for k in ("unit", "phone", "mode", "stage", "opted_out", "data")} == {
        "unit": "unit-a",
        "phone": "+5511987654321",
        "mode": "bot",
        "stage": "qualifying",
        "opted_out": False,
        "data": {"child_age": 7, "children": [{"age": 7}]},
    }
    assert [(m["direction"], m["sender"], m["body"], m["status"]) for m in body["messages"]] == [
        ("in", "parent", "oi", "received"),
        ("out", "bot", "Olá!", "sent"),
    ]
    assert all(m["created_at"] for m in body["messages"])


def test_conversation_by_phone_prefers_the_open_conversation() -> None:
    w = make_world()
    contact = ContactFactory(unit=w.unit_a, phone="+5511977776666")
    ConversationFactory(contact=contact, mode=Conversation.Mode.CLOSED, stage="old")
    ConversationFactory(contact=contact, stage="current")
    ConversationFactory(contact=contact, mode=Conversation.Mode.CLOSED, stage="older")
    assert api(w.staff_a).get("/api/v1/conversation/11977776666").json()["stage"] == "current"


def test_conversation_by_phone_of_another_unit_is_404() -> None:
    w = make_world()
    ConversationFactory(contact=ContactFactory(unit=w.unit_b, phone="+5511911112222"))
    response = api(w.staff_a).get("/api/v1/conversation/11911112222")
    assert (response.status_code, response.json()) == (
        404,
        {"message": "Nenhuma conversa com este telefone.", "extra": {}},
    )
    assert api(w.staff_a).get("/api/v1/conversation/not-a-phone").status_code == 404


def test_conversation_by_phone_with_several_units_needs_the_unit() -> None:
    w = make_world()
    a = ConversationFactory(contact=ContactFactory(unit=w.unit_a, phone="+5511933334444"))
    ConversationFactory(contact=ContactFactory(unit=w.unit_c, phone="+5511933334444"), stage="booked")
    client = api(w.owner)
    ambiguous = client.get("/api/v1/conversation/11933334444")
    assert (ambiguous.status_code, ambiguous.json()["extra"]) == (400, {"units": ["unit-a", "unit-c"]})
    assert client.get("/api/v1/conversation/11933334444?unit=unit-c").json()["stage"] == "booked"
    assert client.get("/api/v1/conversation/11933334444?unit=unit-a").json()["stage"] == a.stage
    assert client.get("/api/v1/conversation/11933334444?unit=unit-b").status_code == 404


def test_token_authentication_and_anonymous_refused() -> None:
    w = make_world()
    token = Token.objects.create(user=w.staff_a)
    client = APIClient()
    assert client.get("/api/v1/conversations/").status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/conversations/").status_code == 200


def test_conversation_list_scoped_ordered_and_filtered() -> None:
    w = make_world()
    bot = ConversationFactory(contact=ContactFactory(unit=w.unit_a))
    waiting = waiting_conversation(w.unit_a)
    waiting_conversation(w.unit_b)
    body = api(w.staff_a).get("/api/v1/conversations/").json()
    assert [c["id"] for c in body["results"]] == [waiting.pk, bot.pk]
    assert body["count"] == 2
    assert [c["state"] for c in body["results"]] == ["waiting", "bot"]
    waiting_only = api(w.staff_a).get("/api/v1/conversations/?state=waiting").json()["results"]
    assert [c["id"] for c in waiting_only] == [waiting.pk]
    owner = api(w.owner).get("/api/v1/conversations/?unit=unit-b").json()
    assert owner["count"] == 0


def test_conversation_detail_has_messages_and_other_units_are_404() -> None:
    w = make_world()
    mine = waiting_conversation(w.unit_a)
    other = waiting_conversation(w.unit_b)
    client = api(w.staff_a)
    detail = client.get(f"/api/v1/conversations/{mine.pk}/").json()
    assert [m["body"] for m in detail["messages"]] == ["Quero falar com uma pessoa"]
    assert client.get(f"/api/v1/conversations/{other.pk}/").status_code == 404


def test_take_over_reply_and_hand_back_via_api() -> None:
    w = make_world()
    conversation = waiting_conversation(w.unit_a)
    client = api(w.staff_a)
    taken = client.post(f"/api/v1/conversations/{conversation.pk}/take-over/")
    assert (taken.status_code, taken.json()["state"], taken.json()["assigned_to"]) == (
        200,
        "with_staff",
        "staff-a",
    )
    reply = client.post(
        f"/api/v1/conversations/{conversation.pk}/reply/", {"body": "Oi! Sou a Ana."}, format="json"
    )
    assert (reply.status_code, reply.json()["sender"], reply.json()["status"]) == (201, "staff", "queued")
    back = client.post(
        f"/api/v1/conversations/{conversation.pk}/hand-back/", {"note": "ligar à tarde"}, format="json"
    )
    assert (back.status_code, back.json()["mode"]) == (200, "bot")
    conversation.refresh_from_db()
    assert state.Flow.from_data(conversation.data).staff_note == "ligar à tarde"


def test_actions_on_another_units_conversation_are_404_and_change_nothing() -> None:
    w = make_world()
    other = waiting_conversation(w.unit_b)
    client = api(w.staff_a)
    for action, payload in (("take-over", {}), ("reply", {"body": "x"}), ("hand-back", {})):
        assert (
            client.post(f"/api/v1/conversations/{other.pk}/{action}/", payload, format="json").status_code
            == 404
        )
    other.refresh_from_db()
    assert (other.mode, other.assigned_to_id) == (Conversation.Mode.HUMAN, None)
    assert Message.objects.filter(conversation=other, sender="staff").count() == 0


def test_empty_reply_is_400_with_the_error_shape() -> None:
    w = make_world()
    conversation = waiting_conversation(w.unit_a)
    response = api(w.staff_a).post(
        f"/api/v1/conversations/{conversation.pk}/reply/", {"body": ""}, format="json"
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "message": "Dados inválidos. body: Este campo não pode ficar em branco.",
            "extra": {"fields": {"body": ["Este campo não pode ficar em branco."]}},
        },
    )


def test_reports_api_scoped_to_the_users_units() -> None:
    w = make_world()
    waiting_conversation(w.unit_a)
    waiting_conversation(w.unit_b)
    body = api(w.staff_a).get("/api/v1/reports/?period=day").json()
    assert [t["unit"] for t in body["totals"]] == ["unit-a"]
    assert body["totals"][0]["values"]["conversations"] == 1
    assert body["totals"][0]["values"]["handoff_rate"] == 1.0
    assert {m["key"] for m in body["metrics"]} >= {"conversations", "bot_frt_p50"}
    assert api(w.staff_a).get("/api/v1/reports/?unit=unit-b").status_code == 404
    owner = api(w.owner).get("/api/v1/reports/?unit=unit-a&unit=unit-c&period=month").json()
    assert [t["unit"] for t in owner["totals"]] == ["unit-a", "unit-c"]


@pytest.mark.parametrize("rows", [1, 3])
def test_conversation_list_query_count_is_constant(django_assert_max_num_queries, rows: int) -> None:
    w = make_world()
    for _ in range(rows):
        waiting_conversation(w.unit_a, assigned_to=w.staff_a)
    with django_assert_max_num_queries(4):
        assert api(w.staff_a).get("/api/v1/conversations/").status_code == 200


def test_openapi_schema_is_valid_and_lists_our_endpoints(client) -> None:
    call_command("spectacular", "--validate", "--file", "/dev/null")  # raises on schema errors
    response = client.get("/openapi.json")
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    schema = response.json()
    for path in (
        "/api/v1/conversation/{phone}",
        "/api/v1/conversations/",
        "/api/v1/conversations/{id}/",
        "/api/v1/conversations/{id}/take-over/",
        "/api/v1/reports/",
        "/api/v1/units/",
        "/api/v1/contacts/",
    ):
        assert path in schema["paths"], path
    assert client.get("/docs").status_code == 200 and client.get("/redoc").status_code == 200
