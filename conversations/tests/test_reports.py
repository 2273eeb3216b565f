"""Reports: numbers equal to hand-counted ones, scoping, CSV equal to the page, query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conversations import reports
from conversations.models import Conversation, Message
from conversations.tests.factories import ContactFactory, ConversationFactory
from conversations.tests.workplace import make_world
from knowledge.models import KnowledgeGap
from kumon.models import Contact, Membership
from kumon.tests.factories import UnitFactory
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db
SP = ZoneInfo("America/Sao_Paulo")
START, END = dt.date(2026, 3, 2), dt.date(2026, 3, 15)  # two weeks, Monday to Sunday


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=SP)


def contact(unit, created, *, staff: bool = False, **data) -> Contact:
    c = ContactFactory(unit=unit, is_unit_staff=staff, data=data)
    Contact.objects.filter(pk=c.pk).update(created_at=created)
    return c


def conversation(c: Contact, created, **kwargs) -> Conversation:
    conv = ConversationFactory(contact=c, **kwargs)
    Conversation.objects.filter(pk=conv.pk).update(created_at=created)
    return conv


def message(conv: Conversation, sender: str, created, **kwargs) -> Message:
    direction = "in" if sender == "parent" else "out"
    m = Message.objects.create(
        unit_id=conv.unit_id,
        conversation=conv,
        direction=direction,
        sender=sender,
        body=f"{sender} text",
        status="received" if direction == "in" else "sent",
        **kwargs,
    )
    Message.objects.filter(pk=m.pk).update(created_at=created)
    return m


def appointment(unit, c, created, start, status) -> Appointment:
    a = Appointment.objects.create(
        unit=unit, contact=c, start=start, end=start + dt.timedelta(hours=1), status=status
    )
    Appointment.objects.filter(pk=a.pk).update(created_at=created)
    return a


def gap(unit, created) -> None:
    g = KnowledgeGap.objects.create(unit=unit, text="tem estacionamento?")
    KnowledgeGap.objects.filter(pk=g.pk).update(created_at=created)


def build_data_set(unit, other_unit) -> None:
    # Week 1. conv1: qualified lead, bot only, first reply sent 40 s after; a visit, attended.
    c1 = contact(unit, at(2, 10), child_age=7, subjects=["Matemática"])
    conv1 = conversation(c1, at(2, 10))
    message(conv1, "parent", at(2, 10))
    message(
        conv1,
        "bot",
        at(2, 10, 0, 30),
        sent_at=at(2, 10, 0, 40),
        tokens_in=100,
        tokens_out=20,
        cost_usd=Decimal("0.001"),
    )
    appointment(unit, c1, at(3, 9), at(10, 15), Appointment.Status.ATTENDED)
    # conv2: not qualified (no subject), bot answered in 20 s, handed off at 9:05, staff 10 min later;
    # opted out; a visit booked in week 2 and cancelled.
    c2 = contact(unit, at(4, 9), school_year="3º ano")
    Contact.objects.filter(pk=c2.pk).update(opted_out_at=at(5, 12))
    conv2 = conversation(c2, at(4, 9), mode=Conversation.Mode.HUMAN, handoff_at=at(4, 9, 5))
    message(conv2, "parent", at(4, 9))
    message(conv2, "bot", at(4, 9, 0, 20))
    message(conv2, "staff", at(4, 9, 15))
    appointment(unit, c2, at(10, 9), at(20, 15), Appointment.Status.CANCELLED)
    gap(unit, at(3, 8))
    gap(unit, at(6, 8))
    # The unit's staff phone (hand-off notices): ignored everywhere.
    staff_phone = contact(unit, at(4, 9), staff=True)
    staff_conv = conversation(staff_phone, at(4, 9, 5), mode=Conversation.Mode.HUMAN, handoff_at=at(4, 9, 5))
    message(staff_conv, "bot", at(4, 9, 5))
    # Week 2. conv3: qualified, closed after the bot answered in 60 s; a visit, no-show.
    c3 = contact(unit, at(9, 14), child_age=5, subjects=["Inglês"])
    conv3 = conversation(c3, at(9, 14), mode=Conversation.Mode.CLOSED)
    message(conv3, "parent", at(9, 14))
    message(conv3, "bot", at(9, 14, 1), tokens_in=50, tokens_out=10, cost_usd=Decimal("0.0005"))
    appointment(unit, c3, at(9, 14, 30), at(12, 16), Appointment.Status.NO_SHOW)
    gap(unit, at(11, 8))
    # Outside the range, and another unit: not counted.
    c4 = contact(unit, at(16, 10))
    message(conversation(c4, at(16, 10)), "parent", at(16, 10))
    c5 = contact(other_unit, at(3, 10), child_age=6, subjects=["Matemática"])
    message(conversation(c5, at(3, 10)), "parent", at(3, 10))
    gap(other_unit, at(3, 10))


EXPECTED_TOTAL = {
    "conversations": 3,
    "new_leads": 3,
    "qualified_leads": 2,
    "visits_booked": 3,
    "attended": 1,
    "no_shows": 1,
    "conversion": pytest.approx(2 / 3),
    "bot_resolution": pytest.approx(2 / 3),
    "handoff_rate": pytest.approx(1 / 3),
    "bot_frt_p50": 40.0,
    "bot_frt_p90": 56.0,
    "staff_frt_p50": 600.0,
    "staff_frt_p90": 600.0,
    "messages_in": 3,
    "messages_out": 4,
    "opted_out": 1,
    "unanswered": 3,
    "tokens_in": 150,
    "tokens_out": 30,
    "cost_usd": Decimal("0.0015"),
}


def test_report_totals_equal_hand_counted_numbers() -> None:
    unit, other = UnitFactory(), UnitFactory()
    build_data_set(unit, other)
    report = reports.build_report(units=[unit], start=START, end=END, period="week")
    assert report.totals[0].values == EXPECTED_TOTAL


def test_report_weekly_rows_equal_hand_counted_numbers() -> None:
    unit, other = UnitFactory(), UnitFactory()
    build_data_set(unit, other)
    report = reports.build_report(units=[unit], start=START, end=END, period="week")
    week1, week2 = report.rows
    assert (week1.period, week2.period) == (dt.date(2026, 3, 2), dt.date(2026, 3, 9))
    keys = [
        "conversations",
        "new_leads",
        "qualified_leads",
        "visits_booked",
        "attended",
        "no_shows",
        "messages_in",
        "messages_out",
        "opted_out",
        "unanswered",
        "tokens_in",
    ]
    assert [week1.values[k] for k in keys] == [2, 2, 1, 1, 0, 0, 2, 3, 1, 2, 100]
    assert [week2.values[k] for k in keys] == [1, 1, 1, 2, 1, 1, 1, 1, 0, 1, 50]
    assert (week1.values["bot_resolution"], week1.values["handoff_rate"]) == (0.5, 0.5)
    assert (week2.values["bot_resolution"], week2.values["handoff_rate"]) == (1.0, 0.0)


def test_report_daily_rows_cover_every_day_and_sum_to_totals() -> None:
    unit, other = UnitFactory(), UnitFactory()
    build_data_set(unit, other)
    report = reports.build_report(units=[unit], start=START, end=END, period="day")
    assert len(report.rows) == 14
    for key in ("conversations", "new_leads", "visits_booked", "messages_out", "unanswered"):
        assert sum(r.values[key] for r in report.rows) == EXPECTED_TOTAL[key]


def test_rates_never_exceed_100_percent() -> None:
    unit = UnitFactory()
    for i in range(3):
        conv = conversation(
            contact(unit, at(2, 10 + i)),
            at(2, 10 + i),
            mode=Conversation.Mode.HUMAN,
            handoff_at=at(2, 11 + i),
        )
        message(conv, "parent", at(2, 10 + i))
        message(conv, "bot", at(2, 10 + i, 1))
        message(conv, "staff", at(2, 12 + i))
    totals = reports.build_report(units=[unit], start=START, end=END, period="month").totals[0].values
    assert (totals["bot_resolution"], totals["handoff_rate"]) == (0.0, 1.0)


# --- the admin pages ---------------------------------------------------------------------------------

REPORTS = "/admin/conversations/conversation/reports/"
PARAMS = {"from": "2026-03-02", "to": "2026-03-15", "period": "week"}


def page_totals(html: str) -> dict[str, list[str]]:
    table = html.split('id="kr-totals"', 1)[1].split("</table>", 1)[0]
    out = {}
    for key, cells in re.findall(r'<tr data-metric="(\w+)">(.*?)</tr>', table, re.S):
        out[key] = re.findall(r"<td>(.*?)</td>", cells)
    return out


def test_reports_page_shows_numbers_definitions_and_chart() -> None:
    from django.test import Client

    w = make_world()
    build_data_set(w.unit_a, w.unit_b)
    client = Client()
    client.force_login(w.staff_a)
    response = client.get(REPORTS, PARAMS)
    html = response.content.decode()
    assert response.status_code == 200
    assert [u.pk for u in response.context["report"].units] == [w.unit_a.pk]
    assert page_totals(html)["conversations"] == ["3"]
    assert page_totals(html)["handoff_rate"] == ["33,3 %"]
    assert (page_totals(html)["bot_frt_p50"], page_totals(html)["staff_frt_p50"]) == (["40 s"], ["10,0 min"])
    assert page_totals(html)["cost_usd"] == ["0,0015"]
    assert html.count("<dt>") == len(reports.METRICS) + 1  # every definition is written on the page
    assert "vendor/chart.umd.js" in html and 'id="kr-chart-data"' in html


def _number(text: str, metric: reports.Metric, *, comma: bool) -> Any:
    if text == "":
        return None
    text = text.replace(",", ".") if comma else text
    if metric.kind == "rate":
        return float(text) / 100 if comma else float(text)
    if metric.kind == "seconds":
        return float(text)
    return Decimal(text) if metric.kind == "money" else int(text)


def test_reports_csv_equals_the_page_in_portuguese_for_excel() -> None:
    from django.test import Client

    w = make_world()
    build_data_set(w.unit_a, w.unit_b)
    build_data_set(w.unit_c, w.unit_b)
    client = Client()
    client.force_login(w.owner)
    query = {**PARAMS, "unit": ["unit-a", "unit-c"]}
    page = page_totals(client.get(REPORTS, query).content.decode())
    response = client.get("/admin/conversations/conversation/reports.csv", query)
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # the BOM: Excel reads the file as UTF-8
    lines = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    header = [str(m.label) + {"rate": " (%)", "seconds": " (s)"}.get(m.kind, "") for m in reports.METRICS]
    assert lines[0][:4] == ["Unidade", "Período", "Conversas", "Novos contatos"]
    assert lines[0][2:] == header
    assert [line[:2] for line in lines[1:]] == [
        ["Kumon A", "02/03/2026"],
        ["Kumon A", "09/03/2026"],
        ["Kumon C", "02/03/2026"],
        ["Kumon C", "09/03/2026"],
        ["Kumon A", "total"],
        ["Kumon C", "total"],
    ]
    totals = lines[-2:]
    for i, metric in enumerate(reports.METRICS, start=2):
        from_csv = [reports.format_value(metric, _number(t[i], metric, comma=True)) for t in totals]
        assert from_csv == page[metric.key], metric.key
    assert totals[0][2 + reports.METRIC_KEYS.index("handoff_rate")] == "33,3"
    assert (
        response["Content-Disposition"] == 'attachment; filename="relatorio-2026-03-02-2026-03-15-week.csv"'
    )


def test_reports_csv_in_english_keeps_the_script_format() -> None:
    from django.test import Client

    w = make_world()
    build_data_set(w.unit_a, w.unit_b)
    client = Client()
    client.force_login(w.owner)
    response = client.get("/admin/conversations/conversation/reports.csv", {**PARAMS, "lang": "en"})
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    totals = [line for line in lines if line["period"] == "total"]
    assert [(t["unit"], t["conversations"], t["handoff_rate"], t["cost_usd"]) for t in totals] == [
        ("Kumon A", "3", "0.3333", "0.0015"),
        ("Kumon C", "0", "", "0.0000"),
    ]
    assert [line["period"] for line in lines[:2]] == ["2026-03-02", "2026-03-09"]


def test_reports_csv_cells_that_excel_would_run_as_formulas_stay_text() -> None:
    unit = UnitFactory(name='=HYPERLINK("http://x")')
    report = reports.build_report(units=[unit], start=START, end=START, period="day")
    pt = list(csv.reader(io.StringIO(reports.report_csv(report)[1:]), delimiter=";"))
    en = list(csv.reader(io.StringIO(reports.report_csv(report, language="en"))))
    assert [pt[1][0], en[1][0]] == ['\'=HYPERLINK("http://x")'] * 2
    assert [reports.csv_text(v) for v in ("+1", "-1", "@a", "ok", "a=b")] == [
        "'+1",
        "'-1",
        "'@a",
        "ok",
        "a=b",
    ]


def test_reports_page_folds_runs_of_empty_periods() -> None:
    from django.test import Client

    w = make_world()
    build_data_set(w.unit_a, w.unit_b)
    client = Client()
    client.force_login(w.staff_a)
    response = client.get(REPORTS, {"from": "2026-03-01", "to": "2026-03-08", "period": "day"})
    table = response.content.decode().split('id="kr-rows"', 1)[1].split("</table>", 1)[0]
    periods = re.findall(r"<tr(?: class=\"kr-fold\")?><td>Kumon A</td><td[^>]*>([^<]*)</td>", table)
    # Activity on 2, 3 and 4 March only (first messages, appointments, gaps, an opt-out on the 5th).
    assert periods == [
        "01/03/2026",
        "02/03/2026",
        "03/03/2026",
        "04/03/2026",
        "05/03/2026",
        "06/03/2026",
        "07/03/2026 a 08/03/2026: sem movimento (2 períodos)",
    ]


def test_reports_chart_axis_is_day_and_month() -> None:
    unit = UnitFactory()
    days = reports.chart_data(
        reports.build_report(units=[unit], start=START, end=START + dt.timedelta(days=1))
    )
    months = reports.chart_data(reports.build_report(units=[unit], start=START, end=END, period="month"))
    assert (days["labels"], months["labels"]) == (["02/03", "03/03"], ["03/2026"])


def test_reports_staff_cannot_see_another_unit() -> None:
    from django.test import Client

    w = make_world()
    build_data_set(w.unit_a, w.unit_b)
    client = Client()
    client.force_login(w.staff_b)
    response = client.get(REPORTS, {**PARAMS, "unit": "unit-a"})
    assert [u.slug for u in response.context["report"].units] == ["unit-b"]
    assert page_totals(response.content.decode())["conversations"] == ["1"]
    csv_text = client.get(
        "/admin/conversations/conversation/reports.csv", {**PARAMS, "unit": "unit-a"}
    ).content.decode()
    assert "Kumon A" not in csv_text


def test_reports_owner_compares_exactly_their_units() -> None:
    from django.test import Client

    w = make_world()
    client = Client()
    client.force_login(w.owner)
    response = client.get(REPORTS, PARAMS)
    assert [u.slug for u in response.context["report"].units] == ["unit-a", "unit-c"]


@pytest.mark.parametrize("units", [1, 3])
def test_reports_page_query_count_is_constant(django_assert_max_num_queries, units: int) -> None:
    from django.test import Client

    from kumon.tests.factories import UserFactory

    owner = UserFactory()
    owner.save()
    for _ in range(units):
        unit = UnitFactory()
        Membership.objects.create(user=owner, unit=unit, role=Membership.Role.OWNER)
        build_data_set(unit, UnitFactory())
    client = Client()
    client.force_login(owner)
    with django_assert_max_num_queries(22):
        assert client.get(REPORTS, PARAMS).status_code == 200


def test_bot_first_response_counts_from_the_familys_first_message_when_the_bot_spoke_first() -> None:
    unit = UnitFactory()
    conv = conversation(contact(unit, at(3, 9)), at(3, 9))
    message(conv, "bot", at(3, 9))  # a reminder, before the family wrote
    message(conv, "parent", at(3, 10))
    message(conv, "bot", at(3, 10, 0, 30))
    totals = reports.build_report(units=[unit], start=START, end=END, period="week").totals[0].values
    assert (totals["bot_frt_p50"], totals["bot_frt_p90"]) == (30.0, 30.0)
