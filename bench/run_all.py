"""`make bench`: every benchmark in bench/, one after the other, each bounded in time; then
bench/results/summary.md, the table the README shows.

Each script stays runnable alone and writes bench/results/<name>.json; this runner only starts
them, shows their output, and summarises their JSON beside the targets and the seed's claims.

    .venv/bin/python bench/run_all.py [--only webhook_ingest,pipeline] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench import common  # noqa: E402

# name → (arguments of a full run, of a quick run, time limit in seconds). Order: the cheap
# and self-contained first, so a slow one at the end cannot starve the others.
SCRIPTS: dict[str, tuple[list[str], list[str], int]] = {
    "webhook_ingest": ([], ["--duration", "3"], 240),
    "pipeline": ([], ["--duration", "10", "--steps", "40", "--step-duration", "5"], 420),
    "memory": ([], [], 180),
    "slots": ([], [], 120),
    "reports": ([], [], 180),
    "knowledge_search": ([], ["--units", "10", "--queries", "50"], 300),
}


def run_script(name: str, args: list[str], limit: int) -> dict:
    path = BENCH / f"{name}.py"
    if not path.exists():
        return {"name": name, "status": "missing"}
    result_path = common.RESULTS_DIR / f"{name}.json"
    before = result_path.stat().st_mtime if result_path.exists() else 0
    print(f"\n=== {name} {' '.join(args)} (limit {limit} s)", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(path), *args], cwd=BENCH.parent, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        returncode = proc.wait(timeout=limit)
        status = "ok" if returncode == 0 else f"failed (exit {returncode})"
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        # SIGTERM lets the script stop its gunicorn, worker and redis and drop its database.
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if isinstance(exc, KeyboardInterrupt):
            raise
        status = f"timed out after {limit} s"
    fresh = result_path.exists() and result_path.stat().st_mtime > before
    if status == "ok" and not fresh:
        status = "ok, no results file"
    return {"name": name, "status": status, "seconds": round(time.monotonic() - started, 1), "fresh": fresh}


def load(name: str) -> dict | None:
    path = common.RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def load_of(name: str) -> str:
    data = load(name) or {}
    value = data.get("machine", {}).get(
        "load_average_1m", data.get("load_average_1m", data.get("loadavg_1m"))
    )
    return "?" if value is None else f"{value:.1f}"


def f(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def summary_rows(runs: dict[str, dict]) -> list[list[str]]:
    """[area, measure, ours, target, seed's claim, verdict] for every script that ran."""
    rows: list[list[str]] = []

    def stale(name: str) -> str:
        run = runs.get(name, {})
        return "" if run.get("fresh") else f" (stale: {run.get('status', 'not run')})"

    if (r := load("webhook_ingest")) and "webhook_ingest" in runs:
        by = {(x["view"], x["connections"]): x for x in r["rows"]}
        for c in sorted({x["connections"] for x in r["rows"]}):
            ours, minimal, bare = by.get(("ours", c)), by.get(("minimal", c)), by.get(("bare", c))
            if not (ours and minimal):
                continue
            ratio = ours["rps"] / minimal["rps"]
            rows.append(
                [
                    f"webhook ingest, {c} conn{stale('webhook_ingest')}",
                    "req/s ours / minimal / bare; p99 ms ours",
                    f"{ours['rps']:,.0f} / {minimal['rps']:,.0f} / {bare['rps'] if bare else 0:,.0f}; "
                    f"{ours['p99_ms']:.1f}",
                    "ours÷minimal ≥ 0.5" + ("; p99 < 30 ms" if c == 32 else "") if c in (8, 32) else "—",
                    "webhook < 200 ms",
                    f"ratio {ratio:.2f} "
                    + (
                        common.verdict(ratio >= 0.5 and (c != 32 or ours["p99_ms"] < 30))
                        if c in (8, 32)
                        else ""
                    ),
                ]
            )
    if (r := load("pipeline")) and "pipeline" in runs:
        s = r["sustained"]
        rows.append(
            [
                f"inbound → reply sent{stale('pipeline')}",
                f"p50 / p95 / p99 ms at {s['rate']:.0f}/s for {s['duration_s']:.0f} s",
                f"{f(s['p50_ms'], 0)} / {f(s['p95_ms'], 0)} / {f(s['p99_ms'], 0)}",
                "p95 < 100 ms",
                "—",
                common.verdict(r["met"]["p95"]),
            ]
        )
        rows.append(
            [
                f"inbound → reply sent{stale('pipeline')}",
                "highest sustained rate (messages/s)",
                f"{r['highest_sustained_rate']:.0f}",
                f"≥ {s['rate']:.0f}",
                "—",
                common.verdict(r["highest_sustained_rate"] >= s["rate"]),
            ]
        )
    if (r := load("memory")) and "memory" in runs:
        rows.append(
            [
                f"memory{stale('memory')}",
                "RSS of a gunicorn worker (MB)",
                f(r["web_worker_max_mb"], 0),
                "< 250",
                "—",
                common.verdict(r["met"]["web"]),
            ]
        )
        rows.append(
            [
                f"memory{stale('memory')}",
                "RSS of a Celery process, model loaded (MB)",
                f(r["worker_process_max_mb"], 0),
                "< 700",
                "—",
                common.verdict(r["met"]["worker"]),
            ]
        )
    if (r := load("knowledge_search")) and "knowledge_search" in runs:
        p95 = r.get("hybrid_search_p95_ms")
        rows.append(
            [
                f"knowledge search, {r.get('units')} units × {r.get('chunks_per_unit')} chunks"
                f"{stale('knowledge_search')}",
                "hybrid search p50 / p95 ms; recall@5",
                f"{f(r.get('hybrid_search_p50_ms'))} / {f(p95)}; {r.get('vector_recall_at_5')}",
                "p95 < 15 ms; recall ≥ 0.99",
                "search < 500 ms",
                common.verdict(p95 is not None and p95 < 15 and (r.get("vector_recall_at_5") or 0) >= 0.99),
            ]
        )
    if (r := load("slots")) and "slots" in runs:
        for case in r.get("cases", [])[:1]:
            rows.append(
                [
                    f"slots{stale('slots')}",
                    f"{case['case']} p50 / p95 ms",
                    f"{f(case['p50_ms'])} / {f(case['p95_ms'])}",
                    f"p95 < {r.get('target_p95_ms')} ms",
                    "calendar < 1 s",
                    common.verdict(case["p95_ms"] < r.get("target_p95_ms", 1e9)),
                ]
            )
    if (r := load("reports")) and "reports" in runs:
        target = r.get("target_p95_ms", 500)
        for case in r.get("cases", []):
            p95 = case.get("p95_ms")
            rows.append(
                [
                    f"reports, {r.get('units')} units × {r.get('days')} days{stale('reports')}",
                    f"{case.get('case', case.get('name', '?'))} p50 / p95 ms",
                    f"{f(case.get('p50_ms'))} / {f(p95)}",
                    f"p95 < {target:.0f} ms",
                    "—",
                    common.verdict(p95 is not None and p95 < target),
                ]
            )
    return rows


def summary_markdown(
    runs: dict[str, dict], rows: list[list[str]], total_s: float, *, assembled: bool = False
) -> str:
    headers = ["benchmark", "measure", "ours", "target", "seed's claim", "verdict"]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    head = (
        f"Assembled {when} from each script's latest results (when each ran: below)"
        if assembled
        else f"Measured {when}; `make bench` took {total_s / 60:.1f} min"
    )
    lines = [
        f"{head}. {os.cpu_count()} CPUs, shared with other engineers' test runs (load average per script "
        "below), so absolute figures are noisy — the ratios measured side by side matter more.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows),
        "",
        "Scripts: "
        + ", ".join(
            f"`{n}` {r['status']} ("
            + (f"{r['seconds']:.0f} s, " if r.get("seconds") else "")
            + f"load {load_of(n)})"
            for n, r in runs.items()
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated script names")
    parser.add_argument("--quick", action="store_true", help="short durations (development)")
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="rebuild summary.md from the JSON already in bench/results (runs nothing)",
    )
    args = parser.parse_args()
    wanted = [n for n in args.only.split(",") if n] or list(SCRIPTS)
    started = time.monotonic()
    runs: dict[str, dict] = {}
    for name in wanted:
        full, quick, limit = SCRIPTS[name]
        if args.summary_only:
            data = load(name)
            if data is not None:
                at = data.get("machine", {}).get("at")
                runs[name] = {
                    "name": name,
                    "status": f"ran {at}" if at else "earlier run",
                    "fresh": True,
                    "seconds": 0,
                }
            continue
        runs[name] = run_script(name, quick if args.quick else full, limit)
    rows = summary_rows(runs)
    total = time.monotonic() - started
    print("\n=== summary (targets beside the figures)")
    print(common.table(["benchmark", "measure", "ours", "target", "seed's claim", "verdict"], rows))
    for name, run in runs.items():
        if run["status"] != "ok" and not args.summary_only:
            print(f"  {name}: {run['status']}")
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = common.RESULTS_DIR / "summary.md"
    path.write_text(summary_markdown(runs, rows, total, assembled=args.summary_only))
    print(f"→ {path.relative_to(common.BASE_DIR)} ({total / 60:.1f} min)")


if __name__ == "__main__":
    main()
