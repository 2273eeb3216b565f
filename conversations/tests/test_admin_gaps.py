"""Knowledge gaps page: grouped by similar wording, scoped, one-click answer creates an FAQ entry."""

from __future__ import annotations

import pytest

from conversations import gaps
from conversations.tests.workplace import make_world
from knowledge.models import KnowledgeGap, Source

pytestmark = pytest.mark.django_db
GAPS = "/admin/conversations/conversation/gaps/"
ANSWER = "/admin/conversations/conversation/gaps/answer/"


def gap(unit, text: str) -> KnowledgeGap:
    return KnowledgeGap.objects.create(unit=unit, text=text)


def test_gaps_grouped_by_similar_wording_most_asked_first() -> None:
    w = make_world()
    p1 = gap(w.unit_a, "Tem estacionamento?")
    p2 = gap(w.unit_a, "vcs tem estacionamento")
    p3 = gap(w.unit_a, "oi, tem estacionamento?")
    other = gap(w.unit_a, "Aceitam pix?")
    gap(w.unit_b, "Tem estacionamento?")
    groups = gaps.gap_groups(user=w.staff_a)
    assert [sorted(g.pk for g in group.gaps) for group in groups] == [
        sorted([p1.pk, p2.pk, p3.pk]),
        [other.pk],
    ]
    assert [group.unit for group in groups] == [w.unit_a, w.unit_a]


def test_gaps_page_staff_sees_only_their_unit(client) -> None:
    w = make_world()
    gap(w.unit_a, "Tem estacionamento?")
    gap(w.unit_b, "Aceitam cartão de crédito?")
    client.force_login(w.staff_a)
    html = client.get(GAPS).content.decode()
    assert "Tem estacionamento?" in html and "cartão" not in html


def test_answer_this_creates_a_unit_faq_with_every_wording_and_the_group_leaves(client) -> None:
    w = make_world()
    g1 = gap(w.unit_a, "Tem estacionamento?")
    g2 = gap(w.unit_a, "vcs tem estacionamento")
    client.force_login(w.staff_a)
    response = client.post(
        ANSWER,
        {"gap_ids": f"{g1.pk},{g2.pk}", "question": "Tem estacionamento?", "answer": "Sim, na rua de trás."},
    )
    assert response.status_code == 302
    source = Source.objects.get(external_id=f"gap-{g1.pk}")
    assert (source.unit, source.question, source.answer, source.index_status) == (
        w.unit_a,
        "Tem estacionamento?",
        "Sim, na rua de trás.",
        Source.IndexStatus.PENDING,
    )
    assert list(source.phrasings.values_list("text", flat=True)) == ["vcs tem estacionamento"]
    assert gaps.gap_groups(user=w.staff_a) == []


def test_staff_and_owner_cannot_share_only_the_franchise_can(client) -> None:
    w = make_world()
    g = gap(w.unit_a, "Tem material em inglês?")
    post = {"gap_ids": str(g.pk), "question": "Tem material em inglês?", "answer": "Sim.", "shared": "1"}
    for user in (w.staff_a, w.owner):
        client.force_login(user)
        assert 'name="shared"' not in client.get(GAPS).content.decode()
        client.post(ANSWER, post)
    assert Source.objects.filter(unit__isnull=True).count() == 0
    client.force_login(w.superuser)
    assert 'name="shared"' in client.get(GAPS).content.decode()
    client.post(ANSWER, post)
    assert list(Source.objects.filter(unit__isnull=True).values_list("external_id", flat=True)) == [
        f"gap-{g.pk}"
    ]


def test_answering_another_units_gap_is_404_and_creates_nothing(client) -> None:
    w = make_world()
    other = gap(w.unit_b, "Tem estacionamento?")
    client.force_login(w.staff_a)
    response = client.post(ANSWER, {"gap_ids": str(other.pk), "question": "Tem?", "answer": "Sim."})
    assert response.status_code == 404
    assert Source.objects.count() == 0
