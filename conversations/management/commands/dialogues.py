"""`python manage.py dialogues eval FILE.json --profile UNIT.json [--json] [--only NAME]`

Runs a dialogue file (shared/eval-dev/FORMAT.md) on a fresh unit loaded from the profile, through
the real path (ingest → worker → console gateway), checks every expectation and prints each
transcript with ✓/✗ per expectation and the pass rate (`--json`: one object with the figures and
every dialogue). The unit is `eval-<profile slug>` on the console gateway; its families and
bookings are removed first. A worker must answer the turns: if none is running, one is started
for the run and stopped after it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations import dialogues, profiles
from kumon.celery import app
from kumon.models import Unit

QUEUES = "celery,inbound,outbound,embeddings"


def _worker_answers() -> bool:
    try:
        return bool(app.control.ping(timeout=1.0))
    except Exception:  # broker down: the run cannot work anyway, the error comes later
        return False


class Command(BaseCommand):
    help = "Run a dialogue file on a unit loaded from a profile and check every expectation."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ev = sub.add_parser("eval", help="run the dialogues and print transcripts and the pass rate")
        ev.add_argument("file", type=Path)
        ev.add_argument("--profile", type=Path, required=True, help="the unit's profile (JSON)")
        ev.add_argument("--json", action="store_true", help="one JSON object with the figures and dialogues")
        ev.add_argument("--only", action="append", default=[], help="run only the dialogue(s) with this name")
        ev.add_argument("--failures", action="store_true", help="print only the transcripts that fail")

    def handle(self, *args: Any, **options: Any) -> None:
        self.options = options
        # The transcripts are the output: the per-message INFO logs of ingest would drown them.
        logging.getLogger().setLevel(logging.WARNING)
        for name in ("conversations", "whatsapp", "knowledge", "scheduling", "kumon"):
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            items = dialogues.parse_dialogues(json.loads(options["file"].read_text(encoding="utf-8")))
            profile = profiles.parse_profile(json.loads(options["profile"].read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise CommandError(f"{exc.filename} does not exist") from None
        except (ValueError, profiles.ProfileError) as exc:
            raise CommandError(str(exc)) from None
        if options["only"]:
            items = [d for d in items if d.name in options["only"]]
        slug = f"eval-{profile.slug}"[:60]
        unit = profiles.load_profile(profile=profile, slug=slug).unit
        Unit.objects.filter(pk=unit.pk).update(whatsapp_gateway=Unit.Gateway.CONSOLE, evolution_instance=None)
        unit.refresh_from_db()
        worker = None if _worker_answers() else self._start_worker()
        try:
            outcomes = dialogues.run_all(
                unit=unit, dialogues=items, progress=None if options["json"] else self._print
            )
        finally:
            if worker is not None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
        figures = dialogues.summary(outcomes)
        if options["json"]:
            figures["dialogues"] = [
                {
                    "name": o.dialogue.name,
                    "kind": o.dialogue.kind,
                    "passed": o.passed,
                    "checks": [{"check": c.name, "ok": c.ok, "detail": c.detail} for c in o.checks],
                    "replies": o.replies,
                }
                for o in outcomes
            ]
            self.stdout.write(json.dumps(figures, ensure_ascii=False))
            return
        kinds = ", ".join(f"{k} {v['passed']}/{v['total']}" for k, v in figures["by_kind"].items())
        self.stdout.write(
            f"\n{figures['passed']}/{figures['total']} dialogues pass ({figures['pass_rate']:.0%}); {kinds}"
        )

    def _print(self, outcome: dialogues.Outcome) -> None:
        if getattr(self, "options", {}).get("failures") and outcome.passed:
            return
        self.stdout.write("\n".join(dialogues.transcript(outcome)) + "\n")

    def _start_worker(self) -> subprocess.Popen[bytes]:
        self.stderr.write("no worker answered: starting one for this run")
        log = (Path(settings.BASE_DIR) / ".local" / "dialogues-worker.log").open("ab")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "kumon",
                "worker",
                "-l",
                "warning",
                "-Q",
                QUEUES,
                "-c",
                "2",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"dialogues-{os.getpid()}@%h",
            ],
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while not _worker_answers():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise CommandError("the worker did not start: see .local/dialogues-worker.log")
            time.sleep(0.5)
        return proc
