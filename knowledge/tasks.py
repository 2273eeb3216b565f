"""Indexing tasks: load by id, call one service. Stable names: knowledge.*"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from knowledge import services
from knowledge.embeddings import TransientEmbeddingError
from knowledge.generation import GenerationError, TransientGenerationError
from knowledge.models import Source
from kumon.queue import publish

logger = logging.getLogger(__name__)


@shared_task(
    name="knowledge.index_source",
    acks_late=True,
    autoretry_for=(TransientEmbeddingError, ConnectionError, TimeoutError),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=services.MAX_INDEX_ATTEMPTS,
    soft_time_limit=120,
    time_limit=180,
)
def index_source_task(*, source_id: int) -> str:
    """Idempotent: an unchanged indexed source is a no-op; a missing one is logged and skipped."""
    source = services.index_source(source_id=source_id)
    if source is None:
        logger.info("knowledge source gone", extra={"source_id": source_id})
        return "missing"
    return source.index_status


@shared_task(
    name="knowledge.generate_phrasings",
    acks_late=True,
    autoretry_for=(TransientGenerationError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=4,
    soft_time_limit=60,
    time_limit=90,
)
def generate_phrasings_task(*, source_id: int) -> int:
    """Idempotent: an entry that already has generated phrasings (or is gone) is a no-op."""
    try:
        made = services.generate_phrasings(source_id=source_id)
    except TransientGenerationError:
        raise
    except GenerationError as exc:  # permanent: the entry works without them
        logger.warning("phrasings not generated: %s", exc.message, extra={"source_id": source_id})
        return 0
    return len(made)


@shared_task(name="knowledge.reindex_stale")
def reindex_stale_task() -> int:
    """Re-queue sources left pending (lost task, broker down) or failed with attempts left."""
    cutoff = timezone.now() - dt.timedelta(minutes=2)
    ids = list(
        Source.objects.filter(
            Q(index_status=Source.IndexStatus.PENDING, updated_at__lt=cutoff)
            | Q(index_status=Source.IndexStatus.FAILED, index_attempts__lt=services.MAX_INDEX_ATTEMPTS * 2)
        ).values_list("pk", flat=True)[:500]
    )
    for source_id in ids:
        if not publish("knowledge.index_source", source_id=source_id):
            break  # broker down: the next run tries again
    return len(ids)
