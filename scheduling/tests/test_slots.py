import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kumon.tests.factories import UnitFactory
from scheduling import selectors
from scheduling.slots import Booked, Rules, closed_dates, compute_slots, holiday_name
from scheduling.tests.factories import AppointmentFactory, ClosureFactory, SlotHoldFactory, weekly_hours

SP = ZoneInfo("America/Sao_Paulo")
NY = ZoneInfo("America/New_York")


def local(tz, *args):
    return dt.datetime(*args, tzinfo=tz)


def hours_of(slots, tz=SP):
    return [s.start.astimezone(tz).strftime("%H:%M") for s in slots]


def day_range(tz, y, m, d):
    start = local(tz, y, m, d)
    return start, start + dt.timedelta(days=1)


@pytest.fixture
def unit(db):
    u = UnitFactory(
        timezone="America/Sao_Paulo",
        state="SP",
        visit_minutes=60,
        min_notice_minutes=120,
        booking_window_days=30,
        capacity=1,
    )
    weekly_hours(u)
    return u


NOW = local(SP, 2026, 12, 4, 8, 0)  # a Friday morning


def test_free_slots_monday_skip_lunch_break(unit):
    start, end = day_range(SP, 2026, 12, 7)

    slots = selectors.free_slots(unit=unit, start=start, end=end, now=NOW)

    assert hours_of(slots) == ["09:00", "10:00", "11:00", "14:00", "15:00", "16:00", "17:00"]
    assert slots[0].start.isoformat() == "2026-12-07T09:00:00-03:00"
    assert slots[0].end.isoformat() == "2026-12-07T10:00:00-03:00"
    assert [s.remaining for s in slots] == [1] * 7


def test_free_slots_christmas_holiday_none(unit):
    now = local(SP, 2026, 12, 20, 8)

    christmas = selectors.free_slots(
        unit=unit, start=local(SP, 2026, 12, 25), end=local(SP, 2026, 12, 26), now=now
    )
    eve = selectors.free_slots(unit=unit, start=local(SP, 2026, 12, 24), end=local(SP, 2026, 12, 25), now=now)

    assert christmas == []
    assert len(eve) == 7


def test_free_slots_state_holiday_depends_on_state(db):
    sp = UnitFactory(state="SP")
    rj = UnitFactory(state="RJ")
    for u in (sp, rj):
        weekly_hours(u)
    now = local(SP, 2026, 7, 1, 8)
    start, end = day_range(SP, 2026, 7, 9)  # Revolução Constitucionalista (SP only)

    assert selectors.free_slots(unit=sp, start=start, end=end, now=now) == []
    assert len(selectors.free_slots(unit=rj, start=start, end=end, now=now)) == 7


def test_closed_dates_city_holiday_sao_paulo_capital():
    closed = closed_dates(
        first=dt.date(2027, 1, 25), last=dt.date(2027, 1, 25), closures=[], state="SP", city="São Paulo"
    )
    other = closed_dates(
        first=dt.date(2027, 1, 25), last=dt.date(2027, 1, 25), closures=[], state="SP", city="Campinas"
    )

    assert closed == frozenset({dt.date(2027, 1, 25)})
    assert other == frozenset()


def test_closed_dates_city_holidays_from_the_data_file_for_cities_the_package_does_not_know():
    salvador = closed_dates(
        first=dt.date(2026, 12, 7), last=dt.date(2026, 12, 9), closures=[], state="BA", city="Salvador"
    )
    fortaleza = closed_dates(
        first=dt.date(2026, 12, 7), last=dt.date(2026, 12, 9), closures=[], state="CE", city="fortaleza"
    )
    bh = closed_dates(
        first=dt.date(2027, 8, 15), last=dt.date(2027, 8, 15), closures=[], state="MG", city="Belo Horizonte"
    )

    assert salvador == frozenset({dt.date(2026, 12, 8)})  # Nossa Senhora da Conceição da Praia
    assert fortaleza == frozenset()
    assert bh == frozenset({dt.date(2027, 8, 15)})


def test_holiday_names_are_portuguese_national_and_city():
    assert holiday_name(dt.date(2026, 12, 25), state="BA", city="Salvador") == "Natal"
    assert (
        holiday_name(dt.date(2026, 12, 8), state="BA", city="Salvador")
        == "Nossa Senhora da Conceição da Praia"
    )
    assert holiday_name(dt.date(2026, 12, 8), state="SP", city="São Paulo") is None


def test_free_slots_closure_none(unit):
    ClosureFactory(unit=unit, start_date=dt.date(2026, 12, 7), end_date=dt.date(2026, 12, 8))

    closed = selectors.free_slots(
        unit=unit, start=local(SP, 2026, 12, 7), end=local(SP, 2026, 12, 9), now=NOW
    )
    after = selectors.free_slots(
        unit=unit, start=local(SP, 2026, 12, 9), end=local(SP, 2026, 12, 10), now=NOW
    )

    assert closed == []
    assert len(after) == 7


def test_free_slots_minimum_notice(unit):
    now = local(SP, 2026, 12, 7, 9, 30)  # + 2 h notice = 11:30

    slots = selectors.free_slots(unit=unit, start=local(SP, 2026, 12, 7), end=local(SP, 2026, 12, 8), now=now)

    assert hours_of(slots) == ["14:00", "15:00", "16:00", "17:00"]


def test_free_slots_buffers_space_the_grid_and_guard_appointments(unit):
    unit.buffer_before_minutes = 15
    unit.buffer_after_minutes = 15
    unit.save()
    start, end = day_range(SP, 2026, 12, 7)

    before = selectors.free_slots(unit=unit, start=start, end=end, now=NOW)
    # A staff-made visit 16:00–17:00 (buffered 15:45–17:15) blocks the 15:45 slot (buffered 15:30–17:00).
    AppointmentFactory(unit=unit, start=local(SP, 2026, 12, 7, 16), end=local(SP, 2026, 12, 7, 17))
    after = selectors.free_slots(unit=unit, start=start, end=end, now=NOW)

    assert hours_of(before) == ["09:15", "10:45", "14:15", "15:45"]
    assert hours_of(after) == ["09:15", "10:45", "14:15"]


def test_free_slots_booking_window(unit):
    unit.booking_window_days = 7
    unit.save()

    slots = selectors.free_slots(unit=unit, start=NOW, end=NOW + dt.timedelta(days=20), now=NOW)

    assert slots[-1].start < NOW + dt.timedelta(days=7)
    assert slots[-1].start.astimezone(SP).date() == dt.date(2026, 12, 10)
    assert len(slots) == 6 + 4 * 7  # Fri 4 from 10:00 (notice), Mon 7 .. Thu 10; Fri 11 08:00 ends it


def test_free_slots_capacity_counts_places(unit):
    unit.capacity = 2
    unit.save()
    start, end = day_range(SP, 2026, 12, 7)
    AppointmentFactory(unit=unit, start=local(SP, 2026, 12, 7, 9), end=local(SP, 2026, 12, 7, 10), seat=1)
    AppointmentFactory(unit=unit, start=local(SP, 2026, 12, 7, 10), end=local(SP, 2026, 12, 7, 11), seat=1)
    AppointmentFactory(unit=unit, start=local(SP, 2026, 12, 7, 10), end=local(SP, 2026, 12, 7, 11), seat=2)
    AppointmentFactory(
        unit=unit,
        start=local(SP, 2026, 12, 7, 11),
        end=local(SP, 2026, 12, 7, 12),
        seat=1,
        status="cancelled",
    )

    slots = selectors.free_slots(unit=unit, start=start, end=end, now=NOW)

    assert [(hours_of([s])[0], s.remaining) for s in slots[:3]] == [("09:00", 1), ("11:00", 2), ("14:00", 2)]


def test_free_slots_holds_of_others_count(unit):
    start, end = day_range(SP, 2026, 12, 7)
    SlotHoldFactory(
        unit=unit,
        start=local(SP, 2026, 12, 7, 9),
        end=local(SP, 2026, 12, 7, 10),
        holder="conv:1",
        expires_at=NOW + dt.timedelta(minutes=10),
    )
    SlotHoldFactory(
        unit=unit,
        start=local(SP, 2026, 12, 7, 10),
        end=local(SP, 2026, 12, 7, 11),
        holder="conv:1",
        expires_at=NOW - dt.timedelta(minutes=1),
    )  # expired

    mine = selectors.free_slots(unit=unit, start=start, end=end, now=NOW, holder="conv:1")
    theirs = selectors.free_slots(unit=unit, start=start, end=end, now=NOW, holder="conv:2")

    assert hours_of(mine)[:2] == ["09:00", "10:00"]
    assert hours_of(theirs)[:2] == ["10:00", "11:00"]


def test_compute_slots_dst_new_york_exact_durations():
    rules = Rules(
        tz=NY,
        visit=dt.timedelta(hours=1),
        periods={6: [(dt.time(1), dt.time(5))], 0: [(dt.time(9), dt.time(11))]},
    )
    now = local(NY, 2026, 3, 1)

    slots = compute_slots(rules, start=local(NY, 2026, 3, 8), end=local(NY, 2026, 3, 10), now=now)

    # 2026-03-08 02:00 does not exist: 01:00 EST + 1 h = 03:00 EDT.
    assert [s.start.isoformat() for s in slots] == [
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
        "2026-03-09T09:00:00-04:00",
        "2026-03-09T10:00:00-04:00",
    ]
    # (compare in UTC: Python subtracts same-tzinfo datetimes in wall time)
    assert {s.end.astimezone(dt.UTC) - s.start.astimezone(dt.UTC) for s in slots} == {dt.timedelta(hours=1)}


def test_compute_slots_dst_old_sao_paulo_midnight_gap():
    # Brazil had DST until 2019: on 2018-11-04 00:00 jumped to 01:00.
    rules = Rules(tz=SP, visit=dt.timedelta(minutes=30), periods={6: [(dt.time(0), dt.time(2))]})

    slots = compute_slots(
        rules, start=local(SP, 2018, 11, 4), end=local(SP, 2018, 11, 5), now=local(SP, 2018, 11, 1)
    )

    assert [s.start.isoformat() for s in slots] == ["2018-11-04T01:00:00-02:00", "2018-11-04T01:30:00-02:00"]


# --- properties ----------------------------------------------------------------------------------

TZS = [ZoneInfo("America/Sao_Paulo"), ZoneInfo("America/New_York"), ZoneInfo("America/Manaus")]
BASE = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from(TZS))
    visit = dt.timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60, 90])))
    bb = dt.timedelta(minutes=draw(st.sampled_from([0, 5, 15])))
    ba = dt.timedelta(minutes=draw(st.sampled_from([0, 10, 15])))
    periods: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday in range(7):
        for _ in range(draw(st.integers(0, 2))):
            a = draw(st.integers(0, 22))
            b = draw(st.integers(a + 1, 23))
            periods.setdefault(weekday, []).append((dt.time(a), dt.time(b, draw(st.sampled_from([0, 30])))))
    capacity = draw(st.integers(1, 3))
    rules = Rules(
        tz=tz,
        visit=visit,
        capacity=capacity,
        buffer_before=bb,
        buffer_after=ba,
        min_notice=dt.timedelta(minutes=draw(st.sampled_from([0, 60, 120, 1440]))),
        window=dt.timedelta(days=draw(st.integers(1, 20))),
        periods=periods,
        closed=frozenset(
            BASE.date() + dt.timedelta(days=d) for d in draw(st.sets(st.integers(0, 20), max_size=5))
        ),
    )
    now = BASE + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 5)))
    start = now + dt.timedelta(minutes=draw(st.integers(-600, 60 * 24 * 5)))
    end = start + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 15)))

    def interval():
        s = BASE + dt.timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 20)))
        return s, s + dt.timedelta(minutes=draw(st.sampled_from([15, 30, 60, 120])))

    booked = [
        Booked(*interval(), seat=draw(st.integers(1, capacity))) for _ in range(draw(st.integers(0, 30)))
    ]
    holds = [Booked(*interval()) for _ in range(draw(st.integers(0, 5)))]
    busy = [interval() for _ in range(draw(st.integers(0, 5)))]
    return rules, now, start, end, booked, holds, busy


def overlaps(a0, a1, b0, b1):
    return a0 < b1 and b0 < a1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_compute_slots_never_violates_a_rule(scenario):
    rules, now, start, end, booked, holds, busy = scenario

    slots = compute_slots(rules, start=start, end=end, now=now, booked=booked, holds=holds, busy=busy)

    starts = [s.start for s in slots]
    assert starts == sorted(set(starts))
    for slot in slots:
        bs, be = slot.start - rules.buffer_before, slot.end + rules.buffer_after
        local_start, local_bs, local_be = (
            slot.start.astimezone(rules.tz),
            bs.astimezone(rules.tz),
            be.astimezone(rules.tz),
        )
        assert slot.end.astimezone(dt.UTC) - slot.start.astimezone(dt.UTC) == rules.visit
        assert start <= slot.start < end
        assert slot.start >= now + rules.min_notice
        assert slot.start < now + rules.window
        assert local_start.date() not in rules.closed
        # the buffered visit lies inside one opening period of its local day
        day = local_start.date()
        assert any(
            dt.datetime.combine(day, a, tzinfo=rules.tz) <= local_bs
            and local_be <= dt.datetime.combine(day, b, tzinfo=rules.tz)
            for a, b in rules.periods.get(day.weekday(), [])
        )
        assert not any(overlaps(bs, be, b0, b1) for b0, b1 in busy)
        seats = {
            b.seat
            for b in booked
            if overlaps(bs, be, b.start - rules.buffer_before, b.end + rules.buffer_after)
        }
        held = sum(
            1 for h in holds if overlaps(bs, be, h.start - rules.buffer_before, h.end + rules.buffer_after)
        )
        assert slot.remaining == rules.capacity - len(seats) - held
        assert slot.remaining >= 1
