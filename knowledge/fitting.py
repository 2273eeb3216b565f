"""`knowledge fit`: learn the ranker's and the decision's coefficients from labelled messages.

1. Every case is analysed by the search (knowledge.search.analyse: one row of ranking features
   per candidate entry, the same the search uses).
2. Ranker: a conditional logit (softmax over a message's candidates, the labelled entry as the
   choice), L2-regularised, by gradient ascent; cases whose entry is not among the candidates
   teach nothing and are left out.
3. Decision: with the new ranker, a logistic regression of "the first entry is the labelled one"
   (0 for every must-refuse line) on the result-level features (knowledge/decision.py).
4. Thresholds: the answer threshold maximising right answers − WRONG_COST × wrong ones (a
   must-refuse line answered is wrong), then the clarify margin/threshold maximising clarifies
   that hold the right entry − their wrong ones, on the same cases.
Only numpy: the fit runs anywhere the app runs, in seconds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge import decision
from knowledge.embeddings import Embedder
from knowledge.evaluation import EvalCase
from knowledge.search import analyse
from kumon.models import Unit

WRONG_COST = 2.0
L2 = 0.001


@dataclass
class Sample:
    case: EvalCase
    ids: list[str]
    rows: np.ndarray
    topic_stats: tuple[float, float, float]  # best answerable topic, best linked, best out of scope


def collect(*, unit: Unit, cases: list[EvalCase], embedder: Embedder) -> list[Sample]:
    from knowledge import topics

    samples = []
    for case in cases:
        a = analyse(unit=unit, query=case.q, embedder=embedder)
        ranked = a.topic_scores.ranked()
        catalogue = topics.by_slug()
        answerable = [s for slug, s in ranked if catalogue[slug].answerable]
        out = [s for slug, s in ranked if not catalogue[slug].answerable]
        linked = [a.topic_scores.of(c.topic) for c in a.candidates if c.topic]
        samples.append(
            Sample(
                case=case,
                ids=[c.external_id for c in a.candidates],
                rows=a.rank_rows,
                topic_stats=(
                    answerable[0] if answerable else 0.0,
                    max(linked) if linked else 0.0,
                    out[0] if out else 0.0,
                ),
            )
        )
    return samples


def _newton(objective, start: np.ndarray, *, iterations: int = 100) -> np.ndarray:
    """Maximise a concave objective(w) -> (value, gradient, negative Hessian) by damped Newton
    steps (halved until the value improves: plain steps overshoot on nearly separable data)."""
    w = start
    value, grad, hessian = objective(w)
    for _ in range(iterations):
        step = np.linalg.solve(hessian + np.eye(len(w)) * 1e-9, grad)
        scale = 1.0
        while scale > 1e-6:
            candidate = w + scale * step
            new_value, new_grad, new_hessian = objective(candidate)
            if new_value >= value:
                break
            scale /= 2
        else:
            break
        improvement = new_value - value
        w, value, grad, hessian = candidate, new_value, new_grad, new_hessian
        if improvement < 1e-10:
            break
    return w


def fit_ranker(samples: list[Sample]) -> np.ndarray:
    """The conditional logit's penalised log-likelihood, maximised by damped Newton steps."""
    usable = [(s.rows, s.ids.index(s.case.faq_id)) for s in samples if s.case.faq_id in s.ids]
    d = len(decision.RANK_FEATURES)
    penalty = np.eye(d) * L2 * len(usable)

    def objective(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        value = -0.5 * float(w @ penalty @ w)
        grad = -penalty @ w
        hessian = penalty.copy()
        for rows, y in usable:
            z = rows @ w
            top = z.max()
            log_sum = top + np.log(np.exp(z - top).sum())
            p = np.exp(z - log_sum)
            value += float(z[y] - log_sum)
            mean = p @ rows
            grad += rows[y] - mean
            centred = rows - mean
            hessian += (centred * p[:, None]).T @ centred
        return value, grad, hessian

    return _newton(objective, np.zeros(d))


def fit_logistic(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression, L2 penalty on all but the last column (the bias), damped Newton."""
    n, d = X.shape
    penalty = np.eye(d) * L2 * n
    penalty[-1, -1] = 0.0

    def objective(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        z = np.clip(X @ w, -30, 30)
        p = 1 / (1 + np.exp(-z))
        value = float((y * z - np.logaddexp(0, z)).sum() - 0.5 * w @ penalty @ w)
        grad = X.T @ (y - p) - penalty @ w
        hessian = (X * (p * (1 - p))[:, None]).T @ X + penalty
        return value, grad, hessian

    return _newton(objective, np.zeros(d))


def _decision_rows(samples: list[Sample], rank_w: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    X, y, info = [], [], []
    for s in samples:
        if len(s.ids) == 0:
            continue
        scores = s.rows @ rank_w
        order = np.argsort(-scores, kind="stable")
        scores, rows = scores[order], s.rows[order]
        ids = [s.ids[i] for i in order]
        X.append(
            decision.decision_features(
                scores=scores,
                rank_rows=rows,
                best_topic=s.topic_stats[0],
                best_linked_topic=s.topic_stats[1],
                best_out_of_scope=s.topic_stats[2],
            )
        )
        y.append(1.0 if s.case.faq_id and ids[0] == s.case.faq_id else 0.0)
        info.append({"ids": ids, "scores": scores, "label": s.case.faq_id})
    return np.array(X), np.array(y), info


def choose_thresholds(X: np.ndarray, y: np.ndarray, info: list[dict], w: np.ndarray) -> dict[str, float]:
    p = 1 / (1 + np.exp(-(X @ w)))
    best = (-1e9, 0.5)
    for t in np.arange(0.05, 0.96, 0.01):
        answered = p >= t
        value = float((answered & (y == 1)).sum() - WRONG_COST * (answered & (y == 0)).sum())
        if value > best[0]:
            best = (value, round(float(t), 2))
    threshold = best[1]
    best_c = (0.0, 0.0, 1.01)
    for margin in (0.25, 0.5, 0.75, 1.0, 1.5):
        for ct in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            value = 0.0
            for pi, row in zip(p, info, strict=True):
                if pi >= threshold or len(row["ids"]) < 2:
                    continue
                scores = row["scores"]
                close = [i for i in range(min(3, len(scores))) if scores[0] - scores[i] <= margin]
                if len(close) < 2:
                    continue
                soft = decision.softmax(scores)
                together = float(sum(soft[i] for i in close)) * min(1.0, pi / (float(soft[0]) or 1.0))
                if together < ct:
                    continue
                right = row["label"] in [row["ids"][i] for i in close]
                value += 1.0 if right else -1.5
            if value > best_c[0]:
                best_c = (value, margin, ct)
    return {"answer_threshold": threshold, "clarify_margin": best_c[1], "clarify_threshold": best_c[2]}


def fit(*, samples: list[Sample], source: str) -> dict[str, Any]:
    rank_w = fit_ranker(samples)
    X, y, info = _decision_rows(samples, rank_w)
    dec_w = fit_logistic(X, y)
    thresholds = choose_thresholds(X, y, info, dec_w)
    return {
        "rank": {f: round(float(v), 4) for f, v in zip(decision.RANK_FEATURES, rank_w, strict=True)},
        "decision": {f: round(float(v), 4) for f, v in zip(decision.DECISION_FEATURES, dec_w, strict=True)},
        **thresholds,
        "fitted_on": source,
        "fitted_at": dt.date.today().isoformat(),
        "n_cases": len(samples),
    }


def write(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
