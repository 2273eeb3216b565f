"""Every payload file of REFERENCE.md §8 parsed to the right typed event (or rejection), and the
parsers fuzzed: nothing but PayloadError ever escapes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.inbound import InboundMessage, StatusUpdate
from whatsapp import evolution, meta
from whatsapp.events import ConnectionChange, Ignored
from whatsapp.exceptions import PayloadError
from whatsapp.tests.conftest import PAYLOADS, payload

PHONE = "+5511987654321"


def parse_one(name: str):
    parsed = evolution.parse_envelope(payload(name))
    assert parsed.instance == "kumon-vila-mariana"
    (event,) = parsed.events
    return event


def test_evolution_text_is_a_text_message_with_phone_and_time() -> None:
    event = parse_one("evolution_messages_upsert_text.json")
    assert event == InboundMessage(
        phone=PHONE,
        provider_id="3A9F2C41B7D05E6A1C88",
        kind="text",
        text="Boa tarde! Quanto custa a mensalidade de matemática para uma criança de 7 anos?",
        push_name=event.push_name,
        sent_at=event.sent_at,
        raw={**payload("evolution_messages_upsert_text.json"), "apikey": "[redacted]"},
    )
    assert event.push_name == "Mariana Souza"
    assert event.sent_at == dt.datetime.fromtimestamp(
        payload("evolution_messages_upsert_text.json")["data"]["messageTimestamp"], tz=dt.UTC
    )
    assert event.from_me is False


def test_evolution_lid_addressed_text_takes_the_phone_from_remote_jid_alt() -> None:
    event = parse_one("evolution_messages_upsert_text_lid.json")
    assert (event.phone, event.provider_id, event.kind) == (PHONE, "A1B2C3D4E5F60718293A4B5C6D7E8F90", "text")
    assert event.text == "Vocês têm horário de inglês no sábado de manhã?"


def test_evolution_sender_pn_and_previous_remote_jid_are_used_when_the_chat_is_a_lid() -> None:
    body = payload("evolution_messages_upsert_text_lid.json")
    del body["data"]["key"]["remoteJidAlt"]
    body["data"]["key"]["senderPn"] = "5511987654321@s.whatsapp.net"
    assert evolution.parse_envelope(body).events[0].phone == PHONE
    del body["data"]["key"]["senderPn"]
    assert evolution.parse_envelope(body).events == [Ignored("no phone number in the key (LID only)")]


def test_evolution_old_8_digit_jid_is_the_same_e164_contact() -> None:
    body = payload("evolution_messages_upsert_text.json")
    body["data"]["key"]["remoteJid"] = "551187654321@s.whatsapp.net"
    assert evolution.parse_envelope(body).events[0].phone == PHONE


def test_evolution_extended_text_normalised_and_raw_are_both_text() -> None:
    normalised = parse_one("evolution_messages_upsert_extended_text.json")
    raw = parse_one("evolution_messages_upsert_extended_text_raw.json")
    assert (normalised.kind, normalised.text) == ("text", "Pode ser na terça às 15h?")
    assert raw.kind == "text"
    assert (
        raw.text
        == payload("evolution_messages_upsert_extended_text_raw.json")["data"]["message"][
            "extendedTextMessage"
        ]["text"]
    )


def test_evolution_audio_keeps_seconds_and_mimetype() -> None:
    event = parse_one("evolution_messages_upsert_audio.json")
    assert (event.kind, event.text, event.provider_id) == ("audio", "", "3A5C19E0AB44D2F7C3B1")
    assert {k: event.media[k] for k in ("mimetype", "seconds", "voice")} == {
        "mimetype": "audio/ogg; codecs=opus",
        "seconds": 9,
        "voice": True,
    }


def test_evolution_image_keeps_the_caption() -> None:
    event = parse_one("evolution_messages_upsert_image.json")
    data = payload("evolution_messages_upsert_image.json")["data"]["message"]["imageMessage"]
    assert (event.kind, event.text, event.media["mimetype"]) == ("image", data["caption"], data["mimetype"])


def test_evolution_from_me_upsert_is_a_staff_message_for_the_parent() -> None:
    event = parse_one("evolution_messages_upsert_fromme.json")
    assert (event.from_me, event.phone, event.provider_id) == (
        True,
        PHONE,
        "2CFAB2D53326ED1D00FAD8963C8EA217",
    )
    assert event.push_name == ""  # "Kumon Vila Mariana" is the unit, not the parent


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("evolution_messages_upsert_group.json", Ignored("group message")),
        ("evolution_messages_upsert_status_broadcast.json", Ignored("status broadcast")),
        ("evolution_send_message_event.json", Ignored("own send echo")),
        ("evolution_qrcode_updated.json", Ignored("event qrcode.updated not handled")),
        ("evolution_connection_update_open.json", ConnectionChange("kumon-vila-mariana", "open", 200)),
        (
            "evolution_connection_update_connecting.json",
            ConnectionChange("kumon-vila-mariana", "connecting", 200),
        ),
        ("evolution_connection_update_close.json", ConnectionChange("kumon-vila-mariana", "close", 401)),
        ("evolution_status_instance_closed.json", ConnectionChange("kumon-vila-mariana", "closed", 401)),
        ("evolution_messages_update_read.json", StatusUpdate("3EB0C431C26A1916E07E7A", "read")),
        ("evolution_messages_update_delivered_lid.json", StatusUpdate("3EB0D17079F19FC30DC3A1", "delivered")),
    ],
)
def test_evolution_non_message_events(name: str, expected: object) -> None:
    assert parse_one(name) == expected


def test_evolution_by_events_suffix_and_upper_snake_names_are_the_same_event() -> None:
    body = payload("evolution_messages_upsert_text.json")
    body["event"] = "MESSAGES_UPSERT"
    assert evolution.parse_envelope(body).event == "messages.upsert"
    del body["event"]
    assert evolution.parse_envelope(body, event_suffix="messages-upsert").events[0].kind == "text"


@pytest.mark.parametrize(
    ("message", "kind", "text"),
    [
        ({"stickerMessage": {"url": "x"}}, "sticker", ""),
        ({"reactionMessage": {"key": {"id": "X"}, "text": "👍"}}, "reaction", "👍"),
        (
            {
                "documentMessage": {
                    "mimetype": "application/pdf",
                    "fileName": "boletim.pdf",
                    "caption": "segue",
                }
            },
            "document",
            "segue",
        ),
        ({"videoMessage": {"caption": "olha"}}, "other", "olha"),
        ({"locationMessage": {"degreesLatitude": 1}}, "other", ""),
        ({"ephemeralMessage": {"message": {"extendedTextMessage": {"text": "sumindo"}}}}, "text", "sumindo"),
        ({"viewOnceMessageV2": {"message": {"imageMessage": {"caption": "uma vez"}}}}, "image", "uma vez"),
    ],
)
def test_evolution_other_message_types(message: dict, kind: str, text: str) -> None:
    body = payload("evolution_messages_upsert_text.json")
    body["data"]["message"] = message
    event = evolution.parse_envelope(body).events[0]
    assert (event.kind, event.text) == (kind, text)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b.pop("instance"), "missing field: instance"),
        (lambda b: b.update(instance=7), "missing field: instance"),
        (lambda b: b.pop("event"), "missing field: event"),
        (lambda b: b.update(data="x"), "data must be an object"),
        (lambda b: b["data"].pop("key"), "data.key must be an object"),
        (lambda b: b["data"]["key"].pop("id"), "missing field: data.key.id"),
        (lambda b: b["data"]["key"].update(fromMe="yes"), "data.key.fromMe must be a boolean"),
        (lambda b: b["data"].pop("message"), "data.message must be an object"),
        (lambda b: b["data"]["message"].update(conversation=["oi"]), "message.conversation must be a string"),
        (
            lambda b: b["data"]["key"].update(remoteJid="12@s.whatsapp.net"),
            "data.key.remoteJid: not a phone number",
        ),
    ],
)
def test_evolution_malformed_payloads_are_rejected_with_a_reason(mutate, reason: str) -> None:
    body = payload("evolution_messages_upsert_text.json")
    mutate(body)
    with pytest.raises(PayloadError) as err:
        evolution.parse_envelope(body)
    assert err.value.reason == reason


def test_meta_text_and_audio() -> None:
    [(number_id, text)] = meta.parse_payload(payload("meta_incoming_text.json"))
    [(_, audio)] = meta.parse_payload(payload("meta_incoming_audio.json"))
    assert number_id == "106540352242922"
    assert (text.kind, text.text, text.phone, text.push_name) == (
        "text",
        "Boa tarde! Quanto custa a mensalidade de matemática?",
        PHONE,
        "Mariana Souza",
    )
    assert text.provider_id == "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBCRTg5QzQ0MzlBMjlEN0Y1MTQA"
    assert (audio.kind, audio.media) == (
        "audio",
        {"id": "1234567890123456", "mimetype": "audio/ogg; codecs=opus", "voice": True},
    )


def test_meta_statuses() -> None:
    wamid_read = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA="
    [(_, delivered)] = meta.parse_payload(payload("meta_status_delivered.json"))
    [(_, read)] = meta.parse_payload(payload("meta_status_read.json"))
    [(_, failed)] = meta.parse_payload(payload("meta_status_failed_window.json"))
    assert (delivered.provider_id, delivered.status) == (wamid_read, "delivered")
    assert (read.provider_id, read.status) == (wamid_read, "read")
    assert failed.status == "failed"
    assert failed.error == (
        "131047 Re-engagement message Message failed to send because more than 24 hours have passed "
        "since the customer last replied to this number."
    )


def test_meta_malformed_and_foreign_objects() -> None:
    body = payload("meta_incoming_text.json")
    body["entry"][0]["changes"][0]["value"]["messages"][0].pop("id")
    with pytest.raises(PayloadError) as err:
        meta.parse_payload(body)
    assert err.value.reason == "missing field: messages[].id"
    assert meta.parse_payload({"object": "page", "entry": []}) == [("", Ignored("object page not handled"))]


@pytest.mark.parametrize(
    "name",
    [
        "evolution_connection_state_response.json",
        "evolution_error_401.json",
        "evolution_error_404_instance.json",
        "evolution_fetch_instances_response.json",
        "evolution_send_text_error_connection_closed.json",
        "evolution_send_text_error_not_on_whatsapp.json",
        "evolution_send_text_error_validation.json",
        "evolution_send_text_request.json",
        "evolution_send_text_response.json",
        "evolution_webhook_set_request.json",
    ],
)
def test_evolution_rest_bodies_posted_to_the_webhook_are_rejected(name: str) -> None:
    with pytest.raises(PayloadError) as err:
        evolution.parse_envelope(payload(name))
    assert err.value.reason in ("missing field: instance", "body must be a JSON object")


def test_every_payload_file_is_covered_by_these_tests() -> None:
    text = open(__file__).read()
    missing = [p.name for p in sorted(PAYLOADS.glob("*.json")) if p.name not in text]
    # meta REST bodies are exercised in test_client.py
    assert [m for m in missing if not m.startswith("meta_") or "status" in m or "incoming" in m] == []


# --- fuzzing --------------------------------------------------------------------------------

# Text as providers may send it: any code point, lone surrogates and U+0000 included (#11 M1).
any_text = st.text(st.characters() | st.characters(categories=["Cs"]) | st.just("\x00"), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=5),
    max_leaves=25,
)


def unstorable_strings(value: object) -> list[str]:
    """The strings anywhere in `value` (events, their raw payloads) PostgreSQL could not store."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, str):
        return [value] if re.search("[\x00\ud800-\udfff]", value) else []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in unstorable_strings(k) + unstorable_strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in unstorable_strings(v)]
    return []


def _mutations(base: dict) -> st.SearchStrategy:
    """The real payload with one node replaced by arbitrary JSON: the shapes parsers meet."""

    def paths(node, prefix=()):
        yield prefix
        if isinstance(node, dict):
            for k, v in node.items():
                yield from paths(v, prefix + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from paths(v, prefix + (i,))

    all_paths = list(paths(base))

    def replace(path, value):
        doc = json.loads(json.dumps(base))
        if not path:
            return value
        node = doc
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
        return doc

    return st.builds(replace, st.sampled_from(all_paths), json_values)


EVOLUTION_FILES = sorted(p.name for p in PAYLOADS.glob("evolution_*.json"))
META_FILES = sorted(p.name for p in PAYLOADS.glob("meta_*.json"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    name=st.sampled_from(EVOLUTION_FILES),
    suffix=st.sampled_from(["", "messages-upsert", "x"]),
)
def test_evolution_parser_never_raises_anything_but_payload_error(data, name: str, suffix: str) -> None:
    body = data.draw(st.one_of(_mutations(payload(name)), json_values))
    try:
        parsed = evolution.parse_envelope(body, event_suffix=suffix)
    except PayloadError as exc:
        assert exc.reason
    else:
        assert unstorable_strings(parsed) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(META_FILES))
def test_meta_parser_never_raises_anything_but_payload_error(data, name: str) -> None:
    body = data.draw(st.one_of(_mutations(payload(name)), json_values))
    try:
        events = meta.parse_payload(body)
    except PayloadError as exc:
        assert exc.reason
    else:
        assert unstorable_strings(events) == []


@settings(max_examples=200, deadline=None)
@given(
    token=st.text(max_size=300)
    | st.builds(
        lambda a, b, c: f"{a}.{b}.{c}", st.text(max_size=40), st.text(max_size=80), st.text(max_size=40)
    )
)
def test_jwt_check_never_raises_and_refuses_garbage(token: str) -> None:
    from whatsapp.webhook_auth import evolution_request_ok, jwt_ok

    assert jwt_ok(token, "secret") is False
    assert evolution_request_ok(secret_header=token, authorization=f"Bearer {token}", secret="secret") is (
        token == "secret"
    )


def test_jwt_like_evolutions_is_accepted_until_it_expires() -> None:
    from whatsapp.webhook_auth import jwt_ok, make_jwt

    token = make_jwt("secret", now=1_000_000)
    assert (jwt_ok(token, "secret", now=1_000_100), jwt_ok(token, "secret", now=1_000_700)) == (True, False)
    assert jwt_ok(token, "other", now=1_000_100) is False


@pytest.mark.parametrize(
    ("claims", "ttl"),
    [
        ({}, 30 * 365 * 24 * 3600),  # exp 30 years ahead (the audit's token)
        ({}, 901),  # longer-lived than Evolution's 600 s, past the 900 s bound
        ({"iat": None}, 600),  # no iat
        ({"iat": "1000000"}, 600),  # iat not a number
        ({"iat": True}, 600),
        ({"iat": 1_000_000 + 3600, "exp": 1_000_000 + 4200}, 600),  # issued an hour in the future
        ({"exp": 1_000_000 - 10}, 600),  # expires before it is issued
        ({"app": "other"}, 600),
        ({"app": None}, 600),
    ],
)
def test_jwt_with_an_unbounded_or_odd_lifetime_or_another_issuer_is_refused(claims: dict, ttl: int) -> None:
    from whatsapp.webhook_auth import jwt_ok, make_jwt

    assert jwt_ok(make_jwt("secret", ttl=ttl, now=1_000_000, claims=claims), "secret", now=1_000_100) is False


def test_jwt_issued_slightly_in_the_future_by_a_skewed_clock_is_accepted() -> None:
    from whatsapp.webhook_auth import jwt_ok, make_jwt

    assert jwt_ok(make_jwt("secret", now=1_000_020), "secret", now=1_000_000) is True
