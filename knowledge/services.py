"""Writes to the knowledge base: sources, phrasings, the chunk index, gaps, model switches."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from knowledge.chunking import chunk_texts, extract_text
from knowledge.embeddings import Embedder, EmbeddingError, get_embedder
from knowledge.models import Chunk, IndexState, KnowledgeGap, Phrasing, Source
from knowledge.normalize import normalize
from kumon.exceptions import Conflict
from kumon.models import Contact, Unit

logger = logging.getLogger(__name__)

MAX_INDEX_ATTEMPTS = 5
HNSW_INDEX = "chunk_embedding_hnsw"


class ModelMismatch(Conflict):
    """The vectors in the index were built by another embedding model than the configured one."""


def _enqueue_index(source_id: int) -> None:
    transaction.on_commit(lambda: _safe_delay(source_id))


def _safe_delay(source_id: int) -> None:
    from knowledge.tasks import index_source_task

    try:
        index_source_task.delay(source_id=source_id)
    except Exception:  # broker down: the row stays pending and knowledge.reindex_stale repairs it
        logger.warning("could not enqueue knowledge.index_source", extra={"source_id": source_id})


@transaction.atomic
def upsert_faq(
    *,
    unit: Unit | None,
    external_id: str,
    question: str,
    answer: str,
    phrasings: Sequence[str] | None = None,
    enqueue: bool = True,
) -> tuple[Source, bool]:
    """Create or update the FAQ entry `external_id` of `unit` (None = shared).

    phrasings=None leaves the alternative phrasings as they are; a list replaces them.
    Side effects: a new or changed entry goes back to `pending` indexing and, with enqueue,
    `knowledge.index_source` is queued after commit. Returns (source, changed).
    """
    source, created = Source.objects.select_for_update().get_or_create(
        unit=unit,
        external_id=external_id,
        defaults={"kind": Source.Kind.FAQ, "question": question, "answer": answer},
    )
    changed = created
    if not created and (source.question != question or source.answer != answer):
        source.question, source.answer = question, answer
        changed = True
    if phrasings is not None:
        wanted = list(dict.fromkeys(p.strip() for p in phrasings if p.strip()))
        existing = list(source.phrasings.order_by("pk").values_list("text", flat=True))
        if existing != wanted:
            source.phrasings.all().delete()
            Phrasing.objects.bulk_create(Phrasing(source=source, text=t) for t in wanted)
            changed = True
    if changed:
        source.index_status = Source.IndexStatus.PENDING
        source.save()
        if enqueue:
            _enqueue_index(source.pk)
    return source, changed


@transaction.atomic
def create_document(
    *, unit: Unit | None, title: str, filename: str, data: bytes, external_id: str = "", enqueue: bool = True
) -> Source:
    """A document source from an uploaded file (.txt, .md or .pdf).

    Side effects: the extracted text is stored as the source's body; indexing is queued after commit.
    """
    source = Source.objects.create(
        unit=unit,
        kind=Source.Kind.DOCUMENT,
        title=title,
        external_id=external_id,
        answer=extract_text(filename=filename, data=data),
    )
    if enqueue:
        _enqueue_index(source.pk)
    return source


def mark_source_changed(*, source: Source) -> Source:
    """After an edit elsewhere (admin form, phrasings inline): back to pending, reindex after commit."""
    Source.objects.filter(pk=source.pk).update(
        index_status=Source.IndexStatus.PENDING, updated_at=timezone.now()
    )
    source.index_status = Source.IndexStatus.PENDING
    _enqueue_index(source.pk)
    return source


def delete_source(*, source: Source) -> None:
    """Delete a source; its chunks go with it (cascade), so nothing stale stays searchable."""
    source.delete()


def _content_hash(model: str, texts: Iterable[tuple[str, str]], published: bool) -> str:
    payload = json.dumps([model, published, list(texts)], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def index_source(*, source_id: int, embedder: Embedder | None = None, force: bool = False) -> Source | None:
    """(Re)build the chunks of one source with the current model. Idempotent: an unchanged,
    indexed source is left alone. Returns the source, or None if it is gone.

    Side effects: replaces the source's chunks (embedding + full-text vector); sets
    index_status/indexed_at/content_hash; on an embedding error marks it failed and re-raises.
    The embedding runs outside any transaction; the swap is one short transaction that checks
    the source did not change meanwhile (a newer task will index the newer content).
    """
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return None
    seen_updated_at = source.updated_at
    try:
        embedder = embedder or get_embedder()
        ensure_index_model(embedder=embedder)
        phrasings = list(source.phrasings.order_by("pk").values_list("text", flat=True))
        pieces = chunk_texts(source, phrasings) if source.published else []
        normalised = [normalize(p.text) for p in pieces]
        digest = _content_hash(embedder.name, [(p.role, p.text) for p in pieces], source.published)
        if not force and source.index_status == Source.IndexStatus.INDEXED and source.content_hash == digest:
            return source
        vectors = embedder.embed_documents(normalised) if normalised else []
    except Exception as exc:
        # Visible in the admin; the task retries transient errors, the beat job re-queues later.
        Source.objects.filter(pk=source_id).update(
            index_status=Source.IndexStatus.FAILED,
            index_error=str(exc)[:500],
            index_attempts=F("index_attempts") + 1,
        )
        raise
    with transaction.atomic():
        locked = Source.objects.select_for_update().filter(pk=source_id).first()
        if locked is None:
            return None
        if locked.updated_at != seen_updated_at:
            return locked  # edited while we embedded: the task queued by that edit indexes it
        locked.chunks.all().delete()
        Chunk.objects.bulk_create(
            Chunk(
                source=locked,
                unit=locked.unit,
                ordinal=i,
                role=p.role,
                text=p.text,
                embedding=vectors[i],
                embedding_model=embedder.name,
            )
            for i, p in enumerate(pieces)
        )
        _update_search_vectors(source_id=locked.pk, normalised=normalised)
        Source.objects.filter(pk=locked.pk).update(
            index_status=Source.IndexStatus.INDEXED,
            index_error="",
            index_attempts=0,
            indexed_at=timezone.now(),
            content_hash=digest,
        )
        locked.refresh_from_db()
    return locked


def _update_search_vectors(*, source_id: int, normalised: list[str]) -> None:
    if not normalised:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE knowledge_chunk c SET search_vector = to_tsvector('pt_unaccent', v.txt)
            FROM unnest(%s::int[], %s::text[]) AS v(ord, txt)
            WHERE c.source_id = %s AND c.ordinal = v.ord
            """,
            [list(range(len(normalised))), normalised, source_id],
        )


def index_sources(
    *, source_ids: Sequence[int], embedder: Embedder | None = None, progress: bool = False
) -> int:
    """Index several sources in-process (import, seed). Returns how many were (re)built."""
    from tqdm import tqdm

    if not source_ids:
        return 0
    embedder = embedder or get_embedder()
    built = 0
    for source_id in tqdm(source_ids, desc="embedding", unit="source", disable=not progress):
        before = Source.objects.filter(pk=source_id).values_list("content_hash", flat=True).first()
        source = index_source(source_id=source_id, embedder=embedder)
        if source is not None and source.content_hash != before:
            built += 1
    return built


def index_pending(*, unit: Unit | None = None, progress: bool = False) -> int:
    """Index the unit's (or every) source that is not indexed yet, in-process."""
    qs = Source.objects.exclude(index_status=Source.IndexStatus.INDEXED)
    if unit is not None:
        qs = qs.filter(unit=unit)
    return index_sources(source_ids=list(qs.values_list("pk", flat=True)), progress=progress)


def ensure_index_model(*, embedder: Embedder) -> IndexState:
    """The index's model; the first indexing records it. Another model → ModelMismatch."""
    state = IndexState.objects.filter(pk=1).first()
    if state is None:
        state, _ = IndexState.objects.get_or_create(
            pk=1, defaults={"model_name": embedder.name, "dimensions": embedder.dimensions()}
        )
    if state.model_name != embedder.name:
        raise ModelMismatch(
            f"the knowledge index was built with '{state.model_name}' but the configured embedding "
            f"model is '{embedder.name}': run `python manage.py knowledge reembed`",
            extra={"index_model": state.model_name, "configured_model": embedder.name},
        )
    return state


def reembed_all(*, embedder: Embedder, progress: bool = True, batch_size: int = 256) -> int:
    """Switch the whole index to `embedder`'s model: re-embed every chunk, rebuild the HNSW
    expression index for the new dimension, record the model. Returns the number of chunks.

    Side effects: while it runs, searches with the new model only see chunks already converted
    (they filter on embedding_model), and searches with the old model fail once it is recorded.
    """
    from tqdm import tqdm

    dims = embedder.dimensions()
    ids = list(Chunk.objects.order_by("pk").values_list("pk", flat=True))
    bar = tqdm(total=len(ids), desc=f"re-embedding with {embedder.name}", unit="chunk", disable=not progress)
    for start in range(0, len(ids), batch_size):
        rows = list(Chunk.objects.filter(pk__in=ids[start : start + batch_size]).only("pk", "text"))
        vectors = embedder.embed_documents([normalize(r.text) for r in rows])
        with transaction.atomic():
            for row, vector in zip(rows, vectors, strict=True):
                row.embedding, row.embedding_model = vector, embedder.name
            Chunk.objects.bulk_update(rows, ["embedding", "embedding_model"])
        bar.update(len(rows))
    bar.close()
    rebuild_vector_index(dimensions=dims)
    IndexState.objects.update_or_create(pk=1, defaults={"model_name": embedder.name, "dimensions": dims})
    _refresh_hashes(embedder=embedder)
    return len(ids)


def _refresh_hashes(*, embedder: Embedder) -> None:
    for source in Source.objects.filter(index_status=Source.IndexStatus.INDEXED).prefetch_related(
        "phrasings"
    ):
        pieces = chunk_texts(source, [p.text for p in source.phrasings.all()]) if source.published else []
        digest = _content_hash(embedder.name, [(p.role, p.text) for p in pieces], source.published)
        Source.objects.filter(pk=source.pk).update(content_hash=digest)


def rebuild_vector_index(*, dimensions: int) -> None:
    """Drop and create the HNSW expression index on `embedding::vector(dimensions)`.

    The column is untyped so one table can hold any model; an HNSW index needs a fixed
    dimension, hence the cast and the partial predicate."""
    dims = int(dimensions)
    with connection.cursor() as cursor:
        # Inside an outer transaction (tests, atomic callers) deferred FK checks would block DDL.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
        cursor.execute(
            f"CREATE INDEX {HNSW_INDEX} ON knowledge_chunk "
            f"USING hnsw ((embedding::vector({dims})) vector_cosine_ops) "
            f"WHERE vector_dims(embedding) = {dims}"
        )


def record_gap(
    *,
    unit: Unit,
    text: str,
    confidence: float,
    candidates: list[dict[str, Any]],
    reason: str = "",
    contact: Contact | None = None,
) -> KnowledgeGap:
    """Store an "I don't know" search for the knowledge-gap report (#7), with the family who
    asked when there is one."""
    return KnowledgeGap.objects.create(
        unit=unit, contact=contact, text=text[:4000], confidence=confidence, candidates=candidates, reason=reason
    )


__all__ = [
    "EmbeddingError",
    "ModelMismatch",
    "create_document",
    "delete_source",
    "index_pending",
    "index_source",
    "index_sources",
    "mark_source_changed",
    "rebuild_vector_index",
    "record_gap",
    "reembed_all",
    "upsert_faq",
]
