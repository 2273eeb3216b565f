"""`python manage.py knowledge import|search|eval|reembed` (contract: DESIGN.md "Contracts")."""

from __future__ import annotations

import json as _json_module
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
        ev = sub.add_parser("eval", help="evaluate retrieval on a JSONL file of {q, faq_id}")
        ev.add_argument("file", type=Path)
        ev.add_argument("--unit", required=True)
        ev.add_argument("--json", action="store_true")
        ev.add_argument("--verbose", action="store_true", help="print every miss")
        re_ = sub.add_parser("reembed", help="re-embed every chunk with the configured (or given) model")
        re_.add_argument("--model", default="", help="model name (default: EMBEDDING_MODEL)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(**options)
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
        from knowledge.importing import read_faq_file

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
        from knowledge.search import search

        result = search(unit=self._unit(unit), query=query, limit=limit, record_gap=False)
        if json:
            self.stdout.write(_json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
            return
        verdict = "answer" if result.answered else "I don't know"
        self.stdout.write(
            f"{verdict} (confidence {result.confidence:.3f}, {result.elapsed_ms:.1f} ms, "
            f"normalised: {result.normalized_query!r})"
        )
        for n, hit in enumerate(result.hits, start=1):
            self.stdout.write(
                f"{n}. [{hit.external_id or hit.source_id}] {hit.question}  "
                f"vector={hit.vector_score:.3f} text={hit.text_score:.3f} fused={hit.fused_score:.4f}"
            )
        if result.answered and result.hits:
            self.stdout.write(f"\n{result.hits[0].answer}")

    def _eval(self, *, file: Path, unit: str, json: bool, verbose: bool, **_: Any) -> None:
        from knowledge.evaluation import metrics, read_cases, run_cases

        target = self._unit(unit)
        outcomes = run_cases(unit=target, cases=read_cases(file))
        figures = metrics(outcomes)
        if json:
            self.stdout.write(_json.dumps(figures))
            return
        if verbose:
            for o in outcomes:
                top = o.ranked_ids[0] if o.ranked_ids else None
                wrong = (o.case.faq_id and (top != o.case.faq_id or not o.answered)) or (
                    not o.case.faq_id and o.answered
                )
                if wrong:
                    self.stdout.write(
                        f"MISS {o.case.q!r}: want {o.case.faq_id} got {o.ranked_ids[:3]} "
                        f"answered={o.answered} conf={o.confidence:.3f}"
                    )
        for key, value in figures.items():
            self.stdout.write(f"{key:>14}: {value}")

    def _reembed(self, *, model: str, **_: Any) -> None:
        embedder = get_embedder(model or None)
        count = services.reembed_all(embedder=embedder, progress=True)
        self.stdout.write(
            f"re-embedded {count} chunks with {embedder.name} ({embedder.dimensions()} dims); "
            f"set EMBEDDING_MODEL={embedder.name} wherever searches run"
        )


_json = _json_module
