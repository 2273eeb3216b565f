"""What the providers' webhook parsers share (whatsapp/evolution.py, whatsapp/meta.py): typed
readers of JSON fields that raise PayloadError with the field's path, provider timestamps, and
the one builder of the InboundMessage handed to conversations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conversations.inbound import InboundMessage
from kumon.phones import InvalidPhone, normalize_phone
from whatsapp.exceptions import PayloadError

# datetime.fromtimestamp fails past year 9999: a larger number is no timestamp of ours.
_MAX_EPOCH = 32503680000


def obj(value: Any, where: str) -> dict[str, Any]:
    """`value` as a JSON object, or PayloadError naming `where`."""
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object")
    return value


def string(d: dict[str, Any], key: str, where: str, *, required: bool = False, max_length: int = 0) -> str:
    """`d[key]` as a string: "" when absent, unless `required` (then also not blank);
    `max_length` (0 = any) for ids that go into a bounded column."""
    value = d.get(key)
    if value is None:
        if required:
            raise PayloadError(f"missing field: {where}")
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be a string")
    if required and not value.strip():
        raise PayloadError(f"missing field: {where}")
    if max_length and len(value) > max_length:
        raise PayloadError(f"{where}: too long")
    return value


def epoch_datetime(value: Any) -> dt.datetime | None:
    """A provider's epoch seconds (a number or a string of digits) as an aware datetime; None
    for anything else, out of range included."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < _MAX_EPOCH:
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    return None


# (kind, text, media) of a message's content, as each provider's _content reads it.
Content = tuple[str, str, dict[str, Any]]


def inbound_message(
    sender: str, provider_id: str, content: Content, *, where: str, **fields: Any
) -> InboundMessage:
    """The InboundMessage of a parent's (or the unit's own) message: `sender` is the phone as
    the provider spells it, normalised here to E.164 (PayloadError naming `where` if it is not
    a phone number); `fields` are InboundMessage's other fields (push_name, sent_at, raw…)."""
    try:
        phone = normalize_phone(sender)
    except InvalidPhone as exc:
        raise PayloadError(f"{where}: not a phone number") from exc
    kind, text, media = content
    return InboundMessage(phone=phone, provider_id=provider_id, kind=kind, text=text, media=media, **fields)
