"""Reports over a year of data: 100 units × 1 year of conversations, messages, visits, outcomes, gaps.

Runs on its own database `kumon_bench_reports` (created and dropped here; the `kumon` database is
never touched). Data are generated in SQL (generate_series), then `conversations.reports.build_report`
— the code path of the report page, CSV and API — is timed for the cases staff and owners use:
- one unit, last 30 days by day (the default page),
- one unit, the whole year by month,
- an owner with 5 units side by side, 90 days by week,
- an owner with 20 units side by side, the whole year by month;
- the funnel by cohort (conversations.funnel): one unit's 90-day and 1-year cohorts, 20 units' 1-year cohort.
p50/p95 per case; target p95 < 500 ms. Prints a table and writes bench/results/reports.json.
Takes a few minutes on a shared 2-core machine.

    .venv/bin/python bench/reports.py [--units 100] [--per-day 3] [--runs 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.common import bench_database, in_process_django, percentile, query_times  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results" / "reports.json"
BENCH_DB = "kumon_bench_reports"
TARGET_P95_MS = 500.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--per-day", type=int, default=3, help="new conversations per unit per day")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    with bench_database(BENCH_DB) as url:
        in_process_django(url)
        try:
            results = run(args.units, args.per_day, args.runs)
        finally:
            from django.db import connections

            connections.close_all()
    report(results)


GENERATE = """
-- Contacts: per unit and day, `per_day` families; a third qualified, 2% opted out.
INSERT INTO kumon_contact (phone, name, data, created_at, updated_at, opted_out_at, unit_id)
SELECT '+55119' || lpad((u.id * 10000 + g.n)::text, 8, '0'), 'Família ' || g.n,
       (CASE WHEN g.n % 3 = 0 THEN '{"child_age": 7, "subjects": ["Matemática"]}'::jsonb ELSE '{}'::jsonb END)
       || (CASE g.n % 4 WHEN 0 THEN '{"heard_from": "Instagram"}'::jsonb WHEN 1 THEN '{"heard_from": "Indicação"}'::jsonb
                        WHEN 2 THEN '{"heard_from": "Google"}'::jsonb ELSE '{}'::jsonb END),
       t.at, t.at, CASE WHEN g.n % 50 = 0 THEN t.at + interval '2 days' END, u.id
FROM kumon_unit u
CROSS JOIN generate_series(1, {days} * {per_day}) AS g(n)
CROSS JOIN LATERAL (SELECT '{start}'::timestamptz + (g.n * interval '1 day' / {per_day})
                                                 + ((u.id * 7919 + g.n * 104729) % 36000) * interval '1 second' AS at) t;

-- One conversation each: 20% handed off, 60% closed, the rest with the bot.
INSERT INTO conversations_conversation (mode, stage, step, data, handoff_reason, handoff_at, last_activity_at,
                                        created_at, contact_id, unit_id)
SELECT CASE WHEN c.id % 5 = 0 THEN 'human' WHEN c.id % 5 IN (1, 2, 3) THEN 'closed' ELSE 'bot' END,
       'new', '', '{}'::jsonb, CASE WHEN c.id % 5 = 0 THEN 'asked_for_person' ELSE '' END,
       CASE WHEN c.id % 5 = 0 THEN c.created_at + interval '3 minutes' END,
       c.created_at + interval '10 minutes', c.created_at, c.id, c.unit_id
FROM kumon_contact c;

-- Six messages each: parent / bot alternating; the last one is staff's when handed off.
INSERT INTO conversations_message (direction, sender, kind, body, status, seq, attempts, last_error, meta,
                                   tokens_in, tokens_out, cost_usd, created_at, sent_at, conversation_id, unit_id)
SELECT CASE WHEN k % 2 = 0 THEN 'in' ELSE 'out' END,
       CASE WHEN k % 2 = 0 THEN 'parent' WHEN k = 5 AND v.mode = 'human' THEN 'staff' ELSE 'bot' END,
       'text', 'mensagem ' || k, CASE WHEN k % 2 = 0 THEN 'handled' ELSE 'sent' END, 0, 0, '',
       -- The bot offers visit times to a third of the families (the funnel's "qualified" moment).
       CASE WHEN k = 3 AND v.contact_id % 3 = 0 THEN '{"offered": ["2026-01-05T15:00:00-03:00"]}'::jsonb
            ELSE '{}'::jsonb END, CASE WHEN k % 2 = 1 THEN 320 ELSE 0 END, CASE WHEN k % 2 = 1 THEN 60 ELSE 0 END,
       CASE WHEN k % 2 = 1 THEN 0.00021 ELSE 0 END,
       v.created_at + k * interval '90 seconds' + (v.id % 40) * interval '1 second',
       CASE WHEN k % 2 = 1 THEN v.created_at + k * interval '90 seconds' + (v.id % 40 + 2) * interval '1 second' END,
       v.id, v.unit_id
FROM conversations_conversation v CROSS JOIN generate_series(0, 5) AS k;

-- A visit for 30% of the families (none live: the bench does not need the overlap constraint).
INSERT INTO scheduling_appointment (start, "end", seat, status, source, phone, parent_name, child_name, child_age,
                                    school_year, subject, notes, calendar_event_id, calendar_sync_status,
                                    calendar_sync_error, changed_at, created_at, contact_id, unit_id)
SELECT c.created_at + interval '3 days', c.created_at + interval '3 days 1 hour', 1,
       CASE WHEN c.id % 20 < 12 THEN 'attended' WHEN c.id % 20 < 17 THEN 'no_show' ELSE 'cancelled' END,
       'chat', c.phone, c.name, 'Criança', 7, '', 'matemática', '', '', 'none', '', c.created_at, c.created_at + interval '5 minutes',
       c.id, c.unit_id
FROM kumon_contact c WHERE c.id % 10 < 3;

-- Each unit's reasons for not enrolling, and an outcome for every attended visit: 60% enrolled.
INSERT INTO scheduling_lossreason (unit_id, label, position, active)
SELECT u.id, r.label, r.pos, true FROM kumon_unit u
CROSS JOIN (VALUES ('preço', 0), ('horário', 1), ('distância', 2), ('outro', 3)) AS r(label, pos);

INSERT INTO scheduling_visitoutcome (appointment_id, unit_id, result, subjects, start_date, reason_id, note, recorded_at)
SELECT a.id, a.unit_id, CASE WHEN a.id % 10 < 6 THEN 'enrolled' ELSE 'not_enrolled' END,
       CASE WHEN a.id % 10 < 6 THEN 'Matemática' ELSE '' END,
       CASE WHEN a.id % 10 < 6 THEN (a.start + interval '5 days')::date END,
       CASE WHEN a.id % 10 >= 6 THEN (SELECT r.id FROM scheduling_lossreason r WHERE r.unit_id = a.unit_id
                                      ORDER BY r.id OFFSET a.id % 4 LIMIT 1) END,
       '', a.start + interval '1 day'
FROM scheduling_appointment a WHERE a.status = 'attended';
"""


def run(n_units: int, per_day: int, runs: int) -> dict[str, object]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started

    from conversations import funnel, reports
    from knowledge.models import KnowledgeGap
    from kumon.models import Unit

    today = timezone.localdate()
    days = 365
    first = today - dt.timedelta(days=days - 1)
    units = Unit.objects.bulk_create(
        Unit(slug=f"bench-{i:03d}", name=f"Kumon Bench {i:03d}", evolution_instance=f"bench-{i:03d}")
        for i in range(n_units)
    )
    started = time.perf_counter()
    start_at = dt.datetime.combine(first, dt.time(8), tzinfo=timezone.get_current_timezone())
    with connection.cursor() as cursor:
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                # Literal values, no parameters: the SQL is ours, and its % are modulo operators.
                cursor.execute(
                    statement.replace("{days}", str(days))
                    .replace("{per_day}", str(per_day))
                    .replace("{start}", start_at.isoformat())
                )
    rng = random.Random(7)
    KnowledgeGap.objects.bulk_create(
        KnowledgeGap(unit=unit, text=f"pergunta {n}") for unit in units for n in range(50)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_knowledgegap SET created_at = %s::timestamptz + (id %% 365) * interval '1 day'",
            [start_at],
        )
        cursor.execute("VACUUM ANALYZE")  # hint bits and statistics, as on a database in service
        counts = {}
        for table in (
            "kumon_contact",
            "conversations_conversation",
            "conversations_message",
            "scheduling_appointment",
            "scheduling_visitoutcome",
            "knowledge_knowledgegap",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    generate_s = time.perf_counter() - started

    def timed(case: str, pick, start: dt.date, period: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
        def build(units):  # type: ignore[no-untyped-def]
            if period == "funnel":  # the funnel by cohort (conversations.funnel), the page's and CSV's code
                return funnel.build_funnel(units=units, start=start, end=today)
            return reports.build_report(units=units, start=start, end=today, period=period)

        build(pick())  # warm-up
        values = []
        queries = 0
        for _ in range(runs):
            chosen = pick()
            began = time.perf_counter()
            with CountQueries() as counter:
                build(chosen)
            values.append((time.perf_counter() - began) * 1000)
            queries = counter.count
        return {
            "case": case,
            "runs": runs,
            "queries": queries,
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(percentile(values, 95), 1),
            "max_ms": round(max(values), 1),
        }

    if os.environ.get("BENCH_REPORTS_EXPLAIN"):
        from conversations.models import Conversation, Message
        from kumon.models import Contact

        sql = reports.CONVERSATION_SQL.format(
            message=Message._meta.db_table,
            conversation=Conversation._meta.db_table,
            contact=Contact._meta.db_table,
        )
        lo = dt.datetime.combine(first, dt.time.min, tzinfo=timezone.get_current_timezone())
        hi = dt.datetime.combine(
            today + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone()
        )
        with connection.cursor() as cursor:
            for attempt in ("cold", "warm"):
                cursor.execute(
                    "EXPLAIN (ANALYZE, BUFFERS) " + sql,
                    {
                        "units": [u.pk for u in units[:20]],
                        "lo": lo,
                        "hi": hi,
                        "period": "month",
                        "tz": "America/Sao_Paulo",
                    },
                )
                print(f"--- {attempt}")
                print("\n".join(r[0] for r in cursor.fetchall()))
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + funnel.FUNNEL_SQL,
                {"units": [u.pk for u in units[:20]], "lo": lo, "hi": hi},
            )
            print("--- funnel, 20 units, 1 year")
            print("\n".join(r[0] for r in cursor.fetchall()))

    if os.environ.get("BENCH_REPORTS_QUERIES"):
        with query_times(150) as per:
            for _ in range(3):
                reports.build_report(units=units[:5], start=first, end=today, period="month")
        for sql, values in per.items():
            print(f"{statistics.median(values):8.1f} ms  {sql}")

    cases = [
        timed("1 unit, 30 days by day", lambda: [rng.choice(units)], today - dt.timedelta(days=29), "day"),
        timed("1 unit, 1 year by month", lambda: [rng.choice(units)], first, "month"),
        timed(
            "5 units side by side, 90 days by week",
            lambda: rng.sample(units, min(5, len(units))),
            today - dt.timedelta(days=89),
            "week",
        ),
        timed(
            "20 units side by side, 1 year by month",
            lambda: rng.sample(units, min(20, len(units))),
            first,
            "month",
        ),
        timed(
            "funnel: 1 unit, 90-day cohort",
            lambda: [rng.choice(units)],
            today - dt.timedelta(days=89),
            "funnel",
        ),
        timed("funnel: 1 unit, 1-year cohort", lambda: [rng.choice(units)], first, "funnel"),
        timed(
            "funnel: 20 units side by side, 1-year cohort",
            lambda: rng.sample(units, min(20, len(units))),
            first,
            "funnel",
        ),
    ]
    return {
        "units": n_units,
        "days": days,
        "rows": counts,
        "migrate_s": round(migrate_s, 1),
        "generate_s": round(generate_s, 1),
        "target_p95_ms": TARGET_P95_MS,
        # The machine is shared: the load average says how much the figures were disturbed.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "cases": cases,
    }


class CountQueries:
    def __enter__(self) -> CountQueries:
        from django.db import connection

        self.count = 0

        def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            self.count += 1
            return execute(sql, params, many, context)

        self._ctx = connection.execute_wrapper(wrapper)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def report(results: dict[str, object]) -> None:
    rows = results["rows"]
    print(
        f"reports: {results['units']} units × {results['days']} days — "
        + ", ".join(f"{v} {k.split('_', 1)[1]}" for k, v in rows.items())  # type: ignore[attr-defined]
        + f" (generated in {results['generate_s']} s)"
    )
    print(f"{'case':<42} {'runs':>5} {'queries':>8} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for case in results["cases"]:  # type: ignore[attr-defined]
        print(
            f"{case['case']:<42} {case['runs']:>5} {case['queries']:>8} {case['p50_ms']:>9.1f} "
            f"{case['p95_ms']:>9.1f} {case['max_ms']:>9.1f}"
        )
    worst = max(case["p95_ms"] for case in results["cases"])  # type: ignore[attr-defined]
    print(
        f"target p95 < {TARGET_P95_MS:.0f} ms: {'met' if worst < TARGET_P95_MS else 'NOT met'} "
        f"(worst p95 {worst} ms; load average {results['load_average_1m']} on {results['cpu_count']} CPUs)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
