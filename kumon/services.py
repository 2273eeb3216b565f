"""Writes of the tenant core."""

from __future__ import annotations

from kumon.db import insert_unless_conflict
from kumon.exceptions import RealFamilyPhone
from kumon.models import Contact, Unit
from kumon.phones import normalize_phone


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
