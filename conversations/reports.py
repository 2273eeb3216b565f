"""Per-unit reports: leads, visits, the bot's work and the staff's, aggregated in SQL.

One call runs a fixed number of grouped queries (whatever the number of units or periods), each
grouped by (unit, period bucket); rates are computed from the counts afterwards. The definitions
shown on the report page live next to the numbers, in METRICS.

Contacts marked `is_unit_staff` (the unit's own staff phone, which receives the hand-off
notifications) are left out of every number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Trunc
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from conversations.models import Conversation, Message
from knowledge.models import KnowledgeGap
from kumon.models import Contact, Unit
from scheduling.models import Appointment

PERIODS = ("day", "week", "month")
STAFF_CONTACT = Q(is_unit_staff=True)


@dataclass(frozen=True)
class Metric:
    key: str
    label: Any
    definition: Any
    kind: str = "count"  # count | rate | seconds | money


METRICS: tuple[Metric, ...] = (
    Metric(
        "conversations",
        _("Conversations"),
        _(
            "Conversations started in the period (first message of a family). Messages, tokens and cost "
            "below are those of these conversations."
        ),
    ),
    Metric(
        "new_leads",
        _("New leads"),
        _("Families (contacts) who wrote to the unit for the first time in the period."),
    ),
    Metric(
        "qualified_leads",
        _("Qualified leads"),
        _("New leads for whom the child's age or school year and the subject of interest are known."),
    ),
    Metric(
        "visits_booked",
        _("Visits booked"),
        _("First visits booked in the period (by chat, staff or API), whatever their later status."),
    ),
    Metric("attended", _("Attended"), _("Visits scheduled in the period and marked attended.")),
    Metric("no_shows", _("No-shows"), _("Visits scheduled in the period and marked as no-show.")),
    Metric(
        "conversion",
        _("Lead → visit"),
        _("Share of the period's new leads who have booked a visit (not cancelled), at any time."),
        "rate",
    ),
    Metric(
        "bot_resolution",
        _("Bot-only resolution"),
        _(
            "Share of the period's conversations answered by the bot that never went to staff "
            "(no hand-off, no staff message)."
        ),
        "rate",
    ),
    Metric(
        "handoff_rate",
        _("Hand-off rate"),
        _(
            "Share of the period's conversations that went to staff (hand-off requested, taken over or "
            "answered by staff). Bot-only resolution + hand-off rate never exceed 100%."
        ),
        "rate",
    ),
    Metric(
        "bot_frt_p50",
        _("Bot first response p50"),
        _(
            "Median time from the family's first message to the bot's first reply (sent, or queued if not yet sent)."
        ),
        "seconds",
    ),
    Metric("bot_frt_p90", _("Bot first response p90"), _("90th percentile of the same time."), "seconds"),
    Metric(
        "staff_frt_p50",
        _("Staff first response p50"),
        _(
            "Median time from the hand-off request to the first staff message after it (conversations still "
            "with staff or closed by staff)."
        ),
        "seconds",
    ),
    Metric("staff_frt_p90", _("Staff first response p90"), _("90th percentile of the same time."), "seconds"),
    Metric(
        "messages_in", _("Messages in"), _("Messages received from families in the period's conversations.")
    ),
    Metric(
        "messages_out",
        _("Messages out"),
        _("Messages sent to families in the period's conversations (bot and staff)."),
    ),
    Metric("opted_out", _("Opted out"), _("Families who asked not to receive messages, in the period.")),
    Metric(
        "unanswered",
        _("Unanswered questions"),
        _("Questions the bot could not answer from the knowledge (knowledge gaps)."),
    ),
    Metric(
        "tokens_in",
        _("LLM tokens in"),
        _("Prompt tokens sent to the language model in the period's conversations."),
    ),
    Metric(
        "tokens_out",
        _("LLM tokens out"),
        _("Completion tokens received from the language model in the period's conversations."),
    ),
    Metric(
        "cost_usd",
        _("Estimated LLM cost (USD)"),
        _("Estimated cost of the language model calls of the period's conversations, in US dollars."),
        "money",
    ),
)
METRIC_KEYS = [m.key for m in METRICS]
COUNT_KEYS = [m.key for m in METRICS if m.kind in ("count", "money")]


@dataclass
class ReportRow:
    unit_id: int
    unit_name: str
    period: dt.date | None  # None = the whole range
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values.get(key)


@dataclass
class Report:
    start: dt.date
    end: dt.date  # inclusive
    period: str
    units: list[Unit]
    rows: list[ReportRow]  # per unit and period bucket, oldest first
    totals: list[ReportRow]  # one per unit over the whole range

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return METRICS


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = _tz()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def _grouped(
    qs: QuerySet, column: str, period: str | None, **aggregates: Any
) -> dict[tuple[int, Any], dict[str, Any]]:
    """{(unit_id, bucket): {name: value}}: one GROUP BY query."""
    if period:
        qs = qs.annotate(_bucket=Trunc(column, period, output_field=DateTimeField(), tzinfo=_tz()))
        rows = qs.values("unit_id", "_bucket").annotate(**aggregates).order_by()
    else:
        rows = qs.values("unit_id").annotate(**aggregates).order_by()
    out: dict[tuple[int, Any], dict[str, Any]] = {}
    for row in rows:
        bucket = row.pop("_bucket", None)
        key = (row.pop("unit_id"), bucket.astimezone(_tz()).date() if bucket else None)
        out[key] = row
    return out


CONVERSATION_SQL = """
WITH conv AS (
    SELECT c.unit_id, c.created_at, c.handoff_at,
           (c.handoff_at IS NOT NULL OR c.mode = 'human' OR agg.has_staff) AS handed,
           agg.has_bot, agg.n_in, agg.n_out, agg.tokens_in, agg.tokens_out, agg.cost_usd,
           EXTRACT(EPOCH FROM CASE
               -- Usually the bot's first message answers the family's first one; only when the bot
               -- spoke first (a reminder) is the first bot message after it looked up.
               WHEN agg.first_bot_created >= agg.first_in THEN agg.first_bot_at
               ELSE (SELECT COALESCE(m.sent_at, m.created_at) FROM {message} m
                     WHERE m.conversation_id = c.id AND m.sender = 'bot' AND m.created_at >= agg.first_in
                     ORDER BY m.created_at LIMIT 1)
           END - agg.first_in) AS bot_frt,
           -- Only handed-off conversations (a fifth, typically) pay for this look-up.
           CASE WHEN c.handoff_at IS NOT NULL THEN EXTRACT(EPOCH FROM (
               SELECT COALESCE(m.sent_at, m.created_at) FROM {message} m
               WHERE m.conversation_id = c.id AND m.sender = 'staff' AND m.created_at >= c.handoff_at
               ORDER BY m.created_at LIMIT 1
           ) - c.handoff_at) END AS staff_frt
    FROM {conversation} c
    -- One pass over the conversation's messages (index conversation_id, created_at).
    CROSS JOIN LATERAL (
        SELECT MIN(m.created_at) FILTER (WHERE m.direction = 'in') AS first_in,
               MIN(m.created_at) FILTER (WHERE m.sender = 'bot') AS first_bot_created,
               (ARRAY_AGG(COALESCE(m.sent_at, m.created_at) ORDER BY m.created_at)
                   FILTER (WHERE m.sender = 'bot'))[1] AS first_bot_at,
               COALESCE(BOOL_OR(m.sender = 'staff'), false) AS has_staff,
               COALESCE(BOOL_OR(m.sender = 'bot'), false) AS has_bot,
               COUNT(*) FILTER (WHERE m.direction = 'in') AS n_in,
               COUNT(*) FILTER (WHERE m.direction = 'out') AS n_out,
               COALESCE(SUM(m.tokens_in), 0) AS tokens_in,
               COALESCE(SUM(m.tokens_out), 0) AS tokens_out,
               COALESCE(SUM(m.cost_usd), 0) AS cost_usd
        FROM {message} m WHERE m.conversation_id = c.id
    ) agg
    WHERE c.unit_id = ANY(%(units)s) AND c.created_at >= %(lo)s AND c.created_at < %(hi)s
      AND NOT EXISTS (SELECT 1 FROM {contact} ct WHERE ct.id = c.contact_id AND ct.is_unit_staff)
)
SELECT unit_id,
       DATE_TRUNC(%(period)s, created_at AT TIME ZONE %(tz)s) AS bucket,
       GROUPING(DATE_TRUNC(%(period)s, created_at AT TIME ZONE %(tz)s)) AS is_total,
       COUNT(*) AS conversations,
       COUNT(*) FILTER (WHERE handed) AS handed_off,
       COUNT(*) FILTER (WHERE NOT handed AND has_bot) AS bot_resolved,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY bot_frt) AS bot_frt_p50,
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY bot_frt) AS bot_frt_p90,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY staff_frt) AS staff_frt_p50,
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY staff_frt) AS staff_frt_p90,
       SUM(n_in)::bigint AS messages_in,
       SUM(n_out)::bigint AS messages_out,
       SUM(tokens_in)::bigint AS tokens_in,
       SUM(tokens_out)::bigint AS tokens_out,
       SUM(cost_usd) AS cost_usd
FROM conv
-- Per period and per unit over the whole range in one scan.
GROUP BY GROUPING SETS ((unit_id, DATE_TRUNC(%(period)s, created_at AT TIME ZONE %(tz)s)), (unit_id))
"""


def _conversation_metrics(
    unit_ids: Sequence[int], lo: dt.datetime, hi: dt.datetime, period: str
) -> tuple[dict[tuple[int, Any], dict[str, Any]], dict[tuple[int, Any], dict[str, Any]]]:
    """Volume, hand-off vs bot-only and first response times, per (unit, period) and per unit.

    Raw SQL: each conversation's messages are read once (LATERAL) and both groupings come from
    one scan (GROUPING SETS), which the ORM cannot express; percentile_cont does the medians."""
    sql = CONVERSATION_SQL.format(
        message=Message._meta.db_table,
        conversation=Conversation._meta.db_table,
        contact=Contact._meta.db_table,
    )
    params: dict[str, Any] = {
        "units": list(unit_ids),
        "lo": lo,
        "hi": hi,
        "period": period,
        "tz": settings.TIME_ZONE,
    }
    per_period: dict[tuple[int, Any], dict[str, Any]] = {}
    whole: dict[tuple[int, Any], dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        for row in cursor.fetchall():
            values = dict(zip(columns, row, strict=True))
            unit_id, bucket, is_total = values.pop("unit_id"), values.pop("bucket"), values.pop("is_total")
            values["_handed_off"] = values.pop("handed_off")
            values["_bot_resolved"] = values.pop("bot_resolved")
            if is_total:
                whole[(unit_id, None)] = values
            else:
                per_period[(unit_id, bucket.date())] = values
    return per_period, whole


def _compute(
    unit_ids: Sequence[int], start: dt.date, end: dt.date, period: str | None
) -> dict[tuple[int, Any], dict[str, Any]]:
    lo, hi = _bounds(start, end)
    results: dict[tuple[int, Any], dict[str, Any]] = {}

    def merge(part: dict[tuple[int, Any], dict[str, Any]]) -> None:
        for key, values in part.items():
            results.setdefault(key, {}).update(values)

    # Leads: contacts first seen in the period.
    live_visit = Appointment.objects.filter(contact=OuterRef("pk")).exclude(
        status=Appointment.Status.CANCELLED
    )
    # conversations.state.Lead.qualified, in SQL on the lead data the engine keeps on the contact.
    qualified = (Q(data__has_key="child_age") | Q(data__has_key="school_year")) & Q(data__has_key="subjects")
    leads = Contact.objects.filter(unit_id__in=unit_ids, created_at__gte=lo, created_at__lt=hi).exclude(
        STAFF_CONTACT
    )
    merge(
        _grouped(
            leads.annotate(_visit=Exists(live_visit)),
            "created_at",
            period,
            new_leads=Count("pk"),
            qualified_leads=Count("pk", filter=qualified),
            _converted=Count("pk", filter=Q(_visit=True)),
        )
    )
    opted = Contact.objects.filter(unit_id__in=unit_ids, opted_out_at__gte=lo, opted_out_at__lt=hi).exclude(
        STAFF_CONTACT
    )
    merge(_grouped(opted, "opted_out_at", period, opted_out=Count("pk")))

    # Visits: booked by creation time; attended / no-show by the visit's time.
    appointments = Appointment.objects.filter(unit_id__in=unit_ids)
    merge(
        _grouped(
            appointments.filter(created_at__gte=lo, created_at__lt=hi),
            "created_at",
            period,
            visits_booked=Count("pk"),
        )
    )
    merge(
        _grouped(
            appointments.filter(
                start__gte=lo,
                start__lt=hi,
                status__in=[Appointment.Status.ATTENDED, Appointment.Status.NO_SHOW],
            ),
            "start",
            period,
            attended=Count("pk", filter=Q(status=Appointment.Status.ATTENDED)),
            no_shows=Count("pk", filter=Q(status=Appointment.Status.NO_SHOW)),
        )
    )

    gaps = KnowledgeGap.objects.filter(unit_id__in=unit_ids, created_at__gte=lo, created_at__lt=hi)
    merge(_grouped(gaps, "created_at", period, unanswered=Count("pk")))
    return results


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else min(1.0, part / whole)


def _finish(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {key: 0 for key in COUNT_KEYS}
    out.update({k: v for k, v in values.items() if not k.startswith("_")})
    out["cost_usd"] = Decimal(out.get("cost_usd") or 0).quantize(Decimal("0.0001"))
    conversations = out.get("conversations", 0)
    out["conversion"] = _rate(values.get("_converted", 0), out.get("new_leads", 0))
    out["bot_resolution"] = _rate(values.get("_bot_resolved", 0), conversations)
    out["handoff_rate"] = _rate(values.get("_handed_off", 0), conversations)
    for key in ("bot_frt_p50", "bot_frt_p90", "staff_frt_p50", "staff_frt_p90"):
        out[key] = None if out.get(key) is None else round(float(out[key]), 1)
    return {key: out.get(key) for key in METRIC_KEYS}


def _buckets(start: dt.date, end: dt.date, period: str) -> list[dt.date]:
    if period == "day":
        first = start
    elif period == "week":
        first = start - dt.timedelta(days=start.weekday())
    else:
        first = start.replace(day=1)
    out = []
    day = first
    while day <= end:
        out.append(day)
        if period == "day":
            day += dt.timedelta(days=1)
        elif period == "week":
            day += dt.timedelta(days=7)
        else:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def build_report(*, units: Iterable[Unit], start: dt.date, end: dt.date, period: str = "day") -> Report:
    """The report of `units` from `start` to `end` (inclusive, in TIME_ZONE), grouped by `period`.

    Callers pass units already scoped to the user (kumon.tenancy.units_for)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    unit_list = sorted(units, key=lambda u: u.name)
    ids = [u.pk for u in unit_list]
    per_period: dict[tuple[int, Any], dict[str, Any]] = {}
    whole: dict[tuple[int, Any], dict[str, Any]] = {}
    if ids:
        lo, hi = _bounds(start, end)
        per_period, whole = _conversation_metrics(ids, lo, hi, period)
        for (unit_id, bucket), values in _compute(ids, start, end, period).items():
            per_period.setdefault((unit_id, bucket), {}).update(values)
            # Counts and sums add up across periods: the unit's total is the sum of its buckets
            # (percentiles, which do not, come per unit from the conversation query).
            total = whole.setdefault((unit_id, None), {})
            for name, value in values.items():
                total[name] = total.get(name, 0) + (value or 0)
    buckets = _buckets(start, end, period)
    rows = [
        ReportRow(u.pk, u.name, b, _finish(per_period.get((u.pk, b), {}))) for u in unit_list for b in buckets
    ]
    totals = [ReportRow(u.pk, u.name, None, _finish(whole.get((u.pk, None), {}))) for u in unit_list]
    return Report(start=start, end=end, period=period, units=unit_list, rows=rows, totals=totals)


def format_value(metric: Metric, value: Any) -> str:
    """A number as the page shows it, in the active language's format: "15,2 %", "40 s",
    "2,5 min", "0,0015", "1.234" in Portuguese ("15.2 %", "1,234" in English)."""
    if value is None:
        return "–"
    if metric.kind == "rate":
        return f"{_number(value * 100, 1)} %"
    if metric.kind == "seconds":
        return f"{_number(value, 0)} s" if value < 120 else f"{_number(value / 60, 1)} min"
    if metric.kind == "money":
        return _number(value, 4)
    return _number(value, 0)


def _number(value: Any, places: int) -> str:
    # Rounded first: Django's number_format cuts the extra digits instead of rounding them.
    rounded = round(value, places) if places else int(round(value))
    return number_format(rounded, places if places else None, force_grouping=True)


def is_empty(row: ReportRow) -> bool:
    """Nothing happened in this unit and period: every count zero, every rate and time unknown."""
    return all(not value for value in row.values.values())


@dataclass
class Fold:
    """A run of consecutive empty periods of one unit, shown as one line on the page."""

    unit_name: str
    first: dt.date
    last: dt.date
    count: int


def fold_empty_rows(rows: Sequence[ReportRow]) -> list[ReportRow | Fold]:
    """The page's "by period" rows with each run of two or more empty periods of a unit folded
    into one Fold (a month by day is mostly zeros for a small unit). The CSV keeps every row."""
    out: list[ReportRow | Fold] = []
    run: list[ReportRow] = []

    def flush() -> None:
        if len(run) >= 2:
            out.append(Fold(run[0].unit_name, run[0].period, run[-1].period, len(run)))  # type: ignore[arg-type]
        else:
            out.extend(run)
        run.clear()

    for row in rows:
        if run and run[-1].unit_id != row.unit_id:
            flush()
        if is_empty(row):
            run.append(row)
        else:
            flush()
            out.append(row)
    flush()
    return out


# CSV: Portuguese for Excel in Brazil (";" between cells because "," is the decimal mark, a BOM
# so Excel reads UTF-8, Portuguese headers and dd/mm/yyyy dates), or English for scripts (",",
# ".", the metric keys as headers, ISO dates: the format this export always had).
CSV_LANGUAGES = ("pt", "en")
# A cell that starts with one of these is a formula to Excel / LibreOffice (CSV injection, OWASP):
# a unit named "=HYPERLINK(…)" must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def report_csv(report: Report, *, language: str = "pt") -> str:
    """The same numbers as the page: one line per unit and period, then one per unit total."""
    if language not in CSV_LANGUAGES:
        raise ValueError(f"language must be one of {CSV_LANGUAGES}")
    buffer = io.StringIO()
    if language == "en":
        writer = csv.writer(buffer)
        writer.writerow(["unit", "period", *METRIC_KEYS])
        for row in [*report.rows, *report.totals]:
            writer.writerow(
                [csv_text(row.unit_name), row.period.isoformat() if row.period else "total"]
                + ["" if row.values[k] is None else _csv_value(row.values[k]) for k in METRIC_KEYS]
            )
        return buffer.getvalue()
    with translation.override("pt-br"):
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow([str(_("Unit")), str(_("Period")), *(_csv_header(m) for m in METRICS)])
        total = str(_("total"))
        for row in [*report.rows, *report.totals]:
            writer.writerow(
                [csv_text(row.unit_name), row.period.strftime("%d/%m/%Y") if row.period else total]
                + [_csv_value_pt(m, row.values[m.key]) for m in METRICS]
            )
    return "\ufeff" + buffer.getvalue()


def _csv_header(metric: Metric) -> str:
    unit = {"rate": " (%)", "seconds": " (s)"}.get(metric.kind, "")
    return f"{metric.label}{unit}"


def _csv_value_pt(metric: Metric, value: Any) -> str:
    if value is None:
        return ""
    if metric.kind == "rate":
        return f"{value * 100:.1f}".replace(".", ",")
    if metric.kind == "seconds":
        return f"{value:.1f}".replace(".", ",")
    if metric.kind == "money":
        return f"{value:.4f}".replace(".", ",")
    return str(value)


def _csv_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def chart_label(day: dt.date, period: str) -> str:
    """An axis label: dd/mm for days and weeks (the week's Monday), mm/yyyy for months."""
    return day.strftime("%m/%Y") if period == "month" else day.strftime("%d/%m")


def chart_data(report: Report) -> dict[str, Any]:
    """Series for Chart.js: conversations, leads and visits per period, per unit."""
    labels = [chart_label(b, report.period) for b in _buckets(report.start, report.end, report.period)]
    series = []
    for unit in report.units:
        unit_rows = [r for r in report.rows if r.unit_id == unit.pk]
        series.append(
            {
                "unit": unit.name,
                "conversations": [r.values["conversations"] for r in unit_rows],
                "new_leads": [r.values["new_leads"] for r in unit_rows],
                "visits_booked": [r.values["visits_booked"] for r in unit_rows],
                "handoff_rate": [
                    None if r.values["handoff_rate"] is None else round(r.values["handoff_rate"] * 100, 1)
                    for r in unit_rows
                ],
            }
        )
    return {"labels": labels, "series": series}
