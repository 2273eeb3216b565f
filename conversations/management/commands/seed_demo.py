"""The demo data of DESIGN.md: unit `demo`, its logins, opening hours and FAQ. Idempotent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from knowledge import services as knowledge_services
from kumon.models import Membership, Unit
from scheduling.models import OpeningHours

FAQ_FILE = Path(__file__).resolve().parents[3] / "knowledge" / "eval" / "faq.json"

UNIT = {
    "name": "Kumon Demo",
    "timezone": "America/Sao_Paulo",
    "address": "Rua das Acácias, 123 – Vila Mariana, São Paulo – SP",
    "state": "SP",
    "city": "São Paulo",
    "evolution_instance": "kumon-demo",
    "greeting": "Olá! Aqui é a recepção virtual da Kumon Demo. 😊",
    "what_to_bring": "lápis, borracha e, se tiver, o último boletim escolar",
}
# Mon–Fri 8–12 and 14–19 (lunch break), Saturday 8–12.
HOURS = [(day, dt.time(8), dt.time(12)) for day in range(6)] + [
    (day, dt.time(14), dt.time(19)) for day in range(5)
]
USERS = [("demo-staff", Membership.Role.STAFF), ("demo-owner", Membership.Role.OWNER)]


class Command(BaseCommand):
    help = "Create or refresh the demo unit, its staff and owner logins, hours and FAQ."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            unit, _ = Unit.objects.update_or_create(
                slug="demo", defaults={**UNIT, "webhook_secret": settings.DEMO_WEBHOOK_SECRET}
            )
            if not unit.opening_hours.exists():
                OpeningHours.objects.bulk_create(
                    OpeningHours(unit=unit, weekday=d, start=s, end=e) for d, s, e in HOURS
                )
            User = get_user_model()
            for username, role in USERS:
                user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
                user.is_staff = True
                user.set_password(settings.DEMO_PASSWORD)
                user.save()
                Membership.objects.update_or_create(user=user, unit=unit, defaults={"role": role})
            for entry in json.loads(FAQ_FILE.read_text()):
                knowledge_services.upsert_faq(
                    unit=unit,
                    external_id=entry["id"],
                    question=entry["question"],
                    answer=entry["answer"],
                    phrasings=entry.get("phrasings", []),
                    enqueue=False,
                )
        # Embedded here, not by the worker, so the demo FAQ is searchable when this returns;
        # unchanged entries are already indexed and cost nothing on a second run.
        knowledge_services.index_pending(unit=unit)
        self.stdout.write(
            f"demo unit '{unit.slug}' ready: Evolution instance {unit.evolution_instance}, "
            f"webhook secret from DEMO_WEBHOOK_SECRET\n"
            f"logins: demo-staff / demo-owner, password from DEMO_PASSWORD"
        )
