"""`knowledge fit`: learn the ranker's and the decision's coefficients from labelled messages.

1. Every case is analysed by the search (knowledge.search.analyse: one row of ranking features
   per candidate entry, the same the search uses).
2. Ranker: a conditional logit (softmax over a message's candidates, the labelled entry as the
   choice), L2-regularised, by gradient ascent; cases whose entry is not among the candidates
   teach nothing and are left out.
3. Decision: with the new ranker, a logistic regression of "the first entry is the labelled one"
   (0 for every must-refuse line) on the result-level features (knowledge/decision.py).
4. Thresholds, on the cases `thresholds_on` accepts (`knowledge fit`: all of them, see the
   command): the answer threshold that answers the most answerable lines while
   answered-and-wrong stays ≤ MAX_WRONG and refusal ≥ MIN_REFUSAL — issue #13's goals (0.05,
   0.90) with room for the difference between the lines fitted on and new ones; a line the guard
   refuses (knowledge/guard.py) is refused whatever the threshold. When no threshold meets both,
   the one maximising right answers − WRONG_COST × wrong ones. Then the clarify
   margin/threshold maximising clarifies that hold the right entry − their wrong ones.
Only numpy: the fit runs anywhere the app runs, in seconds.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge import decision
from knowledge.embeddings import Embedder
from knowledge.evaluation import EvalCase
from knowledge.guard import refusal_reason
from knowledge.search import analyse
from kumon.models import Unit

WRONG_COST = 2.0
MAX_WRONG = 0.03
MIN_REFUSAL = 0.94
L2 = 0.001


@dataclass
class Sample:
    case: EvalCase
    ids: list[str]
    rows: np.ndarray
    stats: dict[str, float]  # decision.STATS
    weight: float = 1.0
    guarded: bool = False  # the guard refuses it whatever the decision says


def collect(*, unit: Unit, cases: list[EvalCase], embedder: Embedder) -> list[Sample]:
    """Each case analysed by the search (a catalogue phrasing without itself, EvalCase.leave_out)."""
    from knowledge import topics  # noqa: PLC0415 -- topics imports the embedder stack

    samples = []
    index = topics.index_for(embedder)
    for case in cases:
        leave_out = index.rows_of(case.q) if case.leave_out else frozenset()
        a = analyse(unit=unit, query=case.q, embedder=embedder, leave_out=leave_out)
        samples.append(
            Sample(
                case=case,
                ids=[c.external_id for c in a.candidates],
                rows=a.rank_rows,
                stats=a.stats,
                guarded=refusal_reason(query=case.q, unit=unit) is not None,
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
    usable = [(s.rows, s.ids.index(s.case.faq_id), s.weight) for s in samples if s.case.faq_id in s.ids]
    d = len(decision.RANK_FEATURES)
    penalty = np.eye(d) * L2 * sum(weight for _, _, weight in usable)

    def objective(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        value = -0.5 * float(w @ penalty @ w)
        grad = -penalty @ w
        hessian = penalty.copy()
        for rows, y, weight in usable:
            z = rows @ w
            top = z.max()
            log_sum = top + np.log(np.exp(z - top).sum())
            p = np.exp(z - log_sum)
            value += weight * float(z[y] - log_sum)
            mean = p @ rows
            grad += weight * (rows[y] - mean)
            centred = rows - mean
            hessian += weight * (centred * p[:, None]).T @ centred
        return value, grad, hessian

    return _newton(objective, np.zeros(d))


def fit_logistic(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted logistic regression, L2 penalty on all but the last column (the bias), damped
    Newton."""
    n, d = X.shape
    weights = np.ones(n) if weights is None else weights
    penalty = np.eye(d) * L2 * float(weights.sum())
    penalty[-1, -1] = 0.0

    def objective(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        z = np.clip(X @ w, -30, 30)
        p = 1 / (1 + np.exp(-z))
        value = float((weights * (y * z - np.logaddexp(0, z))).sum() - 0.5 * w @ penalty @ w)
        grad = X.T @ (weights * (y - p)) - penalty @ w
        hessian = (X * (weights * p * (1 - p))[:, None]).T @ X + penalty
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
        X.append(decision.decision_features(scores=scores, rank_rows=rows, stats=s.stats))
        y.append(1.0 if s.case.faq_id and ids[0] == s.case.faq_id else 0.0)
        info.append(
            {
                "ids": ids,
                "scores": scores,
                "label": s.case.faq_id,
                "weight": s.weight,
                "case": s.case,
                "guarded": s.guarded,
            }
        )
    return np.array(X), np.array(y), info


def answer_threshold(p: np.ndarray, y: np.ndarray, info: list[dict]) -> float:
    """The threshold of step 4 (module docstring) for probabilities `p` of the lines `info`."""
    answerable = np.array([bool(row["label"]) for row in info])
    guarded = np.array([bool(row.get("guarded")) for row in info])
    n_answerable, n_refuse = max(int(answerable.sum()), 1), max(int((~answerable).sum()), 1)
    within, best = None, (-1e9, 0.5)
    for t in np.arange(0.05, 0.96, 0.01):
        answered = (p >= t) & ~guarded
        wrong = answered & (y == 0)
        rate = float((answered & answerable).sum()) / n_answerable
        if (wrong & answerable).sum() / n_answerable <= MAX_WRONG and 1 - (
            answered & ~answerable
        ).sum() / n_refuse >= MIN_REFUSAL:
            if within is None or rate > within[0]:
                within = (rate, round(float(t), 2))
        value = float((answered & (y == 1)).sum() - WRONG_COST * wrong.sum())
        if value > best[0]:
            best = (value, round(float(t), 2))
    return within[1] if within else best[1]


def choose_thresholds(X: np.ndarray, y: np.ndarray, info: list[dict], w: np.ndarray) -> dict[str, float]:
    p = 1 / (1 + np.exp(-(X @ w)))
    threshold = answer_threshold(p, y, info)
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


def fit(
    *, samples: list[Sample], source: str, thresholds_on: Callable[[EvalCase], bool] | None = None
) -> dict[str, Any]:
    """Both sets of coefficients from every sample (weighted), the thresholds from the samples
    `thresholds_on` accepts (all by default): generated cases have their own share of messages
    to refuse, real parents' messages the share a unit sees."""
    rank_w = fit_ranker(samples)
    X, y, info = _decision_rows(samples, rank_w)
    dec_w = fit_logistic(X, y, np.array([row["weight"] for row in info]))
    keep = [i for i, row in enumerate(info) if thresholds_on is None or thresholds_on(row["case"])]
    thresholds = choose_thresholds(X[keep], y[keep], [info[i] for i in keep], dec_w)
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
