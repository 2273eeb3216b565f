"""The funnel by cohort: the families first seen in a period, and how far each got — qualified,
visit booked, attended, enrolled — with the rate of each step, the median time between steps,
split by how they heard of us (`heard_from`) and by unit (owners side by side); the first
response time to a new family (every hour counts: nights and weekends too), bot vs staff; and
the reasons of the families who did not enrol. The page, its CSV and the bench use build_funnel.

One statement: each family of the cohort is one row with the moments of its steps (each table
read once for the cohort and grouped by family), then GROUPING SETS give per unit and per unit ×
source at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from conversations.reports import _bounds, csv_text
from kumon.models import Unit

STEPS = ("first_seen", "qualified", "booked", "attended", "enrolled")


@dataclass(frozen=True)
class Line:
    key: str
    label: Any
    definition: Any
    kind: str = "count"  # count | rate | seconds


LINES: tuple[Line, ...] = (
    Line(
        "first_seen",
        _("First seen"),
        _(
            "Families (contacts) whose first message to the unit is in the period: the cohort. "
            "Every line below follows these families, whenever the later step happened."
        ),
    ),
    Line(
        "qualified",
        _("Qualified"),
        _(
            "Families of the cohort whose child's age or school year and subject are known, "
            "who were offered visit times, or who booked a visit."
        ),
    ),
    Line(
        "booked",
        _("Visit booked"),
        _(
            "Families of the cohort with a first visit booked (chat, staff or API), whatever "
            "its later status."
        ),
    ),
    Line("attended", _("Attended"), _("Families of the cohort with a visit marked attended.")),
    Line("enrolled", _("Enrolled"), _('Families of the cohort whose visit outcome is "enrolled".')),
    Line("qualified_rate", _("First seen → qualified"), _("Qualified ÷ first seen."), "rate"),
    Line("booked_rate", _("Qualified → booked"), _("Visit booked ÷ qualified."), "rate"),
    Line("attended_rate", _("Booked → attended"), _("Attended ÷ visit booked."), "rate"),
    Line("enrolled_rate", _("Attended → enrolled"), _("Enrolled ÷ attended."), "rate"),
    Line("overall_rate", _("First seen → enrolled"), _("Enrolled ÷ first seen."), "rate"),
    Line(
        "to_qualified_p50",
        _("Median time to qualified"),
        _("From the first message to the first offer of visit times (or the booking, if earlier)."),
        "seconds",
    ),
    Line(
        "to_booked_p50",
        _("Median time qualified → booked"),
        _("From qualified (as above) to the first booking."),
        "seconds",
    ),
    Line(
        "to_attended_p50",
        _("Median time booked → attended"),
        _("From the booking to the start of the attended visit."),
        "seconds",
    ),
    Line(
        "to_enrolled_p50",
        _("Median time attended → enrolled"),
        _("From the attended visit's start to when the enrolment was recorded."),
        "seconds",
    ),
    Line(
        "frt_p50",
        _("First response p50"),
        _(
            "Median time from a new family's first message to the first answer "
            "(bot or staff), at any hour: nights and weekends count."
        ),
        "seconds",
    ),
    Line(
        "frt_bot_p50",
        _("First response p50, bot"),
        _("The same, for families answered first by the bot."),
        "seconds",
    ),
    Line(
        "frt_staff_p50",
        _("First response p50, staff"),
        _("The same, for families answered first by staff."),
        "seconds",
    ),
    Line(
        "frt_off_hours_p50",
        _("First response p50, nights and weekends"),
        _(
            "The same, for first messages sent before 08:00, from 20:00, on Saturday or on Sunday (unit's time)."
        ),
        "seconds",
    ),
    Line(
        "lost",
        _("Did not enrol"),
        _('Families of the cohort whose visit outcome is "did not enrol"; their reasons are counted below.'),
    ),
)
LINE_KEYS = [line.key for line in LINES]

FUNNEL_SQL = """
WITH fam AS (
    SELECT ct.id, ct.unit_id, ct.created_at AS first_seen,
           COALESCE(NULLIF(ct.data->>'heard_from', ''), '') AS heard_from,
           ((ct.data ? 'subjects') AND (ct.data ? 'child_age' OR ct.data ? 'school_year')) AS qualified_data,
           u.timezone AS tz
    FROM kumon_contact ct JOIN kumon_unit u ON u.id = ct.unit_id
    WHERE ct.unit_id = ANY(%(units)s) AND ct.created_at >= %(lo)s AND ct.created_at < %(hi)s
      AND NOT ct.is_unit_staff AND NOT ct.simulated
),
-- Set-based, not a look-up per family: each table is read once for the cohort (hash joins).
ap AS (
    SELECT a.contact_id, MIN(a.created_at) AS booked_at,
           MIN(a.start) FILTER (WHERE a.status = 'attended') AS attended_at
    FROM scheduling_appointment a JOIN fam f ON f.id = a.contact_id GROUP BY a.contact_id
),
oc AS (
    SELECT a.contact_id, MIN(o.recorded_at) FILTER (WHERE o.result = 'enrolled') AS enrolled_at,
           (ARRAY_AGG(o.reason_id ORDER BY o.recorded_at DESC) FILTER (WHERE o.result = 'not_enrolled'))[1] AS loss
    FROM scheduling_visitoutcome o JOIN scheduling_appointment a ON a.id = o.appointment_id
    JOIN fam f ON f.id = a.contact_id GROUP BY a.contact_id
),
msg AS (
    SELECT c.contact_id,
           MIN(m.created_at) FILTER (WHERE m.direction = 'in') AS in_at,
           MIN(m.created_at) FILTER (WHERE m.sender = 'bot' AND m.meta ? 'offered'
                                       AND m.meta->'offered' <> '[]'::jsonb) AS offered_at,
           (ARRAY_AGG(m.created_at ORDER BY m.created_at) FILTER (WHERE m.direction = 'out'))[1] AS out_at,
           (ARRAY_AGG(m.sender ORDER BY m.created_at) FILTER (WHERE m.direction = 'out'))[1] AS first_sender
    FROM conversations_message m JOIN conversations_conversation c ON c.id = m.conversation_id
    JOIN fam f ON f.id = c.contact_id GROUP BY c.contact_id
),
steps AS (
    SELECT f.*, ap.booked_at, ap.attended_at, oc.enrolled_at, oc.loss, msg.offered_at, msg.in_at,
           -- The first answer after the family's first message (a reminder sent before they ever
           -- wrote is no answer: no first response time then).
           CASE WHEN msg.out_at >= msg.in_at THEN msg.out_at END AS out_at,
           CASE WHEN msg.out_at >= msg.in_at THEN msg.first_sender END AS first_sender
    FROM fam f LEFT JOIN ap ON ap.contact_id = f.id LEFT JOIN oc ON oc.contact_id = f.id
    LEFT JOIN msg ON msg.contact_id = f.id
),
fam_steps AS (
    SELECT *,
           (qualified_data OR offered_at IS NOT NULL OR booked_at IS NOT NULL) AS qualified,
           LEAST(offered_at, booked_at) AS qualified_at,
           EXTRACT(EPOCH FROM out_at - in_at) AS frt,
           (EXTRACT(HOUR FROM in_at AT TIME ZONE tz) < 8 OR EXTRACT(HOUR FROM in_at AT TIME ZONE tz) >= 20
            OR EXTRACT(ISODOW FROM in_at AT TIME ZONE tz) >= 6) AS off_hours
    FROM steps
)
SELECT unit_id, heard_from, GROUPING(heard_from) AS is_total,
       COUNT(*) AS first_seen,
       COUNT(*) FILTER (WHERE qualified) AS qualified,
       COUNT(*) FILTER (WHERE booked_at IS NOT NULL) AS booked,
       COUNT(*) FILTER (WHERE attended_at IS NOT NULL) AS attended,
       COUNT(*) FILTER (WHERE enrolled_at IS NOT NULL) AS enrolled,
       COUNT(*) FILTER (WHERE loss IS NOT NULL AND enrolled_at IS NULL) AS lost,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM qualified_at - first_seen)) AS to_qualified_p50,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM booked_at - COALESCE(qualified_at, booked_at))) AS to_booked_p50,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM attended_at - booked_at)) AS to_attended_p50,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM enrolled_at - attended_at)) AS to_enrolled_p50,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY frt) AS frt_p50,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY frt) FILTER (WHERE first_sender = 'bot') AS frt_bot_p50,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY frt) FILTER (WHERE first_sender = 'staff') AS frt_staff_p50,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY frt) FILTER (WHERE off_hours) AS frt_off_hours_p50
FROM fam_steps
GROUP BY GROUPING SETS ((unit_id), (unit_id, heard_from))
"""

LOSS_SQL = """
SELECT ct.unit_id, r.label, COUNT(DISTINCT ct.id)
FROM kumon_contact ct
JOIN scheduling_appointment a ON a.contact_id = ct.id
JOIN scheduling_visitoutcome o ON o.appointment_id = a.id AND o.result = 'not_enrolled'
JOIN scheduling_lossreason r ON r.id = o.reason_id
WHERE ct.unit_id = ANY(%(units)s) AND ct.created_at >= %(lo)s AND ct.created_at < %(hi)s
  AND NOT ct.is_unit_staff AND NOT ct.simulated
  AND NOT EXISTS (SELECT 1 FROM scheduling_appointment a2 JOIN scheduling_visitoutcome o2 ON o2.appointment_id = a2.id
                  WHERE a2.contact_id = ct.id AND o2.result = 'enrolled')
GROUP BY ct.unit_id, r.label
ORDER BY ct.unit_id, COUNT(DISTINCT ct.id) DESC, r.label
"""


@dataclass
class FunnelRow:
    unit_id: int
    unit_name: str
    source: str | None  # None = every source; "" = not told
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Funnel:
    start: dt.date
    end: dt.date
    units: list[Unit]
    totals: list[FunnelRow]  # one per unit, in the units' order
    by_source: list[FunnelRow]  # per unit and heard_from, biggest first
    losses: dict[int, list[tuple[str, int]]]  # unit id → [(reason, families)]

    @property
    def loss_reasons(self) -> list[str]:
        return list(dict.fromkeys(label for rows in self.losses.values() for label, _n in rows))

    def loss_count(self, unit_id: int, label: str) -> int:
        return dict(self.losses.get(unit_id, [])).get(label, 0)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _finish(values: dict[str, Any]) -> dict[str, Any]:
    values["qualified_rate"] = _rate(values["qualified"], values["first_seen"])
    values["booked_rate"] = _rate(values["booked"], values["qualified"])
    values["attended_rate"] = _rate(values["attended"], values["booked"])
    values["enrolled_rate"] = _rate(values["enrolled"], values["attended"])
    values["overall_rate"] = _rate(values["enrolled"], values["first_seen"])
    return {key: values.get(key) for key in LINE_KEYS}


def empty_values() -> dict[str, Any]:
    zero = {key: 0 for key in ("first_seen", "qualified", "booked", "attended", "enrolled", "lost")}
    return _finish(dict(zero))


def build_funnel(*, units: Iterable[Unit], start: dt.date, end: dt.date) -> Funnel:
    """The funnel of the families first seen between `start` and `end` (local dates, inclusive)."""
    units = list(units)
    lo, hi = _bounds(start, end)
    params: dict[str, Any] = {"units": [u.pk for u in units], "lo": lo, "hi": hi}
    names = {u.pk: u.name for u in units}
    totals: dict[int, FunnelRow] = {}
    by_source: list[FunnelRow] = []
    losses: dict[int, list[tuple[str, int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(FUNNEL_SQL, params)
        columns = [c.name for c in cursor.description]
        for raw in cursor.fetchall():
            values = dict(zip(columns, raw, strict=True))
            unit_id, source, is_total = (
                values.pop("unit_id"),
                values.pop("heard_from"),
                values.pop("is_total"),
            )
            row = FunnelRow(unit_id, names[unit_id], None if is_total else source, _finish(values))
            if is_total:
                totals[unit_id] = row
            else:
                by_source.append(row)
        cursor.execute(LOSS_SQL, params)
        for unit_id, label, count in cursor.fetchall():
            losses.setdefault(unit_id, []).append((label, count))
    order = [u.pk for u in units]
    # Per unit, the biggest sources first; "not told" last among equals.
    by_source.sort(
        key=lambda r: (order.index(r.unit_id), -r.values["first_seen"], not r.source, r.source or "")
    )
    return Funnel(
        start=start,
        end=end,
        units=units,
        totals=[totals.get(u.pk) or FunnelRow(u.pk, u.name, None, empty_values()) for u in units],
        by_source=by_source,
        losses=losses,
    )


def format_cell(line: Line, value: Any) -> str:
    """What the page shows (Portuguese number style, like the reports)."""
    if value is None:
        return "—"
    if line.kind == "rate":
        return f"{value * 100:.1f}%".replace(".", ",")
    if line.kind == "seconds":
        seconds = float(value)
        if seconds < 120:
            return f"{seconds:.0f} s"
        if seconds < 2 * 3600:
            return f"{seconds / 60:.0f} min"
        if seconds < 2 * 86400:
            return f"{seconds / 3600:.1f} h".replace(".", ",")
        return f"{seconds / 86400:.1f} d".replace(".", ",")
    return str(value)


def source_label(source: str | None) -> str:
    if source is None:
        return str(_("all"))
    return source or str(_("not told"))


def funnel_csv(funnel: Funnel, *, language: str = "pt") -> str:
    """The page's numbers: one line per unit (all sources), then per unit and source, then the
    loss reasons. pt: `;`, decimal comma, rates in %, times in seconds; en: `,`, metric keys."""
    buffer = io.StringIO()
    rows = [*funnel.totals, *funnel.by_source]
    if language == "en":
        writer = csv.writer(buffer)
        writer.writerow(["unit", "heard_from", *LINE_KEYS])
        for row in rows:
            writer.writerow(
                [csv_text(row.unit_name), "all" if row.source is None else csv_text(row.source)]
                + ["" if row.values[k] is None else _en(row.values[k]) for k in LINE_KEYS]
            )
        writer.writerow([])
        writer.writerow(["unit", "loss_reason", "families"])
        for unit in funnel.units:
            for label, count in funnel.losses.get(unit.pk, []):
                writer.writerow([csv_text(unit.name), csv_text(label), count])
        return buffer.getvalue()
    with translation.override("pt-br"):
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow(
            [
                str(_("Unit")),
                str(_("heard from")),
                *(
                    f"{line.label}{ {'rate': ' (%)', 'seconds': ' (s)'}.get(line.kind, '') }"
                    for line in LINES
                ),
            ]
        )
        for row in rows:
            writer.writerow(
                [csv_text(row.unit_name), csv_text(source_label(row.source))]
                + [_pt(line, row.values[line.key]) for line in LINES]
            )
        writer.writerow([])
        writer.writerow([str(_("Unit")), str(_("reason for not enrolling")), str(_("families"))])
        for unit in funnel.units:
            for label, count in funnel.losses.get(unit.pk, []):
                writer.writerow([csv_text(unit.name), csv_text(label), count])
    return "\ufeff" + buffer.getvalue()


def _en(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _pt(line: Line, value: Any) -> str:
    if value is None:
        return ""
    if line.kind == "rate":
        return f"{value * 100:.1f}".replace(".", ",")
    if line.kind == "seconds":
        return f"{float(value):.1f}".replace(".", ",")
    return str(value)


def chart_data(funnel: Funnel) -> dict[str, Any]:
    """Chart.js: the five steps per unit (bars), side by side."""
    labels = [str(line.label) for line in LINES[:5]]
    return {
        "labels": labels,
        "series": [
            {"unit": row.unit_name, "values": [row.values[k] for k in STEPS]} for row in funnel.totals
        ],
    }
