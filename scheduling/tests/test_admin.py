import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kumon.tests.factories import MembershipFactory, UnitFactory
from scheduling.models import Appointment, Reminder
from scheduling.tests.factories import AppointmentFactory, ReminderFactory, weekly_hours

SP = ZoneInfo("America/Sao_Paulo")


def this_week(hours_from_now: int = 0) -> dt.datetime:
    return (timezone.now() + dt.timedelta(hours=hours_from_now)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def unit(db):
    u = UnitFactory(slug="centro")
    weekly_hours(u)
    return u


@pytest.fixture
def staff_client(client, unit):
    user = MembershipFactory(unit=unit).user
    user.save()  # the factory sets the password after saving: persist it (session auth hash)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def outsider_client(client, db):
    user = MembershipFactory(unit=UnitFactory(slug="outra")).user
    user.save()
    client.force_login(user)
    return client


def test_admin_appointments_changelist_scoped_to_unit(staff_client, unit):
    mine = AppointmentFactory(unit=unit, child_name="Pedro")
    AppointmentFactory(unit=UnitFactory(), child_name="Outra Criança")

    response = staff_client.get(reverse("admin:scheduling_appointment_changelist"), {"when": "upcoming"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine]


def test_admin_appointment_of_other_unit_404(outsider_client, unit):
    appointment = AppointmentFactory(unit=unit)

    response = outsider_client.get(reverse("admin:scheduling_appointment_change", args=[appointment.pk]))

    assert response.status_code == 404


def test_admin_appointments_changelist_query_count_constant(staff_client, unit):
    def render(rows: int) -> int:
        while Appointment.objects.count() < rows:
            start = this_week(48 + Appointment.objects.count())
            AppointmentFactory(unit=unit, start=start, end=start + dt.timedelta(hours=1))
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(reverse("admin:scheduling_appointment_changelist"))
        assert len(response.context["cl"].result_list) == rows
        return len(queries)

    assert render(1) == render(3)


def test_admin_bulk_no_show_calls_service(staff_client, unit):
    past = this_week(-3)
    appointment = AppointmentFactory(unit=unit, start=past, end=past + dt.timedelta(hours=1))
    future = AppointmentFactory(unit=unit, start=this_week(48), end=this_week(49))

    response = staff_client.post(
        reverse("admin:scheduling_appointment_changelist"),
        {"action": "mark_no_show", "_selected_action": [appointment.pk, future.pk]},
        follow=True,
    )

    appointment.refresh_from_db()
    future.refresh_from_db()
    assert (appointment.status, appointment.changed_by) == ("no_show", staff_client.user)
    assert future.status == "booked"
    assert Reminder.objects.filter(appointment=appointment, kind="no_show").count() == 1
    assert [str(m) for m in response.context["messages"]] == [
        f"{future}: A visita ainda não começou.", "1 visita marcada como falta"]


def test_admin_add_books_through_service(staff_client, unit):
    day = timezone.now().astimezone(SP).date() + dt.timedelta(days=7)
    day += dt.timedelta(days=(7 - day.weekday()) % 7)  # a Monday a week or more ahead
    data = {"unit": unit.pk, "start_0": day.isoformat(), "start_1": "14:00:00", "phone": "11987654321",
            "parent_name": "Ana", "child_name": "Pedro", "child_age": "7", "school_year": "", "subject": "", "notes": ""}

    created = staff_client.post(reverse("admin:scheduling_appointment_add"), data)
    lunch = staff_client.post(reverse("admin:scheduling_appointment_add"), {**data, "start_1": "12:30:00"})

    appointment = Appointment.objects.get()
    assert created.status_code == 302
    assert (appointment.source, appointment.phone, appointment.changed_by) == ("staff", "+5511987654321", staff_client.user)
    assert appointment.reminders.count() == 2
    assert lunch.status_code == 200
    assert "Este horário não pode ser agendado. Próximos horários livres:" in lunch.content.decode()


def test_admin_reminders_show_reason_and_scope(staff_client, unit):
    appointment = AppointmentFactory(unit=unit)
    ReminderFactory(appointment=appointment, status="failed", last_error="whatsapp: number not on WhatsApp")
    ReminderFactory(appointment=AppointmentFactory(unit=UnitFactory()), status="failed", last_error="other unit")

    response = staff_client.get(reverse("admin:scheduling_reminder_changelist"))

    assert [r.last_error for r in response.context["cl"].result_list] == ["whatsapp: number not on WhatsApp"]
    assert "whatsapp: number not on WhatsApp" in response.content.decode()
