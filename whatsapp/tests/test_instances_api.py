"""GET /api/v1/evolution/instances: scoped to the user's units, state from Evolution, cached."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from kumon.tests.factories import MembershipFactory, UnitFactory, UserFactory
from whatsapp.tests.fakes import FakeEvolution, Reply

URL = "/api/v1/evolution/instances"


def member(unit: Any, role: str = "staff", user: Any = None) -> Any:
    membership = MembershipFactory(unit=unit, role=role, **({"user": user} if user else {}))
    membership.user.save()  # the factory sets the password without saving: force_login needs it stored
    return membership.user


@pytest.fixture
def two_units(db: Any) -> tuple[Any, Any]:
    a = UnitFactory(slug="vila-mariana", name="Kumon Vila Mariana", evolution_instance="kumon-vila-mariana")
    b = UnitFactory(slug="moema", name="Kumon Moema", evolution_instance="kumon-moema")
    return a, b


@pytest.mark.django_db
def test_staff_of_unit_a_sees_only_unit_a(
    client: Client, two_units: Any, fake_evolution: FakeEvolution
) -> None:
    a, b = two_units
    fake_evolution.states.update({"kumon-vila-mariana": "open", "kumon-moema": "close"})
    staff_a = member(a)
    client.force_login(staff_a)
    response = client.get(URL)
    assert response.status_code == 200, response.content
    rows = response.json()
    assert [(r["unit"], r["instance"], r["state"], r["error"]) for r in rows] == [
        ("vila-mariana", "kumon-vila-mariana", "open", "")
    ]
    assert [r.path for r in fake_evolution.requests] == ["/instance/connectionState/kumon-vila-mariana"]


@pytest.mark.django_db
def test_outsider_staff_of_unit_b_cannot_see_unit_a(
    client: Client, two_units: Any, fake_evolution: FakeEvolution
) -> None:
    a, b = two_units
    fake_evolution.states.update({"kumon-vila-mariana": "open", "kumon-moema": "close"})
    outsider = member(b)
    token = Token.objects.create(user=outsider)
    response = client.get(URL, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert [(r["unit"], r["state"]) for r in response.json()] == [("moema", "close")]


@pytest.mark.django_db
def test_user_without_units_sees_nothing_and_anonymous_is_refused(
    client: Client, two_units: Any, fake_evolution: FakeEvolution
) -> None:
    assert client.get(URL).status_code in (401, 403)
    user = UserFactory()
    user.save()
    client.force_login(user)
    assert client.get(URL).json() == []
    assert fake_evolution.requests == []


@pytest.mark.django_db
def test_state_is_cached_and_errors_are_reported(
    client: Client, two_units: Any, fake_evolution: FakeEvolution
) -> None:
    a, b = two_units
    owner = member(a, "owner")
    member(b, "owner", owner)
    fake_evolution.states.update({"kumon-vila-mariana": "open"})  # kumon-moema unknown to Evolution: 404
    client.force_login(owner)
    first = client.get(URL).json()
    second = client.get(URL).json()
    assert [(r["unit"], r["state"]) for r in first] == [("moema", "unknown"), ("vila-mariana", "open")]
    assert first[0]["error"] == 'HTTP 404: ["The \\"kumon-moema\\" instance does not exist"]'
    # open is cached; the failed lookup is asked again
    assert [r.path for r in fake_evolution.requests] == [
        "/instance/connectionState/kumon-moema",
        "/instance/connectionState/kumon-vila-mariana",
        "/instance/connectionState/kumon-moema",
    ]
    assert [(r["unit"], r["state"]) for r in second] == [("moema", "unknown"), ("vila-mariana", "open")]


@pytest.mark.django_db
def test_evolution_down_is_reported_not_raised(
    client: Client, two_units: Any, fake_evolution: FakeEvolution
) -> None:
    a, _ = two_units
    fake_evolution.script(Reply.server_error("Timed Out"))
    client.force_login(member(a))
    (row,) = client.get(URL).json()
    assert (row["state"], row["error"]) == ("unknown", 'HTTP 500: "Timed Out"')


@pytest.mark.django_db
def test_every_channel_endpoint_is_in_the_openapi_schema(client: Client) -> None:
    admin = UserFactory(is_superuser=True)
    admin.save()
    client.force_login(admin)
    schema = client.get("/openapi.json")
    paths = schema.json()["paths"] if schema["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml  # drf-spectacular answers YAML unless JSON is asked for

        paths = yaml.safe_load(schema.content)["paths"]
    assert {
        "/api/v1/evolution/webhook",
        "/api/v1/evolution/webhook/{event}",
        "/api/v1/evolution/instances",
        "/api/v1/meta/webhook",
    } <= set(paths)
    assert set(paths["/api/v1/meta/webhook"]) == {"get", "post"}
