import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kumon.tests.factories import MembershipFactory, UnitFactory
from scheduling import services
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
        f"{future}: A visita ainda não começou.",
        "1 visita marcada como falta",
    ]


def test_admin_add_books_through_service(staff_client, unit):
    day = timezone.now().astimezone(SP).date() + dt.timedelta(days=7)
    day += dt.timedelta(days=(7 - day.weekday()) % 7)  # a Monday a week or more ahead
    data = {
        "unit": unit.pk,
        "start_0": day.isoformat(),
        "start_1": "14:00:00",
        "phone": "11987654321",
        "parent_name": "Ana",
        "child_name": "Pedro",
        "child_age": "7",
        "school_year": "",
        "subject": "",
        "notes": "",
    }

    created = staff_client.post(reverse("admin:scheduling_appointment_add"), data)
    lunch = staff_client.post(reverse("admin:scheduling_appointment_add"), {**data, "start_1": "12:30:00"})

    appointment = Appointment.objects.get()
    assert created.status_code == 302
    assert (appointment.source, appointment.phone, appointment.changed_by) == (
        "staff",
        "+5511987654321",
        staff_client.user,
    )
    assert appointment.reminders.count() == 2
    assert lunch.status_code == 200
    assert "Este horário não pode ser agendado. Próximos horários livres:" in lunch.content.decode()


def test_admin_reminders_show_reason_and_scope(staff_client, unit):
    appointment = AppointmentFactory(unit=unit)
    ReminderFactory(appointment=appointment, status="failed", last_error="whatsapp: number not on WhatsApp")
    ReminderFactory(
        appointment=AppointmentFactory(unit=UnitFactory()), status="failed", last_error="other unit"
    )

    response = staff_client.get(reverse("admin:scheduling_reminder_changelist"))

    assert [r.last_error for r in response.context["cl"].result_list] == ["whatsapp: number not on WhatsApp"]
    assert "whatsapp: number not on WhatsApp" in response.content.decode()


def _monday_ahead(weeks: int = 1) -> dt.date:
    day = timezone.now().astimezone(SP).date() + dt.timedelta(days=7 * weeks)
    return day - dt.timedelta(days=day.weekday())


def test_admin_reschedule_lists_free_times_moves_the_visit_and_tells_the_family(staff_client, unit):
    from kumon.tests.factories import ContactFactory

    monday = _monday_ahead()
    start = dt.datetime.combine(monday, dt.time(15), tzinfo=SP)
    contact = ContactFactory(unit=unit)
    appointment = AppointmentFactory(
        unit=unit, contact=contact, phone=contact.phone, start=start, end=start + dt.timedelta(hours=1)
    )
    AppointmentFactory(
        unit=unit,
        start=start + dt.timedelta(hours=1),
        end=start + dt.timedelta(hours=2),
        phone="+5511911112222",
    )
    url = reverse("admin:scheduling_appointment_reschedule", args=[appointment.pk])

    page = staff_client.get(url)
    moved = staff_client.post(
        url, {"slot": (start + dt.timedelta(days=1, hours=1)).isoformat(), "notify": "on"}, follow=True
    )

    html = page.content.decode()
    day_label = f"segunda {monday:%d/%m}"
    assert page.status_code == 200
    assert "Remarcar a visita" in html and day_label in html
    free_monday = [c for d, c in page.context["form"].fields["slot"].choices if d == day_label][0]
    assert [label for _, label in free_monday] == [
        "9h",
        "10h",
        "11h",
        "14h",
        "17h",
    ]  # 15h is its own, 16h taken
    appointment.refresh_from_db()
    assert (appointment.start, appointment.changed_by) == (
        start + dt.timedelta(days=1, hours=1),
        staff_client.user,
    )
    assert [str(m) for m in moved.context["messages"]] == [
        f"Visita remarcada para terça {monday + dt.timedelta(days=1):%d/%m} às 16h. "
        "A família recebe uma mensagem no WhatsApp com o novo horário."
    ]
    assert list(appointment.reminders.filter(kind="rescheduled").values_list("status", flat=True)) == [
        "pending"
    ]
    assert moved.redirect_chain == [
        (reverse("admin:scheduling_appointment_change", args=[appointment.pk]), 302)
    ]


def test_admin_reschedule_refused_time_shows_the_next_free_ones(staff_client, unit):
    monday = _monday_ahead()
    start = dt.datetime.combine(monday, dt.time(15), tzinfo=SP)
    appointment = AppointmentFactory(unit=unit, start=start, end=start + dt.timedelta(hours=1))
    url = reverse("admin:scheduling_appointment_reschedule", args=[appointment.pk])

    response = staff_client.post(url, {"other": f"{monday:%Y-%m-%d}T12:30", "notify": "on"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"Este horário não pode ser agendado. Próximos horários livres: segunda {monday:%d/%m} às 14h, "
        f"segunda {monday:%d/%m} às 16h, segunda {monday:%d/%m} às 17h"
    ]
    appointment.refresh_from_db()
    assert (appointment.start, appointment.reminders.filter(kind="rescheduled").count()) == (start, 0)


def test_admin_reschedule_of_another_unit_is_404_and_the_action_takes_one_visit(staff_client, unit):
    from django.test import Client

    first = AppointmentFactory(unit=unit)
    second = AppointmentFactory(unit=unit, start=this_week(72), end=this_week(73))
    changelist = reverse("admin:scheduling_appointment_changelist")
    outsider_client = Client()  # the `client` fixture is staff_client's own
    outsider_user = MembershipFactory(unit=UnitFactory(slug="outra")).user
    outsider_user.save()
    outsider_client.force_login(outsider_user)

    outsider = outsider_client.get(reverse("admin:scheduling_appointment_reschedule", args=[first.pk]))
    one = staff_client.post(changelist, {"action": "reschedule", "_selected_action": [first.pk]})
    two = staff_client.post(
        changelist, {"action": "reschedule", "_selected_action": [first.pk, second.pk]}, follow=True
    )

    assert outsider.status_code == 404
    assert (one.status_code, one["Location"]) == (
        302,
        reverse("admin:scheduling_appointment_reschedule", args=[first.pk]),
    )
    assert [str(m) for m in two.context["messages"]] == ["Escolha uma única visita para remarcar."]


def test_admin_appointment_page_in_portuguese_and_local_time(staff_client, unit):
    from kumon.tests.factories import ContactFactory

    start = dt.datetime.combine(_monday_ahead(), dt.time(15), tzinfo=SP)
    appointment = AppointmentFactory(
        unit=unit,
        contact=ContactFactory(unit=unit),
        start=start,
        end=start + dt.timedelta(hours=1),
        child_name="Laura",
    )
    moved_to = start + dt.timedelta(hours=2)
    services.reschedule_appointment(appointment=appointment, start=moved_to, changed_by=staff_client.user)

    html = staff_client.get(
        reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    ).content.decode()

    assert f"Laura {moved_to:%d/%m} 17:00" in html  # the title, in São Paulo time (not 20:00 UTC)
    for label in (
        "Sincronização da agenda",
        "Alterado por",
        "Situação antes",
        "Situação depois",
        "Horário anterior",
        "Novo horário",
        "Pela família",
        "Tentativas",
        "24 h antes",
        "sem sincronização (agenda local)",
        "abrir a conversa",
        "Remarcar a visita",
    ):
        assert label in html, label
    assert "none" not in re.findall(r'<div class="readonly">([^<]*)</div>', html)


def test_admin_times_are_the_units_own_zone_not_sao_paulo(client, db):
    manaus = UnitFactory(slug="manaus", timezone="America/Manaus")  # UTC-4, São Paulo is UTC-3
    user = MembershipFactory(unit=manaus).user
    user.save()
    client.force_login(user)
    start = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)
    appointment = AppointmentFactory(
        unit=manaus, start=start, end=start + dt.timedelta(hours=1), child_name="Iara"
    )

    page = client.get(reverse("admin:scheduling_appointment_change", args=[appointment.pk])).content.decode()
    listing = client.get(reverse("admin:scheduling_appointment_changelist")).content.decode()

    assert "Iara 07/12 13:00" in page and "7 de Dezembro de 2026 às 13:00" in page
    assert "seg 07/12/2026 13:00" in listing
