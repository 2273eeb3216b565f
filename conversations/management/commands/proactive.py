"""`python manage.py proactive run [--at ISO-8601]`: send what beat would send at that moment
(reminders, follow-ups), through the same code as the beat tasks. The messages are queued for
WhatsApp; a running worker sends them (`make run`), the simulator shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from conversations import proactive


class Command(BaseCommand):
    help = (
        "Proactive messages: `proactive run --at ISO` sends the reminders and follow-ups due at that moment."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="send what is due at --at (default: now)")
        run.add_argument("--at", help="ISO-8601 moment, e.g. 2026-12-02T11:00:00-03:00 (default: now)")

    def handle(self, *args: Any, **options: Any) -> None:
        at = timezone.now()
        if options.get("at"):
            try:
                at = dt.datetime.fromisoformat(options["at"])
            except ValueError:
                raise CommandError(f"--at: not an ISO-8601 moment: {options['at']!r}") from None
            if at.tzinfo is None:
                raise CommandError("--at needs an offset, e.g. 2026-12-02T11:00:00-03:00")
        result = proactive.run(now=at)
        self.stdout.write(
            f"at {at.isoformat()}: {result.reminders} reminders, {result.followups} follow-ups queued; "
            f"{result.scheduled} after-visit follow-ups scheduled"
        )
