"""The family's visit already booked: when is it, move it, cancel it.

"preciso cancelar a visita do Davi amanhã" cancels at once and offers another day (asking "quer
mesmo?" first would turn the parent's next "não precisa remarcar não" into "keep it"); a bare
"quero cancelar" with no visit named is confirmed first. A move to a named free time is done at
once; otherwise the nearest free slots are offered. A change too close to the visit goes to
staff (the unit's rule, `change_notice_minutes`).
"""

from __future__ import annotations

import re

from conversations.decisions import booking
from conversations.decisions.handoff import hand_off
from conversations.state import Intent, Stage, Step
from conversations.turn import Turn
from conversations.understanding import Understood
from conversations.understanding.text import fold, prepare
from kumon.exceptions import DomainError
from scheduling import services as scheduling_services
from scheduling.exceptions import ChangeNotAllowed
from scheduling.models import Appointment

_NAMES_THE_VISIT = re.compile(r"\b(visita|agendamento|horario|teste|avaliacao|marcad|agendad|appointment|visit|cita)\w*")
_HAS_VISIT = re.compile(
    r"\b(tenho|tem|temos|tinha|ja) (uma )?(visita|horario|agendamento) (marcad|agendad)|\bja (marquei|agendei)|\bmarcamos\b"
)
_CONFLICT = re.compile(
    r"\b(nao vou (poder|conseguir)|nao vai dar|nao consigo (ir|levar)|nao poderei|reuniao|compromisso|imprevisto|viagem|viajar|surgiu)\b"
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
    implicit_move = appointment is not None and bool(_HAS_VISIT.search(text)) and bool(_CONFLICT.search(text))
    if appointment is not None and u.has(Intent.MY_VISIT) and not implicit_move:
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
    if u.has(Intent.MY_VISIT) or (appointment is not None and _HAS_VISIT.search(text)):
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


def explicit_change(text: str) -> bool:
    """The parent's own words ask to move a visit ("remarcar", "mudar o horário"), not the model's guess."""
    return bool(re.search(r"\b(remarc|reagend|mudar|trocar|adiar|reschedul|cambiar)", text))


def _tell(turn: Turn, appointment: Appointment) -> None:
    turn.answers.append(
        turn.say("my_visit", child=_child(turn, appointment), slot=turn.slot_text(appointment.start),
                 address=turn.unit.address or turn.unit.name)
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
    if wish is not None and wish.day == own.date() and wish.time in (None, own.time()):
        wish = None  # "tenho visita marcada quarta 14h" names the visit, not the new time
    lead_in = turn.say("ask_reschedule_when", child=_child(turn, appointment), slot=turn.slot_text(appointment.start))
    if wish is None:
        booking.offer_default(turn, lead_in=lead_in)
    else:
        booking.pursue(turn, wish)


def _cancel(turn: Turn, appointment: Appointment) -> None:
    slot = turn.slot_text(appointment.start)
    try:
        scheduling_services.cancel_appointment(appointment=appointment, by_parent=True, contact=turn.contact, now=turn.now)
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
    appointment = Appointment.objects.filter(pk=turn.state.flow.appointment_id, status__in=Appointment.LIVE).first()
    if appointment is None:
        turn.set_step(Step.NONE)
        return
    if u.has(Intent.AFFIRM) or u.has(Intent.CANCEL):
        _cancel(turn, appointment)
    elif u.has(Intent.DENY):
        turn.set_step(Step.BOOKED, Stage.BOOKED)
        turn.flow.append(turn.say("kept", slot=turn.slot_text(appointment.start)))
        turn.flow_done = True
