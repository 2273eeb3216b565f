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

from conversations import privacy
from conversations.models import Conversation, Message
from conversations.tests.factories import ContactFactory, ConversationFactory, MessageFactory
from conversations.tests.workplace import make_world
from knowledge.models import KnowledgeGap
from kumon.models import Contact
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db

PHONE = "+5511987651234"
PARENT, CHILD = "Mariana Albuquerque", "Joaquim"
CONTACTS = "/admin/kumon/contact/"


def family(unit) -> Contact:
    contact = ContactFactory(unit=unit, phone=PHONE, name=PARENT,
                             data={"parent_name": PARENT, "child_name": CHILD, "child_age": 7})
    conversation = ConversationFactory(contact=contact, data={"child_name": CHILD, "phone": PHONE})
    MessageFactory(conversation=conversation, body=f"Oi, sou a {PARENT}, mãe do {CHILD}",
                   raw={"key": {"remoteJid": "5511987651234@s.whatsapp.net"}, "pushName": PARENT})
    MessageFactory(conversation=conversation, direction="out", sender="bot", status="sent", provider_id="wamid.X1",
                   body=f"Olá {PARENT}! Agendei a visita do {CHILD}.", meta={"sources": [{"source_id": 3}]})
    start = timezone.now() + dt.timedelta(days=3)
    Appointment.objects.create(unit=unit, contact=contact, start=start, end=start + dt.timedelta(hours=1),
                               phone=PHONE, parent_name=PARENT, child_name=CHILD, child_age=7,
                               subject="matemática", notes=f"{PARENT} vem com o {CHILD}")
    KnowledgeGap.objects.create(unit=unit, contact=contact, text=f"o {CHILD} pode levar o irmão junto?")
    return contact


def rows_mentioning(needle: str) -> list[str]:
    """Every (model, column) of every table whose text or JSON holds `needle`."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, (models.CharField, models.TextField)):
                qs = model._default_manager.filter(**{f"{field.attname}__icontains": needle})
            elif isinstance(field, models.JSONField):
                qs = model._default_manager.annotate(_t=Cast(field.attname, TextField())).filter(_t__icontains=needle)
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
        f"Oi, sou a {PARENT}, mãe do {CHILD}", f"Olá {PARENT}! Agendei a visita do {CHILD}."]
    assert [(a["child_name"], a["subject"]) for a in data["appointments"]] == [(CHILD, "matemática")]
    assert [g["text"] for g in data["unanswered_questions"]] == [f"o {CHILD} pode levar o irmão junto?"]
    assert LogEntry.objects.filter(object_id=str(contact.pk), change_message="LGPD export").count() == 1


def test_erase_leaves_no_personal_data_in_any_table(client) -> None:
    w = make_world()
    contact = family(w.unit_a)
    keep = family(w.unit_b)  # the same family at another unit is another contact: untouched
    client.force_login(w.staff_a)
    client.post(f"{CONTACTS}{contact.pk}/change/", {"unit": w.unit_a.pk, "phone": PHONE, "name": PARENT,
                                                    "data": json.dumps(contact.data)})  # leaves a LogEntry
    response = client.post(CONTACTS, {"action": "erase_data", "_selected_action": [contact.pk], "confirm": "yes"})
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
    assert Message.objects.filter(conversation__contact=contact).count() == 2  # kept for statistics
    assert Message.objects.get(conversation__contact=contact, sender="bot").meta == {"sources": [{"source_id": 3}]}
    assert LogEntry.objects.filter(object_id=str(contact.pk), change_message="LGPD erasure").count() == 1


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
    response = client.post(f"{CONTACTS}{mine.pk}/change/", {"unit": w.unit_b.pk, "phone": mine.phone, "name": "x",
                                                            "data": "{}"})
    assert response.status_code == 200  # refused: unit B is not a valid choice
    mine.refresh_from_db()
    assert mine.unit_id == w.unit_a.pk
