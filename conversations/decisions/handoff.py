"""A person takes the conversation: when the parent asks for one or complains, or when the bot
cannot go on (no slots, the calendar down, a change too close to the visit). The parent is told
once, with when the team answers; while they wait, a new message gets at most one short "já
avisei a equipe" per WAITING_NOTICE_EVERY, never silence and never a flood."""

from __future__ import annotations

import datetime as dt

from conversations.hours import opening_state
from conversations.state import Stage
from conversations.turn import Turn
from conversations.understanding.dates import WEEKDAY_NAMES, format_day
from scheduling.texts import hour_pt

WAITING_NOTICE_EVERY = dt.timedelta(minutes=30)
# A parent who asks for a person again is told again (not twice within a minute: one burst).
ASKED_AGAIN_EVERY = dt.timedelta(minutes=1)


def hand_off(turn: Turn, reason: str) -> None:
    is_open, next_open = opening_state(unit=turn.unit, now=turn.now)
    if is_open:
        turn.flow.append(turn.say("handoff_open"))
    else:
        turn.flow.append(turn.say("handoff_closed", next_open=next_open_text(turn, next_open)))
    turn.handoff = reason
    turn.state.stage = Stage.HANDOFF
    # Slots offered to this family are released for the others: staff will arrange the visit.
    turn.state.flow.offered = []
    turn.state.flow.selected = None
    turn.state.flow.waiting_notice_at = turn.now
    turn.release_holds = True
    turn.flow_done = True


def next_open_text(turn: Turn, next_open: dt.datetime | None) -> str:
    if next_open is None:
        return {"pt": "assim que possível", "en": "as soon as possible", "es": "lo antes posible"}[turn.lang]
    local = next_open.astimezone(turn.tz)
    hour = hour_pt(local)
    if local.date() == turn.local_now.date():
        return {
            "pt": f"hoje a partir das {hour}",
            "en": f"today from {local:%H:%M}",
            "es": f"hoy desde las {hour}",
        }[turn.lang]
    if local.date() == turn.local_now.date() + dt.timedelta(days=1):
        # "amanhã, segunda, …": the weekday too, so a parent writing on Sunday night knows it is Monday.
        weekday = WEEKDAY_NAMES.get(turn.lang, WEEKDAY_NAMES["pt"])[local.weekday()]
        return {
            "pt": f"amanhã, {weekday}, a partir das {hour}",
            "en": f"tomorrow, {weekday}, from {local:%H:%M}",
            "es": f"mañana, {weekday}, desde las {hour}",
        }[turn.lang]
    day = format_day(local.date(), lang=turn.lang)
    return {
        "pt": f"{day} a partir das {hour}",
        "en": f"{day} from {local:%H:%M}",
        "es": f"{day} desde las {hour}",
    }[turn.lang]


def waiting_notice_due(
    *, last_notice_at: dt.datetime | None, now: dt.datetime, asks_for_person: bool = False
) -> bool:
    """A parent who asks for a person again ("quero falar com alguém") is answered sooner."""
    every = ASKED_AGAIN_EVERY if asks_for_person else WAITING_NOTICE_EVERY
    return last_notice_at is None or now - last_notice_at >= every
