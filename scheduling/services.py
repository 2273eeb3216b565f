"""Writes of scheduling: booking, rescheduling, cancelling, holds, attendance, reminders.

The engine (chat), the API and the admin all call these. Each owns its transaction; calendar
writes are enqueued after commit (scheduling.sync_appointment), never done inside.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from kumon.exceptions import Conflict
from kumon.models import Contact, Unit
from kumon.phones import InvalidPhone, mask_phone, normalize_phone
from kumon.queue import enqueue
from kumon.services import get_or_create_contact
from scheduling import reminders, selectors
from scheduling.calendars import SyncStatus
from scheduling.exceptions import (
    AppointmentNotLive,
    CalendarUnavailable,
    ChangeNotAllowed,
    InvalidBooking,
    SlotUnavailable,
)
from scheduling.models import Appointment, AppointmentEvent, Reminder, SlotHold
from scheduling.slots import Slot, compute_slots

log = logging.getLogger(__name__)

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
PLACES_LOCK = 7001  # pg_advisory_xact_lock(class, unit id): the class of scheduling's unit locks


# --- booking ------------------------------------------------------------------------------------


def book_appointment(
    *,
    unit: Unit,
    start: dt.datetime,
    phone: str,
    contact: Contact | None = None,
    parent_name: str = "",
    child_name: str = "",
    child_age: int | None = None,
    school_year: str = "",
    subject: str = "",
    source: str,
    idempotency_key: str | None = None,
    changed_by: Any = None,
    holder: str = "",
    notes: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Book the slot starting at `start` for a family; returns the appointment.

    Idempotent: the key (default: unit + phone + slot) makes a retried request return the
    appointment it made. The database exclusion constraint is the final arbiter between racing
    requests: on a conflict the next place (seat) is tried.
    Raises SlotUnavailable (extra: reason "taken"/"rules", alternatives), CalendarUnavailable
    (google unit whose calendar cannot be read), InvalidBooking (phone).
    Side effects: contact created if new; reminders; an AppointmentEvent; the holder's holds
    released; calendar sync enqueued after commit.
    """
    now = now or timezone.now()
    e164 = _e164(phone)
    start = start.astimezone(dt.UTC)
    key = idempotency_key or f"{unit.pk}:{e164}:{start.isoformat()}"
    existing = Appointment.objects.filter(unit=unit, idempotency_key=key).first()
    if existing is not None:
        return existing
    if contact is None:
        contact, _ = get_or_create_contact(unit=unit, phone=e164, name=parent_name)
    # Rules and external calendar first, outside the transaction (freebusy is network I/O).
    busy = selectors.external_busy(
        unit=unit, start=start, end=start + dt.timedelta(minutes=unit.visit_minutes)
    )
    slot = _slot_at(unit=unit, start=start, now=now, holder=holder, busy=busy)
    if slot is None:
        _raise_unavailable(unit=unit, start=start, now=now, holder=holder, reason=_why(unit, start, now))

    with transaction.atomic():
        _lock_unit_places(unit)
        # Checked again under the lock, on the database only: holds of other conversations
        # committed since the first check count now.
        if _slot_at(unit=unit, start=start, now=now, holder=holder, busy=busy) is None:
            slot = None
        appointment = None
        for seat in _seats_to_try(unit=unit, slot=slot) if slot else []:
            assert slot is not None  # seats are tried only for a free slot
            try:
                with transaction.atomic():  # a savepoint per attempt: a refused insert is undone alone
                    appointment = Appointment.objects.create(
                        unit=unit,
                        contact=contact,
                        start=slot.start,
                        end=slot.end,
                        seat=seat,
                        source=source,
                        phone=e164,
                        parent_name=parent_name[:120],
                        child_name=child_name[:120],
                        child_age=child_age,
                        school_year=school_year[:40],
                        subject=subject[:120],
                        notes=notes,
                        idempotency_key=key,
                        changed_by=changed_by,
                        calendar_sync_status=_initial_sync_status(unit),
                    )
                break
            except IntegrityError as exc:
                if _sqlstate(exc) == UNIQUE_VIOLATION:
                    break  # the same request, committed by a concurrent retry: return that one
                if _sqlstate(exc) != EXCLUSION_VIOLATION:
                    raise
        if appointment is None:
            same = Appointment.objects.filter(unit=unit, idempotency_key=key).first()
            if same is not None:
                return same
        else:
            _log_event(
                appointment,
                AppointmentEvent.Kind.BOOKED,
                "",
                changed_by=changed_by,
                by_parent=source == "chat",
            )
            reminders.schedule_reminders(appointment, now=now)
            if holder:
                release_holds(holder=holder, unit=unit)
            _enqueue_sync(appointment)
    if appointment is None:
        _raise_unavailable(unit=unit, start=start, now=now, holder=holder, reason="taken")
    log.info(
        "appointment %s booked for %s at %s", appointment.pk, mask_phone(e164), appointment.start.isoformat()
    )
    return appointment


def reschedule_appointment(
    *,
    appointment: Appointment,
    start: dt.datetime,
    changed_by: Any = None,
    by_parent: bool = False,
    contact: Contact | None = None,
    holder: str = "",
    notify_family: bool = False,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move a live appointment to the slot at `start`; the same row moves, so there is exactly
    one live appointment before and after. Returns it.

    `notify_family`: staff moved it (admin), so the family is told the new time on WhatsApp: a
    "rescheduled" Reminder row due now, sent by the reminders task (conversations.reminders),
    which is also enqueued after commit so the notice goes out at once rather than at the next
    beat tick. A row, not a direct send: scheduling never imports conversations, and the notice
    survives a broker outage (beat claims it within a minute).
    Raises ChangeNotAllowed (parent: not theirs / past / too late), AppointmentNotLive,
    SlotUnavailable (with alternatives), CalendarUnavailable.
    Side effects: reminders moved (and re-armed), an AppointmentEvent, confirmation reset to
    booked, calendar sync enqueued after commit; with notify_family the notice above.
    """
    now = now or timezone.now()
    unit = appointment.unit
    _check_change_allowed(appointment, by_parent=by_parent, contact=contact, now=now)
    start = start.astimezone(dt.UTC)
    busy = selectors.external_busy(
        unit=unit, start=start, end=start + dt.timedelta(minutes=unit.visit_minutes)
    )
    slot = _slot_at(
        unit=unit, start=start, now=now, holder=holder, busy=busy, exclude_appointment_id=appointment.pk
    )
    if slot is None:
        _raise_unavailable(unit=unit, start=start, now=now, holder=holder, reason=_why(unit, start, now))
    moved = None
    with transaction.atomic():
        _lock_unit_places(unit)
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        _check_change_allowed(current, by_parent=by_parent, contact=contact, now=now)
        old_start, old_status = current.start, current.status
        if (
            _slot_at(
                unit=unit, start=start, now=now, holder=holder, busy=busy, exclude_appointment_id=current.pk
            )
            is None
        ):
            slot = None
        for seat in _seats_to_try(unit=unit, slot=slot, prefer=current.seat) if slot else []:
            assert slot is not None  # seats are tried only for a free slot
            try:
                with transaction.atomic():
                    current.start, current.end, current.seat = slot.start, slot.end, seat
                    current.status = Appointment.Status.BOOKED
                    # The key protected the original request; a retry of it must not move this back.
                    current.idempotency_key = None
                    current.changed_by = changed_by
                    current.calendar_sync_status = _initial_sync_status(unit)
                    current.save()
                moved = current
                break
            except IntegrityError as exc:
                if _sqlstate(exc) != EXCLUSION_VIOLATION:
                    raise
        if moved is not None:
            AppointmentEvent.objects.create(
                appointment=moved,
                kind=AppointmentEvent.Kind.RESCHEDULED,
                from_status=old_status,
                to_status=moved.status,
                old_start=old_start,
                new_start=moved.start,
                changed_by=changed_by,
                by_parent=by_parent,
            )
            reminders.schedule_reminders(moved, now=now)
            if notify_family:
                reminders.schedule_rescheduled_notice(moved, now=now)
            if holder:
                release_holds(holder=holder, unit=unit)
            _enqueue_sync(moved)
    if moved is None:
        appointment.refresh_from_db()
        _raise_unavailable(unit=unit, start=start, now=now, holder=holder, reason="taken")
    return moved


def cancel_appointment(
    *,
    appointment: Appointment,
    changed_by: Any = None,
    by_parent: bool = False,
    contact: Contact | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Cancel a live appointment; its place is free at once. Returns it.

    Raises ChangeNotAllowed (parent rules), AppointmentNotLive.
    Side effects: pending reminders skipped, an AppointmentEvent, calendar event deleted after
    commit.
    """
    now = now or timezone.now()
    _check_change_allowed(appointment, by_parent=by_parent, contact=contact, now=now)
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        _check_change_allowed(current, by_parent=by_parent, contact=contact, now=now)
        old = current.status
        current.status = Appointment.Status.CANCELLED
        current.idempotency_key = None
        current.changed_by = changed_by
        current.calendar_sync_status = _initial_sync_status(current.unit)
        current.save()
        _log_event(current, AppointmentEvent.Kind.CANCELLED, old, changed_by=changed_by, by_parent=by_parent)
        current.reminders.filter(status=Reminder.Status.PENDING).update(
            status=Reminder.Status.SKIPPED, last_error="appointment cancelled"
        )
        _enqueue_sync(current)
    return current


def confirm_appointment(
    *,
    appointment: Appointment,
    changed_by: Any = None,
    by_parent: bool = True,
    now: dt.datetime | None = None,
) -> Appointment:
    """The family confirmed (reply "1" to a reminder). Idempotent on a confirmed appointment.
    Raises AppointmentNotLive. Side effects: an AppointmentEvent, calendar sync."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status == Appointment.Status.CONFIRMED:
            return current
        if current.status not in Appointment.LIVE:
            raise AppointmentNotLive(
                gettext("This appointment is no longer booked."), extra={"status": current.status}
            )
        current.status = Appointment.Status.CONFIRMED
        current.changed_by = changed_by
        current.calendar_sync_status = _initial_sync_status(current.unit)
        current.save()
        _log_event(
            current,
            AppointmentEvent.Kind.CONFIRMED,
            Appointment.Status.BOOKED,
            changed_by=changed_by,
            by_parent=by_parent,
        )
        _enqueue_sync(current)
    return current


def mark_attended(
    *, appointment: Appointment, changed_by: Any = None, now: dt.datetime | None = None
) -> Appointment:
    """Staff: the family came. Idempotent. Raises AppointmentNotLive (cancelled) and Conflict
    for a visit that has not started. Side effects: pending reminders skipped, event, sync."""
    return _mark_outcome(
        appointment, Appointment.Status.ATTENDED, changed_by=changed_by, now=now or timezone.now()
    )


def mark_no_show(
    *, appointment: Appointment, changed_by: Any = None, now: dt.datetime | None = None
) -> Appointment:
    """Staff: the family did not come. Idempotent. Side effects as mark_attended, plus one
    "no_show" reminder offering a new time the next day (unless off for the unit)."""
    return _mark_outcome(
        appointment, Appointment.Status.NO_SHOW, changed_by=changed_by, now=now or timezone.now()
    )


def _mark_outcome(appointment: Appointment, status: str, *, changed_by: Any, now: dt.datetime) -> Appointment:
    with transaction.atomic():
        current = Appointment.objects.select_for_update().select_related("unit").get(pk=appointment.pk)
        if current.status == status:
            return current
        if current.status == Appointment.Status.CANCELLED:
            raise AppointmentNotLive(
                gettext("A cancelled appointment cannot be marked."), extra={"status": current.status}
            )
        if current.start > now:
            raise Conflict(
                gettext("The visit has not started yet."), extra={"start": current.start.isoformat()}
            )
        old = current.status
        current.status = status
        current.changed_by = changed_by
        current.calendar_sync_status = _initial_sync_status(current.unit)
        current.save()
        _log_event(current, AppointmentEvent.Kind(status), old, changed_by=changed_by, by_parent=False)
        current.reminders.filter(status=Reminder.Status.PENDING).exclude(kind=Reminder.NO_SHOW).update(
            status=Reminder.Status.SKIPPED, last_error=f"appointment {status}"
        )
        if status == Appointment.Status.NO_SHOW:
            reminders.schedule_no_show_followup(current, now=now)
        else:
            current.reminders.filter(kind=Reminder.NO_SHOW, status=Reminder.Status.PENDING).update(
                status=Reminder.Status.SKIPPED, last_error="marked attended"
            )
        _enqueue_sync(current)
    return current


LEAD_FIELDS = ("parent_name", "child_name", "child_age", "school_year", "subject", "notes")


def update_appointment_details(
    *, appointment: Appointment, changed_by: Any = None, **fields: Any
) -> Appointment:
    """Staff corrected the lead data (names, age, year, subject, notes); returns the appointment.
    Times and status change only through the services above. Side effects: calendar sync."""
    unknown = set(fields) - set(LEAD_FIELDS)
    if unknown:
        raise InvalidBooking(
            gettext("Only lead details can be edited here."), extra={"field": sorted(unknown)[0]}
        )
    with transaction.atomic():
        current = Appointment.objects.select_for_update().select_related("unit").get(pk=appointment.pk)
        _rewrite_details(current, fields, changed_by=changed_by)
    return current


# What identifies the family on an appointment (LGPD erasure); status, times, age, year and
# subject stay for the unit's statistics.
ERASED_DETAILS = {
    "phone": "",
    "parent_name": "",
    "child_name": "",
    "notes": "",
    "idempotency_key": None,
    "calendar_sync_error": "",
}


def erase_family_details(*, appointment_ids: list[int]) -> int:
    """LGPD erasure of the appointments of one family: ERASED_DETAILS cleared, in the unit's
    Google Calendar too, whose event is rewritten without them by the calendar sync. Returns how
    many appointments changed. Side effects: calendar sync enqueued after commit (Google units)."""
    with transaction.atomic():
        locked = list(
            Appointment.objects.select_for_update().select_related("unit").filter(pk__in=appointment_ids)
        )
        for current in locked:
            _rewrite_details(current, ERASED_DETAILS, changed_by=None)
    return len(locked)


def _rewrite_details(current: Appointment, fields: dict[str, Any], *, changed_by: Any) -> None:
    """Set `fields` on the locked appointment, save, and have the calendar show it."""
    for name, value in fields.items():
        setattr(current, name, value)
    current.changed_by = changed_by
    current.calendar_sync_status = _initial_sync_status(current.unit)
    current.save()
    _enqueue_sync(current)


# The reminder services live in scheduling.reminders; these names are part of this module's
# interface too (claim_due_reminders & co. are "services" to their callers).
claim_due_reminders = reminders.claim_due_reminders
mark_reminder_sent = reminders.mark_reminder_sent
mark_reminder_failed = reminders.mark_reminder_failed
mark_reminder_skipped = reminders.mark_reminder_skipped
retry_reminder = reminders.retry_reminder


# --- holds --------------------------------------------------------------------------------------


def hold_slot(
    *, unit: Unit, start: dt.datetime, holder: str, minutes: int | None = None, now: dt.datetime | None = None
) -> SlotHold:
    """Hold the slot at `start` for `holder` (a conversation) for `minutes`; returns the hold.

    While it lasts, other holders see one place fewer. Holding again extends it.
    Raises SlotUnavailable (with alternatives) if no place is left for this holder,
    CalendarUnavailable. Side effects: one SlotHold row (expires by itself).
    """
    if not holder:
        raise InvalidBooking(gettext("A hold needs a holder."), extra={"field": "holder"})
    now = now or timezone.now()
    minutes = minutes or settings.SLOT_HOLD_MINUTES
    start = start.astimezone(dt.UTC)
    busy = selectors.external_busy(
        unit=unit, start=start, end=start + dt.timedelta(minutes=unit.visit_minutes)
    )
    with transaction.atomic():
        _lock_unit_places(unit)
        slot = _slot_at(unit=unit, start=start, now=now, holder=holder, busy=busy)
        if slot is None:
            reason = _why(unit, start, now)
        else:
            hold, _ = SlotHold.objects.update_or_create(
                unit=unit,
                holder=holder,
                start=slot.start,
                defaults={"end": slot.end, "expires_at": now + dt.timedelta(minutes=minutes)},
            )
            return hold
    _raise_unavailable(unit=unit, start=start, now=now, holder=holder, reason=reason)


def release_holds(*, holder: str, unit: Unit | None = None) -> int:
    """Drop a conversation's holds (it booked, or left). Returns how many."""
    holds = SlotHold.objects.filter(holder=holder)
    if unit is not None:
        holds = holds.filter(unit=unit)
    return holds.delete()[0]


def purge_expired_holds(*, now: dt.datetime | None = None) -> int:
    """Delete expired holds (they already count for nothing). Returns how many."""
    return SlotHold.objects.filter(expires_at__lte=now or timezone.now()).delete()[0]


# --- internals ----------------------------------------------------------------------------------


def _e164(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except InvalidPhone as exc:
        raise InvalidBooking(gettext("Invalid phone number."), extra={"field": "phone"}) from exc


def _slot_at(
    *,
    unit: Unit,
    start: dt.datetime,
    now: dt.datetime,
    holder: str,
    busy: Any,
    exclude_appointment_id: int | None = None,
) -> Slot | None:
    # The time asked for need not be on the offer grid ("16h30"): it is a slot when it obeys the rules.
    rules = selectors.unit_rules(unit)
    if holder and SlotHold.objects.filter(unit=unit, holder=holder, start=start, expires_at__gt=now).exists():
        # Offered and held for this family: the hold is the promise, though the minimum notice
        # ran out while they chose (16h45 offered at 14h45, chosen at 14h47).
        rules = replace(rules, min_notice=dt.timedelta(0))
    slots = selectors.compute_free_slots(
        unit=unit,
        start=start,
        end=start + dt.timedelta(seconds=1),
        now=now,
        holder=holder,
        busy=busy,
        rules=rules,
        exclude_appointment_id=exclude_appointment_id,
        extra_starts=(start,),
    )
    return slots[0] if slots and slots[0].start == start else None


def _why(unit: Unit, start: dt.datetime, now: dt.datetime) -> str:
    """ "rules" when the time is not a slot even in an empty calendar, else "taken"."""
    rules = selectors.unit_rules(unit)
    day = start.astimezone(rules.tz).date()
    rules = selectors.with_closed_days(unit, rules, first=day, last=day)
    empty = compute_slots(
        rules, start=start, end=start + dt.timedelta(seconds=1), now=now, extra_starts=(start,)
    )
    return "taken" if empty and empty[0].start == start else "rules"


def _raise_unavailable(
    *, unit: Unit, start: dt.datetime, now: dt.datetime, holder: str, reason: str
) -> NoReturn:
    # The next free slots from the time asked (or from now). For a google unit this reads its
    # calendar again (outside any transaction): alternatives are never offered from a calendar
    # we did not read; if it cannot be read, there are none.
    try:
        alternatives = selectors.next_free_slots(
            unit=unit, after=max(start, now), now=now, holder=holder, limit=3
        )
        if not alternatives:
            alternatives = selectors.next_free_slots(unit=unit, after=now, now=now, holder=holder, limit=3)
    except CalendarUnavailable:
        alternatives = []
    message = (
        gettext("This time is no longer available.")
        if reason == "taken"
        else gettext("This time cannot be booked.")
    )
    raise SlotUnavailable(
        message, extra={"reason": reason, "alternatives": [s.as_dict() for s in alternatives]}
    )


def _lock_unit_places(unit: Unit) -> None:
    """Serialize the unit's place-taking writes (holds, bookings, moves) until commit.

    Holds are not a database constraint: under this lock two conversations cannot both hold the
    last place, and a booking sees every committed hold. Appointments stay protected by the
    exclusion constraint whatever path writes them. Always taken first in a transaction (before
    any row lock), so it cannot deadlock with them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PLACES_LOCK, unit.pk])


def _seats_to_try(*, unit: Unit, slot: Slot, prefer: int | None = None) -> list[int]:
    """Every place of the unit, the ones that look free first (the constraint decides)."""
    taken = set(
        Appointment.objects.filter(
            unit=unit, status__in=Appointment.LIVE, start__lt=slot.end, end__gt=slot.start
        ).values_list("seat", flat=True)
    )
    seats = list(range(1, unit.capacity + 1))
    if prefer in seats:
        seats.remove(prefer)
        seats.insert(0, prefer)
    return [s for s in seats if s not in taken] + [s for s in seats if s in taken]


def _sqlstate(exc: IntegrityError) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def _initial_sync_status(unit: Unit) -> str:
    return SyncStatus.PENDING if unit.calendar_backend == Unit.Calendar.GOOGLE else SyncStatus.NONE


def _log_event(
    appointment: Appointment, kind: str, from_status: str, *, changed_by: Any, by_parent: bool
) -> None:
    AppointmentEvent.objects.create(
        appointment=appointment,
        kind=kind,
        from_status=from_status,
        to_status=appointment.status,
        new_start=appointment.start,
        changed_by=changed_by,
        by_parent=by_parent,
    )


def _enqueue_sync(appointment: Appointment) -> None:
    if appointment.unit.calendar_backend != Unit.Calendar.GOOGLE:
        return
    # A broker outage does not fail a committed booking: resync_calendars catches up.
    enqueue("scheduling.sync_appointment", appointment_id=appointment.pk)


def _check_change_allowed(
    appointment: Appointment, *, by_parent: bool, contact: Contact | None, now: dt.datetime
) -> None:
    if appointment.status not in Appointment.LIVE:
        if by_parent:
            raise ChangeNotAllowed(
                gettext("This appointment is no longer booked."),
                extra={"reason": "not_live", "deadline": None},
            )
        raise AppointmentNotLive(
            gettext("This appointment is no longer booked."), extra={"status": appointment.status}
        )
    if not by_parent:
        return
    if contact is not None and appointment.contact_id != contact.pk and appointment.phone != contact.phone:
        raise ChangeNotAllowed(
            gettext("Not your appointment."), extra={"reason": "not_owner", "deadline": None}
        )
    if appointment.start <= now:
        raise ChangeNotAllowed(
            gettext("This visit has already started."), extra={"reason": "past", "deadline": None}
        )
    deadline = appointment.start - dt.timedelta(minutes=appointment.unit.change_notice_minutes)
    if now > deadline:
        raise ChangeNotAllowed(
            gettext("Too close to the visit to change it here; staff will help."),
            extra={
                "reason": "too_late",
                "deadline": deadline.astimezone(ZoneInfo(appointment.unit.timezone)).isoformat(),
            },
        )
