"""The funnel by cohort: families first seen in the period and how far each got, by unit and by
source, median times, first response (nights and weekends too), loss reasons; page = CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import funnel
from conversations.models import Conversation, Message
from kumon.models import Contact
from kumon.tests.factories import ContactFactory, MembershipFactory, UnitFactory
from scheduling import outcomes
from scheduling.models import Appointment

SP = ZoneInfo("America/Sao_Paulo")
DAY = dt.datetime(2026, 11, 10, 10, 0, tzinfo=SP)  # a Tuesday


def family(unit, *, at=DAY, data=None, reply_after=30, sender="bot", offered=False, **fields):
    contact = ContactFactory(unit=unit, data=data or {}, **fields)
    Contact.objects.filter(pk=contact.pk).update(created_at=at)
    conversation = Conversation.objects.create(unit=unit, contact=contact)
    Conversation.objects.filter(pk=conversation.pk).update(created_at=at)
    first = Message.objects.create(
        unit=unit, conversation=conversation, direction="in", sender="parent", body="oi", status="handled"
    )
    reply = Message.objects.create(
        unit=unit,
        conversation=conversation,
        direction="out",
        sender=sender,
        body="olá",
        status="sent",
        meta={"offered": ["2026-11-12T15:00:00-03:00"]} if offered else {},
    )
    Message.objects.filter(pk=first.pk).update(created_at=at)
    Message.objects.filter(pk=reply.pk).update(created_at=at + dt.timedelta(seconds=reply_after))
    return contact


def visit(contact, *, booked_after: dt.timedelta, start: dt.datetime, seat: int = 1):
    appointment = Appointment.objects.create(
        unit=contact.unit,
        contact=contact,
        phone=contact.phone,
        start=start,
        end=start + dt.timedelta(hours=1),
        seat=seat,
        subject="Matemática",
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        created_at=Contact.objects.get(pk=contact.pk).created_at + booked_after
    )
    return appointment


@pytest.fixture
def cohort(db):
    unit, other = UnitFactory(name="Kumon Centro"), UnitFactory(name="Kumon Norte")
    family(unit)  # only wrote
    family(unit, data={"child_age": 7, "subjects": ["Matemática"], "heard_from": "Instagram"}, offered=True)
    enrolled = family(unit, data={"heard_from": "Instagram"}, offered=True)
    declined = family(
        unit, at=DAY.replace(hour=22), reply_after=600, sender="staff"
    )  # a night message, staff
    start = DAY + dt.timedelta(days=2, hours=5)
    outcomes.record_visit_outcome(
        appointment=visit(enrolled, booked_after=dt.timedelta(hours=1), start=start),
        result="enrolled",
        now=start + dt.timedelta(days=1),
    )
    outcomes.record_visit_outcome(
        appointment=visit(declined, booked_after=dt.timedelta(hours=3), start=start, seat=2),
        result="not_enrolled",
        reason=outcomes.reason_named(unit=unit, label="preço"),
        now=start + dt.timedelta(hours=2),
    )
    family(unit, at=DAY - dt.timedelta(days=40))  # another cohort
    family(unit, is_unit_staff=True)
    family(unit, simulated=True)
    family(other, data={"heard_from": "Indicação"})
    return unit, other


def test_funnel_counts_each_step_of_the_cohort_with_rates_and_median_times(cohort):
    unit, other = cohort

    result = funnel.build_funnel(units=[unit, other], start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))

    centro, norte = (t.values for t in result.totals)
    assert {k: centro[k] for k in ("first_seen", "qualified", "booked", "attended", "enrolled", "lost")} == {
        "first_seen": 4,
        "qualified": 3,
        "booked": 2,
        "attended": 2,
        "enrolled": 1,
        "lost": 1,
    }
    assert (
        centro["qualified_rate"],
        centro["booked_rate"],
        centro["attended_rate"],
        centro["enrolled_rate"],
        centro["overall_rate"],
    ) == (0.75, 2 / 3, 1.0, 0.5, 0.25)
    assert (
        centro["to_qualified_p50"] == 30.0
    )  # the offers, 30 s after the first message; the staff booking 3 h
    assert centro["to_attended_p50"] == pytest.approx(
        (2 * 86400 + 5 * 3600 - 1 * 3600 + 2 * 86400 + 5 * 3600 - 15 * 3600) / 2
    )
    assert centro["to_enrolled_p50"] == 86400.0
    assert (
        centro["frt_p50"],
        centro["frt_bot_p50"],
        centro["frt_staff_p50"],
        centro["frt_off_hours_p50"],
    ) == (30.0, 30.0, 600.0, 600.0)
    assert (norte["first_seen"], norte["qualified"]) == (1, 0)
    sources = [
        (r.unit_name, funnel.source_label(r.source), r.values["first_seen"], r.values["enrolled"])
        for r in result.by_source
    ]
    assert sources == [
        ("Kumon Centro", "Instagram", 2, 1),
        ("Kumon Centro", funnel.source_label(""), 2, 0),
        ("Kumon Norte", "Indicação", 1, 0),
    ]
    assert result.losses == {unit.pk: [("preço", 1)]}


def test_funnel_page_csv_and_chart_show_the_same_numbers_and_only_the_users_units(client, cohort):
    unit, other = cohort
    staff = MembershipFactory(unit=unit).user
    client.force_login(staff)
    query = "?from=2026-11-01&to=2026-11-30"

    page = client.get(f"/admin/conversations/conversation/reports/funnel/{query}")
    en = client.get(f"/admin/conversations/conversation/reports/funnel.csv{query}&lang=en").content.decode()
    pt = client.get(f"/admin/conversations/conversation/reports/funnel.csv{query}").content.decode()

    table = {row["line"].key: row["cells"] for row in page.context["table"]}
    assert [t.unit_name for t in page.context["funnel"].totals] == ["Kumon Centro"]
    assert (table["first_seen"], table["enrolled"], table["overall_rate"], table["frt_staff_p50"]) == (
        ["4"],
        ["1"],
        ["25,0%"],
        ["10 min"],
    )
    lines = list(csv.reader(io.StringIO(en)))
    header, total = lines[0], lines[1]
    assert dict(zip(header, total, strict=False))["first_seen"] == "4"
    assert dict(zip(header, total, strict=False))["overall_rate"] == "0.2500"
    assert ["Kumon Centro", "preço", "1"] in lines
    assert "Kumon Norte" not in en + pt
    pt_rows = list(csv.reader(io.StringIO(pt.lstrip("\ufeff")), delimiter=";"))
    assert pt_rows[1][:7] == ["Kumon Centro", "todas", "4", "3", "2", "2", "1"]
    assert page.context["chart"]["series"] == [{"unit": "Kumon Centro", "values": [4, 3, 2, 2, 1]}]
    assert "Definições" in page.content.decode()


def test_funnel_of_an_outsider_shows_nothing_of_the_unit(client, cohort):
    outsider = MembershipFactory(unit=UnitFactory(name="Kumon Sul")).user
    client.force_login(outsider)

    page = client.get("/admin/conversations/conversation/reports/funnel/?from=2026-11-01&to=2026-11-30")

    assert [(t.unit_name, t.values["first_seen"]) for t in page.context["funnel"].totals] == [
        ("Kumon Sul", 0)
    ]


@pytest.mark.parametrize("families", [1, 3])
def test_funnel_runs_a_fixed_number_of_queries(db, families):
    unit = UnitFactory()
    for _ in range(families):
        family(unit)

    with CaptureQueriesContext(connection) as queries:
        funnel.build_funnel(units=[unit], start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))

    assert len(queries) == 2
