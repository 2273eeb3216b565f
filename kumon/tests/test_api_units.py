"""Units and contacts API: each user sees exactly their units' rows."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from conversations.tests.factories import ContactFactory
from conversations.tests.workplace import make_world

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_units_staff_sees_theirs_owner_theirs_superuser_all() -> None:
    w = make_world()
    assert [u["slug"] for u in api(w.staff_a).get("/api/v1/units/").json()["results"]] == ["unit-a"]
    assert [u["slug"] for u in api(w.owner).get("/api/v1/units/").json()["results"]] == ["unit-a", "unit-c"]
    assert [u["slug"] for u in api(w.superuser).get("/api/v1/units/").json()["results"]] == [
        "unit-a",
        "unit-b",
        "unit-c",
    ]
    assert api(w.staff_a).get("/api/v1/units/unit-b/").status_code == 404
    assert api(w.staff_a).get("/api/v1/units/unit-a/").json()["name"] == "Kumon A"


def test_contacts_scoped_filtered_and_other_units_404() -> None:
    w = make_world()
    mine = ContactFactory(unit=w.unit_a, phone="+5511911110000")
    ContactFactory(unit=w.unit_a, phone="+5511922220000", is_unit_staff=True)  # the staff phone: hidden
    other = ContactFactory(unit=w.unit_b)
    client = api(w.staff_a)
    assert [c["id"] for c in client.get("/api/v1/contacts/").json()["results"]] == [mine.pk]
    assert client.get("/api/v1/contacts/?phone=1111").json()["count"] == 1
    assert client.get("/api/v1/contacts/?phone=9999").json()["count"] == 0
    assert client.get(f"/api/v1/contacts/{other.pk}/").status_code == 404
    assert client.get(f"/api/v1/contacts/{mine.pk}/").json()["unit"] == "unit-a"
