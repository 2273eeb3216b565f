"""What `knowledge fit` learns from besides a labelled part of a dev set: cases made from data
the project already has, labelled by construction.

- The catalogue read as parents' messages (`catalogue_cases`): for a unit, each phrasing of a
  topic linked to exactly one of its entries is a message that entry answers; each phrasing of
  an answerable topic the unit has no entry for, and of every out-of-scope topic, must be
  refused. The phrasing is left out of the topic index while it is analysed
  (`EvalCase.leave_out`), so it never meets itself: it reaches its topic through the other
  phrasings, as a parent's message does.
- Other units (`training_units`): the demo FAQ (knowledge/eval/faq.json) imported without its
  phrasings, with its 213 labelled messages (knowledge/eval/queries.jsonl); and each unit with
  every third entry dropped (`dropped`), so topics it covered become topics it does not cover:
  the messages labelled with a dropped entry must then be refused (`relabel`). Those are the
  hardest refusals there are — real parents' questions about a real unit's topic, close to the
  entries that are left.

The units are made inside the caller's transaction (the fit command rolls it back).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from knowledge import services, topics
from knowledge.evaluation import EvalCase, read_cases
from knowledge.models import Source
from kumon.models import Unit

EVAL_DIR = Path(__file__).resolve().parent / "eval"
DEMO_FAQ = EVAL_DIR / "faq.json"
DEMO_QUERIES = EVAL_DIR / "queries.jsonl"
# Short follow-ups as the engine sends them, one clause at a time ("qto ta?", "e o material?"),
# for the demo unit; and short messages it must refuse (topics it has no entry for, chat).
DEMO_SHORT = EVAL_DIR / "short.jsonl"
DROP_EVERY = 3


@dataclass(frozen=True)
class Entry:
    id: str
    question: str
    answer: str


@dataclass
class TrainingSet:
    name: str
    unit: Unit
    cases: list[EvalCase]


def entries_of(path: Path) -> list[Entry]:
    """An FAQ file's entries (a list, or a unit profile's "faq"), without their phrasings."""
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data["faq"] if isinstance(data, dict) else data
    return [Entry(id=i["id"], question=i["question"], answer=i["answer"]) for i in items]


def dropped(entries: list[Entry], *, every: int = DROP_EVERY) -> tuple[list[Entry], set[str]]:
    """The entries kept and the ids dropped when every `every`-th entry (1-based) is dropped."""
    kept = [e for n, e in enumerate(entries, start=1) if n % every]
    return kept, {e.id for e in entries} - {e.id for e in kept}


def relabel(cases: list[EvalCase], dropped_ids: set[str], *, source: str) -> list[EvalCase]:
    """The cases for a unit without `dropped_ids`: their messages must be refused there."""
    return [replace(c, faq_id=None if c.faq_id in dropped_ids else c.faq_id, source=source) for c in cases]


def load_unit(*, slug: str, entries: list[Entry]) -> Unit:
    """A unit with these entries, indexed and linked to topics (as `knowledge import` does)."""
    unit = Unit.objects.create(slug=slug, name=slug.replace("-", " ").title())
    ids = []
    for e in entries:
        source, _ = services.upsert_faq(
            unit=unit, external_id=e.id, question=e.question, answer=e.answer, enqueue=False
        )
        ids.append(source.pk)
    services.index_sources(source_ids=ids)
    return unit


def catalogue_cases(unit: Unit, *, source: str) -> list[EvalCase]:
    """Every catalogue phrasing as a message to `unit`, labelled by the unit's topic links."""
    linked: dict[str, list[str]] = {}
    for slug, external_id in Source.objects.filter(
        unit=unit, kind=Source.Kind.FAQ, published=True
    ).values_list("topic", "external_id"):
        if slug:
            linked.setdefault(slug, []).append(external_id)
    cases = []
    for topic in topics.catalogue():
        ids = linked.get(topic.slug, []) if topic.answerable else []
        if len(ids) > 1:
            continue  # two entries on one topic: either may be the answer, no label
        for text in (topic.question, *topic.phrasings):
            cases.append(EvalCase(q=text, faq_id=ids[0] if ids else None, source=source, leave_out=True))
    return cases


SOURCES = ("demo", "dropped", "catalogue")


def profile_cases(profile: Path) -> tuple[str, list[Entry], list[EvalCase]]:
    """Another unit's labelled set: its profile (unit-*.json, FORMAT.md of the eval sets) and the
    queries.jsonl / negatives.jsonl beside it. Name = the profile's slug."""
    data = json.loads(profile.read_text(encoding="utf-8"))
    name = str(data.get("slug") or profile.stem)
    cases = [
        replace(c, source=name)
        for file in (profile.parent / "queries.jsonl", profile.parent / "negatives.jsonl")
        if file.exists()
        for c in read_cases(file)
    ]
    if not cases:
        raise ValueError(f"{profile}: no queries.jsonl or negatives.jsonl beside it")
    return name, entries_of(profile), cases


def training_sets(
    *,
    dev_unit: Unit,
    dev_entries: list[Entry],
    dev_cases: list[EvalCase],
    sources: tuple[str, ...],
    extra: tuple[Path, ...] = (),
) -> list[TrainingSet]:
    """The sets `sources` name, besides the dev cases themselves (made here, see the docstring):
    "demo" (the demo unit and its messages), "dropped" (each unit with every third entry
    dropped, its messages relabelled), "catalogue" (the catalogue's phrasings on every unit);
    and each `extra` unit profile with its labelled messages (`profile_cases`), which "dropped"
    and "catalogue" then cover too. More units teach the decision what carries from one unit's
    FAQ to another's: the coefficients are shared by every unit."""
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown training sources: {', '.join(sorted(unknown))}")
    units: list[tuple[str, Unit, list[Entry], list[EvalCase]]] = [("dev", dev_unit, dev_entries, dev_cases)]
    sets: list[TrainingSet] = []
    if "demo" in sources:
        demo_entries = entries_of(DEMO_FAQ)
        demo_cases = [replace(c, source="demo") for c in read_cases(DEMO_QUERIES) + read_cases(DEMO_SHORT)]
        demo = load_unit(slug="fit-demo", entries=demo_entries)
        sets.append(TrainingSet("demo", demo, demo_cases))
        units.append(("demo", demo, demo_entries, demo_cases))
    for profile in extra:
        name, entries, cases = profile_cases(profile)
        unit = load_unit(slug=f"fit-{name}", entries=entries)
        sets.append(TrainingSet(name, unit, cases))
        units.append((name, unit, entries, cases))
    if "dropped" in sources:
        for name, _, entries, cases in list(units):
            kept, gone = dropped(entries)
            unit = load_unit(slug=f"fit-{name}-dropped", entries=kept)
            sets.append(TrainingSet(f"{name}-dropped", unit, relabel(cases, gone, source=f"{name}-dropped")))
            units.append((f"{name}-dropped", unit, kept, []))
    if "catalogue" in sources:
        for name, unit, _, _ in units:
            sets.append(
                TrainingSet(f"catalogue@{name}", unit, catalogue_cases(unit, source=f"catalogue@{name}"))
            )
    return sets
