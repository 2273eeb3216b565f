import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from kumon.exceptions import Conflict
from kumon.services import get_or_create_contact
from kumon.tests.factories import UnitFactory, UserFactory
from scheduling import selectors, services
from scheduling.exceptions import AppointmentNotLive, ChangeNotAllowed, SlotUnavailable
from scheduling.models import Appointment, AppointmentEvent, Reminder, SlotHold, UnitBookingOptions
from scheduling.tests.factories import AppointmentFactory, weekly_hours

SP = ZoneInfo("America/Sao_Paulo")
NOW = dt.datetime(2026, 12, 4, 8, 0, tzinfo=SP)  # Friday
MONDAY_14 = dt.datetime(2026, 12, 7, 14, 0, tzinfo=SP)


def at(day, hour, minute=0):
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SP)


@pytest.fixture
def unit(db):
    u = UnitFactory(
        timezone="America/Sao_Paulo",
        state="SP",
        visit_minutes=60,
        min_notice_minutes=120,
        booking_window_days=30,
        capacity=1,
        change_notice_minutes=240,
    )
    weekly_hours(u)
    return u


def book(unit, start=MONDAY_14, phone="+5511987654321", **kw):
    kw.setdefault("source", "chat")
    kw.setdefault("now", NOW)
    return services.book_appointment(
        unit=unit,
        start=start,
        phone=phone,
        parent_name="Ana Souza",
        child_name="Pedro",
        child_age=7,
        subject="Matemática",
        **kw,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("capacity", [1, 2])
def test_book_appointment_50_concurrent_attempts_exactly_capacity_booked(capacity):
    unit = UnitFactory(capacity=capacity, visit_minutes=60, min_notice_minutes=120)
    weekly_hours(unit)
    barrier = threading.Barrier(50)
    outcomes: list[tuple[str, object]] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            barrier.wait()
            appointment = book(unit, phone=f"+55119{i:08d}")
            result = ("booked", appointment.seat)
        except SlotUnavailable as exc:
            result = ("taken", exc.extra)
        finally:
            connection.close()  # each thread had its own connection
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    booked = sorted(seat for kind, seat in outcomes if kind == "booked")
    refused = [extra for kind, extra in outcomes if kind == "taken"]
    assert booked == list(range(1, capacity + 1))
    assert len(refused) == 50 - capacity
    assert {e["reason"] for e in refused} == {"taken"}
    assert all(e["alternatives"][0]["start"] == "2026-12-07T15:00:00-03:00" for e in refused)
    assert Appointment.objects.filter(unit=unit, start=MONDAY_14, status="booked").count() == capacity


def test_book_appointment_creates_lead_reminders_and_history(unit):
    user = UserFactory()

    appointment = book(unit, changed_by=user)

    assert (appointment.start, appointment.end, appointment.seat, appointment.status) == (
        MONDAY_14,
        MONDAY_14 + dt.timedelta(hours=1),
        1,
        "booked",
    )
    assert (appointment.contact.phone, appointment.contact.name) == ("+5511987654321", "Ana Souza")
    assert appointment.calendar_sync_status == "none"
    assert sorted(appointment.reminders.values_list("kind", "due_at", "status")) == [
        ("24h", MONDAY_14 - dt.timedelta(hours=24), "pending"),
        ("2h", MONDAY_14 - dt.timedelta(hours=2), "pending"),
    ]
    assert list(appointment.events.values_list("kind", "to_status", "changed_by")) == [
        ("booked", "booked", user.pk)
    ]


def test_book_appointment_retry_returns_same_appointment(unit):
    first = book(unit, phone="11 98765-4321")

    again = book(unit, phone="+5511987654321")
    keyed = book(unit, start=at(7, 15), phone="+5511911112222", idempotency_key="req-1")
    keyed_again = book(unit, start=at(7, 16), phone="+5511911112222", idempotency_key="req-1")

    assert again.pk == first.pk
    assert keyed_again.pk == keyed.pk
    assert Appointment.objects.filter(unit=unit).count() == 2


def test_book_appointment_against_rules_refused_with_alternatives(unit):
    with pytest.raises(SlotUnavailable) as lunch:
        book(unit, start=at(7, 12, 30))
    with pytest.raises(SlotUnavailable) as christmas:
        book(unit, start=dt.datetime(2026, 12, 25, 14, tzinfo=SP))

    assert lunch.value.status_code == 409
    assert lunch.value.extra["reason"] == "rules"
    assert [a["start"] for a in lunch.value.extra["alternatives"]] == [
        "2026-12-07T14:00:00-03:00",
        "2026-12-07T15:00:00-03:00",
        "2026-12-07T16:00:00-03:00",
    ]
    assert christmas.value.extra["reason"] == "rules"
    assert christmas.value.extra["alternatives"][0]["start"] == "2026-12-28T09:00:00-03:00"


def test_book_appointment_taken_slot_alternatives_follow_it(unit):
    book(unit)

    with pytest.raises(SlotUnavailable) as exc:
        book(unit, phone="+5511911112222")

    assert exc.value.extra["reason"] == "taken"
    assert [a["start"] for a in exc.value.extra["alternatives"]] == [
        "2026-12-07T15:00:00-03:00",
        "2026-12-07T16:00:00-03:00",
        "2026-12-07T17:00:00-03:00",
    ]


def test_reschedule_appointment_keeps_one_live_and_frees_old_slot(unit):
    appointment = book(unit)

    moved = services.reschedule_appointment(appointment=appointment, start=at(8, 16), by_parent=True, now=NOW)

    live = list(Appointment.objects.filter(unit=unit, status__in=Appointment.LIVE).values_list("pk", "start"))
    assert live == [(appointment.pk, at(8, 16))]
    assert moved.idempotency_key is None
    assert sorted(moved.reminders.values_list("kind", "due_at")) == [
        ("24h", at(8, 16) - dt.timedelta(hours=24)),
        ("2h", at(8, 14)),
    ]
    free = selectors.free_slots(unit=unit, start=at(7, 0), end=at(8, 0), now=NOW)
    assert free[3].start == MONDAY_14
    assert list(moved.events.values_list("kind", "old_start", "new_start")) == [
        ("booked", None, MONDAY_14),
        ("rescheduled", MONDAY_14, at(8, 16)),
    ]


def test_reschedule_appointment_to_taken_slot_unchanged(unit):
    mine = book(unit)
    book(unit, start=at(8, 16), phone="+5511911112222")

    with pytest.raises(SlotUnavailable) as exc:
        services.reschedule_appointment(appointment=mine, start=at(8, 16), now=NOW)

    mine.refresh_from_db()
    assert (mine.start, mine.status) == (MONDAY_14, "booked")
    assert exc.value.extra["reason"] == "taken"


def test_reschedule_appointment_same_capacity_one_slot_to_neighbour(unit):
    appointment = book(unit)

    moved = services.reschedule_appointment(appointment=appointment, start=at(7, 15), now=NOW)

    assert (moved.start, moved.seat) == (at(7, 15), 1)


def test_cancel_appointment_frees_slot(unit):
    appointment = book(unit)

    services.cancel_appointment(appointment=appointment, by_parent=True, now=NOW)
    other = book(unit, phone="+5511911112222")

    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert other.start == MONDAY_14
    assert sorted(appointment.reminders.values_list("status", "last_error")) == [
        ("skipped", "appointment cancelled"),
        ("skipped", "appointment cancelled"),
    ]
    with pytest.raises(AppointmentNotLive):
        services.cancel_appointment(appointment=appointment, now=NOW)


def test_cancel_appointment_same_family_can_book_same_slot_again(unit):
    appointment = book(unit)
    services.cancel_appointment(appointment=appointment, now=NOW)

    again = book(unit)

    assert again.pk != appointment.pk
    assert again.status == "booked"


def test_parent_change_too_late_refused_with_deadline(unit):
    appointment = book(unit)
    late = MONDAY_14 - dt.timedelta(hours=3)  # notice is 4 h

    with pytest.raises(ChangeNotAllowed) as exc:
        services.cancel_appointment(appointment=appointment, by_parent=True, now=late)
    staff = services.cancel_appointment(appointment=appointment, by_parent=False, now=late)

    assert exc.value.status_code == 403
    assert exc.value.extra == {"reason": "too_late", "deadline": "2026-12-07T10:00:00-03:00"}
    assert staff.status == "cancelled"


def test_parent_change_not_owner_refused(unit):
    appointment = book(unit)
    other, _ = get_or_create_contact(unit=unit, phone="+5511911112222")

    with pytest.raises(ChangeNotAllowed) as exc:
        services.reschedule_appointment(
            appointment=appointment, start=at(8, 16), by_parent=True, contact=other, now=NOW
        )

    assert exc.value.extra["reason"] == "not_owner"


def test_hold_slot_last_place_not_offered_to_others(unit):
    hold = services.hold_slot(unit=unit, start=MONDAY_14, holder="conv:A", now=NOW)

    with pytest.raises(SlotUnavailable):
        services.hold_slot(unit=unit, start=MONDAY_14, holder="conv:B", now=NOW)
    with pytest.raises(SlotUnavailable):
        book(unit, phone="+5511911112222", holder="conv:B")
    mine = book(unit, holder="conv:A")
    expired_later = selectors.free_slots(
        unit=unit, start=at(7, 15), end=at(7, 16), now=NOW + dt.timedelta(minutes=11)
    )

    assert hold.expires_at == NOW + dt.timedelta(minutes=10)
    assert mine.start == MONDAY_14
    assert SlotHold.objects.filter(holder="conv:A").count() == 0
    assert len(expired_later) == 1


def test_a_held_slot_stays_bookable_for_its_holder_when_the_notice_runs_out_while_they_choose(unit):
    offered_at = MONDAY_14 - dt.timedelta(minutes=120)  # exactly the unit's minimum notice
    chosen_at = offered_at + dt.timedelta(minutes=2)
    services.hold_slot(unit=unit, start=MONDAY_14, holder="conv:A", now=offered_at)
    mine = book(unit, holder="conv:A", now=chosen_at)
    tuesday = MONDAY_14 + dt.timedelta(days=1)
    services.hold_slot(
        unit=unit, start=tuesday, holder="conv:B", minutes=1, now=offered_at + dt.timedelta(days=1)
    )

    with pytest.raises(SlotUnavailable) as late:  # B's hold ended before B chose: the notice counts
        book(
            unit, phone="+5511911112222", start=tuesday, holder="conv:B", now=chosen_at + dt.timedelta(days=1)
        )

    assert late.value.extra["reason"] == "rules"
    assert mine.start == MONDAY_14


def test_hold_slot_expires_by_itself(unit):
    services.hold_slot(unit=unit, start=MONDAY_14, holder="conv:A", minutes=5, now=NOW)

    during = selectors.free_slots(
        unit=unit, start=at(7, 14), end=at(7, 15), now=NOW + dt.timedelta(minutes=4), holder="conv:B"
    )
    after = selectors.free_slots(
        unit=unit, start=at(7, 14), end=at(7, 15), now=NOW + dt.timedelta(minutes=5), holder="conv:B"
    )

    assert during == []
    assert [s.start for s in after] == [MONDAY_14]


def test_mark_no_show_schedules_one_followup_next_day(unit):
    appointment = book(unit)
    later = MONDAY_14 + dt.timedelta(hours=2)

    services.mark_no_show(appointment=appointment, now=later)
    services.mark_no_show(appointment=appointment, now=later)

    assert sorted(appointment.reminders.values_list("kind", "status", "due_at")) == [
        ("24h", "skipped", MONDAY_14 - dt.timedelta(hours=24)),
        ("2h", "skipped", MONDAY_14 - dt.timedelta(hours=2)),
        ("no_show", "pending", at(8, 10)),
    ]
    assert list(appointment.events.values_list("kind", flat=True)) == ["booked", "no_show"]


def test_mark_no_show_followup_off_for_unit(unit):
    UnitBookingOptions.objects.create(unit=unit, no_show_followup=False)
    appointment = book(unit)

    services.mark_no_show(appointment=appointment, now=MONDAY_14 + dt.timedelta(hours=2))

    assert appointment.reminders.filter(kind=Reminder.NO_SHOW).count() == 0


def test_mark_attended_skips_pending_reminders_and_refuses_future(unit):
    appointment = book(unit)

    with pytest.raises(Conflict) as early:
        services.mark_attended(appointment=appointment, now=NOW)
    done = services.mark_attended(appointment=appointment, now=MONDAY_14 + dt.timedelta(minutes=30))

    assert early.value.status_code == 409
    assert done.status == "attended"
    assert set(done.reminders.values_list("status", flat=True)) == {"skipped"}
    assert AppointmentEvent.objects.filter(appointment=done, kind="attended").count() == 1


def test_appointments_for_phone_only_live_future(unit):
    mine = book(unit)
    AppointmentFactory(unit=unit, phone="+5511987654321", start=at(3, 14), end=at(3, 15))
    AppointmentFactory(unit=unit, phone="+5511987654321", start=at(9, 14), end=at(9, 15), status="cancelled")

    found = list(selectors.appointments_for_phone(unit=unit, phone="+5511987654321", now=NOW))

    assert found == [mine]
