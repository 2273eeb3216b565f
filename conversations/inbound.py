"""What the channel hands to conversations: a parsed inbound message, provider-neutral."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InboundMessage:
    """One message from a parent (or, with from_me, typed by staff on the unit's phone)."""

    phone: str  # any spelling; normalised to E.164 by the service
    provider_id: str
    kind: str = "text"  # conversations.models.Message.Kind
    text: str = ""  # the text, or a media caption
    media: dict[str, Any] = field(default_factory=dict)  # {"mimetype", "seconds", "url", ...}
    push_name: str = ""
    sent_at: dt.datetime | None = None
    from_me: bool = False
    raw: dict[str, Any] | None = None
    # The moment the engine treats as "now" for this message (`manage.py chat --at`);
    # None = real time.
    clock: dt.datetime | None = None
    # Typed in the simulator page: stored on a simulator contact only (kumon.Contact.simulated).
    simulated: bool = False


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery receipt for one of our outbound messages."""

    provider_id: str
    status: str  # sent | delivered | read | failed
    error: str = ""
    at: dt.datetime | None = None
