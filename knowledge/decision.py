"""Ranking and the answer / clarify / refuse decision, from several signals.

Each candidate entry gets features (its best chunk's cosine similarity, the score of its
catalogue topic for the message and that topic's gap to the best topic, lexical overlap with
its question and matched text); a linear ranker orders them. The decision then reads features of
the whole result: the ranker's probability for the first entry and its margin over the second,
whether the catalogue topic nearest to the message has no entry in this unit (a strong sign
the unit does not cover it), whether an out-of-scope topic (a child's day, medical advice,
jokes…) is nearer than any answerable one, and the first entry's similarity. A logistic
regression turns them into the probability that the first entry answers the message.

Both sets of coefficients are data (knowledge/data/decision.json), fitted by
`python manage.py knowledge fit` on the tuning half of a labelled set and checked on the
other half (knowledge/eval/README.md). Outcomes:
- answer: P(first entry right) ≥ the threshold (KNOWLEDGE_ANSWER_THRESHOLD overrides the file's);
- clarify: not sure enough of the first, but the second (and third) entries are close and the
  best two together are likely right: the engine asks which one the parent means;
- refuse: everything else ("vou confirmar com a equipe"), and whatever the guard refuses.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

DECISION_FILE = Path(__file__).resolve().parent / "data" / "decision.json"

RANK_FEATURES = (
    "vector",
    "topic",
    "topic_gap",
    "is_top_topic",
    "has_topic",
    "lexical",
    "answer_lexical",
    "topic_max",
    "classifier",
)
DECISION_FEATURES = (
    "p1",
    "margin",
    "vector1",
    "topic1",
    "unlinked_gap",
    "out_of_scope_gap",
    "lexical1",
    "answer_lexical1",
    "topic_gap1",
    "top_topic1",
    "linked_over_out_of_scope",
    "classifier1",
    "classifier_gap1",
    "classifier_over_out_of_scope",
    "classifier_uncovered_gap",
    "classifier_top_is_first",
    "bias",
)
# What decision_features reads about the message besides its ranked candidates (search.analyse).
STATS = (
    "best_topic",
    "best_linked_topic",
    "best_out_of_scope",
    "classifier_best",
    "classifier_out_of_scope",
    "classifier_uncovered",
    "classifier_top_is_first",
)


@dataclass(frozen=True)
class Model:
    rank_weights: np.ndarray
    decision_weights: np.ndarray
    answer_threshold: float
    clarify_margin: float
    clarify_threshold: float
    meta: dict[str, Any]


@cache
def model() -> Model:
    data = json.loads(DECISION_FILE.read_text(encoding="utf-8"))
    return Model(
        # A feature the file does not name weighs nothing (a file fitted before it existed).
        rank_weights=np.array([data["rank"].get(f, 0.0) for f in RANK_FEATURES], dtype=np.float64),
        decision_weights=np.array(
            [data["decision"].get(f, 0.0) for f in DECISION_FEATURES], dtype=np.float64
        ),
        answer_threshold=float(data["answer_threshold"]),
        clarify_margin=float(data["clarify_margin"]),
        clarify_threshold=float(data["clarify_threshold"]),
        meta={k: v for k, v in data.items() if k not in {"rank", "decision"}},
    )


def rank_scores(features: np.ndarray, m: Model | None = None) -> np.ndarray:
    """features: one row per candidate, RANK_FEATURES columns → one score per candidate."""
    m = m or model()
    return features @ m.rank_weights


def softmax(scores: np.ndarray) -> np.ndarray:
    if len(scores) == 0:
        return scores
    z = np.exp(scores - scores.max())
    return z / z.sum()


def decision_features(*, scores: np.ndarray, rank_rows: np.ndarray, stats: dict[str, float]) -> np.ndarray:
    """The result-level features (DECISION_FEATURES order) of ranked candidates (best first).

    stats (STATS): the best answerable topic's score, the best score of a topic linked to one of
    the candidates, the best out-of-scope topic's; the topic classifier's best score over all
    topics and over the out-of-scope ones (knowledge/topics.py)."""
    probabilities = softmax(scores)
    first = rank_rows[0]
    margin = float(scores[0] - scores[1]) if len(scores) > 1 else 5.0
    best_topic, best_linked = stats["best_topic"], stats["best_linked_topic"]
    return np.array(
        [
            float(probabilities[0]),
            min(margin, 5.0),
            float(first[0]),
            float(first[1]),
            max(0.0, best_topic - best_linked),
            max(0.0, stats["best_out_of_scope"] - best_topic),
            float(first[5]),
            float(first[6]),
            float(first[2]),
            float(first[3]),
            best_linked - stats["best_out_of_scope"],
            float(first[8]),
            stats.get("classifier_best", 0.0) - float(first[8]),
            float(first[8]) - stats.get("classifier_out_of_scope", 0.0),
            max(0.0, stats.get("classifier_uncovered", 0.0) - float(first[8])),
            stats.get("classifier_top_is_first", 0.0),
            1.0,
        ]
    )


def answer_probability(features: np.ndarray, m: Model | None = None) -> float:
    m = m or model()
    z = float(features @ m.decision_weights)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
