"""Reads of scheduling used by the engine, the API, the admin and the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

from django.db.models import FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from kumon.models import Unit
from scheduling import calendars
from scheduling.models import Appointment, Closure, OpeningHours, SlotHold, VisitHours
from scheduling.slots import Booked, Rules, Slot, bookable_range, closed_dates, compute_slots

Busy = list[tuple[dt.datetime, dt.datetime]]


def free_slots(
    *, unit: Unit, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None, holder: str = ""
) -> list[Slot]:
    """The unit's free slots starting in [start, end), with their remaining places.

    `holder` (the conversation asking) does not see its own holds as taken.
    Raises CalendarUnavailable when the unit's external calendar cannot be read (fail closed).
    Network: one freebusy call for google units; never call inside a transaction.
    """
    now = now or timezone.now()
    rules = unit_rules(unit)
    lo, hi = bookable_range(rules, start, end, now)
    if lo >= hi:
        return []
    busy = external_busy(unit=unit, start=lo, end=hi, rules=rules)
    return compute_free_slots(unit=unit, start=lo, end=hi, now=now, holder=holder, busy=busy, rules=rules)


def external_busy(*, unit: Unit, start: dt.datetime, end: dt.datetime, rules: Rules | None = None) -> Busy:
    """Busy intervals of the unit's external calendar around [start, end), minus our own synced
    appointments (they already count through the database, per place)."""
    rules = rules or unit_rules(unit)
    margin = rules.buffer_before + rules.buffer_after + rules.visit
    busy = calendars.backend_for(unit).busy(unit=unit, start=start - margin, end=end + margin)
    if not busy:
        return []
    ours = list(
        Appointment.objects.filter(
            unit=unit, status__in=Appointment.LIVE, start__lt=end + margin, end__gt=start - margin
        )
        .exclude(calendar_event_id="")
        .values_list("start", "end")
    )
    return subtract_intervals(busy, ours)


def compute_free_slots(
    *,
    unit: Unit,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    holder: str = "",
    busy: Busy | None = None,
    rules: Rules | None = None,
    exclude_appointment_id: int | None = None,
    extra_starts: tuple[dt.datetime, ...] = (),
) -> list[Slot]:
    """free_slots on database rows only, with the external busy intervals given (no network).
    `extra_starts`: off-grid times asked for, returned too when they obey the rules."""
    rules = rules or unit_rules(unit)
    lo, hi = bookable_range(rules, start, end, now)
    if lo >= hi:
        return []
    margin = rules.buffer_before + rules.buffer_after + rules.visit
    rules = with_closed_days(unit, rules, first=lo.astimezone(rules.tz).date(), last=hi.astimezone(rules.tz).date())
    appointments = Appointment.objects.filter(
        unit=unit, status__in=Appointment.LIVE, start__lt=hi + margin, end__gt=lo - margin
    )
    if exclude_appointment_id:
        appointments = appointments.exclude(pk=exclude_appointment_id)
    booked = [
        Booked(_from_epoch(s), _from_epoch(e), seat)
        for s, e, seat in _epochs(appointments, "scheduling_appointment").values_list("s", "e", "seat")
    ]
    holds = SlotHold.objects.filter(unit=unit, expires_at__gt=now, start__lt=hi + margin, end__gt=lo - margin)
    if holder:
        holds = holds.exclude(holder=holder)
    held = [Booked(_from_epoch(s), _from_epoch(e)) for s, e in _epochs(holds, "scheduling_slothold").values_list("s", "e")]
    return compute_slots(
        rules, start=lo, end=hi, now=now, booked=booked, holds=held, busy=busy or [], extra_starts=extra_starts
    )


def _epochs(queryset: QuerySet, table: str) -> QuerySet:
    # Seconds since the epoch as float8: psycopg parses a float in C, a timestamptz in Python
    # (that parsing was half the time of a 200-appointment window).
    return queryset.annotate(
        s=RawSQL(f'extract(epoch from "{table}"."start")::float8', [], output_field=FloatField()),
        e=RawSQL(f'extract(epoch from "{table}"."end")::float8', [], output_field=FloatField()),
    )


def _from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def with_closed_days(unit: Unit, rules: Rules, *, first: dt.date, last: dt.date) -> Rules:
    """`rules` with the unit's closures and public holidays between the local dates."""
    closures = Closure.objects.filter(unit=unit, start_date__lte=last, end_date__gte=first)
    closed = closed_dates(
        first=first, last=last, closures=closures.values_list("start_date", "end_date"), state=unit.state, city=unit.city
    )
    return replace(rules, closed=closed)


def unit_rules(unit: Unit) -> Rules:
    periods: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, p_from, p_until in OpeningHours.objects.filter(unit=unit).values_list("weekday", "start", "end"):
        periods.setdefault(weekday, []).append((p_from, p_until))
    starts: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, w_from, w_until in VisitHours.objects.filter(unit=unit).values_list("weekday", "start", "end"):
        starts.setdefault(weekday, []).append((w_from, w_until))
    return Rules(
        tz=ZoneInfo(unit.timezone),
        visit=dt.timedelta(minutes=unit.visit_minutes),
        capacity=unit.capacity,
        buffer_before=dt.timedelta(minutes=unit.buffer_before_minutes),
        buffer_after=dt.timedelta(minutes=unit.buffer_after_minutes),
        min_notice=dt.timedelta(minutes=unit.min_notice_minutes),
        window=dt.timedelta(days=unit.booking_window_days),
        periods=periods,
        starts=starts,
    )


def subtract_intervals(intervals: Busy, minus: Busy) -> Busy:
    """`intervals` with the parts covered by `minus` removed."""
    result: Busy = []
    cuts = sorted(minus)
    for a, b in sorted(intervals):
        pieces = [(a, b)]
        for c, d in cuts:
            nxt = []
            for x, y in pieces:
                if d <= x or c >= y:
                    nxt.append((x, y))
                    continue
                if c > x:
                    nxt.append((x, c))
                if d < y:
                    nxt.append((d, y))
            pieces = nxt
        result.extend(pieces)
    return result


def next_free_slots(
    *, unit: Unit, after: dt.datetime, now: dt.datetime | None = None, holder: str = "", limit: int = 3,
    busy: Busy | None = None,
) -> list[Slot]:
    """The first `limit` free slots from `after` on (within the booking window). With `busy`
    given, no network."""
    now = now or timezone.now()
    rules = unit_rules(unit)
    end = now + rules.window
    if busy is None:
        slots = free_slots(unit=unit, start=after, end=end, now=now, holder=holder)
    else:
        slots = compute_free_slots(unit=unit, start=after, end=end, now=now, holder=holder, busy=busy, rules=rules)
    return slots[:limit]


def appointments_for_phone(*, unit: Unit, phone: str, now: dt.datetime | None = None) -> QuerySet[Appointment]:
    """The live, future appointments of a family (by E.164 phone or its contact): what a parent
    may confirm, reschedule or cancel from the chat."""
    now = now or timezone.now()
    return Appointment.objects.filter(
        Q(phone=phone) | Q(contact__phone=phone), unit=unit, status__in=Appointment.LIVE, start__gt=now
    ).order_by("start")
