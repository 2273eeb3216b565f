"""The webhook views: authentication, status codes, what is stored, query budget, fuzzing."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.models import Conversation, Message
from kumon.models import Contact, Unit
from kumon.tests.factories import UnitFactory
from whatsapp.models import InboundEvent
from whatsapp.tests.conftest import payload, record_pending_events
from whatsapp.webhook_auth import make_jwt

EVOLUTION_URL = "/api/v1/evolution/webhook"
META_URL = "/api/v1/meta/webhook"
SECRET = "s3cret-of-vila-mariana"
APP_SECRET = "meta-app-secret"


@pytest.fixture
def unit(db: Any) -> Unit:
    return UnitFactory(
        evolution_instance="kumon-vila-mariana", webhook_secret=SECRET, meta_phone_number_id="106540352242922"
    )


def post_evolution(
    client: Client, body: Any, *, secret: str | None = SECRET, url: str = EVOLUTION_URL, **headers: str
) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    if secret is not None:
        headers["HTTP_X_WEBHOOK_SECRET"] = secret
    response = client.post(url, data=data, content_type="application/json", **headers)
    record_pending_events()  # the worker's part (issue #16): events → messages
    return response


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post_meta(client: Client, body: Any, *, signature: str | None = "auto") -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if signature == "auto":
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign(raw)
    elif signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    response = client.post(META_URL, data=raw, content_type="application/json", **headers)
    record_pending_events()  # the worker's part (issue #16): events → messages
    return response


def stored() -> int:
    return (
        Message.objects.count()
        + Contact.objects.count()
        + Conversation.objects.count()
        + InboundEvent.objects.count()
    )


# --- Evolution ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_evolution_text_is_stored_and_acknowledged(client: Client, unit: Unit) -> None:
    response = post_evolution(client, payload("evolution_messages_upsert_text.json"))
    assert (response.status_code, response.json()) == (
        200,
        {"ok": True, "stored": 1, "duplicates": 0, "statuses": 0, "ignored": 0},
    )
    message = Message.objects.get()
    assert (message.unit, message.provider_id, message.kind, message.direction) == (
        unit,
        "3A9F2C41B7D05E6A1C88",
        "text",
        "in",
    )
    assert message.conversation.contact.phone == "+5511987654321"
    assert message.raw["data"]["key"]["id"] == "3A9F2C41B7D05E6A1C88"
    assert message.raw["apikey"] == "[redacted]"  # the instance token is never stored


@pytest.mark.django_db
def test_evolution_any_accept_header_is_served(client: Client, unit: Unit) -> None:
    response = post_evolution(client, payload("evolution_messages_upsert_text.json"), HTTP_ACCEPT="text/html")
    assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_evolution_duplicate_delivery_stores_nothing_new(client: Client, unit: Unit) -> None:
    post_evolution(client, payload("evolution_messages_upsert_text.json"))
    response = post_evolution(client, payload("evolution_messages_upsert_text.json"))
    assert (response.status_code, response.json()["duplicates"]) == (200, 1)
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_evolution_by_event_url_is_accepted(client: Client, unit: Unit) -> None:
    response = post_evolution(
        client, payload("evolution_messages_upsert_audio.json"), url=EVOLUTION_URL + "/messages-upsert"
    )
    assert response.status_code == 200
    assert Message.objects.get().kind == "audio"
    assert Message.objects.get().meta["media"]["seconds"] == 9


@pytest.mark.django_db
def test_evolution_jwt_bearer_is_accepted(client: Client, unit: Unit) -> None:
    response = post_evolution(
        client,
        payload("evolution_messages_upsert_text.json"),
        secret=None,
        HTTP_AUTHORIZATION=f"Bearer {make_jwt(SECRET)}",
    )
    assert response.status_code == 200
    assert Message.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_WEBHOOK_SECRET": "wrong"},
        {"HTTP_X_WEBHOOK_SECRET": ""},
        {"HTTP_AUTHORIZATION": "Bearer " + make_jwt("another-secret")},
        {"HTTP_AUTHORIZATION": "Bearer " + make_jwt(SECRET, now=time.time() - 3600)},  # expired
        {"HTTP_AUTHORIZATION": "Bearer not.a.jwt"},
        {"HTTP_AUTHORIZATION": SECRET},
    ],
)
def test_evolution_bad_or_missing_secret_is_401_and_nothing_stored(
    client: Client, unit: Unit, headers: dict
) -> None:
    response = post_evolution(client, payload("evolution_messages_upsert_text.json"), secret=None, **headers)
    assert (response.status_code, response.json()) == (401, {"error": "unauthorized"})
    assert stored() == 0


@pytest.mark.django_db
def test_evolution_unknown_instance_is_401_like_a_bad_secret(client: Client, unit: Unit) -> None:
    body = payload("evolution_messages_upsert_text.json")
    body["instance"] = "kumon-unknown"
    response = post_evolution(client, body)
    assert (response.status_code, response.json()) == (401, {"error": "unauthorized"})
    assert stored() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b"[" * 100_000, "invalid JSON"),
        (json.dumps({"event": "messages.upsert", "data": {}}).encode(), "missing field: instance"),
    ],
)
def test_evolution_malformed_body_is_400_with_a_reason(
    client: Client, unit: Unit, body: bytes, reason: str
) -> None:
    response = post_evolution(client, body)
    assert (response.status_code, response.json()) == (400, {"error": reason})
    assert stored() == 0


@pytest.mark.django_db
def test_evolution_nul_characters_are_dropped_not_a_500(client: Client, unit: Unit) -> None:
    body = json.dumps(payload("evolution_messages_upsert_text.json")).replace("Boa tarde", "Boa\\u0000 tarde")
    response = post_evolution(client, body.encode())
    assert response.status_code == 200
    assert Message.objects.get().body.startswith("Boa tarde!")


@pytest.mark.django_db
def test_evolution_wrong_types_after_authentication_are_400(client: Client, unit: Unit) -> None:
    body = payload("evolution_messages_upsert_text.json")
    body["data"]["key"]["id"] = 12345
    response = post_evolution(client, body)
    assert (response.status_code, response.json()) == (400, {"error": "data.key.id must be a string"})
    assert stored() == 0


@pytest.mark.django_db
def test_evolution_body_over_the_limit_is_413(client: Client, unit: Unit, settings: Any) -> None:
    settings.WHATSAPP_WEBHOOK_MAX_BYTES = 4096
    body = payload("evolution_messages_upsert_text.json")
    body["data"]["message"]["conversation"] = "x" * 5000
    response = post_evolution(client, body)
    assert (response.status_code, response.json()) == (413, {"error": "body over 4096 bytes"})
    assert stored() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "evolution_messages_upsert_group.json",
        "evolution_messages_upsert_status_broadcast.json",
        "evolution_send_message_event.json",
        "evolution_qrcode_updated.json",
        "evolution_connection_update_open.json",
        "evolution_status_instance_closed.json",
    ],
)
def test_evolution_ignored_events_are_200_and_store_nothing(client: Client, unit: Unit, name: str) -> None:
    response = post_evolution(client, payload(name))
    assert (response.status_code, response.json()["ignored"]) == (200, 1)
    assert stored() == 0


@pytest.mark.django_db
def test_evolution_connection_update_is_cached_for_the_instances_api(client: Client, unit: Unit) -> None:
    post_evolution(client, payload("evolution_connection_update_close.json"))
    assert cache.get("whatsapp:connection:kumon-vila-mariana")["state"] == "close"


@pytest.mark.django_db
def test_evolution_from_me_typed_by_staff_takes_the_conversation_over(client: Client, unit: Unit) -> None:
    post_evolution(client, payload("evolution_messages_upsert_text.json"))
    response = post_evolution(client, payload("evolution_messages_upsert_fromme.json"))
    assert response.status_code == 200
    staff = Message.objects.get(provider_id="2CFAB2D53326ED1D00FAD8963C8EA217")
    assert (staff.sender, staff.direction) == ("staff", "out")
    assert staff.conversation.mode == Conversation.Mode.HUMAN


@pytest.mark.django_db
def test_evolution_from_me_echo_of_our_own_message_is_not_a_take_over(client: Client, unit: Unit) -> None:
    post_evolution(client, payload("evolution_messages_upsert_text.json"))
    inbound = Message.objects.get()
    Message.objects.create(
        unit=unit,
        conversation=inbound.conversation,
        direction="out",
        sender="bot",
        body="Olá",
        status="sent",
        provider_id="2CFAB2D53326ED1D00FAD8963C8EA217",
    )
    response = post_evolution(client, payload("evolution_messages_upsert_fromme.json"))
    assert (response.status_code, response.json()["duplicates"]) == (200, 1)
    assert Conversation.objects.get().mode == Conversation.Mode.BOT
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_evolution_receipts_move_the_status_forward_only(client: Client, unit: Unit) -> None:
    post_evolution(client, payload("evolution_messages_upsert_text.json"))
    conversation = Conversation.objects.get()
    ours = Message.objects.create(
        unit=unit,
        conversation=conversation,
        direction="out",
        sender="bot",
        body="Olá",
        status="sent",
        provider_id="3EB0C431C26A1916E07E7A",
    )
    read = payload("evolution_messages_update_read.json")
    delivered = payload("evolution_messages_update_read.json")
    delivered["data"]["status"] = "DELIVERY_ACK"
    assert post_evolution(client, read).json()["statuses"] == 1
    assert post_evolution(client, delivered).status_code == 200  # late and out of order
    ours.refresh_from_db()
    assert ours.status == "read"


def statements(captured: CaptureQueriesContext) -> list[str]:
    """Each statement as its verb and the first table it names."""
    found = []
    for query in captured.captured_queries:
        table = re.search(r'(?:FROM|INTO|UPDATE) "?(\w+)', query["sql"])
        found.append(f"{query['sql'].split()[0]} {table.group(1) if table else ''}".strip())
    return found


@pytest.mark.django_db(transaction=True)
def test_evolution_text_webhook_is_the_unit_lookup_and_one_insert(client: Client, unit: Unit) -> None:
    def deliver(provider_id: str) -> Any:  # the request only: no worker's part
        body = payload("evolution_messages_upsert_text.json")
        body["data"]["key"]["id"] = provider_id
        return client.post(
            EVOLUTION_URL,
            data=json.dumps(body),
            content_type="application/json",
            HTTP_X_WEBHOOK_SECRET=SECRET,
        )

    with CaptureQueriesContext(connection) as cold:
        first = deliver("STATEMENTS1")
    with CaptureQueriesContext(connection) as warm:
        second = deliver("STATEMENTS2")
    with CaptureQueriesContext(connection) as again:
        duplicate = deliver("STATEMENTS2")
    assert [r.json()["stored"] for r in (first, second, duplicate)] == [1, 1, 0]
    # Issue #16: the request is its unit (from the per-process cache once read) and one
    # INSERT … ON CONFLICT of the event, in autocommit (no BEGIN/COMMIT); the duplicate check is
    # that INSERT. Contact, conversation, message and turn are the worker's.
    insert = "INSERT whatsapp_inboundevent"
    assert (statements(cold), statements(warm), statements(again)) == (
        ["SELECT kumon_unit", insert],
        [insert],
        [insert],
    )


# --- Meta -----------------------------------------------------------------------------------


@pytest.fixture
def meta_settings(settings: Any) -> Any:
    settings.META_APP_SECRET = APP_SECRET
    settings.META_VERIFY_TOKEN = "verify-me"
    return settings


@pytest.mark.django_db
def test_meta_handshake_echoes_the_challenge(client: Client, meta_settings: Any) -> None:
    response = client.get(
        META_URL, {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    )
    assert (response.status_code, response.content, response["Content-Type"]) == (
        200,
        b"1158201444",
        "text/plain",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_meta_handshake_with_a_wrong_token_is_403(client: Client, meta_settings: Any, params: dict) -> None:
    response = client.get(META_URL, params)
    assert (response.status_code, response.content) == (403, b"forbidden")


@pytest.mark.django_db
def test_meta_text_with_a_valid_signature_is_stored(client: Client, unit: Unit, meta_settings: Any) -> None:
    response = post_meta(client, payload("meta_incoming_text.json"))
    assert (response.status_code, response.json()["stored"]) == (200, 1)
    message = Message.objects.get()
    assert (message.unit, message.body) == (unit, "Boa tarde! Quanto custa a mensalidade de matemática?")
    assert message.conversation.contact.name == "Mariana Souza"


@pytest.mark.django_db
def test_meta_signature_is_checked_over_the_raw_bytes_with_escaped_unicode(
    client: Client, unit: Unit, meta_settings: Any
) -> None:
    raw = json.dumps(payload("meta_incoming_text.json"), ensure_ascii=True).encode()  # "\u00e1" as Meta sends
    response = post_meta(client, raw)
    assert response.status_code == 200
    assert Message.objects.get().body == "Boa tarde! Quanto custa a mensalidade de matemática?"


@pytest.mark.django_db
@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "sha1=abc", "auto-wrong-secret"])
def test_meta_wrong_or_missing_signature_is_403_and_nothing_stored(
    client: Client, unit: Unit, meta_settings: Any, signature: str | None
) -> None:
    raw = json.dumps(payload("meta_incoming_text.json")).encode()
    if signature == "auto-wrong-secret":
        signature = sign(raw, "not-the-app-secret")
    response = post_meta(client, raw, signature=signature)
    assert (response.status_code, response.json()) == (403, {"error": "invalid signature"})
    assert stored() == 0


@pytest.mark.django_db
def test_meta_without_an_app_secret_configured_refuses_everything(
    client: Client, unit: Unit, settings: Any
) -> None:
    settings.META_APP_SECRET = ""
    raw = json.dumps(payload("meta_incoming_text.json")).encode()
    response = post_meta(client, raw, signature="sha256=" + hmac.new(b"", raw, hashlib.sha256).hexdigest())
    assert response.status_code == 403
    assert stored() == 0


@pytest.mark.django_db
def test_meta_failed_status_marks_our_message_failed_with_the_reason(
    client: Client, unit: Unit, meta_settings: Any
) -> None:
    post_meta(client, payload("meta_incoming_text.json"))
    ours = Message.objects.create(
        unit=unit,
        conversation=Conversation.objects.get(),
        direction="out",
        sender="bot",
        body="Lembrete",
        status="sent",
        provider_id="wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjI0QzdGMDk4QjA1NUMzRDFFNgA=",
    )
    response = post_meta(client, payload("meta_status_failed_window.json"))
    assert (response.status_code, response.json()["statuses"]) == (200, 1)
    ours.refresh_from_db()
    assert (ours.status, ours.last_error[:29]) == ("failed", "131047 Re-engagement message ")


@pytest.mark.django_db
def test_meta_unknown_phone_number_id_is_acknowledged_and_ignored(client: Client, meta_settings: Any) -> None:
    response = post_meta(client, payload("meta_incoming_text.json"))
    assert (response.status_code, response.json()["ignored"]) == (200, 1)
    assert stored() == 0


@pytest.mark.django_db
def test_meta_malformed_signed_body_is_400(client: Client, unit: Unit, meta_settings: Any) -> None:
    response = post_meta(client, b'{"object": "whatsapp_business_account", "entry": 3}')
    assert (response.status_code, response.json()) == (400, {"error": "entry must be a list"})


# --- fuzzing the views -----------------------------------------------------------------------

# Any code point, lone surrogates and U+0000 included: they must never be a 500 (#11 M1).
any_text = st.text(st.characters() | st.characters(categories=["Cs"]) | st.just("\x00"), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=5),
    max_leaves=20,
)


def _evolution_bodies() -> st.SearchStrategy:
    names = [
        "evolution_messages_upsert_text.json",
        "evolution_messages_upsert_audio.json",
        "evolution_messages_update_read.json",
        "evolution_messages_upsert_fromme.json",
    ]

    def mutate(name: str, field: str, value: Any) -> bytes:
        body = payload(name)
        target = body["data"].get("key", body["data"]) if field.startswith("key.") else body["data"]
        target[field.removeprefix("key.")] = value
        return json.dumps(body).encode()

    return st.one_of(
        st.builds(
            mutate,
            st.sampled_from(names),
            st.sampled_from(
                [
                    "key.id",
                    "key.remoteJid",
                    "key.fromMe",
                    "message",
                    "messageTimestamp",
                    "pushName",
                    "keyId",
                    "status",
                    "key.remoteJidAlt",
                ]
            ),
            json_values,
        ),
        st.binary(max_size=200),
        json_values.map(
            lambda v: json.dumps(
                {"instance": "kumon-vila-mariana", "event": "messages.upsert", "data": v}
            ).encode()
        ),
    )


@pytest.mark.django_db
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=_evolution_bodies())
def test_evolution_webhook_fuzz_never_5xx_and_stores_nothing_on_rejection(
    client: Client, unit: Unit, body: bytes
) -> None:
    before = stored()
    response = post_evolution(client, body)
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert set(response.json()) == {"error"}
        assert stored() == before


@pytest.mark.django_db
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    value=json_values,
    where=st.sampled_from(["messages", "statuses", "metadata", "contacts", "value", "entry"]),
)
def test_meta_webhook_fuzz_never_5xx_and_stores_nothing_on_rejection(
    client: Client, unit: Unit, meta_settings: Any, value: Any, where: str
) -> None:
    body = payload("meta_incoming_text.json")
    if where == "entry":
        body["entry"] = value
    elif where == "value":
        body["entry"][0]["changes"][0]["value"] = value
    else:
        body["entry"][0]["changes"][0]["value"][where] = value
    before = stored()
    response = post_meta(client, body)
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert stored() == before


# --- text that PostgreSQL cannot store (issue #11 M1) ----------------------------------------

LONE = "\\ud800"  # a lone high surrogate, as JSON writes it


@pytest.mark.django_db
def test_evolution_lone_surrogates_are_replaced_and_the_whole_batch_is_stored(
    client: Client, unit: Unit
) -> None:
    first = payload("evolution_messages_upsert_text.json")
    body = {**first, "data": []}
    for i, text in enumerate(["Oi", "quanto custa?", "obrigada"]):
        item = json.loads(json.dumps(first["data"]))
        item["key"]["id"] = f"SURROGATE{i}"
        item["message"]["conversation"] = text
        body["data"].append(item)
    raw = (
        json.dumps(body)
        .replace('"quanto custa?"', f'"quanto {LONE}custa?"')
        .replace('"pushName": "', f'"pushName": "\\udfff{LONE}')
    )  # low then high: two lone halves
    assert LONE in raw
    response = post_evolution(client, raw.encode())
    assert (response.status_code, response.json()["stored"]) == (200, 3)
    assert list(Message.objects.order_by("provider_id").values_list("body", flat=True)) == [
        "Oi",
        "quanto \ufffdcusta?",
        "obrigada",
    ]
    stored_raw = Message.objects.get(provider_id="SURROGATE1").raw  # the envelope, as jsonb
    assert [(d["message"]["conversation"], d["pushName"][:2]) for d in stored_raw["data"]] == [
        ("Oi", "\ufffd\ufffd"),
        ("quanto \ufffdcusta?", "\ufffd\ufffd"),
        ("obrigada", "\ufffd\ufffd"),
    ]
    assert Contact.objects.get().name.startswith("\ufffd\ufffd")


@pytest.mark.django_db
def test_meta_lone_surrogates_are_replaced_not_a_500(client: Client, unit: Unit, meta_settings: Any) -> None:
    raw = json.dumps(payload("meta_incoming_text.json"))
    text = payload("meta_incoming_text.json")["entry"][0]["changes"][0]["value"]["messages"][0]["text"][
        "body"
    ]
    raw = raw.replace(json.dumps(text), json.dumps(text)[:-1] + LONE + '"')
    response = post_meta(client, raw.encode())
    assert (response.status_code, response.json()["stored"]) == (200, 1)
    assert Message.objects.get().body == text + "\ufffd"


@pytest.mark.django_db
def test_simulator_text_with_a_lone_surrogate_is_stored(client: Client, unit: Unit) -> None:
    from kumon.tests.factories import MembershipFactory

    client.force_login(MembershipFactory(unit=unit).user)
    response = client.post(
        "/simulator/send",
        data=f'{{"unit": "{unit.slug}", "phone": "+5511987650009", "text": "oi{LONE}"}}',
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Message.objects.get(direction="in").body == "oi\ufffd"


# --- a rotated secret is refused at once (issue #11) ----------------------------------------


@pytest.mark.django_db
def test_a_rotated_secret_is_refused_at_once_though_the_unit_was_cached(client: Client, unit: Unit) -> None:
    from kumon import services as kumon_services

    body = payload("evolution_messages_upsert_text.json")
    assert post_evolution(client, body).status_code == 200  # the unit is now in this process's cache
    new_secret = kumon_services.rotate_webhook_secret(unit=unit)
    body["data"]["key"]["id"] = "AFTER-ROTATION-1"
    old = post_evolution(client, body)
    body["data"]["key"]["id"] = "AFTER-ROTATION-2"
    new = post_evolution(client, body, secret=new_secret)
    assert (old.status_code, new.status_code, len(new_secret) >= 40) == (401, 200, True)
    assert Message.objects.filter(provider_id__startswith="AFTER-ROTATION").count() == 1
