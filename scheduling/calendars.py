"""Calendar backends: where a unit's appointments also live, and where its busy times come from.

- local: the database only (the embedded default); nothing external is busy.
- google: the unit's Google calendar (per-unit google_calendar_id, one service account).
  Availability reads freebusy synchronously and fails closed (CalendarUnavailable); writes
  happen in the `scheduling.sync_appointment` task after commit (sync_appointment_calendar).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext

from kumon.models import Unit
from scheduling.client import (
    CalendarError,
    EventData,
    GoogleCalendarClient,
    PermanentError,
    TransientError,
    event_id_for,
)
from scheduling.exceptions import CalendarUnavailable
from scheduling.models import Appointment

log = logging.getLogger(__name__)


class SyncStatus:
    NONE = "none"  # local calendar: nothing to sync
    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"  # permanent error; calendar_sync_error says why


class CalendarBackend(Protocol):
    def busy(
        self, *, unit: Unit, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]: ...

    def push(self, *, appointment: Appointment) -> str: ...

    def remove(self, *, appointment: Appointment) -> None: ...


class LocalCalendar:
    def busy(
        self, *, unit: Unit, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        return []

    def push(self, *, appointment: Appointment) -> str:
        return ""

    def remove(self, *, appointment: Appointment) -> None:
        return None


class GoogleCalendar:
    def busy(
        self, *, unit: Unit, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        try:
            if not unit.google_calendar_id:
                raise PermanentError("unit has no google_calendar_id")
            return google_client().freebusy(calendar_id=unit.google_calendar_id, start=start, end=end)
        except CalendarError as exc:
            log.warning("calendar unavailable for unit %s: %s", unit.slug, exc)
            raise CalendarUnavailable(
                gettext("The unit's calendar could not be read; staff will confirm the time."),
                extra={"unit": unit.slug},
            ) from exc

    def push(self, *, appointment: Appointment) -> str:
        unit = appointment.unit
        return google_client().upsert_event(
            calendar_id=unit.google_calendar_id,
            event=event_data(appointment),
            known=bool(appointment.calendar_event_id),
        )

    def remove(self, *, appointment: Appointment) -> None:
        if appointment.calendar_event_id:
            google_client().delete_event(
                calendar_id=appointment.unit.google_calendar_id, event_id=appointment.calendar_event_id
            )


def backend_for(unit: Unit) -> CalendarBackend:
    if unit.calendar_backend == Unit.Calendar.GOOGLE:
        return GoogleCalendar()
    return LocalCalendar()


_local = threading.local()


def google_client() -> GoogleCalendarClient:
    """One client per thread and configuration (httplib2 is not thread-safe; building the
    service parses the discovery document, so it is reused)."""
    key = (
        settings.GOOGLE_SERVICE_ACCOUNT_FILE,
        settings.GOOGLE_CALENDAR_API_URL,
        settings.GOOGLE_CALENDAR_TIMEOUT,
    )
    cached = getattr(_local, "client", None)
    if cached is None or cached[0] != key:
        client = GoogleCalendarClient(service_account_file=key[0], api_url=key[1], timeout=key[2])
        _local.client = cached = (key, client)
    return cached[1]


def event_data(appointment: Appointment) -> EventData:
    """The lead summary staff see in their calendar."""
    a = appointment
    child = a.child_name or "criança"
    age = f", {a.child_age} anos" if a.child_age is not None else ""
    lines = [
        f"Responsável: {a.parent_name or '-'}",
        f"WhatsApp: {a.phone or '-'}",
        f"Criança: {child}{age}" + (f" ({a.school_year})" if a.school_year else ""),
        f"Disciplina: {a.subject or '-'}",
        f"Origem: {a.get_source_display()}",
        f"Status: {a.get_status_display()}",
    ]
    if a.notes:
        lines.append(f"Observações: {a.notes}")
    lines.append(f"Agendamento #{a.pk} (Kumon Recepcionista)")
    return EventData(
        event_id=event_id_for(a.pk),
        summary=f"Visita Kumon: {child}{age}",
        description="\n".join(lines),
        start=a.start.astimezone(ZoneInfo(a.unit.timezone)),
        end=a.end.astimezone(ZoneInfo(a.unit.timezone)),
        timezone=a.unit.timezone,
        location=a.unit.address,
    )


def sync_appointment_calendar(*, appointment: Appointment) -> str:
    """Make the unit's calendar show the appointment as it is now; returns the sync status.

    Side effects: the Google event is inserted/patched (live, attended, no-show) or deleted
    (cancelled); calendar_event_id and calendar_sync_status/error are stored. Raises
    TransientError for the caller to retry (status stays pending). Runs outside any transaction:
    the network call holds no lock. If the appointment changed while we talked to Google, it is
    synced again with its new state (a stale write never wins).
    """
    for _ in range(3):
        a = Appointment.objects.select_related("unit").filter(pk=appointment.pk).first()
        if a is None:
            return SyncStatus.NONE
        row = Appointment.objects.filter(pk=a.pk, changed_at=a.changed_at)
        if a.unit.calendar_backend != Unit.Calendar.GOOGLE:
            row.update(calendar_sync_status=SyncStatus.NONE, calendar_sync_error="")
            return SyncStatus.NONE
        if not a.unit.google_calendar_id:
            row.update(
                calendar_sync_status=SyncStatus.FAILED, calendar_sync_error="unit has no Google calendar id"
            )
            return SyncStatus.FAILED
        backend = backend_for(a.unit)
        try:
            if a.status == Appointment.Status.CANCELLED:
                backend.remove(appointment=a)
                event_id = a.calendar_event_id
            else:
                event_id = backend.push(appointment=a)
        except PermanentError as exc:
            log.warning("calendar sync failed for appointment %s: %s", a.pk, exc)
            row.update(calendar_sync_status=SyncStatus.FAILED, calendar_sync_error=str(exc)[:500])
            return SyncStatus.FAILED
        except TransientError as exc:
            Appointment.objects.filter(pk=a.pk).update(
                calendar_sync_status=SyncStatus.PENDING, calendar_sync_error=str(exc)[:500]
            )
            raise
        # Only if nothing changed meanwhile (changed_at is our version); else loop and resync.
        if row.update(
            calendar_event_id=event_id, calendar_sync_status=SyncStatus.SYNCED, calendar_sync_error=""
        ):
            return SyncStatus.SYNCED
    return SyncStatus.PENDING
