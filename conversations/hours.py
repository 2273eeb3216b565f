"""Is the unit open now, and when does it open next (for the hand-off message)."""

from __future__ import annotations

import datetime as dt

from kumon.models import Unit
from scheduling.models import Closure
from scheduling.selectors import unit_rules
from scheduling.slots import closed_dates

LOOKAHEAD_DAYS = 21


def closed_days_ahead(*, unit: Unit, first: dt.date) -> set[dt.date]:
    """The unit's days without service from `first` for LOOKAHEAD_DAYS: its closures and the
    public holidays of its state and city (Sundays are the caller's rule)."""
    last = first + dt.timedelta(days=LOOKAHEAD_DAYS)
    closures = Closure.objects.filter(unit=unit, end_date__gte=first, start_date__lte=last).values_list(
        "start_date", "end_date"
    )
    return set(
        closed_dates(first=first, last=last, closures=list(closures), state=unit.state, city=unit.city)
    )


def opening_state(*, unit: Unit, now: dt.datetime) -> tuple[bool, dt.datetime | None]:
    """(open now?, the next opening moment in the unit's time zone, or None if not within
    three weeks). Opening hours, closures and holidays all count."""
    rules = unit_rules(unit)
    local = now.astimezone(rules.tz)
    first = local.date()
    closed = closed_days_ahead(unit=unit, first=first)
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = first + dt.timedelta(days=offset)
        if day in closed:
            continue
        for start, end in sorted(rules.periods.get(day.weekday(), [])):
            opens = dt.datetime.combine(day, start, tzinfo=rules.tz)
            closes = dt.datetime.combine(day, end, tzinfo=rules.tz)
            if opens <= local < closes:
                return True, None
            if opens > local:
                return False, opens
    return False, None
