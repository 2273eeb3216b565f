"""Search API and sources list scoped to the user's units; the admin test-search page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from knowledge.models import KnowledgeGap
from kumon.models import Membership
from kumon.tests.factories import MembershipFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

SEARCH_PATHS = ["/api/v1/embeddings/search", "/api/v1/knowledge/search"]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("path", SEARCH_PATHS)
def test_search_api_answers_staff_of_the_unit(add_faq, path: str) -> None:
    membership = MembershipFactory(unit=UnitFactory(slug="centro"))
    add_faq(membership.unit, "estacionamento")
    add_faq(membership.unit, "horario")

    response = client_for(membership.user).post(
        path, {"unit": "centro", "query": "tem onde parar o carro?", "limit": 1}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["answered"], [h["external_id"] for h in body["hits"]]) == (True, ["estacionamento"])
    assert set(body["hits"][0]) >= {
        "chunk_id",
        "source_id",
        "external_id",
        "question",
        "text",
        "answer",
        "vector_score",
        "text_score",
        "fused_score",
        "confidence",
    }
    assert KnowledgeGap.objects.count() == 0


@pytest.mark.parametrize("path", SEARCH_PATHS)
def test_search_api_outsider_gets_404(add_faq, path: str) -> None:
    add_faq(UnitFactory(slug="centro"), "estacionamento")
    outsider = MembershipFactory(unit=UnitFactory(slug="norte")).user

    response = client_for(outsider).post(path, {"unit": "centro", "query": "estacionamento"}, format="json")

    assert (response.status_code, response.json()) == (
        404,
        {"message": "Unidade não encontrada.", "extra": {"unit": "centro"}},
    )


def test_search_api_anonymous_is_refused() -> None:
    UnitFactory(slug="centro")
    response = APIClient().post(SEARCH_PATHS[1], {"unit": "centro", "query": "x"}, format="json")
    assert response.status_code in (401, 403)


def test_search_api_validates_input() -> None:
    user = MembershipFactory(unit=UnitFactory(slug="centro")).user
    response = client_for(user).post(SEARCH_PATHS[1], {"unit": "centro", "limit": 0}, format="json")
    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"query", "limit"}


def test_sources_list_shows_own_and_shared_never_others(add_faq) -> None:
    unit, other = UnitFactory(slug="centro"), UnitFactory(slug="norte")
    add_faq(unit, "horario")
    add_faq(other, "mensalidade")
    add_faq(None, "estacionamento")
    user = MembershipFactory(unit=unit).user

    own = client_for(user).get("/api/v1/knowledge/sources/?unit=centro").json()
    everything = client_for(user).get("/api/v1/knowledge/sources/").json()
    forbidden = client_for(user).get("/api/v1/knowledge/sources/?unit=norte")

    assert sorted(r["external_id"] for r in own["results"]) == ["estacionamento", "horario"]
    assert sorted(r["external_id"] for r in everything["results"]) == ["estacionamento", "horario"]
    assert forbidden.status_code == 404


def test_sources_list_query_count_does_not_grow(add_faq) -> None:
    unit = UnitFactory(slug="centro")
    user = MembershipFactory(unit=unit).user
    add_faq(unit, "horario")
    fresh = type(user).objects.get  # a new user object per request: no per-object membership cache
    with CaptureQueriesContext(connection) as one:
        client_for(fresh(pk=user.pk)).get("/api/v1/knowledge/sources/?unit=centro")
    add_faq(unit, "mensalidade")
    add_faq(unit, "idade")
    with CaptureQueriesContext(connection) as three:
        client_for(fresh(pk=user.pk)).get("/api/v1/knowledge/sources/?unit=centro")
    assert len(three) == len(one)


def test_admin_test_search_shows_ranked_scores(add_faq, client) -> None:
    unit = UnitFactory(slug="centro", name="Centro")
    add_faq(unit, "estacionamento")
    add_faq(unit, "horario")
    user = UserFactory(is_superuser=True)
    user.save()  # the factory sets the password without saving; the session checks its hash
    client.force_login(user)

    response = client.get(
        "/admin/knowledge/source/test-search/", {"unit": unit.pk, "query": "tem estacionamento?", "limit": 5}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="test-search-results"' in html
    assert html.index("Tem estacionamento?") < html.index("Qual o horário de funcionamento?")


def test_admin_shared_source_is_read_only_for_staff(add_faq, client) -> None:
    shared = add_faq(None, "estacionamento")
    own = add_faq(UnitFactory(), "horario")
    user = MembershipFactory(unit=own.unit, role=Membership.Role.STAFF).user
    user.is_staff = True
    user.save()
    from django.contrib.auth.models import Permission

    user.user_permissions.set(Permission.objects.filter(content_type__app_label="knowledge"))
    client.force_login(user)

    changelist = client.get("/admin/knowledge/source/").content.decode()
    shared_page = client.get(f"/admin/knowledge/source/{shared.pk}/change/")
    post = client.post(f"/admin/knowledge/source/{shared.pk}/change/", {"question": "hack"})

    assert "Tem estacionamento?" in changelist and "Qual o horário" in changelist
    assert shared_page.status_code == 200 and 'name="question"' not in shared_page.content.decode()
    assert post.status_code == 403


def test_admin_test_search_names_a_refusal_and_a_match_in_portuguese(add_faq, client) -> None:
    unit = UnitFactory(slug="centro", name="Centro")
    add_faq(unit, "estacionamento")
    user = UserFactory(is_superuser=True)
    user.save()
    client.force_login(user)

    refused = client.get(
        "/admin/knowledge/source/test-search/",
        {"unit": unit.pk, "query": "quanto custa na unidade de Moema?", "limit": 3},
        HTTP_ACCEPT_LANGUAGE="pt-br",
    ).content.decode()
    answered = client.get(
        "/admin/knowledge/source/test-search/",
        {"unit": unit.pk, "query": "tem estacionamento?", "limit": 3},
        HTTP_ACCEPT_LANGUAGE="pt-br",
    ).content.decode()

    assert "(cita outra unidade)" in refused and "other_unit" not in refused
    assert any(
        f"<td>{label}: " in answered for label in ("pergunta", "variação", "entrada", "tema do catálogo")
    )
    assert not any(
        f"<td>{code}: " in answered for code in ("question", "phrasing", "entry", "topic", "chunk")
    )
