"""Re-embedding after create/edit/delete through a real Celery worker."""

from __future__ import annotations

import pytest
from django.db import transaction

from knowledge import services
from knowledge.models import Chunk, Source
from knowledge.search import search
from knowledge.tasks import reindex_stale_task
from kumon.testing import wait_for
from kumon.tests.factories import UnitFactory


def _status(pk: int) -> str:
    return Source.objects.get(pk=pk).index_status


@pytest.mark.django_db(transaction=True)
def test_edit_is_reembedded_by_the_worker_after_commit(celery_worker) -> None:
    unit = UnitFactory()
    with transaction.atomic():
        source, _ = services.upsert_faq(
            unit=unit, external_id="horario", question="Qual o horário?", answer="Das 8h às 19h."
        )
    wait_for(lambda: _status(source.pk) == Source.IndexStatus.INDEXED, timeout=30)

    with transaction.atomic():
        services.upsert_faq(
            unit=unit,
            external_id="horario",
            question="Qual o horário?",
            answer="Das 7h às 20h.",
            phrasings=["vcs abrem que horas?"],
        )
        assert _status(source.pk) == Source.IndexStatus.PENDING
    wait_for(lambda: _status(source.pk) == Source.IndexStatus.INDEXED, timeout=30)

    assert sorted(Chunk.objects.filter(source=source).values_list("role", "text")) == [
        ("entry", "Qual o horário?\nDas 7h às 20h."),
        ("phrasing", "vcs abrem que horas?"),
        ("question", "Qual o horário?"),
    ]
    assert search(unit=unit, query="q horas vcs abrem?", record_gap=False).hits[0].answer == "Das 7h às 20h."

    services.delete_source(source=source)
    assert search(unit=unit, query="q horas vcs abrem?", record_gap=False).hits == []


@pytest.mark.django_db(transaction=True)
def test_reindex_stale_requeues_pending_sources(celery_worker) -> None:
    from django.utils import timezone

    source, _ = services.upsert_faq(
        unit=UnitFactory(), external_id="x", question="Tem estacionamento?", answer="Sim.", enqueue=False
    )
    Source.objects.filter(pk=source.pk).update(updated_at=timezone.now() - timezone.timedelta(minutes=10))

    assert reindex_stale_task.apply().result == 1
    wait_for(lambda: _status(source.pk) == Source.IndexStatus.INDEXED, timeout=30)
