"""Reads of scheduling used by the engine, the API, the admin and the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from django.db.models import FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from kumon.models import Unit
from scheduling import calendars
from scheduling.models import Appointment, Closure, OpeningHours, SlotHold, VisitHours
from scheduling.slots import Booked, Rules, Slot, bookable_range, closed_dates, compute_slots, holiday_name

Busy = list[tuple[dt.datetime, dt.datetime]]


def free_slots(
    *,
    unit: Unit,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
    holder: str = "",
    extra_starts: tuple[dt.datetime, ...] = (),
) -> list[Slot]:
    """The unit's free slots starting in [start, end), with their remaining places.

    `holder` (the conversation asking) does not see its own holds as taken; `extra_starts` are
    off-grid times asked for, returned too when they are bookable.
    Raises CalendarUnavailable when the unit's external calendar cannot be read (fail closed).
    Network: one freebusy call for google units; never call inside a transaction.
    """
    now = now or timezone.now()
    rules = unit_rules(unit)
    lo, hi = bookable_range(rules, start, end, now)
    if lo >= hi:
        return []
    busy = external_busy(unit=unit, start=lo, end=hi, rules=rules)
    return compute_free_slots(
        unit=unit, start=lo, end=hi, now=now, holder=holder, busy=busy, rules=rules, extra_starts=extra_starts
    )


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
    rules = with_closed_days(
        unit, rules, first=lo.astimezone(rules.tz).date(), last=hi.astimezone(rules.tz).date()
    )
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
    held = [
        Booked(_from_epoch(s), _from_epoch(e))
        for s, e in _epochs(holds, "scheduling_slothold").values_list("s", "e")
    ]
    return compute_slots(
        rules,
        start=lo,
        end=hi,
        now=now,
        booked=booked,
        holds=held,
        busy=busy or [],
        extra_starts=extra_starts,
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
        first=first,
        last=last,
        closures=closures.values_list("start_date", "end_date"),
        state=unit.state,
        city=unit.city,
    )
    return replace(rules, closed=closed)


def unit_rules(unit: Unit) -> Rules:
    periods: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, p_from, p_until in OpeningHours.objects.filter(unit=unit).values_list(
        "weekday", "start", "end"
    ):
        periods.setdefault(weekday, []).append((p_from, p_until))
    starts: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, w_from, w_until in VisitHours.objects.filter(unit=unit).values_list(
        "weekday", "start", "end"
    ):
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


@dataclass(frozen=True)
class Unavailable:
    """Why a start cannot be booked: `kind` is closed_weekday | closure | holiday | hours | soon |
    far | taken; `reason` the closure's reason or the holiday's name; `first`/`last` the day's first
    and last visit start on an empty calendar (for "hours")."""

    kind: str
    reason: str = ""
    first: dt.time | None = None
    last: dt.time | None = None


def day_closed(unit: Unit, day: dt.date, rules: Rules | None = None) -> Unavailable | None:
    """Why the unit takes no visits on this local date (closed weekday, closure, holiday), or None."""
    rules = rules or unit_rules(unit)
    closure = Closure.objects.filter(unit=unit, start_date__lte=day, end_date__gte=day).first()
    if closure is not None:
        return Unavailable("closure", closure.reason)
    holiday = holiday_name(day, state=unit.state, city=unit.city)
    if holiday:
        return Unavailable("holiday", holiday)
    if not rules.periods.get(day.weekday()) or (rules.starts and not rules.starts.get(day.weekday())):
        return Unavailable("closed_weekday")
    return None


def visit_times(unit: Unit, day: dt.date, rules: Rules | None = None) -> list[dt.datetime]:
    """The day's visit starts on an empty calendar (its grid), local times; [] when closed."""
    rules = replace(
        rules or unit_rules(unit),
        min_notice=dt.timedelta(0),
        window=dt.timedelta(days=3660),
        closed=frozenset(),
    )
    tz = rules.tz
    lo = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    return [
        s.start
        for s in compute_slots(rules, start=lo, end=lo + dt.timedelta(days=1), now=lo - dt.timedelta(days=1))
    ]


def why_unavailable(*, unit: Unit, start: dt.datetime, now: dt.datetime) -> Unavailable:
    """Why `start` is not a free slot: the first rule it breaks, else "taken"."""
    rules = unit_rules(unit)
    local = start.astimezone(rules.tz)
    closed = day_closed(unit, local.date(), rules)
    if closed is not None:
        return closed
    if start < now + rules.min_notice:
        return Unavailable("soon")
    if start >= now + rules.window:
        return Unavailable("far")
    empty = compute_slots(
        with_closed_days(unit, rules, first=local.date(), last=local.date()),
        start=start,
        end=start + dt.timedelta(seconds=1),
        now=now,
        extra_starts=(start,),
    )
    if not empty:
        times = visit_times(unit, local.date(), rules)
        return Unavailable(
            "hours", first=times[0].time() if times else None, last=times[-1].time() if times else None
        )
    return Unavailable("taken")


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
    *,
    unit: Unit,
    after: dt.datetime,
    now: dt.datetime | None = None,
    holder: str = "",
    limit: int = 3,
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
        slots = compute_free_slots(
            unit=unit, start=after, end=end, now=now, holder=holder, busy=busy, rules=rules
        )
    return slots[:limit]


def appointments_for_phone(
    *, unit: Unit, phone: str, now: dt.datetime | None = None
) -> QuerySet[Appointment]:
    """The live, future appointments of a family (by E.164 phone or its contact): what a parent
    may confirm, reschedule or cancel from the chat."""
    now = now or timezone.now()
    return Appointment.objects.filter(
        Q(phone=phone) | Q(contact__phone=phone), unit=unit, status__in=Appointment.LIVE, start__gt=now
    ).order_by("start")
