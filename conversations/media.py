"""Getting the bytes of a parent's media (voice notes) without importing the channel.

The channel registers one fetcher per gateway at start-up (whatsapp/apps.py); the engine asks
here. Inline base64 (Evolution's webhook with `base64` on) needs no fetch at all.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

from conversations.models import Message

logger = logging.getLogger(__name__)

MAX_AUDIO_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for audio
Fetcher = Callable[[Message], bytes | None]
_fetchers: dict[str, Fetcher] = {}


def register_fetcher(gateway: str, fetcher: Fetcher) -> None:
    _fetchers[gateway] = fetcher


def media_bytes(message: Message) -> bytes | None:
    """The media of `message`, or None if it cannot be had (no fetcher, provider error)."""
    media = (message.meta or {}).get("media") or {}
    encoded = media.get("base64")
    if encoded:
        try:
            data = base64.b64decode(encoded, validate=False)
        except (ValueError, TypeError):
            return None
        return data if len(data) <= MAX_AUDIO_BYTES else None
    fetcher = _fetchers.get(message.unit.gateway)
    if fetcher is None:
        return None
    try:
        fetched = fetcher(message)
    except Exception as exc:  # the provider's failure only means "ask the parent to type"
        logger.warning("media of message %s could not be fetched: %s", message.pk, type(exc).__name__)
        return None
    return fetched if fetched and len(fetched) <= MAX_AUDIO_BYTES else None
