"""The first visit: slots offered, chosen and booked (or an existing visit moved).

What a good receptionist does, and this module does:
- A day and time the parent names is read against what is on the table: after an offer of
  Saturday 8h/9h/10h, "pode ser as 9" is Saturday 9h; after "amanhã de manhã", "às 11" is
  tomorrow 11h. A free time the parent names is booked at once (they chose it); a number or
  "o segundo" picks an offered slot and books it. Nothing the parent did not choose is booked.
- A wish outside the rules (Sunday, a closure, a holiday, after the last visit time, too soon) is
  answered with why, and the nearest free slots.
- A wish made before the family's facts are complete is kept (and the slot held) while the
  missing facts are asked; the visit is booked as soon as they are known.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from conversations.decisions import qualify
from conversations.decisions.handoff import hand_off
from conversations.state import Intent, Stage, Step
from conversations.turn import Turn
from conversations.understanding import Understood, booking_clause
from conversations.understanding.dates import WEEKDAY_NAMES, When, format_day
from conversations.understanding.text import prepare
from kumon.exceptions import DomainError
from scheduling import selectors as slots_selectors
from scheduling import services as booking
from scheduling.exceptions import CalendarUnavailable, ChangeNotAllowed, SlotUnavailable
from scheduling.models import Appointment
from scheduling.slots import Slot
from scheduling.texts import hour_pt

logger = logging.getLogger(__name__)

OFFER_DAYS = 14
OFFER_COUNT = 3
AFTER_SCHOOL = dt.time(14)
OFFER_STEPS = (Step.OFFER_SLOTS, Step.CONFIRM_SLOT)


# --- reading the calendar ------------------------------------------------------------------------


def free(
    turn: Turn, *, until: dt.date | None = None, extra: tuple[dt.datetime, ...] = ()
) -> list[Slot] | None:
    """Free slots from now to OFFER_DAYS ahead (or `until`), or None when the calendar cannot be
    read (the parent is told and the team takes over)."""
    end = turn.now + dt.timedelta(days=OFFER_DAYS)
    if until is not None:
        end = max(end, dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), tzinfo=turn.tz))
    try:
        return slots_selectors.free_slots(
            unit=turn.unit, start=turn.now, end=end, now=turn.now, holder=turn.holder, extra_starts=extra
        )
    except CalendarUnavailable:
        turn.flow.append(turn.say("calendar_down"))
        hand_off(turn, "calendar")
        return None


def _local(turn: Turn, slot: Slot) -> dt.datetime:
    return slot.start.astimezone(turn.tz)


def spread(turn: Turn, slots: list[Slot], count: int = OFFER_COUNT) -> list[Slot]:
    """One option per day for the first days with room, after school hours when possible."""
    by_day: dict[dt.date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(_local(turn, slot).date(), []).append(slot)
    picked = []
    for day_slots in list(by_day.values())[:count]:
        afternoon = [s for s in day_slots if _local(turn, s).time() >= AFTER_SCHOOL]
        picked.append((afternoon or day_slots)[0])
    return picked


def _within(slots: list[Slot], count: int = OFFER_COUNT) -> list[Slot]:
    """Options across one period: the first, the middle and the last."""
    if len(slots) <= count:
        return slots
    step = (len(slots) - 1) / (count - 1)
    return [slots[round(i * step)] for i in range(count)]


def nearest(turn: Turn, slots: list[Slot], wish: When, count: int = OFFER_COUNT) -> list[Slot]:
    """The free slots closest to the wish: the same day if it has room (the nearest times), else
    one per day on the nearest days, in the period asked for when possible."""
    target_day = wish.day or (wish.days[0] if wish.days else turn.local_now.date())
    target = wish.time or (wish.window[0] if wish.window else None)
    target_minutes = target.hour * 60 + target.minute if target else None

    def cost(slot: Slot) -> float:
        local = _local(turn, slot)
        days = abs((local.date() - target_day).days)
        minutes = local.hour * 60 + local.minute
        off_window = 0 if wish.window is None or wish.window[0] <= local.time() < wish.window[1] else 240
        return days * 600 + off_window + (abs(minutes - target_minutes) if target_minutes is not None else 0)

    ranked = sorted(slots, key=cost)
    same_day = [s for s in ranked if _local(turn, s).date() == target_day]
    if same_day and (wish.time or wish.window):
        chosen = same_day[:count]
    else:
        chosen, days = [], set()
        for slot in ranked:
            day = _local(turn, slot).date()
            if day not in days:
                chosen.append(slot)
                days.add(day)
            if len(chosen) == count:
                break
    return sorted(chosen, key=lambda s: s.start)


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


# --- what the parent is told ---------------------------------------------------------------------


def options_text(turn: Turn, starts: list[dt.datetime]) -> str:
    return "\n".join(f"{i}) {turn.slot_text(start)}" for i, start in enumerate(starts, 1))


def offer(turn: Turn, slots: list[Slot], *, key: str = "offer_slots", lead_in: str = "") -> None:
    """Offer these slots (held for this conversation) and wait for the parent's choice."""
    flow = turn.state.flow
    held = _hold(turn, slots)
    if not held:
        turn.flow.append(turn.say("no_slots"))
        hand_off(turn, "no_slots")
        return
    flow.offered = [s.start for s in held]
    turn.offered = list(flow.offered)
    turn.set_step(Step.OFFER_SLOTS, Stage.RESCHEDULING if flow.rescheduling else Stage.BOOKING)
    if key == "offer_slots" and not any(c.name for c in turn.lead.children):
        key = "offer_slots_any"
    text = turn.say(key, options=options_text(turn, flow.offered), child=turn.child_names())
    turn.flow.append(f"{lead_in} {text}".strip() if lead_in else text)
    turn.flow_done = True


def _weekday_name(turn: Turn, day: dt.date) -> str:
    return WEEKDAY_NAMES.get(turn.lang, WEEKDAY_NAMES["pt"])[day.weekday()]


def explain(turn: Turn, day: dt.date, start: dt.datetime | None) -> str:
    """Why that day (or that start) cannot be booked, in one sentence."""
    why: slots_selectors.Unavailable | None
    if start is not None:
        why = slots_selectors.why_unavailable(unit=turn.unit, start=start, now=turn.now)
    else:
        why = slots_selectors.day_closed(turn.unit, day)
    if why is None:
        return turn.say("why_period_full")
    day_text = format_day(day, lang=turn.lang)
    if why.kind == "closed_weekday":
        weekday = _weekday_name(turn, day).split("-")[0]
        return turn.say("why_closed_weekday", weekday=weekday, article="Aos" if day.weekday() >= 5 else "Às")
    if why.kind == "closure":
        return turn.say("why_closure", day=day.strftime("%d/%m"), reason=why.reason or day_text)
    if why.kind == "holiday":
        return turn.say("why_holiday", day=day.strftime("%d/%m"), reason=why.reason)
    if why.kind == "hours" and why.first and why.last:
        first = dt.datetime.combine(day, why.first)
        last = dt.datetime.combine(day, why.last)
        key = "why_hours"
        if start is not None and start.astimezone(turn.tz).hour >= 12 and why.last.hour < 12:
            key = "why_hours_morning_only"  # "quarta às 15h" where Wednesdays close at noon
        elif start is not None and start.astimezone(turn.tz).hour < 12 and why.first.hour >= 12:
            key = "why_hours_afternoon_only"
        return turn.say(key, weekday=_weekday_name(turn, day), first=hour_pt(first), last=hour_pt(last))
    if why.kind == "soon":
        return turn.say("why_soon")
    if why.kind == "far":
        return turn.say("why_far")
    return turn.say("why_taken")


# --- the decisions -------------------------------------------------------------------------------


SAME_TIME = re.compile(
    r"\b(mesmo horario|mesma hora|mesmo horario de antes|same time|misma hora|mismo horario)\b"
)


def same_time_as_the_visit(turn: Turn, u: Understood) -> When | None:
    """While a visit is being moved, "quinta no mesmo horário" is Thursday at the visit's time."""
    when = u.when
    if (
        when is None
        or when.time is not None
        or not turn.state.flow.rescheduling
        or not SAME_TIME.search(prepare(u.text))
    ):
        return when
    appointment = future_appointment(turn)
    if appointment is None:
        return when
    own = appointment.start.astimezone(turn.tz)
    return When(day=when.day, weekday=when.weekday, time=own.time(), days=when.days)


def future_appointment(turn: Turn) -> Appointment | None:
    return slots_selectors.appointments_for_phone(
        unit=turn.unit, phone=turn.contact.phone, now=turn.now
    ).first()


def _pick(turn: Turn, u: Understood) -> dt.datetime | None:
    """The offered slot the parent chose: its number, "o segundo", or a day/time that matches
    exactly one of the offers ("pode ser as 9", "a de sábado")."""
    offered = [s.astimezone(turn.tz) for s in turn.state.flow.offered]
    if not offered:
        return None
    if u.choice is not None:
        if u.choice == -1:
            return offered[-1]
        return offered[u.choice - 1] if 1 <= u.choice <= len(offered) else None
    when = u.when
    if when is None:
        return None
    if when.time is None and (when.window is not None or "?" in u.text):
        return None  # "sexta à tarde tem?" asks for the options of a period, it picks none
    matches = [
        s
        for s in offered
        if (when.time is None or s.time() == when.time)
        and (when.day is None or s.date() == when.day)
        and (when.window is None or when.window[0] <= s.time() < when.window[1])
        and (when.time is not None or when.day is not None)
    ]
    return matches[0] if len(matches) == 1 else None


def _anchor(turn: Turn, wish: When) -> When:
    """A time without a day ("às 11", "14h") is read on the day being talked about: the day all
    the offers are on, else the day of the wish kept, else the first offered day with that time."""
    if wish.time is None or wish.day is not None or wish.days is not None:
        return wish
    offered_days = sorted({s.astimezone(turn.tz).date() for s in turn.state.flow.offered})
    kept = When.from_data(turn.state.flow.wish)
    if len(offered_days) == 1:
        return wish.on(offered_days[0])
    if kept is not None and kept.day is not None:
        return wish.on(kept.day)
    for day in offered_days:
        return wish.on(day)
    today = turn.local_now.date()
    moment = dt.datetime.combine(today, wish.time, tzinfo=turn.tz)
    return wish.on(today if moment > turn.local_now else today + dt.timedelta(days=1))


def select(turn: Turn, start: dt.datetime, *, lead_in: str = "") -> None:
    """The parent chose `start`: book it if the family's facts are known, else hold it and ask."""
    missing = qualify.missing(turn)
    if missing is None or turn.state.flow.rescheduling:
        book(turn, start, lead_in=lead_in)
        return
    if missing == Step.ASK_PARENT_NAME:
        # Who comes and for what is known: the parent's own name is asked after booking, never a
        # reason to keep a chosen time waiting (a grandmother who signs "a avó do Lucas").
        book(turn, start, lead_in=lead_in)
        if turn.state.step == Step.BOOKED:
            qualify.ask(turn, missing, stage=Stage.BOOKED)
        return
    turn.state.flow.selected = start
    _hold(turn, [Slot(start, start + dt.timedelta(minutes=turn.unit.visit_minutes), 1)])
    turn.flow.append(f"{lead_in} {turn.say('slot_free', slot=turn.slot_text(start))}".strip())
    qualify.ask(turn, missing)


def pursue(turn: Turn, wish: When, *, again: bool = False) -> None:
    """The parent asked for a day, a time or a period: book it, offer inside it, or say why not.

    While the family's facts are still missing no list of slots is shown (the parent would pick
    from a list before we could book it, and a second list later would confuse "o primeiro"):
    the wish is kept — the slot held when it is free — and the next question asked; the list
    comes once the facts are known. `again`: the kept wish, read once the facts are complete
    (its "why not" was said already)."""
    wish = _anchor(turn, wish)
    flow = turn.state.flow
    incomplete = qualify.missing(turn) is not None and not flow.rescheduling
    if incomplete:
        flow.wish = wish.to_data()
    if wish.exact:
        assert wish.day is not None and wish.time is not None
        start = dt.datetime.combine(wish.day, wish.time, tzinfo=turn.tz)
        slots = free(turn, until=wish.day, extra=(start,))
        if slots is None:
            return
        if any(s.start == start for s in slots):
            select(turn, start)
            return
        why = "" if again else explain(turn, wish.day, start)
        if incomplete:
            turn.flow.append(why)
        else:
            alternatives = nearest(turn, [s for s in slots if s.start != start], wish)
            offer(turn, alternatives, key="offer_slots_near" if why else "offer_slots", lead_in=why)
    else:
        until = wish.day or (wish.days[1] if wish.days else None)
        slots = free(turn, until=until)
        if slots is None:
            return
        inside = [s for s in slots if wish.admits(_local(turn, s))]
        if inside and incomplete:
            turn.flow.append(turn.say("period_free"))
        elif inside:
            days = {_local(turn, s).date() for s in inside}
            chosen = _within(inside) if len(days) == 1 else spread(turn, inside)
            offer(turn, chosen, key="offer_slots_window")
        else:
            day = wish.day or (wish.days[0] if wish.days else turn.local_now.date())
            why = "" if again else (explain(turn, day, None) if wish.day else turn.say("why_period_full"))
            if incomplete:
                turn.flow.append(why)
            else:
                offer(
                    turn,
                    nearest(turn, slots, wish),
                    key="offer_slots_near" if why else "offer_slots",
                    lead_in=why,
                )
    missing = qualify.missing(turn)
    if missing is not None and not flow.rescheduling and not turn.handoff:
        qualify.ask(turn, missing)


def offer_default(turn: Turn, *, lead_in: str = "") -> None:
    slots = free(turn)
    if slots is None:
        return
    offer(turn, spread(turn, slots), lead_in=lead_in)


def carry_on(turn: Turn) -> None:
    """Qualification goes on: the next question, or — once the facts are known — the visit."""
    flow = turn.state.flow
    missing = qualify.missing(turn)
    if missing == Step.ASK_PARENT_NAME and flow.selected is not None:
        start, flow.selected = flow.selected, None
        select(turn, start)
        return
    if missing is not None:
        booked = turn.state.stage == Stage.BOOKED and flow.appointment_id and not flow.rescheduling
        qualify.ask(turn, missing, stage=Stage.BOOKED if booked else Stage.QUALIFYING)
        return
    if (
        turn.state.step == Step.ASK_PARENT_NAME
        and turn.state.stage == Stage.BOOKED
        and flow.appointment_id
        and not flow.rescheduling
    ):
        # The name asked after booking arrived: it goes on the visit too, and nothing is offered.
        qualify.complete_booking(turn, flow.appointment_id)
        return
    if flow.selected is not None:
        start, flow.selected = flow.selected, None
        book(turn, start)
        return
    wish = When.from_data(flow.wish)
    flow.wish = {}
    if wish is not None:
        pursue(turn, wish, again=True)
    else:
        offer_default(turn)


def book(turn: Turn, start: dt.datetime, *, lead_in: str = "") -> None:
    flow, lead = turn.state.flow, turn.lead
    try:
        if flow.rescheduling and flow.appointment_id:
            appointment = Appointment.objects.get(pk=flow.appointment_id)
            appointment = booking.reschedule_appointment(
                appointment=appointment,
                start=start,
                by_parent=True,
                contact=turn.contact,
                holder=turn.holder,
                now=turn.now,
            )
            text = turn.say(
                "rescheduled",
                child=appointment.child_name or turn.child_names(),
                slot=turn.slot_text(appointment.start),
                address=turn.unit.address or turn.unit.name,
            )
        else:
            first = lead.first_child
            notes = [
                f"{c.name or '?'}: {c.age or c.school_year or '?'} — {', '.join(c.subjects)}"
                for c in lead.children[1:]
            ]
            if lead.heard_from:
                notes.append(f"Como conheceu: {lead.heard_from}")
            appointment = booking.book_appointment(
                unit=turn.unit,
                start=start,
                phone=turn.contact.phone,
                contact=turn.contact,
                parent_name=lead.parent_name,
                child_name=turn.child_names() if lead.children else "",
                child_age=first.age,
                school_year=first.school_year,
                subject=", ".join(lead.subjects),
                source=Appointment.Source.CHAT,
                holder=turn.holder,
                notes="\n".join(notes),
                now=turn.now,
            )
            text = turn.say(
                "booked",
                slot=turn.slot_text(appointment.start),
                child=turn.child_names(),
                address=turn.unit.address or turn.unit.name,
                bring=turn.unit.what_to_bring or "lápis e borracha",
            )
    except SlotUnavailable as exc:
        alternatives = [dt.datetime.fromisoformat(a["start"]) for a in exc.extra.get("alternatives", [])][
            :OFFER_COUNT
        ]
        slots = [Slot(a, a + dt.timedelta(minutes=turn.unit.visit_minutes), 1) for a in alternatives]
        if slots:
            offer(turn, slots, key="offer_slots_near", lead_in=turn.say("slot_taken"))
        else:
            offer_default(turn, lead_in=turn.say("slot_taken"))
        return
    except ChangeNotAllowed:
        turn.flow.append(turn.say("change_too_late"))
        hand_off(turn, "change_too_late")
        return
    except CalendarUnavailable:
        turn.flow.append(turn.say("calendar_down"))
        hand_off(turn, "calendar")
        return
    except DomainError as exc:
        logger.warning("booking refused: %s", exc.message)
        offer_default(turn, lead_in=turn.say("slot_taken"))
        return
    flow.booked_from = [] if flow.rescheduling else list(flow.offered)
    flow.offered, flow.selected, flow.rescheduling, flow.wish = [], None, False, {}
    flow.appointment_id = appointment.pk
    turn.set_step(Step.BOOKED, Stage.BOOKED)
    turn.flow.append(f"{lead_in} {text}".strip() if lead_in else text)
    turn.flow_done = True


def advance(turn: Turn, u: Understood, *, changed: bool) -> None:
    """Move the booking forward from where the conversation is."""
    if turn.flow_done or turn.handoff:
        return
    state, flow = turn.state, turn.state.flow
    step = state.step
    u.when = same_time_as_the_visit(turn, u)
    if flow.offered and (step in OFFER_STEPS or u.choice is not None):
        chosen = _pick(turn, u)
        if chosen is not None:
            select(turn, chosen)
            return
        if u.choice is not None:
            turn.flow.append(turn.say("pick_number", n=len(flow.offered)))
            turn.flow_done = True
            return
        if u.when is not None:
            pursue(turn, u.when)
            return
        if step == Step.CONFIRM_SLOT and u.has(Intent.AFFIRM) and flow.selected:
            book(turn, flow.selected)
            return
        if u.has(Intent.AFFIRM) and len(flow.offered) == 1:
            select(turn, flow.offered[0])
            return
        if u.has(Intent.DENY) and not changed:
            turn.flow.append(turn.say("other_time"))
            turn.flow_done = True
            return
        if changed and not u.has(Intent.BOOK):
            return  # a fact corrected while the offer stands: noted, the offer is still on the table
    # "ok obg" to "Se quiser, posso agendar…" closes the chat; "sim, obrigada" accepts.
    acknowledged = u.has(Intent.THANKS) and bool(_ACKNOWLEDGEMENT.match(prepare(u.text)))
    wants = u.has(Intent.BOOK) or (
        step in (Step.CTA, Step.OFFER_REBOOK) and u.has(Intent.AFFIRM) and not acknowledged
    )
    in_progress = step in qualify.QUESTION_STEPS or state.stage in (
        Stage.QUALIFYING,
        Stage.BOOKING,
        Stage.RESCHEDULING,
    )
    child_facts = any(c.name or c.age or c.school_year for c in u.facts.children) or bool(u.facts.parent_name)
    # "a Alice é aluna aí e amanhã não vai": a student's family speaks of lessons, not a first visit.
    student = flow.student_family and not u.has(Intent.BOOK)
    # A day said beside facts is a wish only when the sentence asks for a time ("Pedro, 6, quinta
    # 15h?"), not "meu filho de 3 anos já pode? vcs abrem sábado?".
    if (
        u.when is not None
        and not student
        and (wants or in_progress or flow.offered or _asks_for_time(turn, u))
    ):
        # A family with a visit booked asks for a time: moving it is the visits' decision, a
        # second visit is never booked by mistake.
        if not flow.rescheduling and _already_booked(turn):
            return
        pursue(turn, u.when)
        return
    volunteered = (
        changed and child_facts and not u.questions and not student
    )  # "ele tem 7 anos" — not "pegam criança de 4 anos?"
    if wants or step in qualify.QUESTION_STEPS or volunteered or (flow.selected and changed):
        if wants and not flow.rescheduling and _already_booked(turn):
            return
        if wants and not changed and step not in qualify.QUESTION_STEPS and not turn.answers:
            turn.answers.append(turn.say("lets_book"))
        carry_on(turn)
        return
    if step == Step.CTA and u.has(Intent.DENY):
        turn.flow.append(turn.say("no_rebook"))
        state.step = Step.NONE
        turn.flow_done = True


_ACKNOWLEDGEMENT = re.compile(
    r"^\W*(?:(?:ok|okay|ta|ta bom|esta bom|beleza|certo|entendi|entendido|show|legal|otimo|perfeito|ah|ata|hum|blz|tudo bem)\W+)+"
    r"(?:muito )?(?:obrigad[oa]s?|brigad[oa]|valeu|agradeco|thanks|thank you|gracias)\b(?:\s+(?:pela|por|viu|ta|ate mais|tchau)\b.*)?\W*$"
)


def _asks_for_time(turn: Turn, u: Understood) -> bool:
    """A message about the visit's time even without "agendar" ("dá pra ir sábado?")."""
    return booking_clause(prepare(u.text), today=turn.local_now.date(), step=Step.NONE)


def _already_booked(turn: Turn) -> bool:
    appointment = future_appointment(turn)
    if appointment is None or len(turn.lead.children) > 1:
        return False
    turn.state.flow.appointment_id = appointment.pk
    turn.set_step(Step.ASK_MOVE, Stage.BOOKED)
    turn.flow.append(turn.say("already_booked", slot=turn.slot_text(appointment.start)))
    turn.flow_done = True
    return True
