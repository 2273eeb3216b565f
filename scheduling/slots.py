"""Free slots: opening hours − closures − holidays − appointments − holds − external busy times.

Pure: no database, no network. `scheduling.selectors.free_slots` gathers the rows and calls
`compute_slots`; the bench and the property tests call it directly.

Rules, all in the unit's time zone:
- A slot is a visit [start, start + visit) whose *buffered* interval
  [start − buffer_before, end + buffer_after) lies inside one opening period of its local day.
- Slots form a grid per period, starting at period start + buffer_before, step
  visit + buffer_before + buffer_after. With no buffers the step is the visit duration; with
  buffers, a step of just the visit would offer neighbours that exclude each other.
- Visit hours (`Rules.starts`, optional): windows of allowed start times per weekday. When a
  unit has them, the grid runs from each window's first start to its last (both included) and
  a slot must still fit, buffered, inside an opening period; a weekday without windows has no
  slots. Without them, starts are wherever the unit is open (the grid above).
- `extra_starts`: times off the grid that a parent asked for ("16h30"); each is a slot too when
  it obeys the same rules (a window, a period, the notice, capacity).
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
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
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
    # weekday -> [(first start, last start)] local wall times; empty = starts wherever open
    starts: dict[int, list[tuple[dt.time, dt.time]]] = field(default_factory=dict)

    @property
    def step(self) -> dt.timedelta:
        return self.visit + self.buffer_before + self.buffer_after


def bookable_range(
    rules: Rules, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
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
    extra_starts: Sequence[dt.datetime] = (),
) -> list[Slot]:
    """The free slots whose start is in [start, end), in order (the grid, plus `extra_starts`
    that obey the rules)."""
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

    extra_by_day: dict[dt.date, list[dt.datetime]] = {}
    for extra in extra_starts:
        extra_by_day.setdefault(extra.astimezone(rules.tz).date(), []).append(extra.astimezone(UTC))
    slots: list[Slot] = []
    seen: set[dt.datetime] = set()
    day = lo.astimezone(rules.tz).date()
    last_day = hi.astimezone(rules.tz).date()
    while day <= last_day:
        if day not in rules.closed:
            periods = _periods(rules, day)
            for s in (*_grid(rules, day, periods), *extra_by_day.get(day, ())):
                if not lo <= s < hi or s in seen or not _fits(rules, day, s, periods):
                    continue
                e = s + rules.visit
                remaining = _remaining(
                    rules,
                    s - bb,
                    e + ba,
                    occupied,
                    occ_starts,
                    occ_longest,
                    busy_sorted,
                    busy_starts,
                    busy_longest,
                )
                if remaining > 0:
                    seen.add(s)
                    slots.append(Slot(s.astimezone(rules.tz), e.astimezone(rules.tz), remaining))
        day += dt.timedelta(days=1)
    slots.sort(key=lambda slot: slot.start)
    return slots


def _periods(rules: Rules, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The day's opening periods as aware UTC bounds."""
    return [
        (
            dt.datetime.combine(day, p_from, tzinfo=rules.tz).astimezone(UTC),
            dt.datetime.combine(day, p_until, tzinfo=rules.tz).astimezone(UTC),
        )
        for p_from, p_until in sorted(rules.periods.get(day.weekday(), ()))
    ]


def _windows(rules: Rules, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The day's windows of allowed starts (both ends included), as aware UTC bounds."""
    return [
        (
            dt.datetime.combine(day, w_from, tzinfo=rules.tz).astimezone(UTC),
            dt.datetime.combine(day, w_until, tzinfo=rules.tz).astimezone(UTC),
        )
        for w_from, w_until in sorted(rules.starts.get(day.weekday(), ()))
    ]


def _grid(rules: Rules, day: dt.date, periods: list[tuple[dt.datetime, dt.datetime]]) -> list[dt.datetime]:
    """The day's grid of starts: from each visit-hours window's first start (or each opening
    period's start + buffer), one step apart."""
    starts: list[dt.datetime] = []
    if rules.starts:
        for w_start, w_end in _windows(rules, day):
            s = w_start
            while s <= w_end:
                starts.append(s)
                s += rules.step
        return starts
    for p_start, p_end in periods:
        s = p_start + rules.buffer_before
        while s + rules.visit + rules.buffer_after <= p_end:
            starts.append(s)
            s += rules.step
    return starts


def _fits(rules: Rules, day: dt.date, s: dt.datetime, periods: list[tuple[dt.datetime, dt.datetime]]) -> bool:
    """`s` starts inside a visit-hours window (if the unit has them) and the buffered visit lies
    inside one opening period."""
    if rules.starts and not any(w_start <= s <= w_end for w_start, w_end in _windows(rules, day)):
        return False
    b_start, b_end = s - rules.buffer_before, s + rules.visit + rules.buffer_after
    return any(p_start <= b_start and b_end <= p_end for p_start, p_end in periods)


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
    table = holiday_dates(
        tuple(range(first.year, last.year + 1)), holiday_subdivision(state, city), city or ""
    )
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


CITY_HOLIDAYS_FILE = Path(__file__).resolve().parent / "data" / "city_holidays.json"


def _plain(text: str) -> str:
    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        .casefold()
        .strip()
    )


@lru_cache(maxsize=1)
def _city_holidays() -> dict[str, dict[str, str]]:
    data = json.loads(CITY_HOLIDAYS_FILE.read_text(encoding="utf-8"))
    return {_plain(city): days for city, days in data.items() if not city.startswith("_")}


@lru_cache(maxsize=64)
def _table(years: tuple[int, ...], subdivision: str | None, city: str) -> dict[dt.date, str]:
    # Building the table costs ~1 ms; units share a handful of (years, subdivision, city) keys.
    table = dict(holidays.country_holidays("BR", subdiv=subdivision, years=years, language="pt_BR").items())
    for month_day, name in _city_holidays().get(_plain(city), {}).items():
        month, day = (int(part) for part in month_day.split("-"))
        for year in years:
            table.setdefault(dt.date(year, month, day), name)
    return table


def holiday_dates(years: tuple[int, ...], subdivision: str | None, city: str = "") -> frozenset[dt.date]:
    """National, state and city holidays (the city's from data/city_holidays.json)."""
    return frozenset(_table(years, subdivision, city))


def holiday_name(day: dt.date, *, state: str = "", city: str = "") -> str | None:
    """The holiday's name in Portuguese, or None."""
    return _table((day.year,), holiday_subdivision(state, city), city or "").get(day)
