"""Writes to the knowledge base."""

from __future__ import annotations

from django.db import transaction

from knowledge.models import Source
from kumon.models import Unit


@transaction.atomic
def upsert_faq(*, unit: Unit | None, external_id: str, question: str, answer: str) -> tuple[Source, bool]:
    """Create or update the FAQ entry `external_id` of `unit` (None = shared).

    Side effects: a changed entry goes back to `pending` indexing.
    Returns (source, changed).
    """
    source, created = Source.objects.select_for_update().get_or_create(
        unit=unit,
        external_id=external_id,
        defaults={"kind": Source.Kind.FAQ, "question": question, "answer": answer},
    )
    if created:
        return source, True
    if source.question == question and source.answer == answer:
        return source, False
    source.question, source.answer = question, answer
    source.index_status = Source.IndexStatus.PENDING
    source.save(update_fields=["question", "answer", "index_status", "updated_at"])
    return source, True
