"""Inbound → reply handed to the gateway: webhook POST to our gunicorn, the turn in a real Celery
worker, the reply sent by the console gateway (status `sent`). Debounce 0, no language model.

Latency of one message = reply.sent_at − the webhook's INSERT of its inbound event
(InboundEvent.received_at, issue #16: the worker records the message later, so the message's own
created_at would leave the queue out); both stamped on this host, so no client clock is involved.
Phases, each with distinct parent phones:
1. sustained: 20 messages/s for 60 s → p50/p95/p99 (target p95 < 100 ms);
2. steps: 40, 80, 160 messages/s, 20 s each, until one is not sustained (or, when 20/s was
   not, down: 15, 10, 5/s until one is). A step is sustained
   when the replies keep up: at the end of its window no more than half a second of traffic is
   still unanswered and the reply rate is ≥ 95 % of the offered rate.

Stack: the Procfile's web and worker commands with production settings on `kumon_bench_pipeline`
and a private redis-server. Prints tables, writes bench/results/pipeline.json.

    .venv/bin/python bench/pipeline.py [--rate 20 --duration 60] [--steps 40,80,160 --step-duration 20]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

NAME = "pipeline"
TARGET_P95_MS = 100.0
SEED_CLAIM_MS = 200.0  # the seed's claim was about the webhook; shown for scale


class Sender:
    """Open-loop load: request i leaves at t0 + i/rate whatever the answers do."""

    def __init__(self, url: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=url, timeout=10, limits=httpx.Limits(max_connections=64))
        self.pool = ThreadPoolExecutor(max_workers=48)
        self.statuses: dict[int, int] = {}
        self.lock = threading.Lock()

    def _post(self, message_id: str, phone: str) -> None:
        try:
            status = self.http.post(
                "/api/v1/evolution/webhook",
                content=common.evolution_body(message_id, phone),
                headers={"Content-Type": "application/json", "X-Webhook-Secret": common.BENCH_SECRET},
            ).status_code
        except Exception:
            status = 0
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def run(self, *, prefix: str, phone_base: int, rate: float, duration: float) -> float:
        """Send rate×duration messages; returns the lateness of the sender (s) at the end."""
        n = int(rate * duration)
        t0 = time.monotonic()
        for i in range(n):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.pool.submit(self._post, f"{prefix}{i:06d}", f"55119{phone_base + i:08d}")
        return max(0.0, time.monotonic() - (t0 + n / rate))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.http.close()


def phase_figures(prefix: str) -> dict:
    from django.db.models import Min

    from conversations.models import Message
    from whatsapp.models import InboundEvent

    received = dict(
        InboundEvent.objects.filter(provider_id__startswith=prefix).values_list("provider_id", "received_at")
    )
    inbound = {
        pk: received[provider_id]
        for pk, provider_id in Message.objects.filter(
            direction="in", provider_id__startswith=prefix
        ).values_list("pk", "provider_id")
    }
    replies = (
        Message.objects.filter(direction="out", in_reply_to_id__in=list(inbound), status="sent")
        .values("in_reply_to_id")
        .annotate(first=Min("sent_at"))
    )
    latencies = [(r["first"] - inbound[r["in_reply_to_id"]]).total_seconds() * 1000 for r in replies]
    return {
        "inbound": len(received),
        "answered": len(latencies),
        "p50_ms": common.percentile(latencies, 50),
        "p95_ms": common.percentile(latencies, 95),
        "p99_ms": common.percentile(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
    }


def unanswered(prefix: str) -> int:
    from conversations.models import Message
    from whatsapp.models import InboundEvent

    inbound = InboundEvent.objects.filter(provider_id__startswith=prefix)
    answered = Message.objects.filter(
        direction="out", status="sent", seq=0, in_reply_to__provider_id__startswith=prefix
    )
    return inbound.count() - answered.count()


def drain(prefix: str, expected: int, timeout: float) -> float:
    started = time.monotonic()
    from conversations.models import Message

    def done() -> bool:
        return (
            Message.objects.filter(
                direction="out", status="sent", seq=0, in_reply_to__provider_id__startswith=prefix
            ).count()
            >= expected
        )

    try:
        common.wait_for(done, timeout=timeout, interval=0.5)
    except TimeoutError:
        pass
    return time.monotonic() - started


def settle(timeout: float) -> None:
    """Wait until every earlier message is answered, so phases do not share a backlog."""
    from conversations.models import Message
    from whatsapp.models import InboundEvent

    def quiet() -> bool:
        return (
            not InboundEvent.objects.filter(status="pending").exists()
            and not Message.objects.filter(direction="in", status="received").exists()
            and not Message.objects.filter(direction="out", status__in=["queued", "sending"]).exists()
        )

    try:
        common.wait_for(quiet, timeout=timeout, interval=0.5)
    except TimeoutError:
        print(f"  (backlog not drained after {timeout:.0f} s: the next phase starts behind)", flush=True)


def run_phase(sender: Sender, *, label: str, rate: float, duration: float, phone_base: int) -> dict:
    prefix = f"BENCH{label}X"
    started = time.monotonic()
    late = sender.run(prefix=prefix, phone_base=phone_base, rate=rate, duration=duration)
    window = time.monotonic() - started
    time.sleep(0.3)  # requests in flight reach the database
    backlog = unanswered(prefix)
    from conversations.models import Message

    answered_in_window = Message.objects.filter(
        direction="out", status="sent", seq=0, in_reply_to__provider_id__startswith=prefix
    ).count()
    drain_s = drain(prefix, int(rate * duration), timeout=30.0)
    figures = phase_figures(prefix)
    reply_rate = answered_in_window / window
    sustained = (
        backlog <= max(5, rate * 0.5) and reply_rate >= 0.95 * rate * (duration / window) and late < 1.0
    )
    row = {
        "phase": label,
        "rate": rate,
        "duration_s": duration,
        "sender_late_s": round(late, 2),
        "backlog_at_end": backlog,
        "reply_rate": reply_rate,
        "drain_s": round(drain_s, 1),
        "sustained": sustained,
        **figures,
    }
    print(
        f"  {label:10} {rate:5.0f}/s  answered {figures['answered']}/{figures['inbound']}  "
        f"p50 {figures['p50_ms']:.0f} p95 {figures['p95_ms']:.0f} p99 {figures['p99_ms']:.0f} ms  "
        f"backlog {backlog}  {'sustained' if sustained else 'NOT sustained'}",
        flush=True,
    )
    return row


def run(rate: float, duration: float, steps: list[float], step_duration: float) -> dict:
    with common.production_stack("kumon_bench_pipeline") as (_web, url, _worker):
        sender = Sender(url)
        try:
            # Warm-up: both worker processes load the engine and the embedding model.
            run_phase(sender, label="warmup", rate=4, duration=3, phone_base=0)
            sustained = run_phase(sender, label="sustained", rate=rate, duration=duration, phone_base=100_000)
            # Up from the sustained rate until the backlog grows; down if even that was too much.
            ladder = steps if sustained["sustained"] else [rate * 3 / 4, rate / 2, rate / 4]
            step_rows = []
            for i, step in enumerate(ladder):
                settle(timeout=120)
                row = run_phase(
                    sender,
                    label=f"step{i + 1}",
                    rate=step,
                    duration=step_duration,
                    phone_base=(i + 2) * 100_000,
                )
                step_rows.append(row)
                if row["sustained"] != sustained["sustained"]:
                    break
        finally:
            sender.close()
        statuses = dict(sender.statuses)
    best = max(
        [sustained["rate"]] * sustained["sustained"] + [r["rate"] for r in step_rows if r["sustained"]],
        default=0,
    )
    return {
        "server": {"web": common.procfile_command("web"), "worker": common.procfile_command("worker")},
        "sustained": sustained,
        "steps": step_rows,
        "highest_sustained_rate": best,
        "http_statuses": {str(k): v for k, v in statuses.items()},
        "targets": {"p95_ms": TARGET_P95_MS},
        "met": {"p95": sustained["p95_ms"] < TARGET_P95_MS},
    }


def report(results: dict) -> None:
    s = results["sustained"]
    print(
        f"\ninbound → reply handed to the gateway (debounce 0, no LLM, console gateway), "
        f"{s['rate']:.0f}/s for {s['duration_s']:.0f} s"
    )
    headers = ["phase", "offered/s", "answered", "p50 ms", "p95 ms", "p99 ms", "backlog at end", "sustained"]
    rows = [
        [
            r["phase"],
            r["rate"],
            f"{r['answered']}/{r['inbound']}",
            r["p50_ms"],
            r["p95_ms"],
            r["p99_ms"],
            r["backlog_at_end"],
            "yes" if r["sustained"] else "no",
        ]
        for r in [s, *results["steps"]]
    ]
    print(common.table(headers, rows))
    print(
        f"target p95 < {TARGET_P95_MS:.0f} ms at {s['rate']:.0f}/s: {s['p95_ms']:.0f} ms → "
        f"{common.verdict(results['met']['p95'])}"
    )
    print(
        f"highest sustained rate: {results['highest_sustained_rate']:.0f} messages/s "
        f"(HTTP statuses {results['http_statuses']})"
    )
    path = common.write_results(NAME, results)
    print(f"→ {path.relative_to(common.BASE_DIR)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--steps", default="40,80,160")
    parser.add_argument("--step-duration", type=float, default=20)
    args = parser.parse_args()
    steps = [float(s) for s in args.steps.split(",") if s]
    report(run(args.rate, args.duration, steps, args.step_duration))


if __name__ == "__main__":
    main()
