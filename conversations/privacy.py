"""Family data (LGPD): export everything we hold about a contact, or erase it.

Erasure anonymises rather than deletes: the rows stay so that the unit's statistics (conversations,
visits, response times) do not change, but nothing in them identifies the family any more.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.forms.models import model_to_dict
from django.utils import timezone

from conversations.models import Conversation, Message
from knowledge import services as knowledge_services
from knowledge.models import Chunk, KnowledgeGap, Phrasing, Source
from kumon.models import Contact
from scheduling import services as scheduling_services
from scheduling.models import Appointment

logger = logging.getLogger(__name__)

ERASED_BODY = "[apagado a pedido da família]"
ERASED_QUESTION = "[pergunta apagada a pedido da família: reescreva-a]"
# Message.meta keys that describe our knowledge, not the family: kept after erasure.
KEPT_META = ("sources", "intent")

json_encoder = DjangoJSONEncoder


def _appointments(contact: Contact) -> Any:
    query = Q(contact=contact)
    if contact.phone and contact.erased_at is None:
        query |= Q(unit_id=contact.unit_id, phone=contact.phone)
    return Appointment.objects.filter(query).order_by("start")


def export_contact(*, contact: Contact) -> dict[str, Any]:
    """Everything about the contact as plain data: the contact, its conversations with every
    message, its appointments, the questions of theirs the knowledge could not answer.
    Side effects: a log line (ids only)."""
    conversations = []
    for conversation in Conversation.objects.filter(contact=contact).order_by("created_at"):
        messages = [
            model_to_dict(m, exclude=["unit", "conversation"]) | {"created_at": m.created_at}
            for m in Message.objects.filter(conversation=conversation).order_by("created_at", "pk")
        ]
        conversations.append(
            model_to_dict(conversation, exclude=["unit", "contact"])
            | {
                "created_at": conversation.created_at,
                "last_activity_at": conversation.last_activity_at,
                "messages": messages,
            }
        )
    appointments = [
        model_to_dict(a, exclude=["unit", "contact"]) | {"created_at": a.created_at}
        for a in _appointments(contact)
    ]
    gaps = [
        {"text": g.text, "reason": g.reason, "created_at": g.created_at}
        for g in KnowledgeGap.objects.filter(contact=contact).order_by("created_at")
    ]
    logger.info(
        "contact %s exported (%s conversations, %s appointments)",
        contact.pk,
        len(conversations),
        len(appointments),
    )
    return {
        "contact": model_to_dict(contact, exclude=["unit"])
        | {"unit": contact.unit.slug, "created_at": contact.created_at, "updated_at": contact.updated_at},
        "conversations": conversations,
        "appointments": appointments,
        "unanswered_questions": gaps,
        "exported_at": timezone.now(),
    }


def erase_contact(*, contact: Contact, now: Any = None) -> Contact:
    """Anonymise the contact and everything that identifies the family.

    Side effects, in one transaction: message bodies replaced, raw payloads, provider ids and
    errors cleared, meta reduced to the knowledge sources; conversations closed with their
    collected data cleared; the contact's phone replaced by a token, name and data cleared,
    erased_at set, no more messages sent (opted out); appointments kept with status and times
    but without phone, names and notes (and so in the unit's Google Calendar, re-synced after
    commit); the notices about them sent to the unit's staff phone (hand-off, unanswered
    question) emptied, and not sent if still queued; the knowledge gaps recorded from their
    questions deleted, and the FAQ phrasings made from those words removed (an entry whose
    question is their words gets another phrasing or a placeholder as question; the entries are
    re-indexed after commit); admin history entries of these rows renamed to the token.
    A log line with the ids. Idempotent.
    """
    now = now or timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        appointment_ids = list(_appointments(contact).values_list("pk", flat=True))
        token = contact.phone if contact.erased_at else f"erased-{secrets.token_hex(6)}"
        conversation_ids = list(Conversation.objects.filter(contact=contact).values_list("pk", flat=True))
        for message in Message.objects.filter(conversation_id__in=conversation_ids).only("pk", "meta"):
            kept = {k: v for k, v in (message.meta or {}).items() if k in KEPT_META}
            Message.objects.filter(pk=message.pk).update(
                body=ERASED_BODY, raw=None, meta=kept, provider_id=None, last_error=""
            )
        Conversation.objects.filter(pk__in=conversation_ids).update(
            data={}, mode=Conversation.Mode.CLOSED, closed_at=now, reply_due_at=None, turn_started_at=None
        )
        scheduling_services.erase_family_details(appointment_ids=appointment_ids)
        notices = _erase_staff_notices(conversation_ids=conversation_ids)
        gaps = KnowledgeGap.objects.filter(contact=contact)
        sources = _erase_words_in_knowledge(contact=contact, texts=list(gaps.values_list("text", flat=True)))
        gaps.delete()  # their questions, in their words
        Contact.objects.filter(pk=contact.pk).update(
            phone=token,
            name="",
            data={},
            erased_at=contact.erased_at or now,
            opted_out_at=contact.opted_out_at or now,
            consent_at=None,
            updated_at=now,
        )
        # The admin history names rows by str(row): the family's name or phone.
        for model, ids in (
            (Contact, [contact.pk]),
            (Conversation, conversation_ids),
            (Appointment, appointment_ids),
        ):
            LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(model), object_id__in=[str(i) for i in ids]
            ).update(object_repr=f"{model._meta.model_name} {token}", change_message="")
    logger.info(
        "contact %s erased: %s conversations, %s appointments, %s staff notices anonymised, %s knowledge "
        "entries rewritten",
        contact.pk,
        len(conversation_ids),
        len(appointment_ids),
        notices,
        len(sources),
    )
    contact.refresh_from_db()
    return contact


def _erase_staff_notices(*, conversation_ids: list[int]) -> int:
    """The messages to the unit's staff phone about these conversations (conversations/
    notifications.py marks them `handoff_notice`: the family's phone, name, children, last
    message). Emptied like the family's own; one still queued is not sent at all."""
    notices = Message.objects.filter(
        meta__handoff_notice__in=conversation_ids, direction=Message.Direction.OUT
    )
    notices.filter(status=Message.Status.QUEUED).update(status=Message.Status.SKIPPED)
    return notices.update(body=ERASED_BODY, raw=None, last_error="")


def _erase_words_in_knowledge(*, contact: Contact, texts: list[str]) -> list[int]:
    """FAQ entries staff made from the family's unanswered questions (conversations/gaps.py
    answer_gaps stores each wording as a phrasing, and offers the most asked one as the question):
    the phrasings equal to one of the family's questions are deleted; an entry whose question is
    one of them takes its first remaining phrasing as question, or a placeholder staff rewrite.
    A wording another family (not erased) also asked is not theirs alone and stays.
    The entries' chunks are dropped now and rebuilt after commit. Returns the entries' ids."""
    wordings = {t.strip()[:500] for t in texts if t.strip()}
    also_asked = set(
        KnowledgeGap.objects.filter(unit_id=contact.unit_id, contact__erased_at__isnull=True)
        .exclude(contact=contact)
        .values_list("text", flat=True)
    )
    wordings -= {t.strip()[:500] for t in also_asked}
    if not wordings:
        return []
    in_reach = Source.objects.filter(Q(unit_id=contact.unit_id) | Q(unit__isnull=True))
    phrasings = Phrasing.objects.filter(source__in=in_reach, text__in=wordings)
    source_ids = set(phrasings.values_list("source_id", flat=True))
    phrasings.delete()
    for source in in_reach.filter(question__in=wordings).select_for_update():
        remaining = source.phrasings.order_by("pk").first()
        if remaining is not None:
            source.question = remaining.text
            remaining.delete()
        else:
            source.question = ERASED_QUESTION
        source.save(update_fields=["question", "updated_at"])
        source_ids.add(source.pk)
    Chunk.objects.filter(source_id__in=source_ids).delete()  # the words are in them too, until re-indexing
    for source in Source.objects.filter(pk__in=source_ids):
        knowledge_services.mark_source_changed(source=source)
    return sorted(source_ids)
