"""Free slots: opening hours − closures − holidays − appointments − holds − external busy times.

Pure: no database, no network. `scheduling.selectors.free_slots` gathers the rows and calls
`compute_slots`; the bench and the property tests call it directly.

Rules, all in the unit's time zone:
- A slot is a visit [start, start + visit) whose *buffered* interval
  [start − buffer_before, end + buffer_after) lies inside one opening period of its local day.
- Slots form a grid per period, starting at period start + buffer_before, step
  visit + buffer_before + buffer_after. With no buffers the step is the visit duration; with
  buffers, a step of just the visit would offer neighbours that exclude each other.
- Days closed (a closure or a public holiday) have no slots.
- start ≥ now + min_notice and start < now + booking window.
- Two bookings on one place (seat) conflict when their buffered intervals overlap; remaining =
  capacity − places taken − holds of other conversations. An external busy interval overlapping
  the buffered slot blocks it entirely. Only slots with remaining > 0 are returned.

Arithmetic is in absolute time inside a period (durations are exact across a DST change); the
period bounds are the local wall times made aware with zoneinfo.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

UTC = dt.UTC


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    remaining: int

    def as_dict(self) -> dict[str, object]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "remaining": self.remaining}


@dataclass(frozen=True)
class Booked:
    """A live appointment (or a hold, seat=None) occupying capacity."""

    start: dt.datetime
    end: dt.datetime
    seat: int | None = None


@dataclass(frozen=True)
class Rules:
    tz: ZoneInfo
    visit: dt.timedelta
    capacity: int = 1
    buffer_before: dt.timedelta = dt.timedelta(0)
    buffer_after: dt.timedelta = dt.timedelta(0)
    min_notice: dt.timedelta = dt.timedelta(0)
    window: dt.timedelta = dt.timedelta(days=30)
    # weekday (0 = Monday) -> [(from, until)] local wall times
    periods: dict[int, list[tuple[dt.time, dt.time]]] = field(default_factory=dict)
    # local dates without slots (closures and holidays)
    closed: frozenset[dt.date] = frozenset()

    @property
    def step(self) -> dt.timedelta:
        return self.visit + self.buffer_before + self.buffer_after


def bookable_range(rules: Rules, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) clipped to the minimum notice and the booking window."""
    return max(start, now + rules.min_notice), min(end, now + rules.window)


def compute_slots(
    rules: Rules,
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    booked: Sequence[Booked] = (),
    holds: Sequence[Booked] = (),
    busy: Sequence[tuple[dt.datetime, dt.datetime]] = (),
) -> list[Slot]:
    """The free slots whose start is in [start, end), in order."""
    lo, hi = bookable_range(rules, start, end, now)
    if lo >= hi or rules.capacity < 1:
        return []
    bb, ba = rules.buffer_before, rules.buffer_after
    # Occupied intervals, buffered, sorted by start for bisect: a slot only looks at neighbours.
    occupied = sorted(((b.start - bb, b.end + ba, b.seat) for b in (*booked, *holds)), key=lambda t: t[0])
    occ_starts = [o[0] for o in occupied]
    occ_longest = max((o[1] - o[0] for o in occupied), default=dt.timedelta(0))
    busy_sorted = sorted(busy)
    busy_starts = [b[0] for b in busy_sorted]
    busy_longest = max((b[1] - b[0] for b in busy_sorted), default=dt.timedelta(0))

    slots: list[Slot] = []
    seen: set[dt.datetime] = set()
    day = lo.astimezone(rules.tz).date()
    last_day = hi.astimezone(rules.tz).date()
    while day <= last_day:
        if day not in rules.closed:
            for p_from, p_until in sorted(rules.periods.get(day.weekday(), ())):
                p_start = dt.datetime.combine(day, p_from, tzinfo=rules.tz).astimezone(UTC)
                p_end = dt.datetime.combine(day, p_until, tzinfo=rules.tz).astimezone(UTC)
                s = p_start + bb
                while s + rules.visit + ba <= p_end:
                    if s >= hi:
                        break
                    if s >= lo and s not in seen:
                        e = s + rules.visit
                        remaining = _remaining(
                            rules, s - bb, e + ba, occupied, occ_starts, occ_longest,
                            busy_sorted, busy_starts, busy_longest,
                        )
                        if remaining > 0:
                            seen.add(s)
                            slots.append(Slot(s.astimezone(rules.tz), e.astimezone(rules.tz), remaining))
                    s += rules.step
        day += dt.timedelta(days=1)
    slots.sort(key=lambda slot: slot.start)
    return slots


def _remaining(
    rules: Rules,
    b_start: dt.datetime,
    b_end: dt.datetime,
    occupied: list[tuple[dt.datetime, dt.datetime, int | None]],
    occ_starts: list[dt.datetime],
    occ_longest: dt.timedelta,
    busy: list[tuple[dt.datetime, dt.datetime]],
    busy_starts: list[dt.datetime],
    busy_longest: dt.timedelta,
) -> int:
    # Candidates start after b_start − longest and before b_end.
    i = bisect.bisect_left(busy_starts, b_start - busy_longest)
    j = bisect.bisect_left(busy_starts, b_end)
    for k in range(i, j):
        if busy[k][1] > b_start:
            return 0
    i = bisect.bisect_left(occ_starts, b_start - occ_longest)
    j = bisect.bisect_left(occ_starts, b_end)
    seats: set[int] = set()
    held = 0
    for k in range(i, j):
        o_start, o_end, seat = occupied[k]
        if o_end > b_start:
            if seat is None:
                held += 1
            else:
                seats.add(seat)
    return rules.capacity - len(seats) - held


def closed_dates(
    *,
    first: dt.date,
    last: dt.date,
    closures: Iterable[tuple[dt.date, dt.date]],
    state: str = "",
    city: str = "",
) -> frozenset[dt.date]:
    """Local dates in [first, last] closed by a closure or a public holiday."""
    closed: set[dt.date] = set()
    for c_start, c_end in closures:
        d = max(c_start, first)
        while d <= min(c_end, last):
            closed.add(d)
            d += dt.timedelta(days=1)
    table = holiday_dates(tuple(range(first.year, last.year + 1)), holiday_subdivision(state, city))
    closed.update(d for d in table if first <= d <= last)
    return frozenset(closed)


def holiday_subdivision(state: str, city: str) -> str | None:
    """The `holidays` subdivision for a unit: a city the package knows (e.g. "São Paulo
    Capital", which includes its state's holidays), else the state, else national only."""
    subdivisions = holidays.BR.subdivisions
    if city:
        wanted = f"{city.strip()} capital".casefold()
        for name in subdivisions:
            if name.casefold() == wanted:
                return name
    state = (state or "").strip().upper()
    return state if state in subdivisions else None


@lru_cache(maxsize=64)
def holiday_dates(years: tuple[int, ...], subdivision: str | None) -> frozenset[dt.date]:
    # Building the table costs ~1 ms; units share a handful of (years, subdivision) keys.
    return frozenset(holidays.country_holidays("BR", subdiv=subdivision, years=years).keys())


def holiday_name(day: dt.date, *, state: str = "", city: str = "") -> str | None:
    table = holidays.country_holidays("BR", subdiv=holiday_subdivision(state, city), years=day.year)
    return table.get(day)
