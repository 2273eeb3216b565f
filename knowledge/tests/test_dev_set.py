"""The goals of issue #13 on ../shared/eval-dev: unit-moema's FAQ imported as a unit imports it
(one question and one answer per entry, no phrasings), its parents' messages and the messages it
must refuse, each part of the fixed split on its own (even lines: tuning part, the one
`knowledge fit` learnt from; odd lines: check part, never fitted on).

Goals: hit@1 ≥ 0.85, hit@3 ≥ 0.95, answered ≥ 0.90, answered-and-wrong ≤ 0.05, refusal ≥ 0.90.
Where a part does not reach a goal yet, its floor is what it reaches (measured 2026-12-02,
knowledge/eval/README.md), so a change can only keep or raise it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from knowledge import services
from knowledge.evaluation import metrics, read_cases, run_cases
from knowledge.search import search
from kumon.models import Unit

DEV = Path(settings.BASE_DIR).parent / "shared" / "eval-dev"

GOALS = {
    "hit@1": 0.85,
    "hit@3": 0.95,
    "answered_rate": 0.90,
    "answered_wrong_rate": 0.05,
    "refusal_rate": 0.90,
}
FLOORS = {
    "tune": GOALS,
    # The check part: answered under its goal (0.8444: two wrong answers became refusals when the
    # out-of-scope catalogue grew, so answered-and-wrong is held at 0.04 instead of 0.05).
    "check": {**GOALS, "answered_rate": 0.84, "answered_wrong_rate": 0.04},
}

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not DEV.is_dir(), reason=f"no dev set at {DEV} (shared/eval-dev is not beside the repo)"
    ),
]


@pytest.fixture
def moema() -> Unit:
    profile = json.loads((DEV / "unit-moema.json").read_text(encoding="utf-8"))
    unit = Unit.objects.create(slug=profile["slug"], name=profile["name"], address=profile["address"])
    ids = []
    for entry in profile["faq"]:
        source, _ = services.upsert_faq(
            unit=unit,
            external_id=entry["id"],
            question=entry["question"],
            answer=entry["answer"],
            enqueue=False,
        )
        ids.append(source.pk)
    services.index_sources(source_ids=ids)
    return unit


@pytest.mark.parametrize("part", ["tune", "check"])
def test_dev_set_meets_the_floors_on_each_part(moema: Unit, part: str) -> None:
    cases = read_cases(DEV / "queries.jsonl", part=part) + read_cases(DEV / "negatives.jsonl", part=part)

    figures = metrics(run_cases(unit=moema, cases=cases))

    floors = FLOORS[part]
    below = {
        key: (figures[key], floor)
        for key, floor in floors.items()
        if (figures[key] > floor if key == "answered_wrong_rate" else figures[key] < floor)
    }
    assert below == {}, f"{part} part: {figures}"
    assert (figures["n_answerable"], figures["n_refuse"]) == (180, 35)


def test_dev_unit_reads_a_question_the_same_with_what_is_said_before_it(moema: Unit) -> None:
    plain = search(unit=moema, query="what's the monthly fee here?", record_gap=False)
    also = search(unit=moema, query="Also, what's the monthly fee here?", record_gap=False)

    assert (also.decision, also.hits[0].external_id, also.confidence) == (
        plain.decision,
        plain.hits[0].external_id,
        plain.confidence,
    )
    assert (plain.decision, plain.hits[0].external_id) == ("answer", "mensalidade")


@pytest.mark.parametrize(
    "query", ["qto ta?", "e quanto é", "qual o valor", "Oi! e além disso, qual o preço? obrigada"]
)
def test_dev_unit_answers_short_price_questions_with_the_price_entry(moema: Unit, query: str) -> None:
    result = search(unit=moema, query=query, record_gap=False)

    assert (result.decision, result.hits[0].external_id) == ("answer", "mensalidade")
