"""Domain errors. Each carries the HTTP status the API answers with (kumon.api_errors)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class PermissionDenied(DomainError):
    status_code = 403


class RealFamilyPhone(Conflict):
    """The simulator was asked to play a number that is a real family's (or the unit's staff
    phone): it never writes into a real contact's conversations."""
