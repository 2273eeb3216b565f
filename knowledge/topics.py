"""The franchise topic catalogue: what Kumon units' FAQs are about, in parents' words.

The catalogue is data (knowledge/catalogue/*.json, README there): each topic has a slug, a short
label (for "Você quer saber de A ou de B?"), a canonical question and many phrasings written the
way parents write on WhatsApp. Topics of files marked `"answerable": false` (a child's day,
medical advice, jokes, instructions to the bot…) are never linked to an entry: a message nearest
to them is a strong sign it must be refused.

A unit's entry is linked to its topic by similarity (`link`), and a parent's message is scored
against every topic (`TopicIndex.scores`) so that it meets the unit's entry through the topic's
many phrasings even when the unit typed one short question.

The phrasing vectors live in the process, not in the database: ~1,300 short texts embed in ~1 s
with the default model (measured: 1,660 texts/s in batches of 64) and a search scores them with
one matrix product (~0.3 ms), cheaper than scanning them in SQL on every search. They are built
on first use per embedding model and kept for the life of the process; the files are read once.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from knowledge import lexical
from knowledge.embeddings import Embedder
from knowledge.normalize import normalize, reading

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
TOP_K = 3  # a topic's score: the mean of its 3 most similar phrasings (one stray phrasing is noise)
LEXICAL_WEIGHT = 0.3  # topic score = vector + LEXICAL_WEIGHT × lexical overlap (dev tuning split)
# Linking an entry: its question and its question + answer are scored like a message, half each.
# Below this an entry gets no topic (it works as before, by its own text). The score (shown in
# the admin) is the mean of the similarity blend and the classifier's blend, each ~0–1
# (LINK_CLASSIFIER_WEIGHT 1: equal say); 0.45 on the similarity alone before the classifier.
# 0.30 links every entry of the dev and proxy units that has a catalogue topic and none of the
# proxy's without one (its "adaptação" scored 0.24 before that topic existed).
LINK_CLASSIFIER_WEIGHT = 1.0
LINK_MIN_SCORE = 0.30
LINK_MIN_MARGIN = 0.0
# An entry whose question is (nearly) one of a topic's phrasings is that topic, whatever its
# answer also talks about ("Posso trancar a matrícula?" answered with fees is about pausing).
LINK_SAME_QUESTION = 0.95
# The topic classifier (TopicIndex.classifier): ridge regression of a phrasing's topic (one-hot)
# on its embedding, fitted on the catalogue when the index is built. 0.03 of 0.01–3 gave the best
# hit@1 on the dev set's check part once it is a ranking and decision feature (knowledge/eval/README.md).
CLASSIFIER_RIDGE = 0.03


@dataclass(frozen=True)
class Topic:
    slug: str
    label: str
    question: str
    phrasings: tuple[str, ...]
    answerable: bool
    area: str
    # A broader topic whose entry also answers this one when the unit has no entry of its own
    # for it ("abre sábado?" → the opening hours entry; a unit with a Saturday entry gets that).
    broader: str = ""


@cache
def catalogue() -> tuple[Topic, ...]:
    """Every topic of the catalogue files, in file order. Raises ValueError on a malformed file."""
    topics: list[Topic] = []
    seen: set[str] = set()
    for path in sorted(CATALOGUE_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for item in data["topics"]:
            slug = item["slug"]
            if slug in seen:
                raise ValueError(f"{path.name}: topic {slug!r} defined twice")
            seen.add(slug)
            topics.append(
                Topic(
                    slug=slug,
                    label=item["label"],
                    question=item["question"],
                    phrasings=tuple(item["phrasings"]),
                    answerable=bool(data.get("answerable", True)),
                    area=data.get("area", path.stem),
                    broader=item.get("broader", ""),
                )
            )
    slugs = {t.slug: t for t in topics}
    for t in topics:
        if t.broader and (t.broader not in slugs or not slugs[t.broader].answerable or not t.answerable):
            raise ValueError(f"topic {t.slug!r}: broader {t.broader!r} is not an answerable topic")
    return tuple(topics)


@cache
def narrower() -> dict[str, tuple[str, ...]]:
    """broader topic → the topics its entry also answers when the unit has none of theirs."""
    out: dict[str, list[str]] = {}
    for t in catalogue():
        if t.broader:
            out.setdefault(t.broader, []).append(t.slug)
    return {k: tuple(v) for k, v in out.items()}


def covered(slug: str, linked: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The topics an entry linked to `slug` answers in a unit whose entries are linked to
    `linked`: its own and its narrower ones that no entry of the unit has."""
    return (slug, *(n for n in narrower().get(slug, ()) if n not in linked))


@cache
def by_slug() -> dict[str, Topic]:
    return {t.slug: t for t in catalogue()}


def choices() -> list[tuple[str, str]]:
    """(slug, "slug — label") of the answerable topics, for the admin."""
    return [(t.slug, f"{t.slug} — {t.label}") for t in catalogue() if t.answerable]


@cache
def vocabulary() -> lexical.Vocabulary:
    """Known words for typo correction: the catalogue's, the lexicon's."""
    texts: list[str] = []
    for t in catalogue():
        texts.extend([t.question, t.label, *t.phrasings])
    for canonical, variants in lexical._LEXICON["synonyms"].items():
        texts.extend([canonical, *variants])
    texts.extend(lexical._LEXICON["abbreviations"].values())
    return lexical.Vocabulary(texts)


@dataclass(frozen=True)
class TopicScores:
    """One message's score for every topic (catalogue order)."""

    vector: np.ndarray
    lexical: np.ndarray
    best_row: np.ndarray  # per topic: the index of its most similar phrasing
    texts: tuple[str, ...]  # the index's phrasings (as written), by row
    best: np.ndarray  # per topic: the similarity of its most similar phrasing
    # per topic: the classifier's score (≈ P(topic | message), a linear model: not clipped to [0, 1])
    classifier: np.ndarray

    def best_phrasing(self, slug: str) -> str:
        index = _INDEX_OF.get(slug)
        return self.texts[int(self.best_row[index])] if index is not None else ""

    @property
    def combined(self) -> np.ndarray:
        return self.vector + LEXICAL_WEIGHT * self.lexical

    def of(self, slug: str) -> float:
        index = _INDEX_OF.get(slug)
        return float(self.combined[index]) if index is not None else 0.0

    def best_of(self, slug: str) -> float:
        index = _INDEX_OF.get(slug)
        return float(self.best[index]) if index is not None else 0.0

    def ranked(self, *, answerable_only: bool = False) -> list[tuple[str, float]]:
        combined = self.combined
        order = np.argsort(-combined, kind="stable")
        if answerable_only:
            order = order[_ANSWERABLE[order]]
        slugs = _SLUGS
        return [(slugs[i], float(combined[i])) for i in order]

    def best_out_of_scope(self) -> float:
        values = self.combined[~_ANSWERABLE]
        return float(values.max()) if len(values) else 0.0

    def classified(self, slug: str) -> float:
        index = _INDEX_OF.get(slug)
        return float(self.classifier[index]) if index is not None else 0.0

    def classifier_best(self, *, out_of_scope: bool = False) -> float:
        values = self.classifier[~_ANSWERABLE] if out_of_scope else self.classifier
        return float(values.max()) if len(values) else 0.0

    def classifier_ranked(self, n: int) -> list[str]:
        """The n answerable topics the classifier scores highest."""
        order = np.argsort(-self.classifier, kind="stable")
        return [_SLUGS[i] for i in order[_ANSWERABLE[order]][:n]]


_INDEX_OF: dict[str, int] = {t.slug: i for i, t in enumerate(catalogue())}
_SLUGS: tuple[str, ...] = tuple(t.slug for t in catalogue())
_ANSWERABLE = np.array([t.answerable for t in catalogue()], dtype=bool)


class TopicIndex:
    """The catalogue's phrasing vectors for one embedding model, and its lexical index."""

    def __init__(self, embedder: Embedder) -> None:
        topics = catalogue()
        texts: list[str] = []
        originals: list[str] = []
        owners: list[int] = []
        for i, topic in enumerate(topics):
            for text in (topic.question, *topic.phrasings):
                texts.append(reading(normalize(text)))  # read like a message
                originals.append(text)
                owners.append(i)
        self.texts = tuple(originals)
        self.owners = np.asarray(owners)
        self._rows_of_text: dict[str, list[int]] = {}
        for row, text in enumerate(texts):
            self._rows_of_text.setdefault(text, []).append(row)
        # One extra row of zeros pads every topic to the same number of phrasings, so a search
        # scores all topics with one gather and one partition instead of a loop.
        self.matrix = np.vstack([embedder.embed_documents(texts), np.zeros((1, embedder.dimensions()))])
        self.matrix = self.matrix.astype(np.float32)
        width = max(np.bincount(self.owners))
        self._rows = np.full((len(topics), width), len(texts), dtype=np.int64)
        for i in range(len(topics)):
            members = np.flatnonzero(self.owners == i)
            self._rows[i, : len(members)] = members
        self._padding = self._rows == len(texts)
        self.lexical = lexical.OverlapIndex([lexical.terms(t, normalised=True) for t in texts])
        self.n_topics = len(topics)
        self.classifier = _fit_classifier(self.matrix[:-1], self.owners, len(topics)).astype(np.float32)

    def rows_of(self, text: str) -> frozenset[int]:
        """The phrasings that read as `text` (normalised like a message) — what `knowledge fit`
        leaves out when a catalogue phrasing is itself the message (knowledge/training.py)."""
        return frozenset(self._rows_of_text.get(reading(normalize(text)), ()))

    def scores(
        self, vector: np.ndarray, query_terms: list[str], *, leave_out: frozenset[int] = frozenset()
    ) -> TopicScores:
        # einsum, not `@`: a matrix-vector product through OpenBLAS wakes its thread pool, and on
        # two shared cores its threads wait for each other (1–8 ms under load, bench); einsum's
        # single loop takes ~0.15 ms.
        similarities = np.einsum("ij,j->i", self.matrix, vector.astype(np.float32))
        if leave_out:
            similarities[list(leave_out)] = -2.0
        grid = similarities[self._rows]
        grid[self._padding] = -2.0
        top = np.partition(grid, grid.shape[1] - TOP_K, axis=1)[:, -TOP_K:]
        vec = top.mean(axis=1)
        argmax = grid.argmax(axis=1)
        best_row = self._rows[np.arange(self.n_topics), argmax]
        best = grid[np.arange(self.n_topics), argmax]
        lex = np.zeros(self.n_topics, dtype=np.float32)
        for row, score in self.lexical.scores(query_terms).items():
            if row in leave_out:
                continue
            owner = self.owners[row]
            if score > lex[owner]:
                lex[owner] = score
        classifier = (
            np.einsum("ij,j->i", self.classifier[:, :-1], vector.astype(np.float32)) + self.classifier[:, -1]
        )
        return TopicScores(
            vector=vec, lexical=lex, best_row=best_row, texts=self.texts, best=best, classifier=classifier
        )


def _fit_classifier(matrix: np.ndarray, owners: np.ndarray, n_topics: int) -> np.ndarray:
    """A linear topic classifier on the phrasings' vectors: ridge regression of the one-hot topic
    on [vector, 1], closed form (one (d+1)² solve, ~20 ms at 512 dims). Row t of the result
    (n_topics × (d+1)) scores topic t: a message's score is weights · [vector, 1].

    Why besides the nearest phrasings: the mean of a topic's 3 nearest phrasings reads each
    phrasing alone; the classifier weighs the directions that separate topics from each other
    (what "quanto fica" means next to "irmãos" or "atrasar"), learnt from all phrasings at once.
    Alone it ranks topics worse (dev check part: nearest topic right 0.84 vs 0.80); as one more
    signal of the ranker and the decision it lifts hit@1 and lowers wrong answers (README)."""
    x = np.hstack([matrix.astype(np.float64), np.ones((len(matrix), 1))])
    y = np.zeros((len(matrix), n_topics))
    y[np.arange(len(matrix)), owners] = 1.0
    gram = x.T @ x + CLASSIFIER_RIDGE * np.eye(x.shape[1])
    return np.linalg.solve(gram, x.T @ y).T


_indexes: dict[str, TopicIndex] = {}
_lock = threading.Lock()


def index_for(embedder: Embedder) -> TopicIndex:
    """The process's topic index for this embedder's model (built once, ~1 s)."""
    with _lock:
        index = _indexes.get(embedder.name)
        if index is None:
            index = TopicIndex(embedder)
            _indexes[embedder.name] = index
        return index


@dataclass(frozen=True)
class Link:
    slug: str
    score: float


def link(*, question: str, answer: str, embedder: Embedder) -> Link | None:
    """The answerable topic an FAQ entry is about, or None when no topic is close enough."""
    index = index_for(embedder)
    q_text = normalize(question)
    qa_text = normalize(f"{question}\n{answer}")
    q_vec, qa_vec = embedder.embed_documents([q_text, qa_text])
    by_question = index.scores(q_vec, lexical.terms(q_text, normalised=True))
    by_entry = index.scores(qa_vec, lexical.terms(qa_text, normalised=True))
    combined = 0.5 * by_question.combined + 0.5 * by_entry.combined
    # The classifier's say (LINK_CLASSIFIER_WEIGHT): it reads the answer's directions as well as
    # its nearest phrasings ("os pais podem esperar na unidade?" is waiting, not watching a class).
    combined = (
        combined + LINK_CLASSIFIER_WEIGHT * (0.5 * by_question.classifier + 0.5 * by_entry.classifier)
    ) / (1 + LINK_CLASSIFIER_WEIGHT)
    topics = catalogue()
    ranked = [i for i in np.argsort(-combined, kind="stable") if topics[i].answerable]
    best = ranked[0]
    score = float(combined[best])
    same = np.where(_ANSWERABLE, by_question.best, -1.0)
    if same.max() >= LINK_SAME_QUESTION:
        best = int(same.argmax())
        score = max(score, float(combined[best]))
    if score < LINK_MIN_SCORE:
        return None
    return Link(slug=topics[best].slug, score=round(score, 4))
