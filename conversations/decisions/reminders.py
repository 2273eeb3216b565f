"""Replies to the messages the receptionist started: the reminder ("1 - confirmo, 2 - preciso
remarcar") and the no-show follow-up. Only when one of them is the bot's last message."""

from __future__ import annotations

from conversations.decisions import booking
from conversations.models import Message
from conversations.state import Intent, Stage, Step
from conversations.turn import Turn
from conversations.understanding import Understood
from kumon.exceptions import DomainError
from scheduling import services as scheduling_services
from scheduling.models import Reminder


def reply(turn: Turn, u: Understood) -> bool:
    """Handle a reply to a reminder or no-show message; returns whether it was one."""
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
    stripped = u.text.strip().rstrip(".!")
    flow = turn.state.flow
    if meta["kind"] == "no_show" or reminder.kind == Reminder.NO_SHOW:
        if u.has(Intent.AFFIRM) or u.has(Intent.BOOK) or u.when is not None:
            flow.rescheduling = False
            if u.when is not None:
                booking.pursue(turn, u.when)
            else:
                booking.offer_default(turn)
            return True
        return False
    appointment = reminder.appointment
    if stripped == "1" or (u.has(Intent.AFFIRM) and not u.has(Intent.RESCHEDULE)):
        try:
            appointment = scheduling_services.confirm_appointment(appointment=appointment, now=turn.now)
        except DomainError:
            turn.flow.append(turn.say("no_appointment"))
            turn.flow_done = True
            return True
        turn.set_step(Step.BOOKED, Stage.BOOKED)
        flow.appointment_id = appointment.pk
        turn.flow.append(turn.say("reminder_confirmed", slot=turn.slot_text(appointment.start)))
        turn.flow_done = True
        return True
    if stripped == "2" or u.has(Intent.RESCHEDULE):
        flow.appointment_id = appointment.pk
        flow.rescheduling = True
        if u.when is not None:
            booking.pursue(turn, u.when)
        else:
            booking.offer_default(turn)
        return True
    return False
