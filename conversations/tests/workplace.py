"""Builders shared by the staff-workplace tests: two units, their staff and an owner."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.tests.factories import ContactFactory, ConversationFactory, MessageFactory
from kumon.models import Membership, Unit
from kumon.tests.factories import MembershipFactory, UnitFactory, UserFactory

# Debian's chromium, headless and quiet (no network of its own), for the browser tests.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class World:
    unit_a: Unit
    unit_b: Unit
    unit_c: Unit
    staff_a: Any
    staff_b: Any
    owner: Any  # owner of A and C
    superuser: Any


def make_world() -> World:
    unit_a = UnitFactory(name="Kumon A", slug="unit-a")
    unit_b = UnitFactory(name="Kumon B", slug="unit-b")
    unit_c = UnitFactory(name="Kumon C", slug="unit-c")
    staff_a = MembershipFactory(unit=unit_a, user__username="staff-a").user
    staff_b = MembershipFactory(unit=unit_b, user__username="staff-b").user
    owner = UserFactory(username="owner-ac")
    Membership.objects.create(user=owner, unit=unit_a, role=Membership.Role.OWNER)
    Membership.objects.create(user=owner, unit=unit_c, role=Membership.Role.OWNER)
    superuser = UserFactory(username="root", is_superuser=True)
    for user in (staff_a, staff_b, owner, superuser):
        user.save()  # the factory sets the password ("pw") after saving: persist it for logins
    return World(unit_a, unit_b, unit_c, staff_a, staff_b, owner, superuser)


def waiting_conversation(
    unit: Unit, *, phone: str | None = None, name: str = "Mariana", minutes_ago: int = 10, **kwargs: Any
) -> Conversation:
    contact = ContactFactory(unit=unit, name=name, **({"phone": phone} if phone else {}))
    conversation = ConversationFactory(
        contact=contact,
        mode=Conversation.Mode.HUMAN,
        handoff_at=timezone.now() - timezone.timedelta(minutes=minutes_ago),
        handoff_reason="asked_for_person",
        **kwargs,
    )
    MessageFactory(
        conversation=conversation, body="Quero falar com uma pessoa", status=Message.Status.HANDLED
    )
    return conversation
