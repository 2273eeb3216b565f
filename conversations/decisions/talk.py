"""The human side of the conversation: greeting once, small talk answered shortly, thanks, the
bot's identity, off-topic and injection declined politely, opt-out honoured, and — when nothing
else applies — an honest "não entendi" with the question the receptionist is waiting for."""

from __future__ import annotations

import re

from conversations.decisions import qualify
from conversations.decisions.booking import options_text
from conversations.state import Intent, Stage, Step
from conversations.turn import Turn
from conversations.understanding import Understood
from conversations.understanding.text import prepare

_IDENTITY = re.compile(r"\b(robo|bot|pessoa|humano|humana|ia|maquina|robot|person)\b")
_HOW_ARE_YOU = re.compile(
    r"\b(tudo bem|tudo bom|td bem|td bom|como vai|como voce esta|e voce|e vc|how are you|como estas|tudo joia)\b"
)
_ASK_AWAY = re.compile(r"\b(saber|perguntar|tirar|duvida|duvidas|pergunta)\b")


def greeting(turn: Turn, *, returning: bool) -> str:
    name = turn.lead.parent_name
    if returning and name:
        return turn.say("greeting_back", name=name.split()[0], unit=turn.unit.name)
    if turn.unit.greeting and turn.lang == "pt":
        return turn.unit.greeting
    return turn.say("greeting", unit=turn.unit.name)


def opt_out(turn: Turn, *, before: str = "") -> None:
    # One message, nothing else: the family asked for silence.
    turn.answers = [f"{before}\n\n{turn.say('opt_out')}".strip()]
    turn.flow = []
    turn.set_step(Step.NONE, Stage.OPTED_OUT)
    turn.state.flow.offered = []
    turn.release_holds = True
    turn.opt_out = True
    turn.flow_done = True


def prompt_for_step(turn: Turn) -> list[str]:
    """What the receptionist is waiting for, asked again."""
    step = turn.state.step
    if step in qualify.QUESTION_STEPS:
        return [qualify.question(turn, step)]
    if step == Step.OFFER_SLOTS and turn.state.flow.offered:
        return [turn.say("offer_slots_window", options=options_text(turn, turn.state.flow.offered))]
    return []


def small_talk(turn: Turn, u: Understood, *, first: bool) -> None:
    """Greetings, "td bem?", thanks and the like — only when nothing else was said this turn."""
    if turn.flow or turn.handoff:
        return
    text = prepare(u.text)
    before = len(turn.answers)
    if u.has(Intent.INJECTION):
        if turn.say("decline") not in turn.answers:
            turn.answers.append(turn.say("decline"))
    elif u.has(Intent.SMALLTALK) and _IDENTITY.search(text) and not turn.sources:
        turn.answers.append(turn.say("bot_identity", unit=turn.unit.name))
    elif u.has(Intent.SMALLTALK) and _HOW_ARE_YOU.search(text) and not turn.sources:
        turn.answers.append(turn.say("how_are_you"))
    elif u.has(Intent.SMALLTALK) and _ASK_AWAY.search(text) and not turn.sources:
        turn.answers.append(turn.say("ask_away"))
        turn.flow_done = True
        return
    elif u.has(Intent.OFFTOPIC) and not turn.sources and not turn.answers:
        turn.answers.append(turn.say("offtopic"))
        turn.flow_done = True
        return
    elif u.has(Intent.THANKS) and not turn.sources and not turn.answers:
        turn.answers.append(turn.say("thanks"))
        turn.flow_done = True
        return
    elif u.has(Intent.GREETING) and not first and not turn.answers:
        turn.answers.append(turn.say("hello_again"))
    if turn.answers and turn.sources:
        return
    # Nothing asked and nothing in progress (at most a line of small talk said): say what the
    # receptionist can do, or re-ask what it is waiting for.
    if not turn.sources and len(turn.answers) <= before + 1 and not turn.answers[:before]:
        again = prompt_for_step(turn)
        turn.flow.extend(again or [turn.say("how_can_i_help")])
        turn.flow_done = True
