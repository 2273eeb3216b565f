"""Every admin changelist of the product, opened by a staff member of unit A while unit B has
rows everywhere: 200, and nothing of unit B on the page (rows, filters, choices)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from conversations.tests.factories import MessageFactory
from knowledge.models import Source
from kumon.models import Membership
from kumon.tenancy import UnitScopedAdmin
from kumon.tests.factories import MembershipFactory, UnitFactory
from scheduling.models import Closure, OpeningHours
from scheduling.tests.factories import AppointmentFactory

SCOPED = sorted(
    (
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, UnitScopedAdmin)
    )
)


@pytest.fixture
def staff_of_a(client):
    unit_b = UnitFactory(name="Unidade Secreta B", slug="secreta-b")
    message = MessageFactory(
        unit=unit_b, conversation__contact__unit=unit_b, conversation__unit=unit_b, body="segredo de B"
    )
    AppointmentFactory(unit=unit_b, contact=message.conversation.contact)
    Source.objects.create(unit=unit_b, external_id="b-faq", question="Pergunta B", answer="Resposta B")
    OpeningHours.objects.create(unit=unit_b, weekday=0, start=dt.time(8), end=dt.time(12))
    Closure.objects.create(
        unit=unit_b, start_date=timezone.localdate(), end_date=timezone.localdate(), reason="Férias B"
    )
    membership = MembershipFactory(role=Membership.Role.STAFF, unit__name="Unidade A")
    client.force_login(membership.user)
    return client


def test_every_unit_scoped_admin_is_covered() -> None:
    assert {
        "conversations.Conversation",
        "conversations.Message",
        "kumon.Contact",
        "kumon.Unit",
        "knowledge.Source",
        "scheduling.Appointment",
        "scheduling.OpeningHours",
        "scheduling.Closure",
    } <= set(SCOPED)


@pytest.mark.django_db
@pytest.mark.parametrize("label", SCOPED)
def test_staff_of_unit_a_sees_nothing_of_unit_b(staff_of_a, label: str) -> None:
    app_label, model_name = label.lower().split(".")
    response = staff_of_a.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
    assert response.status_code in (200, 403)
    content = response.content.decode()
    for secret in ("Unidade Secreta B", "secreta-b", "segredo de B", "Pergunta B", "Férias B"):
        assert secret not in content, f"{label} changelist shows {secret!r}"


@pytest.mark.django_db
def test_member_of_two_units_cannot_point_a_row_of_one_at_a_row_of_the_other(rf) -> None:
    from conversations.models import Conversation
    from conversations.tests.factories import ContactFactory
    from kumon.tests.factories import UserFactory

    user = UserFactory()
    unit_a = MembershipFactory(user=user, role=Membership.Role.OWNER).unit
    unit_b = MembershipFactory(user=user, role=Membership.Role.OWNER).unit
    request = rf.get("/")
    request.user = user
    model_admin = UnitScopedAdmin(Conversation, admin.site)
    Form = model_admin.get_form(request, fields=["unit", "contact", "mode", "stage"])
    form = Form(
        data={"unit": unit_a.pk, "contact": ContactFactory(unit=unit_b).pk, "mode": "bot", "stage": "new"}
    )
    assert form.errors == {"contact": ["Isto pertence a outra unidade."]}
    ok = Form(
        data={"unit": unit_a.pk, "contact": ContactFactory(unit=unit_a).pk, "mode": "bot", "stage": "new"}
    )
    assert ok.errors == {}
