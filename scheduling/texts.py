"""Portuguese wording of appointment times and reminder messages (unit-local time)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from scheduling.models import Appointment, Reminder
from scheduling.slots import Slot

WEEKDAYS = ["segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo"]


def hour_pt(moment: dt.datetime) -> str:
    """16:00 -> "16h", 16:30 -> "16h30"."""
    return f"{moment.hour}h" if moment.minute == 0 else f"{moment.hour}h{moment.minute:02d}"


def when_pt(start: dt.datetime, tz: str | ZoneInfo) -> str:
    """ "terça 02/12 às 16h" in the unit's time zone."""
    local = start.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)
    return f"{WEEKDAYS[local.weekday()]} {local:%d/%m} às {hour_pt(local)}"


def reminder_body(reminder: Reminder, *, tomorrow_slots: list[Slot] | None = None) -> str:
    appointment = reminder.appointment
    if reminder.kind == Reminder.NO_SHOW:
        return no_show_body(appointment, tomorrow_slots or [])
    unit = appointment.unit
    greeting = f"Olá, {appointment.parent_name.split()[0]}!" if appointment.parent_name.strip() else "Olá!"
    who = f" do(a) {appointment.child_name}" if appointment.child_name else ""
    where = f" ({unit.address})" if unit.address else ""
    when = when_pt(appointment.start, unit.timezone)
    if reminder.kind == Reminder.RESCHEDULED:
        # Same answers as a reminder: the engine reads "1" / "2" after any reminder message.
        return (
            f"{greeting} A equipe da {unit.name} remarcou a visita{who} para {when}{where}.\n"
            "Responda:\n1 - confirmo\n2 - preciso remarcar"
        )
    return (
        f"{greeting} Lembrete da visita{who} na {unit.name}: {when}{where}.\n"
        "Responda:\n1 - confirmo\n2 - preciso remarcar"
    )


def no_show_body(appointment: Appointment, slots: list[Slot]) -> str:
    unit = appointment.unit
    greeting = f"Olá, {appointment.parent_name.split()[0]}!" if appointment.parent_name.strip() else "Olá!"
    text = f"{greeting} Sentimos sua falta ontem na {unit.name}. Tudo bem? Podemos remarcar a visita"
    if slots:
        tz = ZoneInfo(unit.timezone)
        options = ", ".join(hour_pt(s.start.astimezone(tz)) for s in slots[:3])
        return f"{text}: hoje temos {options}. Qual horário fica melhor?"
    return f"{text}. Qual dia e horário ficam melhor para você?"
