"""`knowledge eval`: retrieval quality, decisions and latency on a labelled set of parent messages.

Definitions (over the lines of the file; "answerable" lines carry a `faq_id`):
- hit@1, hit@3, MRR: rank of the labelled entry among the hits, whatever the decision
  (answer, clarify or refuse), over answerable lines.
- answered_rate: answerable lines answered (decision "answer", with any entry) / answerable.
- answered_wrong_rate: answerable lines answered with another entry than the labelled one /
  answerable. (answered_rate − answered_wrong_rate = answered and right.)
- clarified_rate: answerable lines where the search asks which of 2–3 entries the parent means /
  answerable; a clarify is neither answered nor wrong. clarified_right_rate: those whose
  choices contain the labelled entry.
- refusal_rate: must-refuse lines (no faq_id) refused (decision "refuse") / must-refuse; a
  clarify on such a line is not a refusal.

The dev set is split in two fixed parts by line: even 0-based line numbers are the tuning part
(what `knowledge fit` learns from), odd ones the check part (knowledge/eval/README.md).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.embeddings import Embedder
from knowledge.search import search
from kumon.models import Unit

PARTS = ("all", "tune", "check")


@dataclass(frozen=True)
class EvalCase:
    q: str
    faq_id: str | None
    line: int = 0
    source: str = ""  # which set it comes from (knowledge/training.py), for the fit's report
    # A catalogue phrasing sent as a message: left out of the topic index while analysed.
    leave_out: bool = False


@dataclass(frozen=True)
class EvalOutcome:
    case: EvalCase
    ranked_ids: list[str]
    answered: bool
    confidence: float
    elapsed_ms: float
    decision: str = ""
    clarify_ids: list[str] = field(default_factory=list)
    refusal_reason: str | None = None


def in_part(line: int, part: str) -> bool:
    return part == "all" or (part == "tune") == (line % 2 == 0)


def read_cases(path: Path, *, part: str = "all") -> list[EvalCase]:
    """The file's lines as cases (line = 0-based index among non-empty lines), one part of them.
    Raises ValueError naming the line when one is not {"q": text, "faq_id"?: text}."""
    cases = []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for n, line in enumerate(lines):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name} line {n + 1}: not JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise ValueError(f'{path.name} line {n + 1}: needs a text field "q"')
        faq_id = item.get("faq_id")
        if faq_id is not None and not isinstance(faq_id, str):
            raise ValueError(f'{path.name} line {n + 1}: "faq_id" must be text')
        if in_part(n, part):
            cases.append(EvalCase(q=item["q"], faq_id=faq_id or None, line=n))
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
                decision=result.decision,
                clarify_ids=[h.external_id for h in result.clarify],
                refusal_reason=result.refusal_reason,
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
    """The figures of the module docstring. The first nine keys are a contract (DESIGN.md)."""
    answerable = [o for o in outcomes if o.case.faq_id]
    refuse = [o for o in outcomes if not o.case.faq_id]

    def rank(o: EvalOutcome) -> int | None:
        return o.ranked_ids.index(o.case.faq_id) + 1 if o.case.faq_id in o.ranked_ids else None

    def clarified(o: EvalOutcome) -> bool:
        return o.decision == "clarify" if o.decision else False

    ranks = [rank(o) for o in answerable]
    n = len(answerable) or 1
    latencies = [o.elapsed_ms for o in outcomes]
    refused = [o for o in refuse if not o.answered and not clarified(o)]
    return {
        "hit@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "hit@3": round(sum(1 for r in ranks if r is not None and r <= 3) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
        "answered_rate": round(sum(1 for o in answerable if o.answered) / n, 4),
        "refusal_rate": round(len(refused) / (len(refuse) or 1), 4),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else 0.0,
        "p95_ms": round(_percentile(latencies, 95), 2),
        "n_answerable": len(answerable),
        "n_refuse": len(refuse),
        "answered_wrong_rate": round(
            sum(1 for o in answerable if o.answered and o.ranked_ids[:1] != [o.case.faq_id]) / n, 4
        ),
        "clarified_rate": round(sum(1 for o in answerable if clarified(o)) / n, 4),
        "clarified_right_rate": round(
            sum(1 for o in answerable if clarified(o) and o.case.faq_id in o.clarify_ids) / n, 4
        ),
    }


def miss_kind(o: EvalOutcome) -> str | None:
    """What went wrong on a line, or None: "wrong_answer", "clarify", "refused" (answerable) or
    "answered_negative", "clarified_negative" (must refuse)."""
    if o.case.faq_id:
        if o.answered:
            return None if o.ranked_ids[:1] == [o.case.faq_id] else "wrong_answer"
        return "clarify" if o.decision == "clarify" else "refused"
    if o.answered:
        return "answered_negative"
    return "clarified_negative" if o.decision == "clarify" else None
