"""Slot computation for a busy unit: 200 live appointments (and 20 holds) in a 30-day window.

Measures, on its own database `kumon_bench_slots` (created and dropped here; the `kumon`
database is never touched):
- `scheduling.selectors.free_slots` over the whole booking window (the database reads of rules,
  closures, appointments and holds, plus the computation) — what the API and the engine call,
- the same for the 14 days the conversation engine offers from,
- `scheduling.slots.compute_slots` alone (pure Python, rows already loaded).
p50/p95 over many runs; target p95 < 20 ms for the full window. Prints a table and writes
bench/results/slots.json. Runs in a few seconds.

    .venv/bin/python bench/slots.py [--runs 300] [--appointments 200]

BENCH_SLOTS_QUERIES=1 also prints each query's p50/p95; BENCH_SLOTS_PROFILE=1 a cProfile.
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

RESULTS = BASE_DIR / "bench" / "results" / "slots.json"
BENCH_DB = "kumon_bench_slots"


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    fn()  # warm-up: holidays table, query plans
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--appointments", type=int, default=200)
    args = parser.parse_args()

    with bench_database(BENCH_DB) as url:
        in_process_django(url)
        try:
            results = run(args.runs, args.appointments)
        finally:
            from django.db import connections

            connections.close_all()
    report(results)


def run(runs: int, n_appointments: int) -> dict[str, object]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # every app: rows of kumon (contacts) are created too

    from zoneinfo import ZoneInfo

    from kumon.models import Contact, Unit
    from scheduling import selectors
    from scheduling.models import Appointment, Closure, OpeningHours, SlotHold
    from scheduling.slots import Booked, compute_slots

    tz = ZoneInfo("America/Sao_Paulo")
    unit = Unit.objects.create(
        slug="bench",
        name="Kumon Bench",
        state="SP",
        city="São Paulo",
        capacity=2,
        visit_minutes=60,
        buffer_after_minutes=0,
        min_notice_minutes=120,
        booking_window_days=30,
    )
    for weekday in range(6):
        periods = (
            [(dt.time(9), dt.time(12)), (dt.time(14), dt.time(19))]
            if weekday < 5
            else [(dt.time(9), dt.time(12))]
        )
        for start, end in periods:
            OpeningHours.objects.create(unit=unit, weekday=weekday, start=start, end=end)
    now = dt.datetime.now(tz).replace(hour=8, minute=0, second=0, microsecond=0)
    Closure.objects.create(
        unit=unit,
        start_date=(now + dt.timedelta(days=20)).date(),
        end_date=(now + dt.timedelta(days=21)).date(),
        reason="recesso",
    )

    window_end = now + dt.timedelta(days=30)
    grid = selectors.free_slots(unit=unit, start=now, end=window_end, now=now)
    rng = random.Random(7)
    places = [(slot, seat) for slot in grid for seat in (1, 2)]
    rng.shuffle(places)
    contact = Contact.objects.create(unit=unit, phone="+5511900000000")
    Appointment.objects.bulk_create(
        [
            Appointment(
                unit=unit, contact=contact, start=slot.start, end=slot.end, seat=seat, phone=contact.phone
            )
            for slot, seat in places[:n_appointments]
        ]
    )
    SlotHold.objects.bulk_create(
        [
            SlotHold(
                unit=unit,
                start=slot.start,
                end=slot.end,
                holder=f"conv:{i}",
                expires_at=now + dt.timedelta(minutes=10),
            )
            for i, (slot, _) in enumerate(places[n_appointments : n_appointments + 20])
        ]
    )
    live = Appointment.objects.filter(unit=unit, start__gte=now, start__lt=window_end).count()

    full = timed(lambda: selectors.free_slots(unit=unit, start=now, end=window_end, now=now), runs)
    fortnight = timed(
        lambda: selectors.free_slots(unit=unit, start=now, end=now + dt.timedelta(days=14), now=now), runs
    )
    rules = selectors.unit_rules(unit)
    booked = [Booked(a.start, a.end, a.seat) for a in Appointment.objects.filter(unit=unit)]
    held = [Booked(h.start, h.end) for h in SlotHold.objects.filter(unit=unit)]
    pure = timed(
        lambda: compute_slots(rules, start=now, end=window_end, now=now, booked=booked, holds=held), runs
    )
    free = selectors.free_slots(unit=unit, start=now, end=window_end, now=now)
    if os.environ.get("BENCH_SLOTS_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for _ in range(100):
            selectors.free_slots(unit=unit, start=now, end=window_end, now=now)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(18)
    if os.environ.get("BENCH_SLOTS_QUERIES"):
        with query_times(60) as per:
            for _ in range(100):
                selectors.free_slots(unit=unit, start=now, end=window_end, now=now)
        for sql, values in per.items():
            print(f"{statistics.median(values):7.3f} ms p50  {percentile(values, 95):7.3f} ms p95  {sql}")

    def row(name: str, values: list[float]) -> dict[str, object]:
        return {
            "case": name,
            "runs": len(values),
            "p50_ms": round(statistics.median(values), 3),
            "p95_ms": round(percentile(values, 95), 3),
            "max_ms": round(max(values), 3),
        }

    return {
        "appointments_in_window": live,
        "holds": len(held),
        "candidate_slots": len(grid),
        "free_slots": len(free),
        "target_p95_ms": 20.0,
        # The machine is shared: the load average says how much the figures were disturbed.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "cases": [
            row("free_slots 30-day window (DB + compute)", full),
            row("free_slots 14 days (engine offer)", fortnight),
            row("compute_slots 30 days (pure)", pure),
        ],
    }


def report(results: dict[str, object]) -> None:
    print(
        f"slots: {results['appointments_in_window']} appointments + {results['holds']} holds in the window, "
        f"{results['candidate_slots']} candidate slots, {results['free_slots']} still free"
    )
    print(f"{'case':<44} {'runs':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for case in results["cases"]:  # type: ignore[attr-defined]
        print(
            f"{case['case']:<44} {case['runs']:>5} {case['p50_ms']:>9.3f} {case['p95_ms']:>9.3f} {case['max_ms']:>9.3f}"
        )
    full_p95 = results["cases"][0]["p95_ms"]  # type: ignore[index]
    print(
        f"target p95 < {results['target_p95_ms']} ms: {'met' if full_p95 < 20.0 else 'NOT met'} "
        f"(load average {results['load_average_1m']} on {results['cpu_count']} CPUs)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
