"""The conversation engine: given a conversation and the new turn, decide what the
receptionist says and does.

It answers questions from the unit's knowledge, qualifies the lead (parent, child, age or
school year, subjects) in any order, reads the data back once, offers and books the first visit,
reschedules and cancels, hands the chat to staff when it should, and honours opt-out. State
lives on the conversation: `stage`, `step` (what the bot asked last) and `data` (lead facts;
keys starting with "_" are the engine's own bookkeeping). Works with no language model (rules);
with one (conversations/llm.py) it understands more and phrases answers, and any LLM failure
falls back to the rules for that turn. The engine returns a TurnResult; it never sends.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from conversations import llm
from conversations.dates import When, format_slot
from conversations.hours import opening_state
from conversations.media import media_bytes
from conversations.models import Conversation, Message
from conversations.texts import say
from conversations.turn import Reply, TurnResult
from conversations.understanding import Understood, understand
from knowledge import search as knowledge_search
from kumon.exceptions import DomainError
from scheduling import selectors as slots_selectors
from scheduling import services as booking
from scheduling.exceptions import CalendarUnavailable, ChangeNotAllowed, SlotUnavailable
from scheduling.models import Appointment, Reminder
from scheduling.slots import Slot
from scheduling.texts import hour_pt

logger = logging.getLogger(__name__)

FACTS = ("parent_name", "child_name", "child_age", "school_year", "subjects", "heard_from")
OFFER_DAYS = 14
OFFER_COUNT = 3
MAX_FAILED_TURNS = 2
AFTER_SCHOOL = dt.time(14)


@dataclass
class Turn:
    """The working state of one turn."""

    conversation: Conversation
    now: dt.datetime
    data: dict[str, Any]
    lang: str
    answers: list[str] = field(default_factory=list)
    flow: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    handoff: str = ""
    step: str = ""
    stage: str = ""
    usage: llm.Usage = field(default_factory=llm.Usage)
    used_llm: bool = False

    @property
    def unit(self) -> Any:
        return self.conversation.unit

    @property
    def contact(self) -> Any:
        return self.conversation.contact

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.unit.timezone)

    @property
    def local_now(self) -> dt.datetime:
        return self.now.astimezone(self.tz)

    @property
    def holder(self) -> str:
        return f"conversation:{self.conversation.pk}"

    def slot_text(self, start: dt.datetime) -> str:
        return format_slot(start.astimezone(self.tz), lang=self.lang)

    def child(self) -> str:
        return self.data.get("child_name") or {"pt": "a criança", "en": "your child", "es": "el niño"}[self.lang]

    def result(self, *, opt_out: bool = False, opt_in: bool = False) -> TurnResult:
        replies = []
        if self.answers:
            replies.append(Reply("\n\n".join(self.answers), meta={"sources": self.sources, "llm": self.used_llm}))
        if self.flow:
            replies.append(Reply("\n\n".join(self.flow), meta={"step": self.step}))
        self.data["language"] = self.lang
        return TurnResult(
            replies=replies,
            stage=self.stage or None,
            step=self.step,
            data=self.data,
            handoff=self.handoff,
            opt_out=opt_out,
            opt_in=opt_in,
            tokens_in=self.usage.tokens_in,
            tokens_out=self.usage.tokens_out,
            cost_usd=round(self.usage.cost_usd, 6),
        )


def respond(*, conversation: Conversation, messages: list[Message], now: dt.datetime) -> TurnResult:
    """The replies and state changes for the parent's new messages (one turn)."""
    now = _clock(messages, now)
    turn = Turn(
        conversation=conversation,
        now=now,
        data=dict(conversation.data or {}),
        lang=(conversation.data or {}).get("language", "pt"),
        step=conversation.step,
        stage=conversation.stage,
    )
    text, notes = _read(turn, messages)
    if not text:
        # Only media: greet if it is the first contact, acknowledge, keep the flow where it was.
        if _first_turn(conversation):
            turn.answers.append(_greeting(turn))
        turn.flow.extend(notes)
        return turn.result()
    understood = _understand(turn, text)
    turn.lang = understood.language
    opt_in = conversation.contact.opted_out_at is not None

    if understood.has("opt_out"):
        turn.answers.append(say("opt_out", turn.lang))
        turn.stage, turn.step = "opted_out", ""
        return turn.result(opt_out=True)
    if opt_in:
        turn.answers.append(say("welcome_back_opt_in", turn.lang))
    if _first_turn(conversation):
        turn.answers.insert(0, _greeting(turn))
    turn.answers.extend(notes)

    if understood.has("injection"):
        turn.flow.append(say("decline", turn.lang))
        return turn.result(opt_in=opt_in)
    if understood.has("complaint"):
        turn.answers.append(say("complaint", turn.lang))
        _hand_off(turn, "complaint")
        return turn.result(opt_in=opt_in)
    if understood.has("human"):
        _hand_off(turn, "requested")
        return turn.result(opt_in=opt_in)

    changed = _merge_facts(turn, understood)
    if _reminder_reply(turn, understood, text):
        return turn.result(opt_in=opt_in)
    unanswered = _answer_questions(turn, understood)
    if unanswered:
        turn.answers.append(say("unknown_answer", turn.lang))
        _hand_off(turn, "unknown_question")
        return turn.result(opt_in=opt_in)

    progressed = _advance(turn, understood, changed)
    if turn.handoff:
        return turn.result(opt_in=opt_in)
    if progressed or turn.sources or changed or understood.has("thanks") or understood.has("greeting"):
        turn.data["_failed_turns"] = 0
        if not turn.flow and not turn.sources and understood.has("thanks"):
            turn.flow.append(say("thanks", turn.lang))
        elif not turn.flow and not turn.sources and understood.has("greeting"):
            turn.flow.append(say("how_can_i_help", turn.lang))
    else:
        failed = int(turn.data.get("_failed_turns", 0)) + 1
        turn.data["_failed_turns"] = failed
        if failed >= MAX_FAILED_TURNS:
            _hand_off(turn, "misunderstanding")
        else:
            turn.flow.append(say("not_understood", turn.lang))
            turn.flow.extend(_prompt_for_step(turn))
    return turn.result(opt_in=opt_in)


# --- reading the turn ---------------------------------------------------------------------------


def _clock(messages: list[Message], now: dt.datetime) -> dt.datetime:
    """`manage.py chat --at` stores the simulated moment on the message: use it as now."""
    clock = (messages[-1].meta or {}).get("clock")
    return dt.datetime.fromisoformat(clock) if clock else now


def _read(turn: Turn, messages: list[Message]) -> tuple[str, list[str]]:
    """The turn's text (texts, captions, transcribed audio) and acknowledgements for media."""
    texts: list[str] = []
    notes: list[str] = []
    for message in messages:
        media = (message.meta or {}).get("media") or {}
        if message.kind == Message.Kind.TEXT:
            texts.append(message.body)
        elif message.kind == Message.Kind.AUDIO:
            transcript = _transcribe(turn, message, media)
            if transcript:
                texts.append(transcript)
            else:
                notes.append(say("audio_please_type", turn.lang))
        elif message.kind in (Message.Kind.IMAGE, Message.Kind.DOCUMENT):
            if message.body:
                texts.append(message.body)
            notes.append(say("got_image" if message.kind == Message.Kind.IMAGE else "got_document", turn.lang))
        elif message.body and message.kind != Message.Kind.REACTION:
            texts.append(message.body)
        elif message.kind == Message.Kind.STICKER and len(messages) == 1:
            notes.append(say("got_other", turn.lang))
    return "\n".join(t for t in texts if t.strip()).strip(), notes


def _transcribe(turn: Turn, message: Message, media: dict[str, Any]) -> str:
    if not llm.configured():
        return ""
    audio = media_bytes(message)
    if audio is None:
        return ""
    try:
        text, usage = llm.transcribe(audio, mimetype=media.get("mimetype", "audio/ogg"))
    except llm.LLMError as exc:
        logger.warning("transcription failed: %s", exc)
        return ""
    turn.usage += usage
    return text


def _understand(turn: Turn, text: str) -> Understood:
    today = turn.local_now.date()
    if llm.configured():
        try:
            understood, usage = llm.understand(text, step=turn.step, language=turn.lang, today=today, tz=turn.unit.timezone)
            turn.usage += usage
            turn.used_llm = True
            return understood
        except llm.LLMError as exc:
            logger.warning("LLM understanding failed, rules for this turn: %s", exc)
    return understand(text, step=turn.step, language=turn.lang, today=today)


def _first_turn(conversation: Conversation) -> bool:
    return not conversation.messages.filter(direction=Message.Direction.OUT, sender=Message.Sender.BOT).exists()


def _greeting(turn: Turn) -> str:
    name = turn.data.get("parent_name")
    if name and turn.conversation.contact.conversations.count() > 1:
        return say("greeting_back", turn.lang, name=name, unit=turn.unit.name)
    if turn.unit.greeting and turn.lang == "pt":
        return turn.unit.greeting
    return say("greeting", turn.lang, unit=turn.unit.name)


def _merge_facts(turn: Turn, understood: Understood) -> bool:
    """Store new facts; a fact that differs from what was known is a correction. Returns
    whether anything changed."""
    changed = False
    for key in FACTS:
        value = understood.facts.get(key)
        if value in (None, "", []):
            continue
        if turn.data.get(key) != value:
            turn.data[key] = value
            changed = True
    if understood.facts.get("school_year") and "child_age" not in understood.facts and understood.correction:
        turn.data.pop("child_age", None)
    return changed


# --- knowledge ---------------------------------------------------------------------------------


def _answer_questions(turn: Turn, understood: Understood) -> list[str]:
    """Answer each question from the unit's knowledge; returns the questions it could not
    answer (recorded as knowledge gaps by the search)."""
    unanswered: list[str] = []
    seen: set[int] = set()
    for question in understood.questions:
        result = knowledge_search.search(unit=turn.unit, query=question, limit=3, contact=turn.contact)
        hit = result.best
        if hit is None:
            unanswered.append(question)
            continue
        if hit.source_id in seen:
            continue
        seen.add(hit.source_id)
        turn.sources.append(
            {"source_id": hit.source_id, "external_id": hit.external_id, "question": hit.question,
             "score": round(result.confidence, 4), "chunk_id": hit.chunk_id}
        )
        turn.answers.append(_phrase(turn, question, hit))
    return unanswered


def _phrase(turn: Turn, question: str, hit: Any) -> str:
    knowledge = hit.answer or hit.text
    if llm.configured():
        family = {k: v for k, v in turn.data.items() if not k.startswith("_")}
        if turn.data.get("_staff_note"):
            family["staff_note"] = turn.data["_staff_note"]
        try:
            text, usage = llm.compose_answer(
                unit_name=turn.unit.name, question=question, knowledge=[knowledge], family=family, language=turn.lang
            )
            turn.usage += usage
            turn.used_llm = True
            if text:
                return text
        except llm.LLMError as exc:
            logger.warning("LLM answer failed, knowledge text used: %s", exc)
    return knowledge


# --- hand-off ----------------------------------------------------------------------------------


def _hand_off(turn: Turn, reason: str) -> None:
    is_open, next_open = opening_state(unit=turn.unit, now=turn.now)
    if is_open:
        turn.flow.append(say("handoff_open", turn.lang))
    else:
        when = _next_open_text(turn, next_open)
        turn.flow.append(say("handoff_closed", turn.lang, next_open=when))
    turn.handoff = reason
    turn.stage = "handoff"


def _next_open_text(turn: Turn, next_open: dt.datetime | None) -> str:
    if next_open is None:
        return {"pt": "assim que possível", "en": "as soon as possible", "es": "lo antes posible"}[turn.lang]
    local = next_open.astimezone(turn.tz)
    hour = hour_pt(local)
    if local.date() == turn.local_now.date():
        return {"pt": f"hoje a partir das {hour}", "en": f"today from {local:%H:%M}", "es": f"hoy desde las {hour}"}[turn.lang]
    if local.date() == turn.local_now.date() + dt.timedelta(days=1):
        return {"pt": f"amanhã a partir das {hour}", "en": f"tomorrow from {local:%H:%M}", "es": f"mañana desde las {hour}"}[turn.lang]
    day = format_slot(local, lang=turn.lang).rsplit(" ", 2)[0]
    return {"pt": f"{day} a partir das {hour}", "en": f"{day} from {local:%H:%M}", "es": f"{day} desde las {hour}"}[turn.lang]


# --- the flow ----------------------------------------------------------------------------------


def _advance(turn: Turn, u: Understood, changed: bool) -> bool:
    """Move the conversation forward from the step the bot was on. Returns whether the turn
    was understood as part of the flow."""
    step = turn.step
    if u.has("reschedule") or u.has("cancel"):
        return _start_change(turn, cancel=u.has("cancel") and not u.has("reschedule"))
    if step == "confirm_cancel":
        return _confirm_cancel(turn, u)
    if step in ("offer_slots", "confirm_slot"):
        return _choose_slot(turn, u)
    if step == "readback":
        if u.has("yes") and not changed:
            return _offer(turn)
        if changed:
            turn.flow.append(_readback(turn, corrected=True))
            return True
        if u.has("no"):
            turn.flow.append(say("what_to_fix", turn.lang))
            return True
        return False
    if step.startswith("ask_"):
        _qualify(turn)
        return changed
    if step == "booked":
        if u.has("book"):
            return _already_booked(turn)
        return False
    # No flow yet (first contact, questions only, or after a CTA).
    wants_visit = u.has("book") or (step == "cta" and u.has("yes"))
    if step == "cta" and u.has("no"):
        turn.step = ""
        turn.flow.append(say("thanks", turn.lang))
        return True
    if wants_visit or (changed and not turn.sources):
        if _future_appointment(turn) is not None:
            return _already_booked(turn)
        turn.stage = "qualifying"
        _qualify(turn)
        return True
    if turn.sources and not turn.data.get("_cta_offered"):
        turn.data["_cta_offered"] = True
        turn.step = "cta"
        turn.flow.append(say("cta_visit", turn.lang))
        return True
    return False


def _missing(turn: Turn) -> str | None:
    d = turn.data
    if not d.get("parent_name"):
        return "ask_parent_name"
    if not d.get("child_name"):
        return "ask_child_name"
    if not d.get("child_age") and not d.get("school_year"):
        return "ask_child_age"
    if not d.get("subjects"):
        return "ask_subject"
    return None


def _qualify(turn: Turn) -> None:
    """Ask the next missing fact, or read everything back once it is all known."""
    missing = _missing(turn)
    if missing is None:
        turn.flow.append(_readback(turn, corrected=False))
        return
    turn.step = missing
    turn.stage = "qualifying"
    turn.flow.append(say(missing, turn.lang, child=turn.child()))


def _readback(turn: Turn, *, corrected: bool) -> str:
    d = turn.data
    turn.step = "readback"
    turn.stage = "confirming"
    age_parts = []
    if d.get("child_age"):
        age_parts.append(say("age_years", turn.lang, age=d["child_age"]))
    if d.get("school_year"):
        age_parts.append(str(d["school_year"]))
    return say(
        "readback_corrected" if corrected else "readback",
        turn.lang,
        parent=d.get("parent_name", "?"),
        child=d.get("child_name", "?"),
        age=", ".join(age_parts) or "?",
        subjects=" e ".join(d.get("subjects", [])) or "?",
    )


def _prompt_for_step(turn: Turn) -> list[str]:
    if turn.step.startswith("ask_"):
        return [say(turn.step, turn.lang, child=turn.child())]
    if turn.step == "readback":
        return [_readback(turn, corrected=False)]
    if turn.step in ("offer_slots", "confirm_slot") and turn.data.get("_offered"):
        return [_options_text(turn, [dt.datetime.fromisoformat(s) for s in turn.data["_offered"]], near="")]
    return []


# --- slots and booking -------------------------------------------------------------------------


def _free(turn: Turn) -> list[Slot] | None:
    try:
        return slots_selectors.free_slots(
            unit=turn.unit, start=turn.now, end=turn.now + dt.timedelta(days=OFFER_DAYS), now=turn.now, holder=turn.holder
        )
    except CalendarUnavailable:
        turn.flow.append(say("calendar_down", turn.lang))
        turn.handoff, turn.stage = "calendar", "handoff"
        return None


def _pick_spread(turn: Turn, slots: list[Slot]) -> list[Slot]:
    """One option per day for the first days with room, after school hours when possible."""
    by_day: dict[dt.date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(turn.tz).date(), []).append(slot)
    picked = []
    for day_slots in list(by_day.values())[:OFFER_COUNT]:
        afternoon = [s for s in day_slots if s.start.astimezone(turn.tz).time() >= AFTER_SCHOOL]
        picked.append((afternoon or day_slots)[0])
    return picked


def _near(turn: Turn, slots: list[Slot], when: When) -> tuple[Slot | None, list[Slot], str]:
    """(the exact slot asked for, or None; the closest alternatives; how to present them:
    "near" = not what was asked, "window" = inside the period asked for)."""
    local = [(s, s.start.astimezone(turn.tz)) for s in slots]
    day = when.day
    candidates = [s for s, ls in local if day is None or ls.date() == day]
    if when.time is not None:
        exact = [s for s, ls in local if (day is None or ls.date() == day) and ls.time() == when.time]
        if exact:
            return exact[0], [], ""
        target = dt.datetime.combine(day or turn.local_now.date(), when.time, tzinfo=turn.tz)
        pool = candidates or [s for s, ls in local if ls >= target]
        pool = sorted(pool, key=lambda s: abs((s.start - target).total_seconds()))
        return None, sorted(pool[:OFFER_COUNT], key=lambda s: s.start), "near"
    if when.window is not None:
        lo, hi = when.window
        windowed = [s for s in candidates if lo <= s.start.astimezone(turn.tz).time() < hi]
        if len(windowed) == 1:
            return windowed[0], [], ""
        if windowed:
            return None, windowed[:OFFER_COUNT], "window"
    if candidates:
        return None, candidates[:OFFER_COUNT], "window" if when.window is None else "near"
    later = [s for s, ls in local if day is None or ls.date() > day]
    return None, _pick_spread(turn, later), "near"


def _offer(turn: Turn, when: When | None = None) -> bool:
    free = _free(turn)
    if free is None:
        return True
    if not free:
        turn.flow.append(say("no_slots", turn.lang))
        _hand_off(turn, "no_slots")
        return True
    if when is not None:
        exact, options, near = _near(turn, free, when)
        if exact is not None:
            return _select(turn, exact.start)
    else:
        options, near = _pick_spread(turn, free), ""
    options = _hold(turn, options)
    if not options:
        options = _hold(turn, _pick_spread(turn, free))
    turn.data["_offered"] = [s.start.isoformat() for s in options]
    turn.step = "offer_slots"
    turn.stage = "rescheduling" if turn.data.get("_mode") == "reschedule" else "booking"
    turn.flow.append(_options_text(turn, [s.start for s in options], near=near))
    return True


def _hold(turn: Turn, slots: list[Slot]) -> list[Slot]:
    held = []
    for slot in slots:
        try:
            booking.hold_slot(unit=turn.unit, start=slot.start, holder=turn.holder, now=turn.now)
            held.append(slot)
        except SlotUnavailable:
            continue
        except CalendarUnavailable:
            break
    return held


def _options_text(turn: Turn, starts: list[dt.datetime], *, near: str = "") -> str:
    options = "\n".join(f"{i}) {turn.slot_text(start)}" for i, start in enumerate(starts, 1))
    key = {"near": "offer_slots_near", "window": "offer_slots_window"}.get(near, "offer_slots")
    return say(key, turn.lang, options=options)


def _choose_slot(turn: Turn, u: Understood) -> bool:
    offered = [dt.datetime.fromisoformat(s) for s in turn.data.get("_offered", [])]
    if turn.step == "confirm_slot" and u.has("yes") and turn.data.get("_selected"):
        return _book(turn, dt.datetime.fromisoformat(turn.data["_selected"]))
    if u.choice is not None:
        if 1 <= u.choice <= len(offered):
            return _select(turn, offered[u.choice - 1])
        turn.flow.append(_options_text(turn, offered, near=""))
        return True
    if u.when is not None:
        return _offer(turn, u.when)
    if turn.step == "confirm_slot" and u.has("no"):
        return _offer(turn)
    if u.has("yes") and len(offered) == 1:
        return _select(turn, offered[0])
    return False


def _select(turn: Turn, start: dt.datetime) -> bool:
    turn.data["_selected"] = start.isoformat()
    turn.step = "confirm_slot"
    turn.flow.append(say("confirm_slot", turn.lang, slot=turn.slot_text(start), child=turn.child()))
    return True


def _book(turn: Turn, start: dt.datetime) -> bool:
    d = turn.data
    try:
        if d.get("_mode") == "reschedule" and d.get("_appointment_id"):
            appointment = Appointment.objects.get(pk=d["_appointment_id"])
            appointment = booking.reschedule_appointment(
                appointment=appointment, start=start, by_parent=True, contact=turn.contact, holder=turn.holder, now=turn.now
            )
            text = say("rescheduled", turn.lang, child=turn.child(), slot=turn.slot_text(appointment.start), address=turn.unit.address)
        else:
            appointment = booking.book_appointment(
                unit=turn.unit,
                start=start,
                phone=turn.contact.phone,
                contact=turn.contact,
                parent_name=d.get("parent_name", ""),
                child_name=d.get("child_name", ""),
                child_age=d.get("child_age"),
                school_year=d.get("school_year", ""),
                subject=", ".join(d.get("subjects", [])),
                source=Appointment.Source.CHAT,
                holder=turn.holder,
                notes=f"Como conheceu: {d['heard_from']}" if d.get("heard_from") else "",
                now=turn.now,
            )
            text = say(
                "booked", turn.lang, slot=turn.slot_text(appointment.start), child=turn.child(),
                address=turn.unit.address or turn.unit.name,
                bring=turn.unit.what_to_bring or "lápis e borracha",
            )
    except SlotUnavailable as exc:
        turn.flow.append(say("slot_taken", turn.lang))
        alternatives = [dt.datetime.fromisoformat(a["start"]) for a in exc.extra.get("alternatives", [])][:OFFER_COUNT]
        if alternatives:
            turn.data["_offered"] = [a.isoformat() for a in alternatives]
            turn.step = "offer_slots"
            turn.flow.append(_options_text(turn, alternatives, near="near"))
            return True
        return _offer(turn)
    except ChangeNotAllowed:
        turn.flow.append(say("change_too_late", turn.lang))
        _hand_off(turn, "change_too_late")
        return True
    except CalendarUnavailable:
        turn.flow.append(say("calendar_down", turn.lang))
        turn.handoff, turn.stage = "calendar", "handoff"
        return True
    for key in ("_offered", "_selected", "_mode"):
        d.pop(key, None)
    d["_appointment_id"] = appointment.pk
    turn.step, turn.stage = "booked", "booked"
    turn.flow.append(text)
    return True


def _future_appointment(turn: Turn) -> Appointment | None:
    return slots_selectors.appointments_for_phone(unit=turn.unit, phone=turn.contact.phone, now=turn.now).first()


def _already_booked(turn: Turn) -> bool:
    appointment = _future_appointment(turn)
    if appointment is None:
        turn.step = ""
        return False
    turn.data["_appointment_id"] = appointment.pk
    turn.step, turn.stage = "booked", "booked"
    turn.flow.append(say("already_booked", turn.lang, slot=turn.slot_text(appointment.start)))
    return True


def _start_change(turn: Turn, *, cancel: bool) -> bool:
    appointment = _future_appointment(turn)
    if appointment is None:
        turn.flow.append(say("no_appointment", turn.lang))
        turn.flow.append(say("cta_visit", turn.lang))
        turn.step = "cta"
        return True
    turn.data["_appointment_id"] = appointment.pk
    if cancel:
        turn.step = "confirm_cancel"
        turn.flow.append(say("confirm_cancel", turn.lang, slot=turn.slot_text(appointment.start)))
        return True
    turn.data["_mode"] = "reschedule"
    return _offer(turn)


def _confirm_cancel(turn: Turn, u: Understood) -> bool:
    appointment = Appointment.objects.filter(pk=turn.data.get("_appointment_id")).first()
    if appointment is None:
        turn.step = ""
        return False
    if u.has("yes"):
        try:
            booking.cancel_appointment(appointment=appointment, by_parent=True, contact=turn.contact, now=turn.now)
        except ChangeNotAllowed:
            turn.flow.append(say("change_too_late", turn.lang))
            _hand_off(turn, "change_too_late")
            return True
        except DomainError:
            turn.flow.append(say("no_appointment", turn.lang))
            turn.step = ""
            return True
        turn.data.pop("_appointment_id", None)
        turn.step, turn.stage = "", "cancelled"
        turn.flow.append(say("cancelled", turn.lang))
        return True
    if u.has("no"):
        turn.step, turn.stage = "booked", "booked"
        turn.flow.append(say("kept", turn.lang, slot=turn.slot_text(appointment.start)))
        return True
    return False


# --- replies to reminders ----------------------------------------------------------------------


def _reminder_reply(turn: Turn, u: Understood, text: str) -> bool:
    """The parent answers a reminder ("1 - confirmo, 2 - preciso remarcar") or a no-show
    follow-up. Only when the reminder is the bot's last message."""
    last = (
        turn.conversation.messages.filter(direction=Message.Direction.OUT)
        .exclude(sender=Message.Sender.STAFF)
        .order_by("-created_at", "-pk")
        .first()
    )
    meta = (last.meta or {}) if last else {}
    if meta.get("kind") not in ("reminder", "no_show") or not meta.get("reminder_id"):
        return False
    reminder = Reminder.objects.select_related("appointment").filter(pk=meta["reminder_id"]).first()
    if reminder is None:
        return False
    stripped = text.strip().rstrip(".!")
    if meta["kind"] == "no_show" or reminder.kind == Reminder.NO_SHOW:
        if u.has("yes") or u.has("book") or u.when is not None:
            turn.data.pop("_mode", None)
            return _offer(turn, u.when)
        return False
    appointment = reminder.appointment
    if stripped == "1" or (u.has("yes") and not u.has("reschedule")):
        try:
            appointment = booking.confirm_appointment(appointment=appointment, now=turn.now)
        except DomainError:
            turn.flow.append(say("no_appointment", turn.lang))
            return True
        turn.step, turn.stage = "booked", "booked"
        turn.data["_appointment_id"] = appointment.pk
        turn.flow.append(say("reminder_confirmed", turn.lang, slot=turn.slot_text(appointment.start)))
        return True
    if stripped == "2" or u.has("reschedule"):
        turn.data["_appointment_id"] = appointment.pk
        turn.data["_mode"] = "reschedule"
        return _offer(turn, u.when)
    return False
