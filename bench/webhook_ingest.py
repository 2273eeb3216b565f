"""Webhook ingest: requests/s and p50/p99 at 1, 8 and 32 connections (wrk) for our Evolution
webhook, beside two reference views on the same gunicorn and settings (bench/urls_bench.py):
a bare view returning 200 and a minimal webhook (parse, one INSERT … ON CONFLICT, one LPUSH).

Stack: the Procfile's web command (production settings, DEBUG off) on a throwaway database
`kumon_bench_ingest`, a private redis-server. No worker runs: the webhook stores inbound events
(issue #16: the worker would record them) and their tasks stay queued in Redis, so the web
processes have the two cores (the references do not feed a worker either).
Prints a table and writes bench/results/webhook_ingest.json.

    .venv/bin/python bench/webhook_ingest.py [--duration 8] [--connections 1,8,32]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

NAME = "webhook_ingest"
OURS, MINIMAL, BARE = "ours", "minimal", "bare"
PATHS = {OURS: "/api/v1/evolution/webhook", MINIMAL: "/bench/minimal-webhook", BARE: "/bench/ok"}
TARGET_RATIO = 0.5
TARGET_P99_MS = 30.0
SEED_CLAIM_MS = 200.0


def wrk(url: str, *, connections: int, duration: float, body_path: Path, run: str) -> dict[str, float]:
    threads = min(connections, 2)
    env = {**os.environ, "BENCH_BODY": str(body_path), "BENCH_SECRET": common.BENCH_SECRET, "BENCH_RUN": run}
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(duration))}s",
            "--timeout",
            "5s",
            "-s",
            str(Path(__file__).with_name("webhook.lua")),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("{"))
    raw = json.loads(line)
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "errors": raw["errors"],
        "non_2xx": raw["non2xx"],
        "rps": raw["requests"] / seconds,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--connections", default="1,8,32")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk; `make bench` does it)")
    results = run(args.duration, [int(c) for c in args.connections.split(",")])
    report(results)


def run(duration: float, connection_levels: list[int]) -> dict:
    redis_server = common.Redis().start()
    web = None
    try:
        with common.bench_database("kumon_bench_ingest") as database_url:
            env = common.production_env(database_url, redis_server.url, ROOT_URLCONF="bench.urls_bench")
            common.setup_django(env)
            common.migrate_and_seed()
            from django.db import connection

            from bench.urls_bench import SCRATCH_TABLE
            from whatsapp.models import InboundEvent

            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {SCRATCH_TABLE} (provider_id text PRIMARY KEY, "
                    "phone text NOT NULL, body text NOT NULL, created_at timestamptz DEFAULT now())"
                )
            connection.close()
            web, url = common.web(env)
            with tempfile.TemporaryDirectory() as tmp:
                body_path = Path(tmp) / "body.json"
                body_path.write_bytes(common.evolution_body("MSGID", "PHONE"))
                # Warm-up: every gunicorn worker opens its connections and fills its caches.
                for view in (OURS, MINIMAL, BARE):
                    wrk(url + PATHS[view], connections=8, duration=2, body_path=body_path, run=f"W{view[0]}")
                stored_before = InboundEvent.objects.count()
                rows = []
                for connections in connection_levels:
                    for view in (BARE, MINIMAL, OURS):
                        figures = wrk(
                            url + PATHS[view],
                            connections=connections,
                            duration=duration,
                            body_path=body_path,
                            run=f"C{connections}{view[0]}",
                        )
                        rows.append({"view": view, "connections": connections, **figures})
                        print(
                            f"  {view:8} c={connections:<3} {figures['rps']:8.0f} req/s  "
                            f"p50 {figures['p50_ms']:.1f} ms  p99 {figures['p99_ms']:.1f} ms",
                            flush=True,
                        )
                        time.sleep(1)
                stored = InboundEvent.objects.count() - stored_before
            ours_requests = sum(r["requests"] for r in rows if r["view"] == OURS)
            ratios = {}
            for connections in connection_levels:
                by_view = {r["view"]: r for r in rows if r["connections"] == connections}
                ratios[str(connections)] = by_view[OURS]["rps"] / by_view[MINIMAL]["rps"]
            p99_32 = next((r["p99_ms"] for r in rows if r["view"] == OURS and r["connections"] == 32), None)
            from django.db import connections as db_connections

            db_connections.close_all()
            return {
                "duration_s": duration,
                "server": common.procfile_command("web"),
                "rows": rows,
                "ours_over_minimal": ratios,
                "ours_p99_ms_at_32": p99_32,
                "ours_requests": ours_requests,
                "ours_messages_stored": stored,
                "targets": {
                    "ours_over_minimal_at_8_and_32": TARGET_RATIO,
                    "p99_ms_at_32": TARGET_P99_MS,
                    "seed_claim_ms": SEED_CLAIM_MS,
                },
                "met": {
                    "ratio": all(ratios.get(c, 0) >= TARGET_RATIO for c in ("8", "32") if c in ratios),
                    "p99": p99_32 is not None and p99_32 < TARGET_P99_MS,
                },
            }
    finally:
        if web is not None:
            web.stop()
        redis_server.stop()


def report(results: dict) -> None:
    print(f"\nwebhook ingest ({results['server'].split(' --access')[0]}; {results['duration_s']:.0f} s each)")
    rows = []
    for r in results["rows"]:
        ratio = results["ours_over_minimal"][str(r["connections"])] if r["view"] == OURS else None
        rows.append(
            [
                r["view"],
                r["connections"],
                r["rps"],
                r["p50_ms"],
                r["p99_ms"],
                r["errors"],
                f"{ratio:.2f}" if ratio is not None else "",
            ]
        )
    print(common.table(["view", "conns", "req/s", "p50 ms", "p99 ms", "errors", "ours÷minimal"], rows))
    ratios = results["ours_over_minimal"]
    print(
        f"target ours÷minimal ≥ {TARGET_RATIO} at 8 and 32: "
        f"{', '.join(f'{c}: {v:.2f}' for c, v in ratios.items())} → {common.verdict(results['met']['ratio'])}"
    )
    p99 = results["ours_p99_ms_at_32"]
    print(
        f"target p99 < {TARGET_P99_MS:.0f} ms at 32 (seed claimed < {SEED_CLAIM_MS:.0f} ms): "
        f"{p99:.1f} ms → {common.verdict(results['met']['p99'])}"
        if p99 is not None
        else ""
    )
    print(
        f"every accepted request stored once: {results['ours_messages_stored']} inbound events for "
        f"{results['ours_requests']} requests (wrk counts requests cut at the end as sent)"
    )
    path = common.write_results(NAME, results)
    print(f"→ {path.relative_to(common.BASE_DIR)}")


if __name__ == "__main__":
    main()
