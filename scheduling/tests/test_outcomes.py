"""Visit outcomes: enrolled (subjects, start date) or not (a reason of the unit's list), from the
service, the admin's one-click actions on the day's visits and the API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from kumon.exceptions import Conflict
from kumon.tests.factories import MembershipFactory, UnitFactory
from scheduling import outcomes
from scheduling.models import LossReason, VisitOutcome
from scheduling.tests.factories import AppointmentFactory, ContactFactory

SP = ZoneInfo("America/Sao_Paulo")
VISIT = dt.datetime(2026, 12, 2, 15, 0, tzinfo=SP)  # a Wednesday
AFTER = VISIT + dt.timedelta(hours=2)


def visit(unit=None, *, start=VISIT, status="booked", subject="Matemática", seat=1):
    unit = unit or UnitFactory()
    contact = ContactFactory(unit=unit)
    return AppointmentFactory(
        unit=unit,
        contact=contact,
        phone=contact.phone,
        start=start,
        end=start + dt.timedelta(hours=1),
        status=status,
        subject=subject,
        seat=seat,
    )


def test_enrolled_takes_the_visits_subject_and_the_next_monday_and_marks_attended(db):
    appointment = visit()

    outcome = outcomes.record_visit_outcome(appointment=appointment, result="enrolled", now=AFTER)

    appointment.refresh_from_db()
    assert (outcome.result, outcome.subjects, outcome.start_date, outcome.reason) == (
        "enrolled",
        "Matemática",
        dt.date(2026, 12, 7),
        None,
    )
    assert appointment.status == "attended"


def test_not_enrolled_needs_a_reason_of_the_units_list_which_starts_with_the_defaults(db):
    appointment = visit()

    labels = [r.label for r in outcomes.loss_reasons(unit=appointment.unit)]
    reason = outcomes.reason_named(unit=appointment.unit, label="Preço")
    unknown = outcomes.reason_named(unit=appointment.unit, label="mudou de cidade")
    outcome = outcomes.record_visit_outcome(
        appointment=appointment, result="not_enrolled", reason=reason, now=AFTER
    )
    again = outcomes.record_visit_outcome(
        appointment=appointment, result="not_enrolled", reason=unknown, now=AFTER
    )

    assert labels == ["preço", "horário", "distância", "idade da criança", "escolheu outra escola", "outro"]
    assert (outcome.result, outcome.reason.label, outcome.start_date) == ("not_enrolled", "preço", None)
    assert (again.pk, again.reason.label, VisitOutcome.objects.count()) == (outcome.pk, "outro", 1)
    with pytest.raises(outcomes.InvalidOutcome):
        outcomes.record_visit_outcome(appointment=appointment, result="not_enrolled", now=AFTER)


def test_outcome_is_refused_before_the_visit_and_for_cancelled_or_missed_visits(db):
    future, cancelled, missed = visit(), visit(status="cancelled"), visit(status="no_show")

    for appointment, now in ((future, VISIT - dt.timedelta(minutes=1)), (cancelled, AFTER), (missed, AFTER)):
        with pytest.raises(Conflict):
            outcomes.record_visit_outcome(appointment=appointment, result="enrolled", now=now)
    assert VisitOutcome.objects.count() == 0


def test_another_units_reason_is_refused(db):
    appointment, other = visit(), UnitFactory()
    foreign = outcomes.reason_named(unit=other, label="preço")

    with pytest.raises(outcomes.InvalidOutcome):
        outcomes.record_visit_outcome(
            appointment=appointment, result="not_enrolled", reason=foreign, now=AFTER
        )


def test_admin_one_click_outcome_on_todays_visits(client, db):
    unit = UnitFactory()
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(today, timezone.now() - dt.timedelta(minutes=90))  # earlier today
    enrolled, declined = visit(unit, start=start), visit(unit, start=start, seat=2)
    staff = MembershipFactory(unit=unit).user
    client.force_login(staff)

    page = client.get("/admin/scheduling/appointment/?when=today")
    client.post(
        "/admin/scheduling/appointment/?when=today",
        {"action": "record_enrolled", "_selected_action": [enrolled.pk], "starts_on": "2026-12-14"},
    )
    client.post(
        "/admin/scheduling/appointment/?when=today",
        {"action": "record_not_enrolled", "_selected_action": [declined.pk], "reason": "distância"},
    )

    assert page.context["action_form"].fields["reason"].widget.choices[:3] == [
        ("", "—"),
        ("preço", "preço"),
        ("horário", "horário"),
    ]
    rows = {
        o.appointment_id: (o.result, o.start_date, o.reason.label if o.reason else None, o.recorded_by)
        for o in VisitOutcome.objects.all()
    }
    assert rows == {
        enrolled.pk: ("enrolled", dt.date(2026, 12, 14), None, staff),
        declined.pk: ("not_enrolled", None, "distância", staff),
    }


def test_admin_outcome_action_of_an_outsider_changes_nothing(client, db):
    appointment = visit(start=timezone.now() - dt.timedelta(hours=2))
    outsider = MembershipFactory(unit=UnitFactory()).user
    client.force_login(outsider)

    client.post(
        "/admin/scheduling/appointment/", {"action": "record_enrolled", "_selected_action": [appointment.pk]}
    )

    assert VisitOutcome.objects.count() == 0
    assert LossReason.objects.filter(unit=outsider.memberships.get().unit).count() == 0


def test_api_records_and_lists_the_outcome_and_hides_it_from_outsiders(db):
    appointment = visit(start=timezone.now() - dt.timedelta(hours=2))
    api, outsider = APIClient(), APIClient()
    api.force_authenticate(MembershipFactory(unit=appointment.unit).user)
    outsider.force_authenticate(MembershipFactory(unit=UnitFactory()).user)

    posted = api.post(
        f"/api/v1/appointments/{appointment.pk}/outcome/",
        {"result": "not_enrolled", "reason": "horário", "note": "só à tarde"},
        format="json",
    )
    listed = api.get("/api/v1/appointments/")
    foreign = outsider.post(
        f"/api/v1/appointments/{appointment.pk}/outcome/", {"result": "enrolled"}, format="json"
    )

    expected = {
        "result": "not_enrolled",
        "subjects": "",
        "start_date": None,
        "reason": "horário",
        "note": "só à tarde",
        "recorded_at": posted.json()["outcome"]["recorded_at"],
    }
    assert (posted.status_code, posted.json()["outcome"], posted.json()["status"]) == (
        200,
        expected,
        "attended",
    )
    assert [a["outcome"] for a in listed.json()["results"]] == [expected]
    assert (foreign.status_code, VisitOutcome.objects.get().result) == (404, "not_enrolled")


@pytest.mark.parametrize("rows", [1, 3])
def test_api_list_with_outcomes_runs_a_fixed_number_of_queries(db, rows):
    unit = UnitFactory()
    for i in range(rows):
        appointment = visit(unit, start=VISIT + dt.timedelta(hours=i * 2))
        outcomes.record_visit_outcome(
            appointment=appointment, result="enrolled", now=appointment.start + dt.timedelta(hours=1)
        )
    api = APIClient()
    api.force_authenticate(MembershipFactory(unit=unit).user)

    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/appointments/")

    assert response.status_code == 200
    assert len(queries) <= 6
