"""Hybrid search over a unit's knowledge and the answer / clarify / refuse decision.

A message is compared with (1) the chunks of the unit's own entries and the shared ones, except
shared entries the unit overrides (same external id, or `overrides`): an FAQ entry's whole text,
its question, its alternative phrasings, the sentences of its answer, a document's passages;
(2) the franchise topic catalogue (knowledge/topics.py): the entry linked to a topic is met
through the topic's many phrasings in parents' words; (3) the lexical side
(knowledge/lexical.py: stems, the domain's synonyms, typo correction). knowledge/decision.py
ranks the candidate entries from these signals and decides.

Query plan: one SQL round trip. At ~1,000 chunks per unit an exact scan of the unit's rows
(btree on unit) is faster and exact, so the query orders by the plain `embedding <=> q` which the
HNSW expression index on `embedding::vector(N)` cannot serve; no SET of hnsw parameters is
needed, so psycopg's cached prepared plans cannot go stale on them (LIMITS.md). The catalogue is
scored in the process before the query (a matrix product, ~0.3 ms) and the query adds the
unit's entries of the message's nearest topics to the candidates.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection

from knowledge import decision, lexical, services, topics
from knowledge.embeddings import Embedder, get_embedder
from knowledge.guard import refusal_reason
from knowledge.normalize import normalize, reading
from kumon.models import Contact, Unit

# The unit's most similar chunks before grouping by source. 40, 20 and 12 gave the same hits and
# decisions on the dev and demo sets (the topic branch brings the entries that matter); 20 keeps
# a margin and halves the rows the search reads and ranks at 1,000 chunks per unit.
CANDIDATES = 20
TOPIC_CANDIDATES = 6  # the message's nearest answerable topics whose entries join the candidates
# At most this many of their entries (the most similar): a unit has one or two entries per topic,
# and a bound keeps a unit with hundreds (bench/knowledge_search.py) from ranking them all.
TOPIC_ENTRIES = 12
# A message whose nearest catalogue topic (by phrasings and by the classifier alike) is one the
# unit has no entry for, nearer than any topic it has by this much, is refused rather than
# answered with the nearest entry ("quantos alunos por sala?" in a unit without a class-size entry).
UNCOVERED_TOPIC_GAP = 0.3
CLASSIFIER_TOPICS = 3  # and the topic classifier's 3 best (most often among the 6 already)
CLARIFY_MAX = 3
MAX_QUERY_CHARS = 2000  # the API's limit too; longer text is not a parent's question


class Decision:
    ANSWER = "answer"
    CLARIFY = "clarify"
    REFUSE = "refuse"


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
    # The catalogue topic the entry is linked to ("" = none), its label and its score for the
    # message; which of the entry's texts matched best: "entry", "question", "phrasing",
    # "sentence", "passage" (its own chunk, `text`) or "topic" (a phrasing of its topic,
    # `matched_text`).
    topic: str = ""
    topic_label: str = ""
    topic_score: float = 0.0
    lexical_score: float = 0.0
    matched: str = ""
    matched_text: str = ""


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
    # "answer" (answered is True, hits[0] is the answer), "clarify" (ask which of `clarify`, 2–3
    # entries, the parent means) or "refuse".
    decision: str = Decision.REFUSE
    clarify: list[Hit] = field(default_factory=list)
    # The catalogue topic nearest to the message (answerable or not) and its score.
    topic: str = ""
    topic_score: float = 0.0

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


# The hybrid query: one pass over the unit's rows computes the cosine distance; the best
# CANDIDATES chunks are kept (a top-N sort over the materialised distances), plus the best chunk
# of each entry linked to one of the message's nearest topics (a few sources by
# source_unit_topic_idx), and returned with what a hit shows and their full-text rank, so a search
# is one round trip. The words of the message meet the candidates on the lexical side
# (knowledge/lexical.py: stems, synonyms, typos), which reads parents' Portuguese better than a
# text search configuration; the full-text rank is only computed for the returned rows
# (Hit.text_score). A third branch of the best CANDIDATES by full-text rank over all the unit's
# rows cost ~1.7 ms per search at 1,000 chunks (an OR of common words matches a quarter of
# them) and, with a unit's FAQ of 40–100 entries, found no entry the two others missed (dev
# set, demo set: the same hits, the same decisions; knowledge/eval/README.md). Row: id,
# source_id, similarity, text rank (NULL: no match), chunk text, chunk role, external id,
# question, title, answer, topic.
_HYBRID_SQL = f"""
    WITH q AS (
        SELECT %(qv)s::vector AS v,
               NULLIF(array_to_string(tsvector_to_array(to_tsvector('pt_unaccent', %(qt)s)), ' | '), '')::tsquery AS tsq
    ),
    scored AS MATERIALIZED ({_branches("SELECT c.id, c.source_id, c.embedding <=> q.v AS distance")}),
    candidates AS (
        (SELECT id, source_id, distance FROM scored ORDER BY distance, id LIMIT %(k)s)
        UNION
        (SELECT id, source_id, distance FROM (
            SELECT DISTINCT ON (source_id) id, source_id, distance FROM scored
            WHERE source_id IN (
                SELECT t.id FROM knowledge_source t
                WHERE (t.unit_id = %(unit)s OR t.unit_id IS NULL) AND t.topic = ANY(%(topics)s))
            ORDER BY source_id, distance, id) linked
         ORDER BY distance, id LIMIT %(kt)s)
    )
    SELECT k.id, k.source_id, 1 - k.distance,
           CASE WHEN (c.search_vector @@ q.tsq) IS TRUE THEN ts_rank_cd(c.search_vector, q.tsq, 1) END,
           c.text, c.role, s.external_id, s.question, s.title, s.answer, s.topic
    FROM candidates k JOIN knowledge_chunk c ON c.id = k.id JOIN knowledge_source s ON s.id = k.source_id, q
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
    """P(first entry right) needed to answer: the setting if given, else the fitted model's."""
    configured = getattr(settings, "KNOWLEDGE_ANSWER_THRESHOLD", None)
    return float(configured) if configured is not None else decision.model().answer_threshold


def query_problem(query: str) -> str | None:
    """Why a text cannot be searched at all ("empty", "too_long", "invalid_text"), or None."""
    if not isinstance(query, str):
        return "invalid_text"
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        return "invalid_text"  # a lone surrogate ("\\ud800"): not text a person typed
    if len(query) > MAX_QUERY_CHARS:
        return "too_long"
    if not query.strip():
        return "empty"
    return None


@dataclass
class Candidate:
    source_id: int
    external_id: str
    question: str
    answer: str
    topic: str
    vector_chunk: int | None = None
    vector_score: float = -1.0
    vector_text: str = ""
    vector_role: str = ""
    text_chunk: int | None = None
    text_score: float = 0.0
    text_text: str = ""
    text_role: str = ""
    features: np.ndarray | None = None
    score: float = 0.0


@dataclass
class Analysis:
    """Everything the decision reads, for one message (also what `knowledge fit` learns from)."""

    normalised: str
    candidates: list[Candidate]  # ranked, best first
    rank_rows: np.ndarray
    scores: np.ndarray
    decision_row: np.ndarray | None
    stats: dict[str, float]  # decision.STATS
    topic_scores: topics.TopicScores
    nearest_topic: str
    nearest_topic_score: float


def _without_own_name(normalised: str, unit: Unit) -> str:
    """The query without the unit's own place name ("qual o endereço do kumon ponta verde?"):
    it says which unit, which the search knows, and pulls the query towards entries that happen
    to name it."""
    place = [w for w in normalize(unit.name).split() if w not in ("kumon", "unidade")]
    if not place:
        return normalised
    pattern = (
        r"\b(?:(?:d[aoe]|n[ao]|em|pra|para)\s+)?(?:(?:kumon|unidade)\s+)?(?:(?:d[aoe]|n[ao])\s+)?"
        + r"\s+".join(re.escape(w) for w in place)
        + r"\b"
    )
    stripped = " ".join(re.sub(pattern, " ", normalised).split())
    return stripped or normalised


def analyse(
    *,
    unit: Unit,
    query: str,
    embedder: Embedder,
    model: decision.Model | None = None,
    leave_out: frozenset[int] = frozenset(),
) -> Analysis:
    """Retrieve and rank the unit's entries for `query` (one SQL round trip); no decision.

    leave_out: catalogue phrasings (TopicIndex rows) not to score — when `knowledge fit` learns
    from a catalogue phrasing as if a parent had sent it, it must not meet itself."""
    # The unit's own name goes before the spelling correction, which would read "ponta" as "porta".
    normalised = reading(topics.vocabulary().correct(_without_own_name(normalize(query), unit)))
    terms = lexical.terms(normalised, normalised=True)
    vector = embedder.embed_query(normalised)
    index = topics.index_for(embedder)
    topic_scores = index.scores(vector, terms, leave_out=leave_out)
    answerable = topic_scores.ranked(answerable_only=True)[:TOPIC_CANDIDATES]
    nearest = int(np.argmax(topic_scores.combined))
    params = {
        "model": embedder.name,
        "unit": unit.pk,
        "qv": _vector_literal(vector),
        "qt": normalised,
        "k": CANDIDATES,
        "topics": _with_broader(
            [slug for slug, _ in answerable[:TOPIC_CANDIDATES]]
            + topic_scores.classifier_ranked(CLASSIFIER_TOPICS)
        ),
        "kt": TOPIC_ENTRIES,
    }
    candidates = _group(_fetch(params))
    m = model or decision.model()
    best_topic = answerable[0][1] if answerable else 0.0
    top_slug = answerable[0][0] if answerable else ""
    message = lexical.Query(terms, index.lexical)
    linked_topics = {c.topic for c in candidates if c.topic}
    rank_rows = np.array(
        [
            _rank_features(c, message, topic_scores, best_topic, top_slug, index, linked_topics)
            for c in candidates
        ]
    ).reshape(len(candidates), len(decision.RANK_FEATURES))
    scores = decision.rank_scores(rank_rows, m) if len(candidates) else np.zeros(0)
    order = np.argsort(-scores, kind="stable")
    candidates = [candidates[i] for i in order]
    rank_rows, scores = rank_rows[order], scores[order]
    for cand, row, score in zip(candidates, rank_rows, scores, strict=True):
        cand.features, cand.score = row, float(score)
    linked = [float(c.features[1]) for c in candidates if c.topic and c.features is not None]
    # The classifier's best topic that none of the candidates answers: a message confidently
    # about a topic the unit has no entry for (class size, CNPJ) must not get the nearest entry.
    answered_topics = {t for c in candidates if c.topic for t in topics.covered(c.topic, linked_topics)}
    first_covers = (
        set(topics.covered(candidates[0].topic, linked_topics))
        if candidates and candidates[0].topic
        else set()
    )
    classifier_top = topic_scores.classifier_ranked(CLASSIFIER_TOPICS)
    uncovered = next((t for t in classifier_top if t not in answered_topics), "")
    # The nearest topic and the classifier agree on a topic no candidate answers, by this much
    # over the best topic a candidate does answer (search refuses it past UNCOVERED_TOPIC_GAP).
    uncovered_gap = (
        best_topic - (max(linked) if linked else 0.0)
        if top_slug and top_slug not in answered_topics and classifier_top[:1] == [top_slug]
        else 0.0
    )
    stats = {
        "best_topic": best_topic,
        "best_linked_topic": max(linked) if linked else 0.0,
        "best_out_of_scope": topic_scores.best_out_of_scope(),
        "classifier_best": topic_scores.classifier_best(),
        "classifier_out_of_scope": topic_scores.classifier_best(out_of_scope=True),
        "classifier_uncovered": topic_scores.classified(uncovered) if uncovered else 0.0,
        "classifier_top_is_first": 1.0 if classifier_top[:1] and classifier_top[0] in first_covers else 0.0,
        "uncovered_topic_gap": uncovered_gap,
    }
    decision_row = (
        decision.decision_features(scores=scores, rank_rows=rank_rows, stats=stats) if candidates else None
    )
    return Analysis(
        normalised=normalised,
        candidates=candidates,
        rank_rows=rank_rows,
        scores=scores,
        decision_row=decision_row,
        stats=stats,
        topic_scores=topic_scores,
        nearest_topic=topics.catalogue()[nearest].slug,
        nearest_topic_score=float(topic_scores.combined[nearest]),
    )


def search(
    *,
    unit: Unit,
    query: str,
    limit: int = 5,
    record_gap: bool = True,
    embedder: Embedder | None = None,
    contact: Contact | None = None,
) -> SearchResult:
    """Rank the unit's knowledge for `query` and decide: answer, clarify or refuse.

    Never raises on the text itself: an empty, too long or invalid text (a lone surrogate) is a
    refusal with refusal_reason "empty", "too_long" or "invalid_text".
    Side effects: when refused and record_gap, stores a KnowledgeGap (with `contact`, the family
    who asked, if given). A clarify is not a gap: the engine asks and resolves it.
    Raises services.ModelMismatch when the index was built by another embedding model.
    """
    started = time.perf_counter()
    embedder = embedder or get_embedder()
    _check_index_model(embedder)
    problem = query_problem(query)
    if problem is None and not normalize(query).strip():
        problem = "empty"  # only emoji or punctuation: nothing to search
    if problem is not None:
        return SearchResult(
            answered=False,
            confidence=0.0,
            hits=[],
            query=query if problem != "invalid_text" else "",
            model=embedder.name,
            refusal_reason=problem,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )
    analysis = analyse(unit=unit, query=query, embedder=embedder)
    m = decision.model()
    # Rounded before the comparison: the threshold is compared with the figure callers see.
    confidence = round(
        decision.answer_probability(analysis.decision_row, m) if analysis.decision_row is not None else 0.0, 4
    )
    hits = _hits(analysis, confidence=confidence, limit=limit)
    verdict, reason = Decision.REFUSE, refusal_reason(query=query, unit=unit)
    clarify: list[Hit] = []
    if reason is None:
        if not hits:
            reason = "no_match"
        elif analysis.stats["uncovered_topic_gap"] >= UNCOVERED_TOPIC_GAP:
            reason = "uncovered_topic"
        elif confidence >= threshold():
            verdict = Decision.ANSWER
        else:
            clarify = _clarify(analysis, hits, confidence=confidence, m=m)
            if clarify:
                verdict = Decision.CLARIFY
            else:
                reason = "low_confidence"
    answered = verdict == Decision.ANSWER
    gap_id = None
    if verdict == Decision.REFUSE and record_gap:
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
        confidence=round(confidence, 4),
        hits=hits,
        query=query,
        normalized_query=analysis.normalised,
        model=embedder.name,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        gap_id=gap_id,
        refusal_reason=reason if verdict == Decision.REFUSE else None,
        decision=verdict,
        clarify=clarify,
        topic=analysis.nearest_topic,
        topic_score=round(analysis.nearest_topic_score, 4),
    )


def _clarify(analysis: Analysis, hits: list[Hit], *, confidence: float, m: decision.Model) -> list[Hit]:
    """The 2–3 close entries to ask about, or [] when they are not close or not likely enough.

    Close: within `clarify_margin` of the first's rank score. Likely: the ranker's probability
    of the close entries together, times P(first right) / p1, at least `clarify_threshold`."""
    if len(hits) < 2 or analysis.decision_row is None:
        return []
    scores = analysis.scores
    close = [i for i in range(min(CLARIFY_MAX, len(hits))) if scores[0] - scores[i] <= m.clarify_margin]
    if len(close) < 2:
        return []
    probabilities = decision.softmax(scores)
    p1 = float(probabilities[0]) or 1.0
    together = float(sum(probabilities[i] for i in close)) * min(1.0, confidence / p1)
    if together < m.clarify_threshold:
        return []
    return [hits[i] for i in close]


def _fetch(params: dict[str, Any]) -> list[tuple]:
    """The hybrid query's rows, through a psycopg cursor that binds its parameters on the server.

    Django's cursors bind client-side (no `server_side_binding` in settings): the ~6 kB vector
    literal was quoted into the query text in Python and parsed with it, ~3.5 ms of the query's
    ~7 ms at 1,000 chunks per unit (measured side by side: 6.97 → 3.43 ms p50). Preparing is left
    to the connection's policy (psycopg prepares a query run 5 times). It bypasses Django's
    execute wrappers (query logging): this one query is the search's hot path."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_HYBRID_SQL, params)
        return cursor.fetchall()


def _group(rows: list[tuple]) -> list[Candidate]:
    candidates: dict[int, Candidate] = {}
    # Vector side: each source's most similar chunk.
    for (
        chunk_id,
        source_id,
        similarity,
        rank,
        text,
        role,
        external_id,
        question,
        title,
        answer,
        topic,
    ) in sorted(rows, key=lambda r: (-r[2], r[0])):
        cand = candidates.get(source_id)
        if cand is None:
            cand = candidates[source_id] = Candidate(
                source_id=source_id,
                external_id=external_id,
                question=question or title,
                answer=answer,
                topic=topic,
            )
        if cand.vector_chunk is None:
            cand.vector_chunk, cand.vector_score = chunk_id, float(similarity)
            cand.vector_text, cand.vector_role = text, role
        if rank is not None and float(rank) > cand.text_score:
            cand.text_chunk, cand.text_score, cand.text_text, cand.text_role = (
                chunk_id,
                float(rank),
                text,
                role,
            )
    return list(candidates.values())


def _rank_features(
    cand: Candidate,
    query: lexical.Query,
    topic_scores: topics.TopicScores,
    best_topic: float,
    top_slug: str,
    index: topics.TopicIndex,
    linked_topics: set[str],
) -> list[float]:
    # An entry answers its topic and the narrower ones the unit has no entry for (topics.covered).
    covers = topics.covered(cand.topic, linked_topics) if cand.topic else ()
    topic = max(topic_scores.of(t) for t in covers) if covers else 0.0
    return [
        cand.vector_score,
        topic,
        (topic - best_topic) if cand.topic else 0.0,
        1.0 if top_slug in covers else 0.0,
        1.0 if cand.topic else 0.0,
        query.overlap(_weighed(index.lexical, cand.question, cand.vector_text)),
        # The answer's own words: a parent asks about what the answer says ("cobram o áudio?").
        query.overlap(_weighed(index.lexical, cand.answer)),
        max(topic_scores.best_of(t) for t in covers) if covers else 0.0,
        max(topic_scores.classified(t) for t in covers) if covers else 0.0,
    ]


def _with_broader(slugs: list[str]) -> list[str]:
    """The topics and their broader ones (whose entries answer them when the unit has none)."""
    catalogue = topics.by_slug()
    return list(dict.fromkeys([*slugs, *(catalogue[s].broader for s in slugs if catalogue[s].broader)]))


@lru_cache(maxsize=20_000)
def _weighed(idf: lexical.OverlapIndex, *texts: str) -> tuple[frozenset[str], float]:
    """An entry's lexical terms and their weight (cached: the same entries come back search after
    search; the weights are the catalogue's, fixed for the life of the process)."""
    return lexical.weighed([t for text in texts for t in _terms(text)], idf)


@lru_cache(maxsize=20_000)
def _terms(text: str) -> tuple[str, ...]:
    """A text's lexical terms: an entry's question and answer recur in several of its chunks."""
    return tuple(lexical.terms(text))


def _hits(analysis: Analysis, *, confidence: float, limit: int) -> list[Hit]:
    probabilities = decision.softmax(analysis.scores)
    p1 = float(probabilities[0]) if len(probabilities) else 1.0
    catalogue = topics.by_slug()
    hits = []
    for cand, probability in zip(analysis.candidates[:limit], probabilities[:limit], strict=False):
        topic = catalogue.get(cand.topic)
        topic_score = analysis.topic_scores.of(cand.topic) if topic else 0.0
        by_topic = topic is not None and topic_score > cand.vector_score
        hits.append(
            Hit(
                chunk_id=cand.vector_chunk or cand.text_chunk or 0,
                source_id=cand.source_id,
                external_id=cand.external_id,
                question=cand.question,
                text=cand.vector_text or cand.text_text,
                answer=cand.answer,
                vector_score=round(cand.vector_score, 4),
                text_score=round(cand.text_score, 4),
                fused_score=round(cand.score, 4),
                confidence=round(confidence * float(probability) / p1, 4) if p1 else 0.0,
                topic=cand.topic,
                topic_label=topic.label if topic else "",
                topic_score=round(topic_score, 4),
                lexical_score=round(float(cand.features[5]) if cand.features is not None else 0.0, 4),
                matched="topic" if by_topic else cand.vector_role,
                matched_text=analysis.topic_scores.best_phrasing(cand.topic) if by_topic else "",
            )
        )
    return hits


def _vector_literal(vector: Any) -> str:
    # Rounded to 7 decimals (≤ 5e-8 off on unit vectors): repr of a rounded float is short and
    # `map(str, …)` formats in C, 0.2 ms against 0.4 ms for an f-string per component.
    return "[" + ",".join(map(str, np.asarray(vector, dtype=np.float64).round(7).tolist())) + "]"
