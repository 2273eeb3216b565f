"""Writes to the knowledge base: sources, phrasings, the chunk index, gaps, model switches."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from knowledge import topics
from knowledge.chunking import ExtractionError, chunk_texts, extract_text
from knowledge.embeddings import Embedder, EmbeddingError, get_embedder
from knowledge.models import Chunk, IndexState, KnowledgeGap, Phrasing, Source, TopicOrigin
from knowledge.normalize import normalize
from kumon import queue
from kumon.exceptions import Conflict, DomainError
from kumon.models import Contact, Unit

logger = logging.getLogger(__name__)

MAX_INDEX_ATTEMPTS = 5
HNSW_INDEX = "chunk_embedding_hnsw"


class ModelMismatch(Conflict):
    """The vectors in the index were built by another embedding model than the configured one."""


class DocumentTooLarge(DomainError):
    status_code = 413


class UnknownTopic(DomainError):
    pass


DOCUMENT_SUFFIXES = (".pdf", ".txt", ".md", ".markdown")


def _enqueue_index(source_id: int) -> None:
    # Broker down: the row stays pending and knowledge.reindex_stale repairs it.
    queue.enqueue("knowledge.index_source", source_id=source_id)


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
    if created and llm_configured():
        # Parent-style phrasings for a new entry, written by the language model in the worker.
        # Broker down: the entry works without generated phrasings.
        queue.enqueue("knowledge.generate_phrasings", source_id=source.pk)
    return source, changed


def llm_configured() -> bool:
    return bool(settings.OPENAI_API_KEY)


def generate_phrasings(*, source_id: int) -> list[Phrasing]:
    """Ask the language model for parent-style phrasings of an FAQ entry and store them marked
    `generated` (reviewed and deletable in the admin). Idempotent: an entry that already has
    generated phrasings gets no more. Returns the phrasings created.

    Side effects: one Chat Completions call (outside any transaction); new Phrasing rows; the
    entry goes back to pending and is re-indexed after commit.
    Raises knowledge.generation.GenerationError (TransientGenerationError is worth a retry).
    """
    from knowledge import generation  # noqa: PLC0415 -- the LLM client loads only where phrasings are generated

    source = Source.objects.filter(pk=source_id, kind=Source.Kind.FAQ).first()
    if source is None or source.phrasings.filter(generated=True).exists():
        return []
    texts = generation.phrasings_for(question=source.question, answer=source.answer)
    with transaction.atomic():
        locked = Source.objects.select_for_update().filter(pk=source_id).first()
        if locked is None or locked.phrasings.filter(generated=True).exists():
            return []
        existing = set(locked.phrasings.values_list("text", flat=True))
        made = Phrasing.objects.bulk_create(
            Phrasing(source=locked, text=t, generated=True) for t in texts if t not in existing
        )
        if made:
            mark_source_changed(source=locked)
    return made


def set_topic(*, source: Source, topic: str) -> Source:
    """A staff choice of the entry's catalogue topic ("" = no topic), kept across re-imports
    and re-indexing (topic_origin=staff / none).

    Side effects: updates the source's topic fields; no re-embedding is needed (the topic is read
    at search time)."""
    if topic and topic not in topics.by_slug():
        raise UnknownTopic(f"unknown catalogue topic {topic!r}")
    source.topic = topic
    source.topic_score = None
    source.topic_origin = TopicOrigin.STAFF if topic else TopicOrigin.NONE
    Source.objects.filter(pk=source.pk).update(
        topic=source.topic, topic_score=None, topic_origin=source.topic_origin
    )
    return source


def link_topic(*, source: Source, embedder: Embedder | None = None) -> Source:
    """Link an FAQ entry to its nearest catalogue topic by similarity, unless staff chose.

    Side effects: updates topic, topic_score, topic_origin=auto (topic "" when none is close)."""
    if source.kind != Source.Kind.FAQ or source.topic_origin in (TopicOrigin.STAFF, TopicOrigin.NONE):
        return source
    found = topics.link(question=source.question, answer=source.answer, embedder=embedder or get_embedder())
    source.topic = found.slug if found else ""
    source.topic_score = found.score if found else None
    source.topic_origin = TopicOrigin.AUTO
    Source.objects.filter(pk=source.pk).update(
        topic=source.topic, topic_score=source.topic_score, topic_origin=source.topic_origin
    )
    return source


def link_topics(*, unit: Unit | None = None, all_units: bool = False) -> int:
    """Re-link the automatically linked (or unlinked) FAQ entries of a unit (or all), e.g.
    after the catalogue changed. Returns how many entries' topic changed."""
    qs = Source.objects.filter(kind=Source.Kind.FAQ).exclude(
        topic_origin__in=[TopicOrigin.STAFF, TopicOrigin.NONE]
    )
    if not all_units:
        qs = qs.filter(unit=unit)
    embedder = get_embedder()
    changed = 0
    for source in qs:
        before = source.topic
        if link_topic(source=source, embedder=embedder).topic != before:
            changed += 1
    return changed


def check_document(*, filename: str, size: int) -> None:
    """Refuse what a web request must not accept: an unknown type or more than
    KNOWLEDGE_DOCUMENT_MAX_BYTES. Raises DocumentTooLarge / DomainError with the reason."""
    if not filename.lower().endswith(DOCUMENT_SUFFIXES):
        raise DomainError(f"unsupported document type {filename!r}: use {', '.join(DOCUMENT_SUFFIXES)}")
    limit = int(settings.KNOWLEDGE_DOCUMENT_MAX_BYTES)
    if size > limit:
        raise DocumentTooLarge(
            f"the document is {size:,} bytes; at most {limit:,} bytes are accepted",
            extra={"size": size, "max_bytes": limit},
        )


@transaction.atomic
def create_document(
    *, unit: Unit | None, title: str, filename: str, data: bytes, external_id: str = "", enqueue: bool = True
) -> Source:
    """A document source from an uploaded file (.txt, .md or .pdf), at most
    KNOWLEDGE_DOCUMENT_MAX_BYTES.

    Side effects: the file is stored; its text is extracted by the index task in the worker
    (never in the request: a crafted PDF can take seconds), which marks the source failed with
    the reason when the file cannot be read; indexing is queued after commit.
    """

    check_document(filename=filename, size=len(data))
    source = Source(unit=unit, kind=Source.Kind.DOCUMENT, title=title, external_id=external_id, answer="")
    source.document.save(filename, ContentFile(data), save=False)
    source.save()
    if enqueue:
        _enqueue_index(source.pk)
    return source


def _extract_document(source: Source) -> None:
    """The text of a document source's file, stored as its body (in the index task)."""
    with source.document.open("rb") as handle:
        data = handle.read()
    source.answer = extract_text(filename=source.document.name or "", data=data)
    Source.objects.filter(pk=source.pk).update(answer=source.answer)


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
    if source.kind == Source.Kind.DOCUMENT and source.document and not source.answer:
        try:
            _extract_document(source)
        except (ExtractionError, OSError) as exc:
            # Permanent: retrying cannot read the file. Attempts at the ceiling so the beat job
            # does not re-queue it; a new upload starts over.
            Source.objects.filter(pk=source_id).update(
                index_status=Source.IndexStatus.FAILED,
                index_error=str(exc)[:500],
                index_attempts=MAX_INDEX_ATTEMPTS * 2,
            )
            source.refresh_from_db()
            return source
    try:
        embedder = embedder or get_embedder()
        ensure_index_model(embedder=embedder)
        phrasings = list(source.phrasings.order_by("pk").values_list("text", flat=True))
        pieces = chunk_texts(source, phrasings) if source.published else []
        normalised = [normalize(p.text) for p in pieces]
        digest = _content_hash(embedder.name, [(p.role, p.text) for p in pieces], source.published)
        if not force and source.index_status == Source.IndexStatus.INDEXED and source.content_hash == digest:
            return source
        vectors: Any = embedder.embed_documents(normalised) if normalised else []  # an array, or none
        found = None
        relink = source.kind == Source.Kind.FAQ and source.topic_origin not in (
            TopicOrigin.STAFF,
            TopicOrigin.NONE,
        )
        if relink:
            found = topics.link(question=source.question, answer=source.answer, embedder=embedder)
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
        linked: dict[str, Any] = {}
        if relink:
            linked = {
                "topic": found.slug if found else "",
                "topic_score": found.score if found else None,
                "topic_origin": TopicOrigin.AUTO,
            }
        Source.objects.filter(pk=locked.pk).update(
            index_status=Source.IndexStatus.INDEXED,
            index_error="",
            index_attempts=0,
            indexed_at=timezone.now(),
            content_hash=digest,
            **linked,
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
    from tqdm import tqdm  # noqa: PLC0415 -- tqdm only for a progress bar on a terminal

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
    from tqdm import tqdm  # noqa: PLC0415 -- tqdm only for a progress bar on a terminal

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
        unit=unit,
        contact=contact,
        text=text[:4000],
        confidence=confidence,
        candidates=candidates,
        reason=reason,
    )


__all__ = [
    "DocumentTooLarge",
    "EmbeddingError",
    "ModelMismatch",
    "check_document",
    "create_document",
    "generate_phrasings",
    "link_topic",
    "link_topics",
    "set_topic",
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
