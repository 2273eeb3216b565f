"""Scheduling failures. Each is a kumon DomainError: the API answers with its status and
{"message", "extra"}; the conversation engine reads `extra` to answer the parent."""

from __future__ import annotations

from kumon.exceptions import Conflict, DomainError, PermissionDenied


class SlotUnavailable(Conflict):
    """The time is taken or breaks a rule. extra = {"reason": "taken" | "rules",
    "alternatives": [{"start", "end", "remaining"}, ...]} (the next free slots, ISO-8601)."""


class CalendarUnavailable(DomainError):
    """The unit's external calendar could not be read: no slot is offered (fail closed).
    extra = {"unit": slug}. The engine tells the parent staff will confirm."""

    status_code = 503


class ChangeNotAllowed(PermissionDenied):
    """A parent may only change their own future appointments, up to unit.change_notice_minutes
    before. extra = {"reason": "too_late" | "past" | "not_owner" | "not_live",
    "deadline": ISO-8601 | None}. The engine hands the conversation to staff."""


class AppointmentNotLive(Conflict):
    """The appointment is not booked/confirmed (cancelled, attended or no-show already).
    extra = {"status": ...}"""


class InvalidBooking(DomainError):
    """Bad input (phone that is not a phone, unknown unit...). extra = {"field": ...}"""
