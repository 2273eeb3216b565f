"""The family's visit already booked: when is it, move it, cancel it.

"preciso cancelar a visita do Davi amanhã" cancels at once and offers another day (asking "quer
mesmo?" first would turn the parent's next "não precisa remarcar não" into "keep it"); a bare
"quero cancelar" with no visit named is confirmed first. A move to a named free time is done at
once; otherwise the nearest free slots are offered. A change too close to the visit goes to
staff (the unit's rule, `change_notice_minutes`).
"""

from __future__ import annotations

import datetime as dt
import re

from conversations.decisions import booking
from conversations.decisions.handoff import hand_off
from conversations.state import Intent, Stage, Step
from conversations.turn import Turn
from conversations.understanding import CONFLICT, Understood, clauses
from conversations.understanding.dates import When, parse_when
from conversations.understanding.text import fold, prepare
from kumon.exceptions import DomainError
from scheduling import services as scheduling_services
from scheduling.exceptions import ChangeNotAllowed
from scheduling.models import Appointment

_MOVE_TO = re.compile(
    r"\b(?:passar|mudar|trocar|remarcar|reagendar|adiar|move|change|cambiar|pasar)\w*\b(?:\s+\w+){0,3}?\s+(?:pra|para|pro|to|for)\b"
)
# The parent's own words ask about their booked visit (the model's guess alone is not enough
# to answer "não encontrei visita" to "tem visita quinta 17h30?").
_MY_VISIT_WORDS = re.compile(
    r"\b(minha visita|nossa visita|ja marquei|marquei|agendei|esqueci|ficou marcad|esta marcad|my visit|our visit)\b"
)
_SAME_WEEK = re.compile(r"\b(mesma semana|same week|misma semana)\b")
_NAMES_THE_VISIT = re.compile(
    r"\b(visita|agendamento|horario|teste|avaliacao|marcad|agendad|appointment|visit|cita)\w*"
)
_HAS_VISIT = re.compile(
    r"\b(tenho|tem|temos|tinha|ja) (uma )?(visita|horario|agendamento) (marcad|agendad)|\bja (marquei|agendei)|\bmarcamos\b"
)


def _child(turn: Turn, appointment: Appointment) -> str:
    return appointment.child_name or turn.child_names()


def handle(turn: Turn, u: Understood) -> None:
    """Questions and changes about the existing visit; the rest is left to booking."""
    if turn.flow_done or turn.handoff:
        return
    state, flow = turn.state, turn.state.flow
    text = prepare(u.text)
    appointment = booking.future_appointment(turn)
    if state.step == Step.CONFIRM_CANCEL:
        _confirm_cancel(turn, u)
        return
    if state.step == Step.OFFER_REBOOK:
        if u.has(Intent.DENY) and not u.when:
            turn.flow.append(turn.say("no_rebook"))
            turn.set_step(Step.NONE)
            turn.flow_done = True
        return  # a yes or a time: booking offers and books a new visit
    implicit_move = appointment is not None and bool(_HAS_VISIT.search(text)) and bool(CONFLICT.search(text))
    # "9h não, desculpa… consegue 10h?" right after this chat booked 9h: the parent corrects it.
    corrects_booking = (
        appointment is not None
        and state.step == Step.BOOKED
        and flow.appointment_id == appointment.pk
        and u.when is not None
        and (
            u.correction
            or u.has(Intent.DENY)
            or bool(re.search(r"\bnao\b", text))
            # "então quinta dia 11 às 9h" right after: another exact time for the same child
            or (u.when.exact and not any(c.name for c in u.facts.children) and not u.has(Intent.BOOK))
        )
    )
    # "a visita dele terça 17h não vai dar… tem algo na quinta ou sexta de manhã?": the visit, a
    # conflict and another time in one message.
    elsewhere = (
        appointment is not None
        and bool(_NAMES_A_VISIT.search(text))
        and bool(CONFLICT.search(text))
        and _wish_apart_from(turn, u.text, appointment) is not None
    )
    implicit_move = implicit_move or corrects_booking or elsewhere
    # "pensando bem nesse não consigo, troca pro segundo que vc mandou?" right after booking.
    if (
        appointment is not None
        and state.step == Step.BOOKED
        and flow.appointment_id == appointment.pk
        and flow.booked_from
        and u.choice is not None
        and (u.correction or u.has(Intent.RESCHEDULE) or u.has(Intent.DENY) or bool(_SWITCH.search(text)))
    ):
        index = u.choice - 1 if u.choice > 0 else len(flow.booked_from) - 1
        if 0 <= index < len(flow.booked_from) and flow.booked_from[index] != appointment.start:
            flow.rescheduling, flow.appointment_id = True, appointment.pk
            booking.book(turn, flow.booked_from[index])
            return
    if (
        appointment is not None
        and u.has(Intent.MY_VISIT)
        and not implicit_move
        and not u.has(Intent.RESCHEDULE)
    ):
        _tell(turn, appointment)
        return
    if appointment is not None and (u.has(Intent.RESCHEDULE) or implicit_move):
        _move(turn, u, appointment)
        return
    if u.has(Intent.CANCEL):
        if appointment is None:
            turn.flow.append(turn.say("no_appointment"))
            turn.flow_done = True
            return
        named = bool(_NAMES_THE_VISIT.search(text)) or (
            appointment.child_name and fold(appointment.child_name) in fold(u.text)
        )
        if named:
            _cancel(turn, appointment)
        else:
            flow.appointment_id = appointment.pk
            turn.set_step(Step.CONFIRM_CANCEL)
            turn.flow.append(turn.say("confirm_cancel", slot=turn.slot_text(appointment.start)))
            turn.flow_done = True
        return
    if (u.has(Intent.MY_VISIT) and (appointment is not None or _MY_VISIT_WORDS.search(text))) or (
        appointment is not None and _HAS_VISIT.search(text)
    ):
        if appointment is None:
            turn.answers.append(turn.say("no_appointment"))
            return
        _tell(turn, appointment)
        return
    if u.has(Intent.RESCHEDULE) and appointment is None and explicit_change(text) and not flow.offered:
        turn.flow.append(turn.say("no_appointment"))
        turn.flow_done = True
        return
    if state.step == Step.ASK_MOVE and appointment is not None:
        # "Vocês já têm uma visita …: quer remarcar?"
        if u.has(Intent.AFFIRM) or u.when is not None:
            _move(turn, u, appointment)
        elif u.has(Intent.DENY):
            turn.set_step(Step.BOOKED, Stage.BOOKED)
            turn.flow.append(turn.say("kept", slot=turn.slot_text(appointment.start)))
            turn.flow_done = True


_SWITCH = re.compile(
    r"\b(?:troca|trocar|troque|muda|mudar|mude|passa|passar|passe|prefiro|melhor|em vez|ao inves|instead|switch|change)\b"
)
_NAMES_A_VISIT = re.compile(r"\b(?:a|minha|nossa|essa|esta) (?:visita|entrevista|avaliacao)\b")


def _wish_apart_from(turn: Turn, text: str, appointment: Appointment) -> When | None:
    """The time asked for in a message that also names the visit: "trocar a visita de segunda de
    manhã. tem algo à tarde na mesma semana?" — the last sentence with a time that is not the
    visit's own (never a mix of the two sentences' day and time)."""
    own = appointment.start.astimezone(turn.tz)
    parsed = [parse_when(prepare(clause), today=turn.local_now.date()) for clause in clauses(text)]
    for n in range(len(parsed) - 1, -1, -1):
        other = parsed[n]
        if other.empty or (other.day == own.date() and other.time in (None, own.time())):
            continue
        before = parsed[n - 1] if n else None
        if (
            other.time is not None
            and other.day is None
            and other.days is None
            and before is not None
            and (before.day is not None and before.day != own.date() and before.time is None)
        ):
            # "tem sábado cedinho? tipo 8h30": the day of one sentence, the time of the next (neither the visit's).
            return When(day=before.day, weekday=before.weekday, time=other.time)
        return other
    return None


def explicit_change(text: str) -> bool:
    """The parent's own words ask to move a visit ("remarcar", "mudar o horário"), not the model's guess."""
    return bool(re.search(r"\b(remarc|reagend|mudar|trocar|adiar|reschedul|cambiar)", text))


def _tell(turn: Turn, appointment: Appointment) -> None:
    turn.answers.append(
        turn.say(
            "my_visit",
            child=_child(turn, appointment),
            slot=turn.slot_text(appointment.start),
            address=turn.unit.address or turn.unit.name,
        )
    )
    turn.state.flow.appointment_id = appointment.pk
    turn.set_step(Step.BOOKED, Stage.BOOKED)
    turn.flow_done = True


def _move(turn: Turn, u: Understood, appointment: Appointment) -> None:
    flow = turn.state.flow
    flow.rescheduling = True
    flow.appointment_id = appointment.pk
    turn.set_step(Step.OFFER_SLOTS, Stage.RESCHEDULING)
    wish = u.when
    own = appointment.start.astimezone(turn.tz)
    moved_to = _MOVE_TO.search(prepare(u.text))
    if moved_to:  # "amanhã não vai dar… passar pra terça que vem": the new day comes after the verb
        later = parse_when(prepare(u.text)[moved_to.end() :], today=turn.local_now.date())
        if not later.empty:
            wish = later
    elif wish is not None:
        wish = _wish_apart_from(turn, u.text, appointment) or wish
    if _SAME_WEEK.search(prepare(u.text)) and wish is not None and wish.day in (None, own.date()):
        monday = own.date() - dt.timedelta(days=own.weekday())
        wish = When(time=wish.time, window=wish.window, days=(monday, monday + dt.timedelta(days=6)))
    if wish is not None and wish.day == own.date() and wish.time in (None, own.time()):
        wish = None  # "tenho visita marcada quarta 14h" names the visit, not the new time
    if wish is not None and wish.time is not None and wish.day is None and wish.days is None:
        wish = wish.on(own.date())  # "consegue 10h?": on the visit's own day
    if wish is not None and wish.time is None and booking.SAME_TIME.search(prepare(u.text)):
        wish = When(day=wish.day, weekday=wish.weekday, time=own.time(), days=wish.days)  # "no mesmo horário"
    lead_in = turn.say(
        "ask_reschedule_when", child=_child(turn, appointment), slot=turn.slot_text(appointment.start)
    )
    if wish is None:
        booking.offer_default(turn, lead_in=lead_in)
    else:
        booking.pursue(turn, wish)


def cancel_quietly(turn: Turn, u: Understood, appointment: Appointment | None) -> str:
    """Cancel the visit the parent named (with an opt-out, say): returns the sentence saying so,
    or "" when nothing was cancelled."""
    if appointment is None or not _NAMES_THE_VISIT.search(prepare(u.text)):
        return ""
    slot = turn.slot_text(appointment.start)
    try:
        scheduling_services.cancel_appointment(
            appointment=appointment, by_parent=True, contact=turn.contact, now=turn.now
        )
    except DomainError:
        return ""
    turn.state.flow.appointment_id = None
    return turn.say("cancelled_short", child=_child(turn, appointment), slot=slot)


def _cancel(turn: Turn, appointment: Appointment) -> None:
    slot = turn.slot_text(appointment.start)
    try:
        scheduling_services.cancel_appointment(
            appointment=appointment, by_parent=True, contact=turn.contact, now=turn.now
        )
    except ChangeNotAllowed:
        turn.flow.append(turn.say("change_too_late"))
        hand_off(turn, "change_too_late")
        return
    except DomainError:
        turn.flow.append(turn.say("no_appointment"))
        turn.flow_done = True
        return
    flow = turn.state.flow
    flow.appointment_id, flow.rescheduling, flow.offered = None, False, []
    turn.set_step(Step.OFFER_REBOOK, Stage.CANCELLED)
    turn.flow.append(turn.say("cancelled", child=_child(turn, appointment), slot=slot))
    turn.flow_done = True


def _confirm_cancel(turn: Turn, u: Understood) -> None:
    appointment_id = turn.state.flow.appointment_id
    appointment = (
        Appointment.objects.filter(pk=appointment_id, status__in=Appointment.LIVE).first()
        if appointment_id
        else None
    )
    if appointment is None:
        turn.set_step(Step.NONE)
        return
    if u.has(Intent.AFFIRM) or u.has(Intent.CANCEL):
        _cancel(turn, appointment)
    elif u.has(Intent.DENY):
        turn.set_step(Step.BOOKED, Stage.BOOKED)
        turn.flow.append(turn.say("kept", slot=turn.slot_text(appointment.start)))
        turn.flow_done = True
