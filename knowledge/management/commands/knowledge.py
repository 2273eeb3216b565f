"""`python manage.py knowledge import|search|eval|reembed` (contract: DESIGN.md "Contracts")."""

from __future__ import annotations

import json as _json_module
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from knowledge import services
from knowledge.embeddings import get_embedder
from kumon.exceptions import DomainError
from kumon.models import Unit


class Command(BaseCommand):
    help = "Knowledge base: import FAQ files, search, evaluate retrieval, re-embed with another model."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import a FAQ file (JSON, CSV or Markdown), idempotent by id")
        imp.add_argument("file", type=Path)
        imp.add_argument("--unit", help="unit slug (omit with --shared)")
        imp.add_argument("--create-unit", action="store_true", help="create an empty unit with that slug")
        imp.add_argument("--shared", action="store_true", help="franchise-wide entries (no unit)")
        srch = sub.add_parser("search", help="search a unit's knowledge")
        srch.add_argument("query")
        srch.add_argument("--unit", required=True)
        srch.add_argument("--limit", type=int, default=5)
        srch.add_argument("--json", action="store_true")
        ev = sub.add_parser("eval", help="evaluate retrieval on JSONL files of {q, faq_id}")
        ev.add_argument("file", type=Path, nargs="+")
        ev.add_argument("--unit", required=True)
        ev.add_argument("--json", action="store_true")
        ev.add_argument("--misses", "--verbose", action="store_true", dest="misses", help="print every miss")
        ev.add_argument(
            "--part",
            choices=["all", "tune", "check"],
            default="all",
            help="lines of each file: all, tune (even line numbers) or check (odd)",
        )
        fit = sub.add_parser("fit", help="fit the ranker and decision (knowledge/data/decision.json)")
        fit.add_argument("file", type=Path, nargs="+")
        fit.add_argument("--unit", required=True)
        fit.add_argument("--part", choices=["all", "tune", "check"], default="tune")
        fit.add_argument("--out", type=Path, default=None, help="default: knowledge/data/decision.json")
        fit.add_argument(
            "--faq",
            type=Path,
            default=None,
            help="the unit's FAQ file (a unit profile or an FAQ list): needed for --sources dropped",
        )
        fit.add_argument(
            "--sources",
            default="demo,dropped",
            help="cases made besides the files' (knowledge/training.py): demo, dropped, catalogue; '' for none",
        )
        fit.add_argument(
            "--extra",
            type=Path,
            action="append",
            default=[],
            help="another unit's profile (unit-*.json) with queries.jsonl and negatives.jsonl beside it; repeatable",
        )
        lt = sub.add_parser("link-topics", help="re-link FAQ entries to catalogue topics (not staff choices)")
        lt.add_argument("--unit", help="unit slug (default: every unit and the shared entries)")
        re_ = sub.add_parser("reembed", help="re-embed every chunk with the configured (or given) model")
        re_.add_argument("--model", default="", help="model name (default: EMBEDDING_MODEL)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action'].replace('-', '_')}")(**options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _unit(self, slug: str | None, *, create: bool = False) -> Unit:
        if not slug:
            raise CommandError("--unit SLUG is required")
        unit = Unit.objects.filter(slug=slug).first()
        if unit is None:
            if not create:
                raise CommandError(f"no unit with slug {slug!r} (use --create-unit to make one)")
            unit = Unit.objects.create(slug=slug, name=slug.replace("-", " ").title())
            self.stderr.write(f"created unit {slug!r}")
        return unit

    def _import(self, *, file: Path, unit: str | None, create_unit: bool, shared: bool, **_: Any) -> None:
        from knowledge.importing import read_faq_file  # noqa: PLC0415 -- each subcommand loads what it needs (manage.py --help stays fast)

        if not file.exists():
            raise CommandError(f"{file} does not exist")
        if shared and unit:
            raise CommandError("use either --unit or --shared")
        target = None if shared else self._unit(unit, create=create_unit)
        rows = read_faq_file(file)
        ids = []
        changed = 0
        with transaction.atomic():
            for row in rows:
                source, was_changed = services.upsert_faq(
                    unit=target,
                    external_id=row.id,
                    question=row.question,
                    answer=row.answer,
                    phrasings=row.phrasings,
                    enqueue=False,
                )
                ids.append(source.pk)
                changed += int(was_changed)
        built = services.index_sources(source_ids=ids, progress=True)
        where = "shared" if target is None else f"unit {target.slug}"
        self.stdout.write(f"{len(rows)} entries for {where}: {changed} new or changed, {built} embedded")

    def _search(self, *, query: str, unit: str, limit: int, json: bool, **_: Any) -> None:
        from knowledge.search import query_problem, search  # noqa: PLC0415 -- each subcommand loads what it needs (manage.py --help stays fast)

        problem = query_problem(query)
        if problem is not None:
            raise CommandError(f"cannot search this text: {problem.replace('_', ' ')}")
        result = search(unit=self._unit(unit), query=query, limit=limit, record_gap=False)
        if json:
            self.stdout.write(_json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
            return
        verdict = {"answer": "answer", "clarify": "clarify"}.get(result.decision, "I don't know")
        self.stdout.write(
            f"{verdict} (confidence {result.confidence:.3f}, {result.elapsed_ms:.1f} ms, "
            f"normalised: {result.normalized_query!r})"
        )
        for n, hit in enumerate(result.hits, start=1):
            self.stdout.write(
                f"{n}. [{hit.external_id or hit.source_id}] {hit.question}  "
                f"vector={hit.vector_score:.3f} text={hit.text_score:.3f} fused={hit.fused_score:.4f}"
            )
        if result.decision == "clarify":
            self.stdout.write(
                "clarify between: " + " | ".join(h.topic_label or h.question for h in result.clarify)
            )
        if result.answered and result.hits:
            self.stdout.write(f"\n{result.hits[0].answer}")

    def _cases(self, files: list[Path], part: str) -> list:
        from knowledge.evaluation import read_cases  # noqa: PLC0415 -- each subcommand loads what it needs (manage.py --help stays fast)

        cases = []
        for path in files:
            if not path.exists():
                raise CommandError(f"{path} does not exist")
            try:
                cases.extend(read_cases(path, part=part))
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        return cases

    def _eval(self, *, file: list[Path], unit: str, json: bool, misses: bool, part: str, **_: Any) -> None:
        from knowledge.evaluation import metrics, miss_kind, run_cases  # noqa: PLC0415 -- each subcommand loads what it needs (manage.py --help stays fast)

        target = self._unit(unit)
        outcomes = run_cases(unit=target, cases=self._cases(file, part))
        figures = metrics(outcomes)
        if misses:
            for o in outcomes:
                kind = miss_kind(o)
                if kind:
                    got = o.clarify_ids if o.decision == "clarify" else o.ranked_ids[:1]
                    self.stdout.write(
                        f"MISS {kind}: {o.case.q!r} want={o.case.faq_id or '(refuse)'} "
                        f"decision={o.decision} got={got} top3={o.ranked_ids[:3]} "
                        f"conf={o.confidence:.3f} reason={o.refusal_reason}"
                    )
        if json:
            self.stdout.write(_json.dumps(figures))
            return
        for key, value in figures.items():
            self.stdout.write(f"{key:>20}: {value}")

    def _fit(
        self,
        *,
        file: list[Path],
        unit: str,
        part: str,
        out: Path | None,
        faq: Path | None,
        sources: str,
        extra: list[Path],
        **_: Any,
    ) -> None:

        from knowledge import decision, fitting, training  # noqa: PLC0415 -- each subcommand loads what it needs (manage.py --help stays fast)
        from knowledge.embeddings import get_embedder  # noqa: PLC0415 -- each subcommand loads what it needs (manage.py --help stays fast)

        target = self._unit(unit)
        names = tuple(s for s in sources.split(",") if s)
        if "dropped" in names and faq is None:
            raise CommandError("--sources dropped needs --faq FILE (the unit's entries, to drop some)")
        embedder = get_embedder()
        cases = [replace(c, source="dev") for c in self._cases(file, part)]
        samples = fitting.collect(unit=target, cases=cases, embedder=embedder)
        counts = {"dev": len(samples)}
        # The made units exist only for the fit: everything written here is rolled back.
        with transaction.atomic():
            try:
                sets = training.training_sets(
                    dev_unit=target,
                    dev_entries=training.entries_of(faq) if faq else [],
                    dev_cases=cases,
                    sources=names,
                    extra=tuple(extra),
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            for ts in sets:
                samples += fitting.collect(unit=ts.unit, cases=ts.cases, embedder=embedder)
                counts[ts.name] = len(ts.cases)
            transaction.set_rollback(True)
        label = f"{', '.join(p.name for p in file)} ({part} part), unit {unit}"
        data = fitting.fit(
            samples=samples,
            source=label
            + (f" + {', '.join(names)}" if names else "")
            + "".join(f" + {p.parent.name}" for p in extra),
            # Thresholds from every source, not the dev part alone: on the dev part alone they
            # followed its easiest lines (0.36, check part refusal 0.74); the made units' many
            # hard refusals hold them where new lines keep the goals (README, round 3).
            thresholds_on=None,
        )
        data["cases"] = counts
        path = out or decision.DECISION_FILE
        fitting.write(data, path)
        decision.model.cache_clear()
        self.stdout.write(_json.dumps(data, indent=2, ensure_ascii=False))
        self.stdout.write(f"written to {path}")

    def _link_topics(self, *, unit: str | None, **_: Any) -> None:
        target = self._unit(unit) if unit else None
        changed = services.link_topics(unit=target, all_units=target is None)
        self.stdout.write(f"{changed} entries linked to another topic")

    def _reembed(self, *, model: str, **_: Any) -> None:
        embedder = get_embedder(model or None)
        count = services.reembed_all(embedder=embedder, progress=True)
        self.stdout.write(
            f"re-embedded {count} chunks with {embedder.name} ({embedder.dimensions()} dims); "
            f"set EMBEDDING_MODEL={embedder.name} wherever searches run"
        )


_json = _json_module
