"""Typed webhook events, the output of the parsers (evolution.py, meta.py).

A message from a parent (or typed by staff on the unit's phone) is conversations'
`InboundMessage`; a delivery receipt is its `StatusUpdate`. What the channel itself consumes
or drops gets a type here.
"""

from __future__ import annotations

from dataclasses import dataclass

from conversations.inbound import InboundMessage, StatusUpdate


@dataclass(frozen=True)
class ConnectionChange:
    """Evolution `connection.update` / `status.instance`: the instance's socket state."""

    instance: str
    state: str  # open | connecting | close | refused | closed
    reason: int | None = None


@dataclass(frozen=True)
class Ignored:
    """Acknowledged (200) and not stored: groups, status posts, our own send echoes, events
    we do not subscribe to. `reason` goes to the log only."""

    reason: str


Event = InboundMessage | StatusUpdate | ConnectionChange | Ignored

__all__ = ["ConnectionChange", "Event", "Ignored", "InboundMessage", "StatusUpdate"]
