"""LGPD: export everything about a family, erase it leaving no personal data in any table."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.db import models
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from conversations import gaps, notifications, privacy
from conversations.models import Conversation, Message
from conversations.tests.factories import ContactFactory, ConversationFactory, MessageFactory
from conversations.tests.workplace import make_world
from knowledge import services as knowledge_services
from knowledge.models import Chunk, KnowledgeGap, Phrasing, Source
from kumon.models import Contact
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db

PHONE = "+5511987651234"
PARENT, CHILD = "Mariana Albuquerque", "Joaquim"
CONTACTS = "/admin/kumon/contact/"


def family(unit) -> Contact:
    contact = ContactFactory(
        unit=unit, phone=PHONE, name=PARENT, data={"parent_name": PARENT, "child_name": CHILD, "child_age": 7}
    )
    conversation = ConversationFactory(contact=contact, data={"child_name": CHILD, "phone": PHONE})
    MessageFactory(
        conversation=conversation,
        body=f"Oi, sou a {PARENT}, mãe do {CHILD}",
        raw={"key": {"remoteJid": "5511987651234@s.whatsapp.net"}, "pushName": PARENT},
    )
    MessageFactory(
        conversation=conversation,
        direction="out",
        sender="bot",
        status="sent",
        provider_id="wamid.X1",
        body=f"Olá {PARENT}! Agendei a visita do {CHILD}.",
        meta={"sources": [{"source_id": 3}]},
    )
    start = timezone.now() + dt.timedelta(days=3)
    Appointment.objects.create(
        unit=unit,
        contact=contact,
        start=start,
        end=start + dt.timedelta(hours=1),
        phone=PHONE,
        parent_name=PARENT,
        child_name=CHILD,
        child_age=7,
        subject="matemática",
        notes=f"{PARENT} vem com o {CHILD}",
    )
    KnowledgeGap.objects.create(unit=unit, contact=contact, text=f"o {CHILD} pode levar o irmão junto?")
    return contact


STAFF_PHONE = "+5511955550000"
SIBLING_QUESTION = f"o {CHILD} pode levar o irmão junto?"
MATERIAL_QUESTION = f"a Mariana precisa comprar o material do {CHILD}?"


def staff_copies(w, contact: Contact) -> tuple[list[Message], list[Source]]:
    """What staff made of the family's words: the notices sent to the unit's staff phone (a
    hand-off still queued, an unanswered question sent) and two FAQ entries made from their gaps
    on the gaps page (one keeps the parent's wording as a phrasing, one as its question)."""
    unit = w.unit_a
    unit.staff_phone = STAFF_PHONE
    unit.save(update_fields=["staff_phone"])
    conversation = Conversation.objects.get(contact=contact)
    Conversation.objects.filter(pk=conversation.pk).update(
        mode=Conversation.Mode.HUMAN, handoff_at=timezone.now(), handoff_reason="asked_for_person"
    )
    handoff = notifications.notify_handoff(conversation_id=conversation.pk)
    asked = MessageFactory(
        conversation=conversation,
        direction="out",
        sender="bot",
        status="sent",
        body="Vou confirmar com a equipe.",
        meta={"questions_for_staff": [SIBLING_QUESTION]},
    )
    question = notifications.notify_question(conversation_id=conversation.pk, message_id=asked.pk)
    Message.objects.filter(pk=question.pk).update(status=Message.Status.SENT, provider_id="wamid.NOTICE")
    sibling_gap = KnowledgeGap.objects.get(contact=contact)
    material_gap = KnowledgeGap.objects.create(unit=unit, contact=contact, text=MATERIAL_QUESTION)
    siblings = gaps.answer_gaps(
        user=w.staff_a,
        gap_ids=[sibling_gap.pk],
        question="Irmãos podem vir à visita?",
        answer="Sim, irmãos são bem-vindos na visita.",
    )
    material = gaps.answer_gaps(
        user=w.staff_a,
        gap_ids=[material_gap.pk],
        question=MATERIAL_QUESTION,
        answer="O material está incluído na mensalidade.",
    )
    for source in (siblings, material):
        knowledge_services.index_source(source_id=source.pk)
    return [handoff, question], [siblings, material]


def rows_mentioning(needle: str) -> list[str]:
    """Every (model, column) of every table whose text or JSON holds `needle`."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, (models.CharField, models.TextField)):
                qs = model._default_manager.filter(**{f"{field.attname}__icontains": needle})
            elif isinstance(field, models.JSONField):
                qs = model._default_manager.annotate(_t=Cast(field.attname, TextField())).filter(
                    _t__icontains=needle
                )
            else:
                continue
            if qs.exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


def test_export_contains_the_contact_conversations_messages_and_appointments(client) -> None:
    w = make_world()
    contact = family(w.unit_a)
    client.force_login(w.staff_a)
    response = client.post(CONTACTS, {"action": "export_data", "_selected_action": [contact.pk]})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="contact-{contact.pk}.json"'
    data = json.loads(response.content)
    assert (data["contact"]["phone"], data["contact"]["name"]) == (PHONE, PARENT)
    assert data["contact"]["data"]["child_name"] == CHILD
    assert [m["body"] for m in data["conversations"][0]["messages"]] == [
        f"Oi, sou a {PARENT}, mãe do {CHILD}",
        f"Olá {PARENT}! Agendei a visita do {CHILD}.",
    ]
    assert [(a["child_name"], a["subject"]) for a in data["appointments"]] == [(CHILD, "matemática")]
    assert [g["text"] for g in data["unanswered_questions"]] == [f"o {CHILD} pode levar o irmão junto?"]
    assert LogEntry.objects.filter(object_id=str(contact.pk), change_message="LGPD export").count() == 1


def test_erase_leaves_no_personal_data_in_any_table(client) -> None:
    w = make_world()
    contact = family(w.unit_a)
    (handoff, question), (siblings, material) = staff_copies(w, contact)
    keep = family(w.unit_b)  # the same family at another unit is another contact: untouched
    # Before: the staff copies hold the family's phone and words.
    assert [(PHONE in m.body, CHILD in m.body) for m in (handoff, question)] == [(True, True), (True, True)]
    assert sorted(r for r in rows_mentioning(CHILD) if r.startswith("knowledge.")) == [
        "knowledge.Chunk.text",
        "knowledge.KnowledgeGap.text",
        "knowledge.Phrasing.text",
        "knowledge.Source.question",
    ]
    client.force_login(w.staff_a)
    client.post(
        f"{CONTACTS}{contact.pk}/change/",
        {"unit": w.unit_a.pk, "phone": PHONE, "name": PARENT, "data": json.dumps(contact.data)},
    )  # leaves a LogEntry
    response = client.post(
        CONTACTS, {"action": "erase_data", "_selected_action": [contact.pk], "confirm": "yes"}
    )
    assert response.status_code == 302
    Appointment.objects.filter(unit=w.unit_b).delete()  # only the erased family's rows must be clean
    Contact.objects.filter(pk=keep.pk).delete()
    assert rows_mentioning("987651234") == []
    assert rows_mentioning("Mariana") == []
    assert rows_mentioning("Albuquerque") == []
    assert rows_mentioning(CHILD) == []
    contact.refresh_from_db()
    assert contact.erased_at is not None and contact.phone.startswith("erased-") and contact.name == ""
    appointment = Appointment.objects.get(contact=contact)
    assert (appointment.child_age, appointment.subject, appointment.status) == (7, "matemática", "booked")
    assert Message.objects.filter(conversation__contact=contact).count() == 3  # kept for statistics
    # Knowledge sources kept; the question handed to staff (their words) gone.
    assert [
        m.meta for m in Message.objects.filter(conversation__contact=contact, sender="bot").order_by("pk")
    ] == [{"sources": [{"source_id": 3}]}, {}]
    assert LogEntry.objects.filter(object_id=str(contact.pk), change_message="LGPD erasure").count() == 1
    # The staff phone's notices: emptied; the one still queued is never sent.
    notices = {m.pk: m for m in Message.objects.filter(pk__in=[handoff.pk, question.pk])}
    assert [(notices[m.pk].body, notices[m.pk].status, notices[m.pk].raw) for m in (handoff, question)] == [
        (privacy.ERASED_BODY, "skipped", None),
        (privacy.ERASED_BODY, "sent", None),
    ]
    assert (
        notices[handoff.pk].meta["handoff_notice"] == notices[question.pk].meta["handoff_notice"]
    )  # ids only
    # The FAQ entries keep staff's question and answer; the parent's wording is gone, and their
    # chunks are rebuilt after commit.
    entries = {s.pk: s for s in Source.objects.filter(pk__in=[siblings.pk, material.pk])}
    assert [
        (entries[s.pk].question, entries[s.pk].answer, entries[s.pk].index_status)
        for s in (siblings, material)
    ] == [
        ("Irmãos podem vir à visita?", "Sim, irmãos são bem-vindos na visita.", "pending"),
        (privacy.ERASED_QUESTION, "O material está incluído na mensalidade.", "pending"),
    ]
    assert Phrasing.objects.filter(source__in=[siblings, material]).count() == 0
    assert Chunk.objects.filter(source__in=[siblings, material]).count() == 0


def test_erase_keeps_a_phrasing_another_family_also_asked_and_promotes_a_phrasing_to_question() -> None:
    w = make_world()
    contact = family(w.unit_a)
    other = ContactFactory(unit=w.unit_a, phone="+5511911112222")
    theirs = KnowledgeGap.objects.get(contact=contact)
    common = KnowledgeGap.objects.create(unit=w.unit_a, contact=contact, text="qto custa?")
    KnowledgeGap.objects.create(unit=w.unit_a, contact=other, text="qto custa?")
    source = gaps.answer_gaps(
        user=w.staff_a,
        gap_ids=[theirs.pk, common.pk],
        question=SIBLING_QUESTION,
        answer="Sim, irmãos são bem-vindos.",
    )
    Phrasing.objects.create(source=source, text="posso levar meu outro filho?")
    assert list(source.phrasings.order_by("pk").values_list("text", flat=True)) == [
        "qto custa?",
        "posso levar meu outro filho?",
    ]

    privacy.erase_contact(contact=contact)

    source.refresh_from_db()
    # "qto custa?" is also the other family's: kept, and being the first phrasing it becomes
    # the question in place of the erased family's words.
    assert (source.question, list(source.phrasings.values_list("text", flat=True))) == (
        "qto custa?",
        ["posso levar meu outro filho?"],
    )
    assert list(KnowledgeGap.objects.values_list("contact_id", "text")) == [(other.pk, "qto custa?")]


def test_erase_asks_for_confirmation_first(client) -> None:
    w = make_world()
    contact = family(w.unit_a)
    client.force_login(w.staff_a)
    response = client.post(CONTACTS, {"action": "erase_data", "_selected_action": [contact.pk]})
    assert response.status_code == 200 and "confirm" in response.content.decode()
    contact.refresh_from_db()
    assert contact.erased_at is None and contact.phone == PHONE


def test_erase_is_idempotent() -> None:
    w = make_world()
    contact = family(w.unit_a)
    first = privacy.erase_contact(contact=contact)
    second = privacy.erase_contact(contact=first)
    assert (second.phone, second.erased_at) == (first.phone, first.erased_at)
    assert Conversation.objects.get(contact=contact).mode == Conversation.Mode.CLOSED


def test_staff_cannot_export_or_erase_another_units_family(client) -> None:
    w = make_world()
    other = family(w.unit_b)
    client.force_login(w.staff_a)
    response = client.post(CONTACTS, {"action": "export_data", "_selected_action": [other.pk]})
    assert response.status_code == 302  # nothing selected within the user's units: back to the list
    client.post(CONTACTS, {"action": "erase_data", "_selected_action": [other.pk], "confirm": "yes"})
    other.refresh_from_db()
    assert (other.phone, other.erased_at) == (PHONE, None)
    assert client.get(f"{CONTACTS}{other.pk}/change/").status_code == 404


def test_contact_admin_lists_only_own_units_and_scopes_unit_choices(client) -> None:
    w = make_world()
    mine = ContactFactory(unit=w.unit_a)
    ContactFactory(unit=w.unit_b)
    client.force_login(w.staff_a)
    response = client.get(CONTACTS)
    assert [c.pk for c in response.context["cl"].result_list] == [mine.pk]
    form = client.get(f"{CONTACTS}{mine.pk}/change/").context["adminform"].form
    assert list(form.fields["unit"].queryset) == [w.unit_a]
    response = client.post(
        f"{CONTACTS}{mine.pk}/change/", {"unit": w.unit_b.pk, "phone": mine.phone, "name": "x", "data": "{}"}
    )
    assert response.status_code == 200  # refused: unit B is not a valid choice
    mine.refresh_from_db()
    assert mine.unit_id == w.unit_a.pk
