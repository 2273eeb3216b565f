"""Writes of the tenant core."""

from __future__ import annotations

import logging
import secrets
import uuid

from django.core.cache import cache
from django.db import transaction

from kumon.db import insert_unless_conflict
from kumon.exceptions import RealFamilyPhone
from kumon.models import Contact, Unit
from kumon.phones import normalize_phone

logger = logging.getLogger(__name__)

# Changed whenever a unit changes: the webhooks' per-process unit cache (whatsapp/selectors.py)
# drops what it holds when it differs.
UNITS_VERSION_KEY = "kumon:units:version"


def get_or_create_contact(
    *, unit: Unit, phone: str, name: str = "", simulated: bool = False
) -> tuple[Contact, bool]:
    """The unit's contact for `phone` (any Brazilian spelling; stored as E.164).

    `simulated`: for the simulator page, which plays its own contacts only: a new one is created
    marked simulated, and a real family's number raises RealFamilyPhone.
    Safe under concurrency: two webhooks for a new number create one row (unique constraint).
    Side effects: fills an empty name.
    """
    e164 = normalize_phone(phone)
    contact = Contact.objects.filter(unit=unit, phone=e164).first()
    created = False
    if contact is None:
        contact = Contact(unit=unit, phone=e164, name=name[:120], simulated=simulated)
        created = insert_unless_conflict(contact, conflict="(unit_id, phone)")
        if not created:  # lost the race: the other request created it
            contact = Contact.objects.get(unit=unit, phone=e164)
    if simulated and not contact.simulated:
        raise RealFamilyPhone("This number belongs to a real family: use another one in the simulator.")
    if name and not contact.name:
        contact.name = name[:120]
        contact.save(update_fields=["name", "updated_at"])
    return contact, created


def units_changed() -> None:
    """Tell every process's unit cache that a unit changed: now, and again after commit (a
    process that reloaded the old row in between caches it under the first version). Connected to
    Unit's post_save/post_delete (kumon/apps.py), so admin edits, services, imports all count.
    Best effort: with Redis down the caches expire by themselves within seconds."""

    def bump() -> None:
        try:
            cache.set(UNITS_VERSION_KEY, uuid.uuid4().hex, None)
        except Exception as exc:  # noqa: BLE001 -- the cache backend's errors
            logger.warning("units version not bumped (%s): caches expire within seconds", type(exc).__name__)

    bump()
    transaction.on_commit(bump)


def rotate_webhook_secret(*, unit: Unit) -> str:
    """A new random webhook secret for the unit; the old one is refused at once in every process.
    Returns the new secret (shown once to the owner, who sets it in the provider).
    Side effects: the unit row; the units' version (units_changed, via post_save)."""
    secret = secrets.token_urlsafe(32)
    Unit.objects.filter(pk=unit.pk).update(webhook_secret=secret)
    unit.webhook_secret = secret
    units_changed()  # .update() sends no post_save
    logger.info("webhook secret of unit %s rotated", unit.pk)
    return secret
