"""Staff are told when a conversation is handed off: a WhatsApp message to the unit's staff phone
(Unit.staff_phone; nothing when it is empty) with the lead summary. The admin badge is
conversations/context_processors.py.

The staff phone is a Contact of the unit marked `is_unit_staff`: reports, the inbox and the idle
release leave it out, and its conversation is kept with staff so the bot never answers it.
"""

from __future__ import annotations

import logging

from django.db import transaction

from conversations import inbox, services, state
from conversations.models import Conversation, Message
from conversations.state import Lead
from kumon.models import Contact, Unit
from kumon.phones import InvalidPhone, mask_phone
from kumon.services import get_or_create_contact

logger = logging.getLogger(__name__)


def lead_lines(lead: Lead) -> list[str]:
    """The family in a few lines, for staff (Portuguese, like the bot's texts to families)."""
    lines = []
    if lead.parent_name:
        lines.append(f"Responsável: {lead.parent_name}")
    for child in lead.children:
        about = [child.name or "criança"]
        if child.age is not None:
            about.append(f"{child.age} anos")
        if child.school_year:
            about.append(child.school_year)
        if child.subjects:
            about.append(", ".join(child.subjects))
        lines.append("Criança: " + " – ".join(about))
    return lines


def lead_summary(conversation: Conversation, *, title: str = "", question: str = "") -> str:
    """The notice for the unit's staff phone: a hand-off (default) or a question the bot could not
    answer (`question`)."""
    contact = conversation.contact
    last = question or (
        conversation.messages.filter(direction=Message.Direction.IN)
        .order_by("-created_at")
        .values_list("body", flat=True)
        .first()
    )
    lines = [title or f"🔔 Atendimento humano solicitado – {conversation.unit.name}"]
    lines.append(f"Telefone: {contact.phone}" + (f" ({contact.name})" if contact.name else ""))
    lines.extend(lead_lines(state.lead_of(conversation)))
    if conversation.handoff_reason and not question:
        lines.append(f"Motivo: {inbox.handoff_reason_label(conversation.handoff_reason)}")
    if last:
        lines.append(f"{'Pergunta' if question else 'Última mensagem'}: {last[:300]}")
    lines.append(
        "Responda pela caixa de entrada do painel."
        if not question
        else "O robô disse que a equipe vai confirmar: responda pela caixa de entrada do painel."
    )
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
    if (
        conversation is None
        or conversation.mode != Conversation.Mode.HUMAN
        or conversation.handoff_at is None
    ):
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
            staff_conversation = services.take_over(
                conversation=staff_conversation, user=None, reason="staff_phone"
            )
        message = services.queue_outbound(
            conversation=staff_conversation, body=lead_summary(conversation), meta=marker
        )
    logger.info("hand-off of conversation %s notified to %s", conversation.pk, mask_phone(contact.phone))
    return message


def notify_question(*, conversation_id: int, message_id: int) -> Message | None:
    """Tell the unit's staff phone about the questions the bot could not answer in the turn that
    answered `message_id` (the parent was told the team will confirm; the bot carries on).

    No-op when the conversation or message is gone, the unit has no staff phone, or it was
    already notified (idempotent per message). Side effects: one outbound message queued.
    """
    conversation = Conversation.objects.select_related("unit", "contact").filter(pk=conversation_id).first()
    message = Message.objects.filter(pk=message_id, conversation_id=conversation_id).first()
    if conversation is None or message is None:
        return None
    questions = [q for q in (message.meta or {}).get("questions_for_staff", []) if isinstance(q, str)]
    if not questions:
        return None
    with transaction.atomic():
        contact = staff_contact(unit=conversation.unit)
        if contact is None:
            return None
        # Marked like a hand-off notice: LGPD erasure finds every copy of the family's words.
        marker = {"handoff_notice": conversation.pk, "question_of": message_id}
        if Message.objects.filter(conversation__contact=contact, meta__contains=marker).exists():
            return None
        staff_conversation = services.open_conversation(contact=contact)
        if staff_conversation.mode == Conversation.Mode.BOT:
            staff_conversation = services.take_over(
                conversation=staff_conversation, user=None, reason="staff_phone"
            )
        body = lead_summary(
            conversation,
            title=f"❓ Pergunta sem resposta – {conversation.unit.name}",
            question=" / ".join(questions),
        )
        notice = services.queue_outbound(conversation=staff_conversation, body=body, meta=marker)
    logger.info(
        "unanswered question of conversation %s notified to %s", conversation.pk, mask_phone(contact.phone)
    )
    return notice
