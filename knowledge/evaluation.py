"""`knowledge eval`: retrieval quality and latency on a labelled set of parent messages."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from knowledge.embeddings import Embedder
from knowledge.search import search
from kumon.models import Unit


@dataclass(frozen=True)
class EvalCase:
    q: str
    faq_id: str | None


@dataclass(frozen=True)
class EvalOutcome:
    case: EvalCase
    ranked_ids: list[str]
    answered: bool
    confidence: float
    elapsed_ms: float


def read_cases(path: Path) -> list[EvalCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            cases.append(EvalCase(q=item["q"], faq_id=item.get("faq_id") or None))
    return cases


def run_cases(*, unit: Unit, cases: list[EvalCase], embedder: Embedder | None = None) -> list[EvalOutcome]:
    outcomes = []
    for case in cases:
        result = search(unit=unit, query=case.q, limit=5, record_gap=False, embedder=embedder)
        outcomes.append(
            EvalOutcome(
                case,
                [h.external_id for h in result.hits],
                result.answered,
                result.confidence,
                result.elapsed_ms,
            )
        )
    return outcomes


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def metrics(outcomes: list[EvalOutcome]) -> dict[str, float | int]:
    """hit@k and MRR over answerable lines (the labelled entry's rank, answered or not);
    answered_rate on answerable lines; refusal_rate on must-refuse lines."""
    answerable = [o for o in outcomes if o.case.faq_id]
    refuse = [o for o in outcomes if not o.case.faq_id]

    def rank(o: EvalOutcome) -> int | None:
        return o.ranked_ids.index(o.case.faq_id) + 1 if o.case.faq_id in o.ranked_ids else None

    ranks = [rank(o) for o in answerable]
    n = len(answerable) or 1
    latencies = [o.elapsed_ms for o in outcomes]
    return {
        "hit@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "hit@3": round(sum(1 for r in ranks if r is not None and r <= 3) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
        "answered_rate": round(sum(1 for o in answerable if o.answered) / n, 4),
        "refusal_rate": round(sum(1 for o in refuse if not o.answered) / (len(refuse) or 1), 4),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else 0.0,
        "p95_ms": round(_percentile(latencies, 95), 2),
        "n_answerable": len(answerable),
        "n_refuse": len(refuse),
    }
