"""`python manage.py unit load FILE.json [--slug SLUG]`: create or update a unit from a profile
(shared/eval-dev/FORMAT.md). Idempotent; a bad profile names the field and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations import profiles


class Command(BaseCommand):
    help = "Units from profile files: `unit load FILE.json` creates or updates the unit, its hours and FAQ."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="create or update a unit from a profile (JSON)")
        load.add_argument("file", type=Path)
        load.add_argument("--slug", help="load into this slug instead of the profile's")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise CommandError(f"{path} does not exist") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path} is not a JSON file: {exc}") from None
        try:
            profile = profiles.parse_profile(data)
        except profiles.ProfileError as exc:
            raise CommandError(f"{path.name}: {exc.message}") from None
        for key in profile.unknown_keys:
            self.stderr.write(f"ignored unknown field {key!r}")
        result = profiles.load_profile(profile=profile, slug=options.get("slug"))
        unit = result.unit
        self.stdout.write(
            f"unit {unit.slug!r} {'created' if result.created else 'updated'}: {unit.name}; "
            f"{unit.opening_hours.count()} opening periods, {unit.visit_hours.count()} visit windows, "
            f"{unit.closures.count()} closures, {len(profile.faq)} FAQ entries "
            f"({result.faq_changed} new or changed, {result.embedded} embedded)"
        )
