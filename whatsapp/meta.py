"""Meta WhatsApp Cloud API webhooks → typed events (REFERENCE.md §5), and its signature.

One POST may carry several entries/changes, possibly for different phone numbers (units): the
parser returns (phone_number_id, event) pairs. Wrong shapes raise PayloadError.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from conversations.inbound import StatusUpdate
from whatsapp import parsing
from whatsapp.events import Event, Ignored
from whatsapp.exceptions import PayloadError
from whatsapp.text import valid_json

# Meta status → ours. `played` (voice notes, 2026) is at least `read`.
STATUS = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}
MAX_ITEMS = 200


def signature_ok(raw: bytes, header: str | None, app_secret: str) -> bool:
    """X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret, raw body). Always over the
    raw bytes: Meta escapes non-ASCII, a re-serialised body would not match."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[7:].strip().lower().encode(), expected.encode())


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{where} must be a list")
    if len(value) > MAX_ITEMS:
        raise PayloadError(f"{where}: too many items")
    return value


def parse_payload(payload: Any) -> list[tuple[str, Event]]:
    payload = valid_json(payload)  # storable text: no lone surrogates, no U+0000 (whatsapp/text.py)
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    obj = payload.get("object")
    if obj != "whatsapp_business_account":
        return [("", Ignored(f"object {str(obj)[:40]} not handled"))]
    out: list[tuple[str, Event]] = []
    for i, entry in enumerate(_list(payload.get("entry"), "entry")):
        entry = parsing.obj(entry, f"entry[{i}]")
        for j, change in enumerate(_list(entry.get("changes"), f"entry[{i}].changes")):
            change = parsing.obj(change, f"entry[{i}].changes[{j}]")
            where = f"entry[{i}].changes[{j}].value"
            field = parsing.string(change, "field", f"entry[{i}].changes[{j}].field")
            value = parsing.obj(change.get("value"), where)
            if field != "messages":
                out.append(("", Ignored(f"field {field[:40]} not handled")))
                continue
            metadata = parsing.obj(value.get("metadata"), f"{where}.metadata")
            number_id = parsing.string(
                metadata, "phone_number_id", f"{where}.metadata.phone_number_id", required=True
            )
            names = _contact_names(value, where)
            for k, message in enumerate(_list(value.get("messages"), f"{where}.messages")):
                out.append(
                    (number_id, _message(parsing.obj(message, f"{where}.messages[{k}]"), names, payload))
                )
            for k, status in enumerate(_list(value.get("statuses"), f"{where}.statuses")):
                out.append(
                    (
                        number_id,
                        _status(parsing.obj(status, f"{where}.statuses[{k}]"), f"{where}.statuses[{k}]"),
                    )
                )
    return out


def _contact_names(value: dict[str, Any], where: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for i, contact in enumerate(_list(value.get("contacts"), f"{where}.contacts")):
        contact = parsing.obj(contact, f"{where}.contacts[{i}]")
        wa_id = parsing.string(contact, "wa_id", f"{where}.contacts[{i}].wa_id")
        profile = contact.get("profile")
        if wa_id and isinstance(profile, dict) and isinstance(profile.get("name"), str):
            names[wa_id] = profile["name"][:120]
    return names


def _message(message: dict[str, Any], names: dict[str, str], payload: dict[str, Any]) -> Event:
    provider_id = parsing.string(message, "id", "messages[].id", required=True, max_length=128)
    kind_name = parsing.string(message, "type", "messages[].type", required=True)
    sender = parsing.string(message, "from", "messages[].from")
    if kind_name == "system":
        return Ignored("system message (identity change)")
    if not sender:
        # A username-only user (BSUID, 2026) without a phone: no contact can be made yet.
        return Ignored("no phone number (username-only user)")
    return parsing.inbound_message(
        sender,
        provider_id,
        _content(message, kind_name),
        where="messages[].from",
        push_name=names.get(sender, ""),
        sent_at=parsing.epoch_datetime(message.get("timestamp")),
        raw=payload,
    )


def _content(message: dict[str, Any], kind: str) -> tuple[str, str, dict[str, Any]]:
    body = message.get(kind) if kind in message else None
    if kind == "text":
        return (
            "text",
            parsing.string(parsing.obj(body, "messages[].text"), "body", "messages[].text.body"),
            {},
        )
    if kind in ("audio", "image", "document", "video", "sticker"):
        part = parsing.obj(body, f"messages[].{kind}")
        media: dict[str, Any] = {
            "id": parsing.string(part, "id", f"messages[].{kind}.id"),
            "mimetype": parsing.string(part, "mime_type", f"messages[].{kind}.mime_type"),
        }
        if kind == "audio":
            media["voice"] = part.get("voice") is True
            return "audio", "", media
        if kind == "document":
            media["filename"] = parsing.string(part, "filename", "messages[].document.filename")[:255]
        if kind == "sticker":
            return "sticker", "", media
        if kind == "video":
            media["type"] = "video"
            return "other", parsing.string(part, "caption", "messages[].video.caption"), media
        return kind, parsing.string(part, "caption", f"messages[].{kind}.caption"), media
    if kind == "reaction":
        return (
            "reaction",
            parsing.string(parsing.obj(body, "messages[].reaction"), "emoji", "messages[].reaction.emoji"),
            {},
        )
    if kind == "button" and isinstance(body, dict) and isinstance(body.get("text"), str):
        return "text", body["text"], {}
    if kind == "interactive" and isinstance(body, dict):
        for reply_key in ("button_reply", "list_reply"):
            reply = body.get(reply_key)
            if isinstance(reply, dict) and isinstance(reply.get("title"), str):
                return "text", reply["title"], {}
    return "other", "", {"type": kind[:60]}


def _status(status: dict[str, Any], where: str) -> Event:
    provider_id = parsing.string(status, "id", f"{where}.id", required=True)
    raw_status = parsing.string(status, "status", f"{where}.status", required=True)
    mapped = STATUS.get(raw_status.lower())
    if mapped is None:
        return Ignored(f"status {raw_status[:20]} not handled")
    error = ""
    errors = _list(status.get("errors"), f"{where}.errors")
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        details = (
            first.get("error_data", {}).get("details") if isinstance(first.get("error_data"), dict) else None
        )
        parts = [
            str(first.get("code", "")),
            str(first.get("title", "")),
            details if isinstance(details, str) else "",
        ]
        error = " ".join(p for p in parts if p)[:500]
    return StatusUpdate(
        provider_id=provider_id,
        status=mapped,
        error=error,
        at=parsing.epoch_datetime(status.get("timestamp")),
    )
