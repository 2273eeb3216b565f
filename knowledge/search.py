"""Hybrid search over a unit's knowledge: vector similarity fused with Portuguese full text.

Both sides search chunks of the unit's own sources plus the shared ones, except shared entries
the unit overrides (same external id, or `overrides`). Chunks are grouped per source (an FAQ
entry has several: whole entry, question, alternative phrasings) and sources are ranked by
reciprocal rank fusion of their best vector rank and best text rank. The answer/"I don't know"
decision uses the best source's cosine similarity (a calibrated, rank-independent score), with
a bonus when full text agrees on the same source.

Query plan: at ~1,000 chunks per unit an exact scan of the unit's rows (btree on unit) is faster
and exact, so the query orders by the plain `embedding <=> q` which the HNSW expression index on
`embedding::vector(N)` cannot serve; no SET of hnsw parameters is needed, so psycopg's cached
prepared plans cannot go stale on them (LIMITS.md).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from knowledge import services
from knowledge.embeddings import Embedder, get_embedder
from knowledge.guard import refusal_reason
from knowledge.normalize import normalize
from kumon.models import Contact, Unit

# Reciprocal rank fusion: fused = 1/(RRF_K + vector rank) + TEXT_WEIGHT/(RRF_K + text rank).
# Calibrated on knowledge/eval/queries.jsonl: full text alone is weak on informal messages (it
# ties on common words), so it breaks near-ties rather than overriding the vector ranking.
RRF_K = 10
TEXT_WEIGHT = 0.3
CANDIDATES = 40  # chunks per side before grouping by source


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    source_id: int
    external_id: str
    question: str
    text: str
    answer: str
    vector_score: float
    text_score: float
    fused_score: float
    confidence: float = 0.0


@dataclass(frozen=True)
class SearchResult:
    answered: bool
    confidence: float
    hits: list[Hit]
    query: str = ""
    normalized_query: str = ""
    model: str = ""
    elapsed_ms: float = 0.0
    gap_id: int | None = None
    refusal_reason: str | None = None

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits and self.answered else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The unit's own chunks and the shared ones, as two branches of a UNION ALL: each branch is an
# index scan of chunk_unit_idx (unit_id = X, unit_id IS NULL). An OR of both in one WHERE made
# PostgreSQL scan the whole table (80 ms at 100k chunks instead of ~2 ms). The own branch reads
# the chunks alone (their unit_id is the source's, kept by a trigger) minus the unit's
# unpublished sources; joining the ~1,000 sources to check `published` cost ~2 ms per search.
_OWN = """c.unit_id = %(unit)s AND c.embedding_model = %(model)s AND c.source_id NOT IN (
        SELECT u.id FROM knowledge_source u WHERE u.unit_id = %(unit)s AND NOT u.published)"""
_SHARED = """c.unit_id IS NULL AND c.embedding_model = %(model)s AND s.published AND NOT EXISTS (
        SELECT 1 FROM knowledge_source o
        WHERE o.unit_id = %(unit)s AND o.published
          AND ((o.external_id <> '' AND o.external_id = s.external_id) OR o.overrides_id = s.id))"""


def _branches(select: str) -> str:
    return (
        f"({select} FROM knowledge_chunk c, q WHERE {_OWN}) UNION ALL "
        f"({select} FROM knowledge_chunk c JOIN knowledge_source s ON s.id = c.source_id, q WHERE {_SHARED})"
    )


# The hybrid query: one pass over the unit's rows computes both the cosine distance and the
# full-text rank; the best CANDIDATES of each side are kept (two top-N sorts over the
# materialised scores) and returned with what a hit shows, so a search is one round trip. The
# query's lexemes are OR-ed (parents' messages rarely contain every word of an entry).
# `(… @@ …) IS TRUE` is deliberately not indexable: an OR of common words matches a large share
# of every unit's chunks, and a GIN bitmap over all of them cost ~25 ms at 100 units × 1,000
# chunks, where the unit's ~1,000 rows, already read for the distance, cost nothing more
# (bench/knowledge_search.py). Row: id, source_id, similarity, text rank (NULL: no match),
# chunk text, external id, question, title, answer.
_HYBRID_SQL = f"""
    WITH q AS (
        SELECT %(qv)s::vector AS v,
               NULLIF(array_to_string(tsvector_to_array(to_tsvector('pt_unaccent', %(qt)s)), ' | '), '')::tsquery AS tsq
    ),
    scored AS MATERIALIZED ({
    _branches(
        "SELECT c.id, c.source_id, c.embedding <=> q.v AS distance, "
        "CASE WHEN (c.search_vector @@ q.tsq) IS TRUE THEN ts_rank_cd(c.search_vector, q.tsq, 1) END AS rank"
    )
}),
    candidates AS (
        (SELECT id, source_id, distance, rank FROM scored ORDER BY distance, id LIMIT %(k)s)
        UNION
        (SELECT id, source_id, distance, rank FROM scored WHERE rank IS NOT NULL ORDER BY rank DESC, id LIMIT %(k)s)
    )
    SELECT k.id, k.source_id, 1 - k.distance, k.rank, c.text, s.external_id, s.question, s.title, s.answer
    FROM candidates k JOIN knowledge_chunk c ON c.id = k.id JOIN knowledge_source s ON s.id = k.source_id
"""


# The index's model is re-read at most every INDEX_MODEL_TTL seconds per process (one query
# less per search). Vectors are never mixed meanwhile: the SQL filters on embedding_model, so
# right after a `knowledge reembed` a stale process finds nothing until it re-reads and fails.
INDEX_MODEL_TTL = 5.0
_index_model_checked: dict[str, float] = {}


def _check_index_model(embedder: Embedder) -> None:
    now = time.monotonic()
    if now - _index_model_checked.get(embedder.name, -INDEX_MODEL_TTL) < INDEX_MODEL_TTL:
        return
    services.ensure_index_model(embedder=embedder)
    _index_model_checked[embedder.name] = now


def threshold() -> float:
    return float(settings.KNOWLEDGE_ANSWER_THRESHOLD)


def search(
    *,
    unit: Unit,
    query: str,
    limit: int = 5,
    record_gap: bool = True,
    embedder: Embedder | None = None,
    contact: Contact | None = None,
) -> SearchResult:
    """Rank the unit's knowledge for `query` and decide whether it answers it.

    Side effects: when not answered and record_gap, stores a KnowledgeGap (with `contact`, the
    family who asked, if given).
    Raises services.ModelMismatch when the index was built by another embedding model.
    """
    started = time.perf_counter()
    embedder = embedder or get_embedder()
    _check_index_model(embedder)
    normalised = normalize(query)
    if not normalised.strip():
        return SearchResult(answered=False, confidence=0.0, hits=[], query=query, model=embedder.name)
    vector = embedder.embed_query(normalised)
    params = {
        "model": embedder.name,
        "unit": unit.pk,
        "qv": _vector_literal(vector),
        "qt": normalised,
        "k": CANDIDATES,
    }
    with connection.cursor() as cursor:
        cursor.execute(_HYBRID_SQL, params)
        rows = cursor.fetchall()
    hits = _fuse(rows, limit=limit)
    confidence = hits[0].confidence if hits else 0.0
    reason = refusal_reason(query=query, unit=unit)
    if reason is None and confidence < threshold():
        reason = "low_confidence" if hits else "no_match"
    answered = reason is None
    gap_id = None
    if not answered and record_gap:
        gap = services.record_gap(
            unit=unit,
            contact=contact,
            text=query,
            confidence=confidence,
            reason=reason or "",
            candidates=[
                {
                    "source_id": h.source_id,
                    "external_id": h.external_id,
                    "question": h.question,
                    "confidence": round(h.confidence, 4),
                }
                for h in hits[:3]
            ],
        )
        gap_id = gap.pk
    return SearchResult(
        answered=answered,
        confidence=confidence,
        hits=hits,
        query=query,
        normalized_query=normalised,
        model=embedder.name,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        gap_id=gap_id,
        refusal_reason=reason,
    )


@dataclass
class _Candidate:
    source_id: int
    vector_chunk: int | None = None
    vector_score: float = 0.0
    vector_rank: int | None = None
    text_chunk: int | None = None
    text_score: float = 0.0
    text_rank: int | None = None
    fused: float = 0.0


def _fuse(rows: list[tuple], *, limit: int) -> list[Hit]:
    """Group the candidate chunks by source and rank the sources by reciprocal rank fusion."""
    shown = {r[0]: r for r in rows}  # chunk id → the row, for the text and the source's fields
    candidates: dict[int, _Candidate] = {}
    # Each side's CANDIDATES best rows (ties by id, as in the SQL; the other side's extra rows
    # sort after them); keep each source's best chunk on each side.
    by_vector = sorted(rows, key=lambda r: (-r[2], r[0]))[:CANDIDATES]
    by_text = sorted((r for r in rows if r[3] is not None), key=lambda r: (-r[3], r[0]))[:CANDIDATES]
    for chunk_id, source_id, score, *_ in by_vector:
        cand = candidates.setdefault(source_id, _Candidate(source_id))
        if cand.vector_chunk is None:
            cand.vector_chunk, cand.vector_score = chunk_id, float(score)
    for rank, cand in enumerate(
        sorted((c for c in candidates.values() if c.vector_chunk), key=lambda c: -c.vector_score), start=1
    ):
        cand.vector_rank = rank
    text_rank = 0
    for chunk_id, source_id, _similarity, score, *_ in by_text:
        cand = candidates.setdefault(source_id, _Candidate(source_id))
        if cand.text_chunk is None:
            text_rank += 1
            cand.text_chunk, cand.text_score, cand.text_rank = chunk_id, float(score), text_rank
    for cand in candidates.values():
        cand.fused = (1.0 / (RRF_K + cand.vector_rank) if cand.vector_rank else 0.0) + (
            TEXT_WEIGHT / (RRF_K + cand.text_rank) if cand.text_rank else 0.0
        )
    hits = []
    for cand in sorted(candidates.values(), key=lambda c: (-c.fused, -c.vector_score))[:limit]:
        chunk_id = cand.vector_chunk or cand.text_chunk
        _, _, _, _, text, external_id, question, title, answer = shown[chunk_id]
        hits.append(
            Hit(
                chunk_id=chunk_id,
                source_id=cand.source_id,
                external_id=external_id,
                question=question or title,
                text=text,
                answer=answer,
                vector_score=round(cand.vector_score, 4),
                text_score=round(cand.text_score, 4),
                fused_score=round(cand.fused, 5),
                confidence=round(_confidence(cand), 4),
            )
        )
    return hits


def _confidence(cand: _Candidate) -> float:
    """Cosine similarity of the best chunk, raised a little when full text ranks the source first."""
    bonus = TEXT_AGREEMENT_BONUS if cand.text_rank == 1 and cand.vector_rank == 1 else 0.0
    return min(1.0, cand.vector_score + bonus)


TEXT_AGREEMENT_BONUS = 0.05


def _vector_literal(vector: Any) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"
