"""knowledge/training.py: the cases `knowledge fit` makes besides a dev set's."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from knowledge import decision, topics
from knowledge.embeddings import get_embedder
from knowledge.evaluation import EvalCase
from knowledge.search import analyse
from knowledge.training import Entry, catalogue_cases, dropped, relabel, training_sets
from kumon.tests.factories import UnitFactory

pytestmark = pytest.mark.django_db


def test_dropped_drops_every_third_entry() -> None:
    entries = [Entry(id=str(n), question=f"q{n}", answer=f"a{n}") for n in range(1, 8)]

    kept, gone = dropped(entries)

    assert ([e.id for e in kept], gone) == (["1", "2", "4", "5", "7"], {"3", "6"})


def test_relabel_makes_a_dropped_entrys_messages_refusals() -> None:
    cases = [EvalCase("a", "1"), EvalCase("b", "3"), EvalCase("c", None)]

    out = relabel(cases, {"3"}, source="x")

    assert [(c.q, c.faq_id, c.source) for c in out] == [("a", "1", "x"), ("b", None, "x"), ("c", None, "x")]


def test_a_catalogue_phrasing_left_out_does_not_meet_itself() -> None:
    embedder = get_embedder()
    index = topics.index_for(embedder)
    topic = topics.by_slug()["mensalidade"]
    text = topic.phrasings[0]
    unit = UnitFactory()

    with_itself = analyse(unit=unit, query=text, embedder=embedder)
    left_out = analyse(unit=unit, query=text, embedder=embedder, leave_out=index.rows_of(text))

    assert index.rows_of(text) != frozenset()
    assert with_itself.topic_scores.best_of("mensalidade") == pytest.approx(1.0, abs=1e-3)
    assert left_out.topic_scores.best_of("mensalidade") < 0.999


def test_catalogue_cases_label_linked_topics_and_refuse_the_rest(add_faq) -> None:
    source = add_faq(
        UnitFactory(), "preco", question="Qual o valor da mensalidade?", answer="R$ 400 por mês."
    )
    assert source.topic == "mensalidade"

    cases = catalogue_cases(source.unit, source="catalogue")

    by_label = {c.faq_id for c in cases if c.q in topics.by_slug()[source.topic].phrasings}
    assert by_label == {"preco"}
    assert {c.faq_id for c in cases if c.q in topics.by_slug()["saude"].phrasings} == {None}
    assert all(c.leave_out for c in cases)


def test_training_sets_rejects_an_unknown_source() -> None:
    with pytest.raises(ValueError, match="unknown training sources: nope"):
        training_sets(dev_unit=UnitFactory(), dev_entries=[], dev_cases=[], sources=("nope",))


def test_fit_command_writes_every_coefficient_and_its_cases(add_faq, tmp_path) -> None:
    unit = UnitFactory(slug="fitting")
    add_faq(unit, "mensalidade", question="Qual o valor da mensalidade?", answer="R$ 400 por mês.")
    add_faq(unit, "horario", question="Qual o horário?", answer="De segunda a sexta, das 8h às 19h.")
    cases = tmp_path / "cases.jsonl"
    lines = [
        {"q": "qto custa por mes?", "faq_id": "mensalidade"},
        {"q": "vcs abrem que horas?", "faq_id": "horario"},
        {"q": "qual o preço?", "faq_id": "mensalidade"},
        {"q": "quem ganhou o jogo ontem?"},
    ]
    cases.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    out = tmp_path / "decision.json"

    call_command(
        "knowledge",
        "fit",
        str(cases),
        "--unit",
        "fitting",
        "--part",
        "all",
        "--sources",
        "",
        "--out",
        str(out),
    )

    data = json.loads(out.read_text(encoding="utf-8"))
    assert (set(data["rank"]), set(data["decision"]), data["cases"]) == (
        set(decision.RANK_FEATURES),
        set(decision.DECISION_FEATURES),
        {"dev": 4},
    )
    assert 0.05 <= data["answer_threshold"] <= 0.95


def test_fit_command_needs_the_faq_to_drop_entries(tmp_path) -> None:
    UnitFactory(slug="fitting")
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"q": "oi"}\n', encoding="utf-8")

    with pytest.raises(CommandError, match="--sources dropped needs --faq FILE"):
        call_command("knowledge", "fit", str(cases), "--unit", "fitting", "--sources", "dropped")
