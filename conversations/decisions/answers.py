"""Questions to the unit's knowledge.

Each question of the turn is searched on its own ("qual o valor, quantas vezes por semana e se tem
onde estacionar" is three), and answered with the unit's own text. When two entries are close the
parent is asked which one they mean, and their next message ("a mensalidade", "1") gets it. A
question the knowledge cannot answer never silences the bot: the parent is told the team will
check, the gap is recorded (at commit: only the turn that is sent records it) and staff are told,
and the conversation carries on with what the parent was doing.

"Vocês abrem hoje?" is answered from the unit's own hours and closures, not from the FAQ text:
the calendar knows today is Sunday.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from conversations import llm
from conversations.decisions.handoff import next_open_text
from conversations.hours import opening_state
from conversations.state import Candidate, Intent, Stage, Step
from conversations.turn import Gap, Turn
from conversations.understanding import OPENING, Understood
from conversations.understanding.dates import WEEKDAY_NAMES, format_day, parse_when
from conversations.understanding.text import fold, prepare
from knowledge import search as knowledge_search
from knowledge import selectors as knowledge_selectors
from scheduling import selectors as slots_selectors
from scheduling.texts import hour_pt

logger = logging.getLogger(__name__)

# Fragments that continue a question already answered ("e se fizer ingles tb", "tipo buscar na escola").
# Words that join a question to the previous one, not part of it ("e quanto fica pra 2 matérias").
_LEADING = re.compile(
    r"^\W*(?:(?:e|e se|se|ah|ok|entao|tambem|tb|alem disso|outra coisa|mais uma coisa|resumindo|also|and|y|ademas)\b[\s,:]*)+",
    re.I,
)
_CONTINUATION = re.compile(r"^(e|e se|tipo|ou|tb|tambem|also|y)\b")
STAFF_REASONS = {"student_record", "other_unit"}
DECLINE_REASONS = {"prompt_injection", "offtopic", "off_topic"}


def _decision(result: Any) -> str:
    decision = getattr(result, "decision", None)
    if decision in ("answer", "clarify", "refuse"):
        return str(decision)
    return "answer" if result.answered else "refuse"


def _record(turn: Turn, question: str, result: Any) -> None:
    turn.gaps.append(
        Gap(
            text=question[:2000],
            confidence=float(result.confidence or 0.0),
            reason=result.refusal_reason or "",
            candidates=[
                {
                    "source_id": h.source_id,
                    "external_id": h.external_id,
                    "question": h.question,
                    "confidence": round(h.confidence, 4),
                }
                for h in result.hits[:3]
            ],
        )
    )


LLM_ENTRIES = 4  # the language model sees the best entries, so it can repair a ranking miss


def _use(
    turn: Turn, question: str, hit: Any, score: float, seen: set[int], others: list[Any] | None = None
) -> None:
    if hit.source_id in seen:
        return
    seen.add(hit.source_id)
    turn.sources.append(
        {
            "source_id": hit.source_id,
            "external_id": hit.external_id,
            "question": hit.question,
            "score": round(score, 4),
            "chunk_id": hit.chunk_id,
        }
    )
    text = _phrase(
        turn, question, [hit, *[h for h in (others or []) if h.source_id != hit.source_id]][:LLM_ENTRIES]
    )
    if (
        turn.lang != "pt"
        and not turn.used_llm
        and not any(turn.say("in_portuguese") in a for a in turn.answers)
    ):
        text = f"{turn.say('in_portuguese')}\n{text}"
    turn.answers.append(text)


def _add_sibling_discount(turn: Turn, u: Understood, hit: Any, seen: set[int]) -> None:
    """The price asked by a family with several children: what the unit says about siblings
    comes with it ("tenho 3, quanto fica tudo?")."""
    several = max(len(turn.lead.children), len(u.facts.children), u.facts.children_count or 0) >= 2
    if hit.topic != "mensalidade" or not several:
        return
    entry = knowledge_selectors.entry_on_topic(unit=turn.unit, topic="desconto-irmaos")
    if entry is None or entry.pk in seen:
        return
    seen.add(entry.pk)
    turn.sources.append(
        {
            "source_id": entry.pk,
            "external_id": entry.external_id,
            "question": entry.question,
            "score": 0.0,
            "chunk_id": None,
        }
    )
    turn.answers.append(entry.answer)


def _phrase(turn: Turn, question: str, hits: list[Any]) -> str:
    knowledge = [h.answer or h.text for h in hits]
    if turn.llm:
        family = turn.lead.to_data()
        if turn.state.flow.staff_note:
            family["staff_note"] = turn.state.flow.staff_note
        try:
            text, usage = llm.compose_answer(
                unit_name=turn.unit.name,
                question=question,
                knowledge=knowledge,
                family=family,
                language=turn.lang,
            )
            turn.usage += usage
            turn.used_llm = True
            if text:
                return text
        except llm.LLMError as exc:
            logger.warning("LLM answer failed, knowledge text used: %s", exc)
    return knowledge[0]


def answer(turn: Turn, u: Understood) -> bool:
    """Answer the turn's questions; returns whether anything was answered or acknowledged."""
    said = False
    seen: set[int] = set()
    flow = turn.state.flow
    if turn.state.step == Step.CLARIFY and flow.clarify:
        picked = _resolve_clarify(turn, u)
        flow.clarify, question = [], flow.clarify_question
        flow.clarify_question = ""
        turn.set_step(Step.NONE)
        if picked is not None:
            result = knowledge_search.search(
                unit=turn.unit,
                query=question or picked.question,
                limit=10,
                record_gap=False,
                contact=turn.contact,
            )
            hit = next((h for h in result.hits if h.source_id == picked.source_id), None)
            if hit is not None:
                _use(turn, question, hit, hit.confidence, seen)
                said = True
                if not u.questions:
                    return said
    for question in u.questions:
        if _opening_question(turn, question):
            said = True
            continue
        query = _LEADING.sub("", question).strip() or question
        result = knowledge_search.search(
            unit=turn.unit, query=query, limit=5, record_gap=False, contact=turn.contact
        )
        decision = _decision(result)
        if decision == "clarify":
            candidates = list(getattr(result, "clarify", []) or result.hits[:2])
            busy = (
                turn.state.stage in (Stage.QUALIFYING, Stage.BOOKING, Stage.RESCHEDULING)
                or turn.flow_done
                or u.has(Intent.BOOK)
                or u.when is not None
                or not u.facts.empty
                or len(u.questions) > 1
            )
            if busy or len(candidates) < 2 or flow.clarify:
                _use(
                    turn, question, candidates[0], candidates[0].confidence, seen
                )  # no second question mid-flow
            else:
                flow.clarify = [Candidate(h.source_id, h.question) for h in candidates[:3]]
                flow.clarify_question = question
                options = "\n".join(f"{i}) {c.question}" for i, c in enumerate(flow.clarify, 1))
                turn.answers.append(turn.say("clarify", options=options))
                turn.set_step(Step.CLARIFY)
            said = True
            continue
        if decision == "answer" and result.hits:
            _use(turn, question, result.hits[0], result.confidence, seen, others=result.hits)
            _add_sibling_discount(turn, u, result.hits[0], seen)
            said = True
            continue
        reason = result.refusal_reason or ""
        if reason in DECLINE_REASONS or u.has(Intent.INJECTION) or u.has(Intent.OFFTOPIC):
            if not any(turn.say("offtopic") == a or turn.say("decline") == a for a in turn.answers):
                turn.answers.append(
                    turn.say("decline" if "injection" in reason or u.has(Intent.INJECTION) else "offtopic")
                )
            said = True
            continue
        if seen and (_CONTINUATION.match(fold(question)) or len(prepare(question).split()) < 3):
            continue  # a fragment of a question already answered
        _record(turn, question, result)
        if not turn.questions_for_staff:
            key = (
                "personal_data"
                if reason == "personal_data"
                else "student_record"
                if reason in STAFF_REASONS
                else "unknown_answer"
            )
            turn.answers.append(turn.say(key))
        turn.questions_for_staff.append(question)
        said = True
    return said


def _resolve_clarify(turn: Turn, u: Understood) -> Candidate | None:
    options = turn.state.flow.clarify
    if u.choice is not None and 1 <= u.choice <= len(options):
        return options[u.choice - 1]
    words = set(re.findall(r"\w{4,}", prepare(u.text)))
    best, best_overlap = None, 0
    for candidate in options:
        overlap = len(words & set(re.findall(r"\w{4,}", prepare(candidate.question))))
        if overlap > best_overlap:
            best, best_overlap = candidate, overlap
    return best


def _opening_question(turn: Turn, question: str) -> bool:
    """ "Vocês abrem hoje / sábado / dia 24?": answered from the unit's hours and closures."""
    text = prepare(question)
    if not OPENING.search(text):
        return False
    when = parse_when(text, today=turn.local_now.date())
    if when.day is None:
        return False
    day = when.day
    weekday = WEEKDAY_NAMES.get(turn.lang, WEEKDAY_NAMES["pt"])[day.weekday()]
    name = (
        f"{turn.say('today')} ({weekday})"
        if day == turn.local_now.date()
        else (
            f"{turn.say('tomorrow')} ({weekday})"
            if day == turn.local_now.date() + dt.timedelta(days=1)
            else format_day(day, lang=turn.lang)
        )
    )
    closed = slots_selectors.day_closed(turn.unit, day)
    rules = slots_selectors.unit_rules(turn.unit)
    periods = sorted(rules.periods.get(day.weekday(), []))
    if closed is not None or not periods:
        moment = dt.datetime.combine(day, dt.time(23, 59), tzinfo=turn.tz)
        _open, opens = opening_state(unit=turn.unit, now=moment)
        if closed is not None and closed.reason:
            name = f"{name[:-1]}, {closed.reason})" if name.endswith(")") else f"{name} ({closed.reason})"
        turn.answers.append(turn.say("closed_day", day=name, next_open=next_open_text(turn, opens)))
        return True
    hours = ", ".join(
        f"{hour_pt(dt.datetime.combine(day, a))}–{hour_pt(dt.datetime.combine(day, b))}" for a, b in periods
    )
    turn.answers.append(turn.say("open_day", day=name, hours=hours))
    return True
