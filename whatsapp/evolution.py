"""Evolution API 2.x webhooks → typed events (REFERENCE.md §1–3).

`parse_envelope` takes the decoded JSON of one webhook POST and returns the instance name and
its events. Anything of the wrong shape raises PayloadError with a short reason; nothing else
escapes (the parsers are fuzzed with hypothesis).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from conversations.inbound import StatusUpdate
from whatsapp import parsing
from whatsapp.events import ConnectionChange, Event, Ignored
from whatsapp.exceptions import PayloadError
from whatsapp.text import valid_json, valid_text

# messages.update status (Baileys names, or Meta's upper-cased ones when Evolution runs the
# WHATSAPP-BUSINESS channel) → our Message.Status. PENDING/DELETED carry no delivery news.
RECEIPT_STATUS = {
    "SERVER_ACK": "sent",
    "DELIVERY_ACK": "delivered",
    "READ": "read",
    "PLAYED": "read",
    "ERROR": "failed",
    "SENT": "sent",
    "DELIVERED": "delivered",
    "FAILED": "failed",
}
# Wrappers whose inner `message` holds the real content (not unwrapped by Evolution 2.3.6).
WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)
MAX_WRAP_DEPTH = 3
_SEPARATORS = re.compile(r"[._-]")


@dataclass(frozen=True)
class EvolutionWebhook:
    instance: str
    event: str  # normalised: "messages.upsert"
    events: list[Event]


def instance_of(payload: Any) -> str:
    """The envelope's instance name (routing key to the unit), checked before authentication."""
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    instance = payload.get("instance")
    if not isinstance(instance, str) or not instance.strip():
        raise PayloadError("missing field: instance")
    if len(instance) > 100:
        raise PayloadError("instance: too long")
    return valid_text(instance)


def normalise_event(name: str) -> str:
    """ "messages.upsert", "MESSAGES_UPSERT" and the by-events suffix "messages-upsert" → one form."""
    return _SEPARATORS.sub(".", name.strip().lower())


def parse_envelope(payload: Any, *, event_suffix: str = "") -> EvolutionWebhook:
    payload = valid_json(payload)  # storable text: no lone surrogates, no U+0000 (whatsapp/text.py)
    instance = instance_of(payload)
    event = payload.get("event")
    if event is None and event_suffix:
        event = event_suffix
    if not isinstance(event, str) or not event.strip():
        raise PayloadError("missing field: event")
    name = normalise_event(event)
    data = payload.get("data")
    if name == "messages.upsert":
        events = [_upsert(item, payload) for item in _items(data)]
    elif name == "messages.update":
        events = [_receipt(item) for item in _items(data)]
    elif name == "send.message":
        # The response of our own /message/sendText, echoed: the provider id is already ours.
        events = [Ignored("own send echo")]
    elif name == "connection.update":
        events = [_connection(data, instance)]
    elif name == "status.instance":
        d = parsing.obj(data, "data")
        status = parsing.string(d, "status", "data.status") or "unknown"
        code = d.get("disconnectionReasonCode")
        events = [
            ConnectionChange(
                instance, status, code if isinstance(code, int) and not isinstance(code, bool) else None
            )
        ]
    else:
        events = [Ignored(f"event {name[:40]} not handled")]
    return EvolutionWebhook(instance=instance, event=name, events=events)


def _items(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and data and len(data) <= 100 and all(isinstance(d, dict) for d in data):
        return data
    raise PayloadError("data must be an object")


def _is_pn(jid: Any) -> bool:
    return isinstance(jid, str) and jid.endswith("@s.whatsapp.net")


def sender_phone(key: dict[str, Any]) -> str | None:
    """The parent's phone digits from a 1:1 message key (REFERENCE.md §2.2): the PN JID among
    remoteJid, remoteJidAlt (LID addressing), senderPn and previousRemoteJid (2.3.1–2.3.2)."""
    candidates = [
        key.get("remoteJid"),
        key.get("remoteJidAlt"),
        key.get("senderPn"),
        key.get("previousRemoteJid"),
    ]
    if key.get("fromMe") is True:
        # On our own messages remoteJidAlt may be our LID/PN, not the peer's: trust remoteJid.
        candidates = [key.get("remoteJid"), key.get("previousRemoteJid")]
    pn = next((c for c in candidates if _is_pn(c)), None)
    return pn.split("@", 1)[0].split(":", 1)[0] if pn else None


def _timestamp(value: Any) -> dt.datetime | None:
    if isinstance(value, dict):  # protobuf Long as {low, high, unsigned}
        low, high = value.get("low"), value.get("high")
        if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
            value = (high << 32) + (low & 0xFFFFFFFF)
    return parsing.epoch_datetime(value)


def _upsert(data: dict[str, Any], envelope: dict[str, Any]) -> Event:
    key = parsing.obj(data.get("key"), "data.key")
    provider_id = parsing.string(key, "id", "data.key.id", required=True, max_length=128)
    chat = parsing.string(key, "remoteJid", "data.key.remoteJid", required=True)
    from_me = key.get("fromMe", False)
    if not isinstance(from_me, bool):
        raise PayloadError("data.key.fromMe must be a boolean")
    if chat.endswith("@g.us"):
        return Ignored("group message")
    if chat == "status@broadcast" or chat.endswith("@broadcast"):
        return Ignored("status broadcast")
    if chat.endswith("@newsletter"):
        return Ignored("newsletter")
    message = parsing.obj(data.get("message"), "data.message")
    content = _content(message)
    digits = sender_phone(key)
    if digits is None:
        # Only a LID and no phone anywhere (#1872, #2337): a contact needs a phone. Acknowledge
        # so Evolution does not retry for 20 minutes; the log tells support.
        return Ignored("no phone number in the key (LID only)")
    push_name = data.get("pushName")
    return parsing.inbound_message(
        digits,
        provider_id,
        content,
        where="data.key.remoteJid",
        push_name=push_name[:120] if isinstance(push_name, str) and not from_me else "",
        sent_at=_timestamp(data.get("messageTimestamp")),
        from_me=from_me,
        raw=_redacted(envelope),
    )


def _redacted(envelope: dict[str, Any]) -> dict[str, Any]:
    # The envelope's `apikey` is the instance token (REFERENCE.md §1.1): never stored or shown.
    return {k: ("[redacted]" if k == "apikey" and v else v) for k, v in envelope.items()}


def _caption(part: dict[str, Any], where: str) -> str:
    return parsing.string(part, "caption", f"{where}.caption")


# A voice note of a few minutes; larger inline media are fetched by the worker instead.
MAX_INLINE_AUDIO_BASE64 = 2 * 1024 * 1024


def _content(message: dict[str, Any], depth: int = 0) -> tuple[str, str, dict[str, Any]]:
    """(kind, text, media) of a proto.Message, in REFERENCE.md §2.3's extraction order."""
    if "conversation" in message and message["conversation"] is not None:
        return "text", parsing.string(message, "conversation", "message.conversation"), {}
    ext = message.get("extendedTextMessage")
    if ext is not None:
        return (
            "text",
            parsing.string(
                parsing.obj(ext, "message.extendedTextMessage"), "text", "message.extendedTextMessage.text"
            ),
            {},
        )
    audio = message.get("audioMessage")
    if audio is not None:
        part = parsing.obj(audio, "message.audioMessage")
        seconds = part.get("seconds")
        media: dict[str, Any] = {
            "mimetype": parsing.string(part, "mimetype", "message.audioMessage.mimetype"),
            "seconds": seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else None,
            "voice": part.get("ptt") is True,
        }
        if isinstance(part.get("url"), str):
            media["url"] = part["url"][:1000]
        inline = message.get("base64")  # the webhook's `base64: true` option
        if isinstance(inline, str) and 0 < len(inline) <= MAX_INLINE_AUDIO_BASE64:
            media["base64"] = inline
        return "audio", "", media
    for field, kind in (
        ("imageMessage", "image"),
        ("documentMessage", "document"),
        ("videoMessage", "other"),
    ):
        value = message.get(field)
        if value is not None:
            part = parsing.obj(value, f"message.{field}")
            media = {"mimetype": parsing.string(part, "mimetype", f"message.{field}.mimetype")}
            if field == "documentMessage":
                media["filename"] = parsing.string(part, "fileName", "message.documentMessage.fileName")[:255]
            if field == "videoMessage":
                media["type"] = "video"
            if isinstance(part.get("url"), str):
                media["url"] = part["url"][:1000]
            return kind, _caption(part, f"message.{field}"), media
    if message.get("stickerMessage") is not None:
        return "sticker", "", {}
    reaction = message.get("reactionMessage")
    if reaction is not None:
        return (
            "reaction",
            parsing.string(
                parsing.obj(reaction, "message.reactionMessage"), "text", "message.reactionMessage.text"
            ),
            {},
        )
    buttons = message.get("buttonsResponseMessage")
    if isinstance(buttons, dict) and isinstance(buttons.get("selectedDisplayText"), str):
        return "text", buttons["selectedDisplayText"], {}
    listed = message.get("listResponseMessage")
    if isinstance(listed, dict) and isinstance(listed.get("title"), str):
        return "text", listed["title"], {}
    if depth < MAX_WRAP_DEPTH:
        for wrapper in WRAPPERS:
            inner = message.get(wrapper)
            if isinstance(inner, dict) and isinstance(inner.get("message"), dict):
                return _content(inner["message"], depth + 1)
    other = next((k for k in message if isinstance(k, str) and k.endswith("Message")), "unknown")
    return "other", "", {"type": other[:60]}


def _receipt(data: dict[str, Any]) -> Event:
    provider_id = parsing.string(data, "keyId", "data.keyId", required=True, max_length=128)
    raw_status = parsing.string(data, "status", "data.status", required=True)
    from_me = data.get("fromMe", True)
    if not isinstance(from_me, bool):
        raise PayloadError("data.fromMe must be a boolean")
    if not from_me:
        return Ignored("receipt of an inbound message (read-self)")
    if data.get("remoteJid") == "status@broadcast":
        return Ignored("status broadcast receipt")
    status = RECEIPT_STATUS.get(raw_status.upper())
    if status is None:
        return Ignored(f"receipt status {raw_status[:20]} carries no delivery news")
    return StatusUpdate(
        provider_id=provider_id, status=status, error="provider reported ERROR" if status == "failed" else ""
    )


def _connection(data: Any, instance: str) -> Event:
    d = parsing.obj(data, "data")
    state = parsing.string(d, "state", "data.state", required=True)
    reason = d.get("statusReason")
    return ConnectionChange(
        instance, state[:20], reason if isinstance(reason, int) and not isinstance(reason, bool) else None
    )
