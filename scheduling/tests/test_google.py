import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kumon.testing import wait_for
from kumon.tests.factories import UnitFactory
from scheduling import selectors, services
from scheduling.exceptions import CalendarUnavailable
from scheduling.models import Appointment
from scheduling.tasks import resync_calendars, sync_appointment
from scheduling.tests.factories import weekly_hours
from scheduling.tests.fake_google import FakeGoogleCalendar

SP = ZoneInfo("America/Sao_Paulo")
NOW = dt.datetime(2026, 12, 4, 8, 0, tzinfo=SP)
MONDAY_14 = dt.datetime(2026, 12, 7, 14, 0, tzinfo=SP)
CALENDAR = "unit-a@group.calendar.google.com"


@pytest.fixture
def google(settings, tmp_path):
    fake = FakeGoogleCalendar().start()
    fake.calendars.add(CALENDAR)
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(fake.write_service_account(tmp_path / "sa.json"))
    settings.GOOGLE_CALENDAR_API_URL = fake.url
    settings.GOOGLE_CALENDAR_TIMEOUT = 2.0
    settings.GOOGLE_CALENDAR_RETRY_SECONDS = 0.0
    yield fake
    fake.stop()
    assert fake.errors == []  # every request looked like the real API's


@pytest.fixture
def unit(db):
    u = UnitFactory(calendar_backend="google", google_calendar_id=CALENDAR, address="Rua A, 1", capacity=1)
    weekly_hours(u)
    return u


def book(unit, start=MONDAY_14, phone="+5511987654321"):
    return services.book_appointment(
        unit=unit,
        start=start,
        phone=phone,
        parent_name="Ana Souza",
        child_name="Pedro",
        child_age=7,
        school_year="2º ano",
        subject="Matemática",
        source="chat",
        now=NOW,
    )


def sync(appointment):
    return sync_appointment.apply(kwargs={"appointment_id": appointment.pk})


def test_google_booking_enqueues_sync_and_creates_event_with_lead_summary(
    google, unit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        appointment = book(unit)

    result = sync(appointment)

    appointment.refresh_from_db()
    event = google.events[CALENDAR][f"kumon{appointment.pk:010d}"]
    assert len(callbacks) == 1
    assert result.get() == "synced"
    assert (appointment.calendar_event_id, appointment.calendar_sync_status) == (
        f"kumon{appointment.pk:010d}",
        "synced",
    )
    assert event["summary"] == "Visita Kumon: Pedro, 7 anos"
    assert event["description"].splitlines()[:4] == [
        "Responsável: Ana Souza",
        "WhatsApp: +5511987654321",
        "Criança: Pedro, 7 anos (2º ano)",
        "Disciplina: Matemática",
    ]
    assert event["start"] == {"dateTime": "2026-12-07T14:00:00-03:00", "timeZone": "America/Sao_Paulo"}
    assert event["end"] == {"dateTime": "2026-12-07T15:00:00-03:00", "timeZone": "America/Sao_Paulo"}
    assert event["location"] == "Rua A, 1"
    assert google.count("token") == 1


def test_google_freebusy_blocks_slot_but_not_our_own_events(google, unit):
    unit.capacity = 2
    unit.save()
    google.busy[CALENDAR].append(("2026-12-07T17:00:00Z", "2026-12-07T18:00:00Z"))  # 14–15 local
    ours = book(unit, start=MONDAY_14 + dt.timedelta(hours=1))
    sync(ours)

    slots = selectors.free_slots(unit=unit, start=MONDAY_14, end=MONDAY_14 + dt.timedelta(hours=4), now=NOW)

    assert [(s.start.astimezone(SP).hour, s.remaining) for s in slots] == [(15, 1), (16, 2), (17, 2)]
    assert google.count("freebusy") == 2  # the booking's check and this one


def test_google_500_on_insert_retried_and_booking_kept(google, unit):
    google.fail("insert", 500, 503)
    appointment = book(unit)

    result = sync(appointment)

    appointment.refresh_from_db()
    assert result.get() == "synced"
    assert google.count("insert") == 3
    assert (appointment.status, appointment.calendar_sync_status) == ("booked", "synced")


def test_google_down_for_sync_booking_stands_and_resync_catches_up(google, unit):
    appointment = book(unit)
    google.fail("insert", *[500] * 9)  # every retry of the task (max_retries=8)

    failed = sync(appointment)
    appointment.refresh_from_db()
    pending = (appointment.status, appointment.calendar_sync_status, appointment.calendar_sync_error)
    quiet = timezone.now() - dt.timedelta(minutes=5)
    Appointment.objects.filter(pk=appointment.pk).update(changed_at=quiet)  # quiet for more than 2 minutes
    requeued = resync_calendars.apply().get()
    synced = sync(appointment).get()

    assert failed.state == "FAILURE"
    assert pending == ("booked", "pending", "google calendar 500")
    assert requeued == 1
    assert synced == "synced"
    assert len(google.events[CALENDAR]) == 1


def test_google_reschedule_patches_and_cancel_deletes_event(google, unit):
    appointment = book(unit)
    sync(appointment)

    services.reschedule_appointment(appointment=appointment, start=MONDAY_14 + dt.timedelta(hours=2), now=NOW)
    sync(appointment)
    moved = dict(google.events[CALENDAR][f"kumon{appointment.pk:010d}"])
    services.cancel_appointment(appointment=appointment, now=NOW)
    sync(appointment)

    assert moved["start"]["dateTime"] == "2026-12-07T16:00:00-03:00"
    assert (google.count("insert"), google.count("patch"), google.count("delete")) == (1, 1, 1)
    assert google.events[CALENDAR] == {}
    appointment.refresh_from_db()
    assert appointment.calendar_sync_status == "synced"


def test_google_sync_twice_one_event_patched(google, unit):
    appointment = book(unit)

    first = sync(appointment).get()
    second = sync(appointment).get()

    assert (first, second) == ("synced", "synced")
    assert (google.count("insert"), google.count("patch")) == (1, 1)
    assert list(google.events[CALENDAR]) == [f"kumon{appointment.pk:010d}"]


def test_google_event_deleted_in_google_is_recreated(google, unit):
    appointment = book(unit)
    sync(appointment)
    google.events[CALENDAR].clear()  # someone deleted it by hand (not via the API)

    assert sync(appointment).get() == "synced"
    assert list(google.events[CALENDAR]) == [f"kumon{appointment.pk:010d}"]


def test_google_calendar_not_shared_sync_failed_with_reason(google, unit):
    appointment = book(unit)
    google.calendars.discard(CALENDAR)

    result = sync(appointment)

    appointment.refresh_from_db()
    assert result.get() == "failed"
    assert (appointment.status, appointment.calendar_sync_status, appointment.calendar_sync_error) == (
        "booked",
        "failed",
        "google calendar 404: Not Found",
    )


def test_google_unreachable_for_availability_no_slots(google, unit, settings):
    settings.GOOGLE_CALENDAR_API_URL = "http://127.0.0.1:9"  # nothing listens there

    with pytest.raises(CalendarUnavailable) as exc:
        selectors.free_slots(unit=unit, start=MONDAY_14, end=MONDAY_14 + dt.timedelta(hours=4), now=NOW)
    with pytest.raises(CalendarUnavailable):
        book(unit)

    assert exc.value.status_code == 503
    assert exc.value.extra == {"unit": unit.slug}
    assert Appointment.objects.count() == 0


def test_google_freebusy_500_fails_closed(google, unit):
    google.fail("freebusy", 500)

    with pytest.raises(CalendarUnavailable):
        selectors.free_slots(unit=unit, start=MONDAY_14, end=MONDAY_14 + dt.timedelta(hours=4), now=NOW)


def test_sync_appointment_missing_row_noop(db):
    assert sync_appointment.apply(kwargs={"appointment_id": 999999}).get() == "missing"


def test_sync_appointment_local_unit_nothing_to_sync(db):
    local_unit = UnitFactory()
    weekly_hours(local_unit)
    appointment = book(local_unit)

    assert sync(appointment).get() == "none"


@pytest.mark.django_db(transaction=True)
def test_google_sync_on_real_worker_retries_500_and_keeps_booking(celery_worker, tmp_path):
    fake = FakeGoogleCalendar().start()
    fake.calendars.add(CALENDAR)
    sa_file = str(fake.write_service_account(tmp_path / "sa.json"))
    env = {
        "GOOGLE_SERVICE_ACCOUNT_FILE": sa_file,
        "GOOGLE_CALENDAR_API_URL": fake.url,
        "GOOGLE_CALENDAR_RETRY_SECONDS": "0.2",
    }
    celery_worker.restart(env=env)
    try:
        from django.test import override_settings

        unit = UnitFactory(calendar_backend="google", google_calendar_id=CALENDAR)
        weekly_hours(unit)
        day = timezone.now().astimezone(SP).date() + dt.timedelta(days=7)
        start = dt.datetime.combine(day + dt.timedelta(days=(7 - day.weekday()) % 7), dt.time(14), tzinfo=SP)
        fake.fail("insert", 500)

        with override_settings(GOOGLE_SERVICE_ACCOUNT_FILE=sa_file, GOOGLE_CALENDAR_API_URL=fake.url):
            appointment = services.book_appointment(
                unit=unit, start=start, phone="+5511987654321", child_name="Pedro", source="api"
            )

        wait_for(
            lambda: Appointment.objects.filter(pk=appointment.pk, calendar_sync_status="synced").exists(),
            timeout=30,
        )
        assert fake.count("insert") == 2
        assert list(fake.events[CALENDAR]) == [f"kumon{appointment.pk:010d}"]
        assert Appointment.objects.get(pk=appointment.pk).status == "booked"
        assert fake.errors == []
    finally:
        fake.stop()
        celery_worker.restart(env={})


def test_check_google_service_account_file_named(settings, tmp_path):
    from scheduling.checks import check_scheduling_settings

    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(tmp_path / "missing.json")

    assert [e.id for e in check_scheduling_settings()] == ["scheduling.E001"]


def test_slots_api_google_unreachable_503(google, unit, settings):
    from rest_framework.test import APIClient

    from kumon.tests.factories import MembershipFactory

    settings.GOOGLE_CALENDAR_API_URL = "http://127.0.0.1:9"
    client = APIClient()
    client.force_authenticate(MembershipFactory(unit=unit).user)
    start = timezone.now() + dt.timedelta(days=3)

    response = client.get(
        "/api/v1/slots/",
        {"unit": unit.slug, "from": start.isoformat(), "to": (start + dt.timedelta(days=1)).isoformat()},
    )

    assert response.status_code == 503
    assert response.json() == {
        "message": "Não foi possível ler a agenda da unidade; a equipe vai confirmar o horário.",
        "extra": {"unit": unit.slug},
    }


def test_erasing_a_family_rewrites_their_calendar_event_without_names_or_phone(
    google, unit, django_capture_on_commit_callbacks
):
    appointment = book(unit)
    sync(appointment)

    with django_capture_on_commit_callbacks() as callbacks:
        assert services.erase_family_details(appointment_ids=[appointment.pk]) == 1
    assert Appointment.objects.get(pk=appointment.pk).calendar_sync_status == "pending"
    sync(appointment)  # what the enqueued task does

    event = google.events[CALENDAR][f"kumon{appointment.pk:010d}"]
    assert len(callbacks) == 1
    assert "Ana" not in event["description"] and "98765" not in event["description"]
    assert "Pedro" not in event["summary"] + event["description"]
    assert event["description"].splitlines()[:2] == ["Responsável: -", "WhatsApp: -"]
    assert event["start"] == {"dateTime": "2026-12-07T14:00:00-03:00", "timeZone": "America/Sao_Paulo"}
    appointment.refresh_from_db()
    assert (appointment.calendar_sync_status, appointment.status) == ("synced", "booked")
