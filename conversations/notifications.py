"""Staff are told when a conversation is handed off: a WhatsApp message to the unit's staff phone
(Unit.staff_phone; nothing when it is empty) with the lead summary. The admin badge is
kumon/context_processors.py.

The staff phone is a Contact of the unit marked `is_unit_staff`: reports, the inbox and the idle
release leave it out, and its conversation is kept with staff so the bot never answers it.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from conversations import services
from conversations.models import Conversation, Message
from kumon.models import Contact, Unit
from kumon.phones import InvalidPhone, mask_phone
from kumon.services import get_or_create_contact

logger = logging.getLogger(__name__)

LEAD_FIELDS = (
    ("parent_name", "Responsável"),
    ("child_name", "Criança"),
    ("child_age", "Idade"),
    ("school_year", "Ano escolar"),
    ("subject", "Matéria"),
)


def lead_summary(conversation: Conversation) -> str:
    """The hand-off message for the unit's staff phone."""
    contact = conversation.contact
    data = {**(contact.data or {}), **{k: v for k, v in (conversation.data or {}).items() if not k.startswith("_")}}
    last = (
        conversation.messages.filter(direction=Message.Direction.IN).order_by("-created_at").values_list("body", flat=True)
        .first()
    )
    # Texts to the unit's staff are Portuguese, like the bot's texts to families.
    lines = [f"🔔 Atendimento humano solicitado – {conversation.unit.name}"]
    lines.append(f"Telefone: {contact.phone}" + (f" ({contact.name})" if contact.name else ""))
    for key, label in LEAD_FIELDS:
        if data.get(key) not in (None, ""):
            lines.append(f"{label}: {data[key]}")
    if conversation.handoff_reason:
        lines.append(f"Motivo: {conversation.handoff_reason}")
    if last:
        lines.append(f"Última mensagem: {last[:300]}")
    lines.append("Responda pela caixa de entrada do painel.")
    return "\n".join(lines)


def staff_contact(*, unit: Unit) -> Contact | None:
    """The unit's staff phone as a contact marked staff, or None when no phone is set."""
    if not unit.staff_phone:
        return None
    try:
        contact, _created = get_or_create_contact(unit=unit, phone=unit.staff_phone)
    except InvalidPhone:
        logger.warning("unit %s has an invalid staff phone", unit.pk)
        return None
    if not contact.is_unit_staff:
        Contact.objects.filter(pk=contact.pk).update(is_unit_staff=True)
        contact.is_unit_staff = True
    return contact


def notify_handoff(*, conversation_id: int) -> Message | None:
    """Send the lead summary of a handed-off conversation to the unit's staff phone.

    No-op when the conversation is gone, is not with staff any more, the unit has no staff phone,
    or this hand-off was already notified (idempotent per conversation and handoff_at).
    Side effects: the staff contact (marked staff) and its conversation, held with staff so the
    bot never answers it; one outbound message queued for sending.
    """
    conversation = Conversation.objects.select_related("unit", "contact").filter(pk=conversation_id).first()
    if conversation is None or conversation.mode != Conversation.Mode.HUMAN or conversation.handoff_at is None:
        return None
    with transaction.atomic():
        contact = staff_contact(unit=conversation.unit)
        if contact is None:
            return None
        marker = {"handoff_notice": conversation.pk, "handoff_at": conversation.handoff_at.isoformat()}
        if Message.objects.filter(conversation__contact=contact, meta__contains=marker).exists():
            return None
        staff_conversation = services.open_conversation(contact=contact)
        if staff_conversation.mode == Conversation.Mode.BOT:
            staff_conversation = services.take_over(conversation=staff_conversation, user=None, reason="staff_phone")
        message = services.queue_outbound(conversation=staff_conversation, body=lead_summary(conversation), meta=marker)
    logger.info("hand-off of conversation %s notified to %s", conversation.pk, mask_phone(contact.phone))
    return message


@shared_task(name="conversations.notify_handoff", acks_late=True, soft_time_limit=30, time_limit=45)
def notify_handoff_task(*, conversation_id: int) -> int | None:
    """Enqueued after a hand-off commits (conversations.turns). Idempotent."""
    message = notify_handoff(conversation_id=conversation_id)
    return message.pk if message else None
