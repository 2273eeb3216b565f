"""Admin of the tenant core: who sees which units and memberships; another unit's row is 404."""

from __future__ import annotations

import pytest

from conversations.tests.workplace import make_world
from kumon.models import Membership, Unit

pytestmark = pytest.mark.django_db


def listed(client, url: str) -> list:
    return list(client.get(url).context["cl"].result_list)


def test_units_staff_see_their_unit_owner_theirs_superuser_all(client) -> None:
    w = make_world()
    client.force_login(w.staff_a)
    assert listed(client, "/admin/kumon/unit/") == [w.unit_a]
    client.force_login(w.owner)
    assert listed(client, "/admin/kumon/unit/") == [w.unit_a, w.unit_c]
    client.force_login(w.superuser)
    assert listed(client, "/admin/kumon/unit/") == [w.unit_a, w.unit_b, w.unit_c]


def test_unit_of_another_tenant_is_404_and_staff_cannot_change_their_own(client) -> None:
    w = make_world()
    client.force_login(w.staff_a)
    assert client.get(f"/admin/kumon/unit/{w.unit_b.pk}/change/").status_code == 404
    response = client.post(f"/admin/kumon/unit/{w.unit_a.pk}/change/", {"name": "Renamed"})
    assert response.status_code == 403
    assert Unit.objects.get(pk=w.unit_a.pk).name == "Kumon A"


def test_owner_edits_own_unit_but_not_channel_secrets(client) -> None:
    w = make_world()
    client.force_login(w.owner)
    form = client.get(f"/admin/kumon/unit/{w.unit_a.pk}/change/").context["adminform"].form
    assert "webhook_secret" not in form.fields and "name" in form.fields
    assert client.get(f"/admin/kumon/unit/{w.unit_b.pk}/change/").status_code == 404


def test_memberships_visible_to_owners_of_their_units_only(client) -> None:
    w = make_world()
    client.force_login(w.owner)
    rows = listed(client, "/admin/kumon/membership/")
    assert sorted((m.user.username, m.unit.slug) for m in rows) == [
        ("owner-ac", "unit-a"), ("owner-ac", "unit-c"), ("staff-a", "unit-a")]
    client.force_login(w.staff_a)
    assert client.get("/admin/kumon/membership/").status_code == 403
    other = Membership.objects.get(user=w.staff_b)
    client.force_login(w.owner)
    assert client.get(f"/admin/kumon/membership/{other.pk}/change/").status_code == 404


def test_admin_index_lists_only_what_the_member_may_see(client) -> None:
    w = make_world()
    client.force_login(w.staff_a)
    response = client.get("/admin/")
    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert {"Conversation", "Contact", "Unit", "Message"} <= models
    assert "Membership" not in models and "User" not in models
