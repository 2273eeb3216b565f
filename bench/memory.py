"""Memory: resident set size (RSS) of a gunicorn web worker after it has served webhooks, and of
the Celery worker processes after the embedding model is loaded (turns that search the unit's
knowledge ran in each of them). Targets: web < 250 MB, worker < 700 MB per process.

Stack: the Procfile's web and worker commands, production settings, `kumon_bench_memory`, a
private redis-server. Prints a table, writes bench/results/memory.json.

    .venv/bin/python bench/memory.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

NAME = "memory"
TARGET_WEB_MB = 250.0
TARGET_WORKER_MB = 700.0


def rss_mb(proc) -> float:  # type: ignore[no-untyped-def]
    return proc.memory_info().rss / 2**20


def run() -> dict:
    import httpx
    import psutil

    with common.production_stack("kumon_bench_memory") as (web, url, worker):
        from conversations.models import Message

        questions = [
            "Quanto custa a mensalidade?",
            "Qual o horário de funcionamento?",
            "Como funciona o método Kumon?",
            "Tem aula de inglês?",
        ]
        with httpx.Client(base_url=url, timeout=10) as http:
            for i in range(60):
                http.post(
                    "/api/v1/evolution/webhook",
                    content=common.evolution_body(f"MEM{i:04d}", f"5511955{i:06d}", questions[i % 4]),
                    headers={"Content-Type": "application/json", "X-Webhook-Secret": common.BENCH_SECRET},
                )
        common.wait_for(
            lambda: Message.objects.filter(direction="out", status="sent", seq=0).count() >= 60,
            timeout=180,
            interval=0.5,
            what="60 replies",
        )
        time.sleep(1)
        web_master = psutil.Process(web.pid)
        web_workers = list(common.children(web.pid))
        worker_master = psutil.Process(worker.pid)
        worker_children = common.children(worker.pid)
        result = {
            "web_master_mb": rss_mb(web_master),
            "web_workers_mb": [rss_mb(p) for p in web_workers],
            "worker_master_mb": rss_mb(worker_master),
            "worker_children_mb": [rss_mb(p) for p in worker_children],
        }
    web_max = max(result["web_workers_mb"], default=float("nan"))
    worker_max = max([result["worker_master_mb"], *result["worker_children_mb"]])
    result.update(
        web_worker_max_mb=web_max,
        worker_process_max_mb=worker_max,
        worker_total_mb=result["worker_master_mb"] + sum(result["worker_children_mb"]),
        targets={"web_mb": TARGET_WEB_MB, "worker_mb": TARGET_WORKER_MB},
        met={"web": web_max < TARGET_WEB_MB, "worker": worker_max < TARGET_WORKER_MB},
    )
    return result


def report(r: dict) -> None:
    print("\nmemory (RSS)")
    rows = [
        [
            f"web: gunicorn worker (max of {len(r['web_workers_mb'])})",
            r["web_worker_max_mb"],
            f"< {TARGET_WEB_MB:.0f}",
            common.verdict(r["met"]["web"]),
        ],
        ["web: gunicorn master", r["web_master_mb"], "", ""],
        [
            "worker: celery process (max, model loaded)",
            r["worker_process_max_mb"],
            f"< {TARGET_WORKER_MB:.0f}",
            common.verdict(r["met"]["worker"]),
        ],
        [f"worker: master + {len(r['worker_children_mb'])} children, total", r["worker_total_mb"], "", ""],
    ]
    print(common.table(["process", "RSS MB", "target MB", ""], rows))
    path = common.write_results(NAME, r)
    print(f"→ {path.relative_to(common.BASE_DIR)}")


if __name__ == "__main__":
    report(run())
