import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kumon.tests.factories import MembershipFactory, UnitFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, weekly_hours

SP = ZoneInfo("America/Sao_Paulo")


def next_monday_14() -> dt.datetime:
    day = timezone.now().astimezone(SP).date() + dt.timedelta(days=7)
    day += dt.timedelta(days=(7 - day.weekday()) % 7)
    return dt.datetime.combine(day, dt.time(14), tzinfo=SP)


@pytest.fixture
def monday():
    return next_monday_14()


@pytest.fixture
def unit(db):
    u = UnitFactory(slug="centro", timezone="America/Sao_Paulo", capacity=1, visit_minutes=60)
    weekly_hours(u)
    return u


@pytest.fixture
def staff(unit):
    return MembershipFactory(unit=unit).user


@pytest.fixture
def outsider(db):
    other = UnitFactory(slug="outra")
    return MembershipFactory(unit=other).user


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def payload(monday, **kw):
    data = {
        "unit": "centro",
        "phone": "11 98765-4321",
        "parent_name": "Ana",
        "child_name": "Pedro",
        "child_age": 7,
        "subject": "Matemática",
        "start": monday.isoformat(),
    }
    data.update(kw)
    return data


def test_slots_api_lists_free_slots_with_offsets(unit, staff, monday):
    response = client_for(staff).get(
        "/api/v1/slots/",
        {"unit": "centro", "from": monday.isoformat(), "to": (monday + dt.timedelta(hours=2)).isoformat()},
    )

    assert response.status_code == 200
    day = monday.date().isoformat()
    assert response.json() == [
        {"start": f"{day}T14:00:00-03:00", "end": f"{day}T15:00:00-03:00", "remaining": 1},
        {"start": f"{day}T15:00:00-03:00", "end": f"{day}T16:00:00-03:00", "remaining": 1},
    ]


def test_slots_api_times_without_offset_are_unit_local(unit, staff, monday):
    naive = monday.replace(tzinfo=None)

    response = client_for(staff).get(
        "/api/v1/slots/",
        {"unit": "centro", "from": naive.isoformat(), "to": (naive + dt.timedelta(hours=1)).isoformat()},
    )

    assert [s["start"] for s in response.json()] == [monday.isoformat()]


def test_slots_api_outsider_and_anonymous_refused(unit, outsider, monday):
    params = {
        "unit": "centro",
        "from": monday.isoformat(),
        "to": (monday + dt.timedelta(hours=2)).isoformat(),
    }

    response = client_for(outsider).get("/api/v1/slots/", params)
    anonymous = APIClient().get("/api/v1/slots/", params)

    assert (response.status_code, response.json()) == (
        404,
        {"message": "Unidade não encontrada.", "extra": {"unit": "centro"}},
    )
    assert anonymous.status_code in (401, 403)


def test_slots_api_range_validated(unit, staff, monday):
    response = client_for(staff).get(
        "/api/v1/slots/", {"unit": "centro", "from": monday.isoformat(), "to": monday.isoformat()}
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Dados inválidos. to: deve ser depois de from",
        "extra": {"fields": {"to": ["deve ser depois de from"]}},
    }


def test_slots_api_errors_name_the_public_parameters_in_portuguese(unit, staff, monday):
    client = client_for(staff)

    missing = client.get("/api/v1/slots/", {"unit": "centro", "to": monday.isoformat()})
    malformed = client.get("/api/v1/slots/", {"unit": "centro", "from": "amanhã", "to": monday.isoformat()})
    english = client.get(
        "/api/v1/slots/", {"unit": "centro", "to": monday.isoformat()}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert (missing.status_code, missing.json()) == (
        400,
        {
            "message": "Dados inválidos. from: Este campo é obrigatório.",
            "extra": {"fields": {"from": ["Este campo é obrigatório."]}},
        },
    )
    assert list(malformed.json()["extra"]["fields"]) == ["from"]
    assert malformed.json()["extra"]["fields"]["from"][0].startswith(
        "Data e hora em formato inválido. Use um destes formatos:"
    )
    assert english.json() == {
        "message": "Invalid input. from: This field is required.",
        "extra": {"fields": {"from": ["This field is required."]}},
    }


def test_appointments_api_null_field_reads_as_portuguese(unit, staff, monday):
    response = client_for(staff).post(
        "/api/v1/appointments/", {**payload(monday), "phone": None}, format="json"
    )

    assert (response.status_code, response.json()) == (
        400,
        {
            "message": "Dados inválidos. phone: Este campo não pode ser nulo.",
            "extra": {"fields": {"phone": ["Este campo não pode ser nulo."]}},
        },
    )


def test_appointments_api_book_201_then_409_with_alternatives(unit, staff, monday):
    client = client_for(staff)

    created = client.post("/api/v1/appointments/", payload(monday), format="json")
    taken = client.post("/api/v1/appointments/", payload(monday, phone="+5511911112222"), format="json")

    assert created.status_code == 201
    body = created.json()
    assert {
        k: body[k] for k in ("unit", "start", "end", "status", "phone", "child_name", "child_age", "source")
    } == {
        "unit": "centro",
        "start": monday.isoformat(),
        "end": (monday + dt.timedelta(hours=1)).isoformat(),
        "status": "booked",
        "phone": "+5511987654321",
        "child_name": "Pedro",
        "child_age": 7,
        "source": "api",
    }
    assert taken.status_code == 409
    assert taken.json()["message"] == "Este horário não está mais disponível."
    assert taken.json()["extra"]["reason"] == "taken"
    assert [a["start"] for a in taken.json()["extra"]["alternatives"]][:2] == [
        (monday + dt.timedelta(hours=1)).isoformat(),
        (monday + dt.timedelta(hours=2)).isoformat(),
    ]
    assert Appointment.objects.get().changed_by == staff


def test_appointments_api_book_against_rules_409(unit, staff, monday):
    response = client_for(staff).post(
        "/api/v1/appointments/", payload(monday - dt.timedelta(hours=1, minutes=30)), format="json"
    )

    assert response.status_code == 409
    assert response.json()["extra"]["reason"] == "rules"
    assert len(response.json()["extra"]["alternatives"]) == 3


def test_appointments_api_book_invalid_phone_400(unit, staff, monday):
    response = client_for(staff).post("/api/v1/appointments/", payload(monday, phone="abc"), format="json")

    assert (response.status_code, response.json()) == (
        400,
        {"message": "Número de telefone inválido.", "extra": {"field": "phone"}},
    )


def test_appointments_api_outsider_cannot_book_or_see(unit, staff, outsider, monday):
    client_for(staff).post("/api/v1/appointments/", payload(monday), format="json")
    appointment = Appointment.objects.get()
    other = client_for(outsider)

    booked = other.post("/api/v1/appointments/", payload(monday + dt.timedelta(hours=1)), format="json")
    listed = other.get("/api/v1/appointments/")
    listed_unit = other.get("/api/v1/appointments/", {"unit": "centro"})
    detail = other.get(f"/api/v1/appointments/{appointment.pk}/")
    patched = other.patch(f"/api/v1/appointments/{appointment.pk}/", {"status": "cancelled"}, format="json")
    deleted = other.delete(f"/api/v1/appointments/{appointment.pk}/")

    assert booked.status_code == 404
    assert listed.json()["results"] == []
    assert listed_unit.status_code == 404
    assert (detail.status_code, patched.status_code, deleted.status_code) == (404, 404, 404)
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert Appointment.objects.count() == 1


def test_appointments_api_list_with_token_auth(unit, staff, monday):
    AppointmentFactory(unit=unit, start=monday, end=monday + dt.timedelta(hours=1))
    token = Token.objects.create(user=staff)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.get("/api/v1/appointments/", {"unit": "centro"})

    assert response.status_code == 200
    row = response.json()["results"][0]
    assert {k: row[k] for k in ("start", "end", "status", "child_name", "phone")} == {
        "start": monday.isoformat(),
        "end": (monday + dt.timedelta(hours=1)).isoformat(),
        "status": "booked",
        "child_name": "Pedro",
        "phone": "+5511987654321",
    }


@pytest.mark.parametrize("rows", [1, 3])
def test_appointments_api_list_query_count_constant(unit, staff, monday, rows, django_assert_max_num_queries):
    for i in range(rows):
        AppointmentFactory(
            unit=unit, start=monday + dt.timedelta(hours=i), end=monday + dt.timedelta(hours=i + 1)
        )
    client = client_for(staff)

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/appointments/", {"unit": "centro"})

    assert len(response.json()["results"]) == rows
    assert len(queries) == 4  # memberships, unit, count, page


def test_appointments_api_patch_reschedule_and_status(unit, staff, monday):
    client = client_for(staff)
    appointment_id = client.post("/api/v1/appointments/", payload(monday), format="json").json()["id"]

    moved = client.patch(
        f"/api/v1/appointments/{appointment_id}/",
        {"start": (monday + dt.timedelta(hours=2)).isoformat()},
        format="json",
    )
    confirmed = client.patch(
        f"/api/v1/appointments/{appointment_id}/", {"status": "confirmed"}, format="json"
    )
    both = client.patch(
        f"/api/v1/appointments/{appointment_id}/",
        {"status": "confirmed", "start": monday.isoformat()},
        format="json",
    )

    assert (moved.status_code, moved.json()["start"]) == (200, (monday + dt.timedelta(hours=2)).isoformat())
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")
    assert both.status_code == 400
    assert Appointment.objects.filter(status__in=Appointment.LIVE).count() == 1


def test_appointments_api_delete_cancels_and_frees_slot(unit, staff, monday):
    client = client_for(staff)
    appointment_id = client.post("/api/v1/appointments/", payload(monday), format="json").json()["id"]

    deleted = client.delete(f"/api/v1/appointments/{appointment_id}/")
    again = client.delete(f"/api/v1/appointments/{appointment_id}/")
    rebook = client.post("/api/v1/appointments/", payload(monday, phone="+5511911112222"), format="json")

    assert (deleted.status_code, deleted.json()["status"]) == (200, "cancelled")
    assert again.status_code == 409
    assert rebook.status_code == 201


def test_schema_lists_scheduling_endpoints(db):
    response = APIClient().get("/openapi.json", {"format": "json"})

    paths = json.loads(response.content)["paths"]
    assert {"get"} <= set(paths["/api/v1/slots/"])
    assert {"get", "post"} <= set(paths["/api/v1/appointments/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/appointments/{id}/"])
