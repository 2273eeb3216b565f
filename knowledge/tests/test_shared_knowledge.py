"""Shared (franchise-wide) knowledge is written only by the franchise role (issue 11, C1).

Every path that writes a source: admin add, admin change (and its phrasings inline), the bulk
actions, the gaps page, the API and the import command. A unit's owner and staff read shared
entries and override them for their own unit."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from rest_framework.test import APIClient

from knowledge.models import Source
from knowledge.search import search
from kumon.models import Membership
from kumon.tests.factories import MembershipFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db
ADD = "/admin/knowledge/source/add/"
CHANGELIST = "/admin/knowledge/source/"


def _form(unit: object = "", **fields: str) -> dict[str, str]:
    data = {
        "unit": str(unit),
        "kind": "faq",
        "external_id": fields.get("external_id", "estacionamento"),
        "published": "on",
        "question": fields.get("question", "Tem estacionamento?"),
        "answer": fields.get("answer", "Não, só na rua."),
        "phrasings-TOTAL_FORMS": "0",
        "phrasings-INITIAL_FORMS": "0",
    }
    return data


def _member(unit, role: str):
    user = MembershipFactory(unit=unit, role=role).user
    user.save()
    return user


def _franchise_user():
    group = Group.objects.create(name="Franquia")
    group.permissions.add(Permission.objects.get(codename="franchise_admin"))
    user = UserFactory(username="franquia")
    user.save()
    user.groups.add(group)
    return user


@pytest.mark.parametrize("role", [Membership.Role.STAFF, Membership.Role.OWNER])
def test_admin_add_with_empty_unit_is_refused_for_unit_members(client, role: str) -> None:
    unit = UnitFactory()
    client.force_login(_member(unit, role))

    response = client.post(ADD, _form(unit=""))

    assert response.status_code == 200  # the form again, with the error
    assert response.context["adminform"].form.errors["unit"] == ["Este campo é obrigatório."]
    assert Source.objects.count() == 0


def test_admin_add_for_own_unit_is_allowed_for_staff(client) -> None:
    unit = UnitFactory()
    client.force_login(_member(unit, Membership.Role.STAFF))

    response = client.post(ADD, _form(unit=unit.pk))

    assert response.status_code == 302
    assert list(Source.objects.values_list("unit_id", "external_id")) == [(unit.pk, "estacionamento")]


@pytest.mark.parametrize("role", [Membership.Role.STAFF, Membership.Role.OWNER])
def test_admin_change_of_own_entry_to_empty_unit_is_refused(client, role: str) -> None:
    unit = UnitFactory()
    own = Source.objects.create(
        unit=unit, external_id="estacionamento", question="Tem estacionamento?", answer="Não."
    )
    client.force_login(_member(unit, role))

    response = client.post(f"{CHANGELIST}{own.pk}/change/", _form(unit=""))

    own.refresh_from_db()
    assert response.status_code == 200
    assert "unit" in response.context["adminform"].form.errors
    assert own.unit_id == unit.pk


@pytest.mark.parametrize("role", [Membership.Role.STAFF, Membership.Role.OWNER])
def test_admin_shared_entry_is_read_only_for_unit_members(client, role: str) -> None:
    unit = UnitFactory()
    shared = Source.objects.create(
        unit=None, external_id="estacionamento", question="Tem estacionamento?", answer="Sim."
    )
    client.force_login(_member(unit, role))

    page = client.get(f"{CHANGELIST}{shared.pk}/change/")
    post = client.post(f"{CHANGELIST}{shared.pk}/change/", _form(unit="", answer="Hackeado."))
    delete = client.post(f"{CHANGELIST}{shared.pk}/delete/", {"post": "yes"})

    shared.refresh_from_db()
    assert page.status_code == 200 and 'name="answer"' not in page.content.decode()
    assert (post.status_code, delete.status_code) == (403, 403)
    assert (shared.answer, Source.objects.count()) == ("Sim.", 1)


def test_admin_bulk_delete_of_a_shared_entry_is_refused_for_owners(client) -> None:
    unit = UnitFactory()
    shared = Source.objects.create(
        unit=None, external_id="estacionamento", question="Tem estacionamento?", answer="Sim."
    )
    client.force_login(_member(unit, Membership.Role.OWNER))

    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [shared.pk], "post": "yes"}
    )

    assert response.status_code in (200, 403)
    assert Source.objects.filter(pk=shared.pk).exists()


def test_admin_bulk_reindex_touches_only_the_members_own_entries(client) -> None:
    unit = UnitFactory()
    shared = Source.objects.create(
        unit=None, external_id="a", question="A?", answer="A.", index_status="indexed"
    )
    own = Source.objects.create(
        unit=unit, external_id="b", question="B?", answer="B.", index_status="indexed"
    )
    client.force_login(_member(unit, Membership.Role.STAFF))

    client.post(CHANGELIST, {"action": "reindex", "_selected_action": [shared.pk, own.pk]})

    statuses = dict(Source.objects.values_list("external_id", "index_status"))
    assert statuses == {"a": "indexed", "b": "pending"}


def test_unit_members_override_a_shared_entry_for_their_unit(client, add_faq) -> None:
    unit, other = UnitFactory(), UnitFactory()
    add_faq(None, "estacionamento", answer="Há um estacionamento conveniado na esquina.")
    client.force_login(_member(unit, Membership.Role.STAFF))

    response = client.post(ADD, _form(unit=unit.pk, answer="Aqui não temos estacionamento."))
    from knowledge import services

    services.index_source(source_id=Source.objects.get(unit=unit).pk)

    assert response.status_code == 302
    assert (
        search(unit=unit, query="tem estacionamento?", record_gap=False).hits[0].answer
        == "Aqui não temos estacionamento."
    )
    assert search(unit=other, query="tem estacionamento?", record_gap=False).hits[0].answer == (
        "Há um estacionamento conveniado na esquina."
    )


@pytest.mark.parametrize("who", ["superuser", "franchise"])
def test_franchise_role_writes_shared_entries(client, who: str) -> None:
    if who == "superuser":
        user = UserFactory(is_superuser=True)
        user.save()
    else:
        user = _franchise_user()
    client.force_login(user)

    added = client.post(ADD, _form(unit=""))
    shared = Source.objects.get()
    changed = client.post(f"{CHANGELIST}{shared.pk}/change/", _form(unit="", answer="Agora temos."))

    shared.refresh_from_db()
    assert (added.status_code, changed.status_code) == (302, 302)
    assert (shared.unit_id, shared.answer) == (None, "Agora temos.")


def test_api_has_no_write_path_for_sources() -> None:
    unit = UnitFactory(slug="centro")
    owner = _member(unit, Membership.Role.OWNER)
    api = APIClient()
    api.force_authenticate(owner)
    body = {"unit": None, "question": "Tem estacionamento?", "answer": "Sim."}

    responses = [
        api.post("/api/v1/knowledge/sources/", body, format="json").status_code,
        api.put("/api/v1/knowledge/sources/", body, format="json").status_code,
        api.delete("/api/v1/knowledge/sources/").status_code,
    ]

    assert responses == [405, 405, 405]
    assert Source.objects.count() == 0


def test_import_for_a_unit_never_writes_shared_entries(tmp_path: Path) -> None:
    unit = UnitFactory(slug="centro")
    path = tmp_path / "faq.json"
    path.write_text(
        '[{"id": "estacionamento", "question": "Tem estacionamento?", "answer": "Não."}]', encoding="utf-8"
    )

    call_command("knowledge", "import", str(path), "--unit", "centro")

    assert list(Source.objects.values_list("unit_id", "external_id")) == [(unit.pk, "estacionamento")]
