"""Errors of the WhatsApp channel.

PayloadError: a webhook body we refuse (400 with its reason). TransientError / PermanentError:
what a provider call ended with; the send task retries only the first.
"""

from __future__ import annotations


class PayloadError(ValueError):
    """A webhook body that is not JSON of the expected shape. `reason` is safe to return."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GatewayError(Exception):
    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.status = status


class TransientError(GatewayError):
    """Timeouts, connection errors, 5xx, 429: worth retrying with backoff."""


class PermanentError(GatewayError):
    """Any other 4xx (number not on WhatsApp, closed instance, bad token): retrying cannot help."""
