"""One turn of the receptionist: what it is working with (`Turn`) and what it decided
(`TurnResult`). The engine returns a TurnResult; it never sends, and writes nothing but slot holds
and bookings through the scheduling services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from conversations.state import Stage, State, Step
from conversations.texts import join, say
from conversations.understanding.dates import format_slot


@dataclass
class Reply:
    text: str
    meta: dict[str, Any] = field(default_factory=dict)  # sources used, offered slots, step


@dataclass
class Gap:
    """A question the knowledge could not answer, recorded when the turn commits."""

    text: str
    confidence: float
    reason: str
    candidates: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TurnResult:
    replies: list[Reply] = field(default_factory=list)
    stage: str | None = None  # None = unchanged
    step: str | None = None
    data: dict[str, Any] | None = None  # Conversation.data, replaced whole (state.State.to_data)
    lead: dict[str, Any] | None = None  # Contact.data (state.Lead.to_data)
    handoff: str = ""  # reason; non-empty puts the conversation with staff after the replies
    opt_out: bool = False
    opt_in: bool = False
    gaps: list[Gap] = field(default_factory=list)
    questions_for_staff: list[str] = field(default_factory=list)  # notified without a hand-off
    release_holds: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


@dataclass
class Turn:
    """The working state of one turn: the conversation's typed state plus what the turn says."""

    conversation: Any
    now: dt.datetime
    state: State
    lang: str = "pt"
    greeting: str = ""  # opens the first reply of a new family's first turn
    answers: list[str] = field(default_factory=list)  # first reply: greeting, answers, acknowledgements
    flow: list[str] = field(default_factory=list)  # second reply: the next step (a question, slots)
    sources: list[dict[str, Any]] = field(default_factory=list)
    offered: list[dt.datetime] = field(default_factory=list)  # slots the flow reply offers, in order
    handoff: str = ""
    gaps: list[Gap] = field(default_factory=list)
    questions_for_staff: list[str] = field(default_factory=list)
    release_holds: bool = False
    opt_out: bool = False
    opt_in: bool = False
    flow_done: bool = False  # a decision already chose the next step: later ones stay quiet
    used_llm: bool = False
    llm: bool = False  # the language model may be used this turn (configured, within the unit's budget)
    usage: Any = None

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

    @property
    def lead(self) -> Any:
        return self.state.lead

    @property
    def flow_state(self) -> Any:
        return self.state.flow

    def set_step(self, step: Step, stage: Stage | None = None) -> None:
        self.state.step = step
        if stage is not None:
            self.state.stage = stage

    def slot_text(self, start: dt.datetime) -> str:
        return format_slot(start.astimezone(self.tz), lang=self.lang)

    def child_names(self) -> str:
        names = [c.name for c in self.lead.children if c.name]
        return join(names, self.lang) if names else say("the_child", self.lang)

    def first_child_name(self) -> str:
        return self.lead.first_child.name or say("the_child", self.lang)

    def say(self, key: str, **values: Any) -> str:
        return say(key, self.lang, **values)

    def result(self) -> TurnResult:
        replies = []
        first = [self.greeting, *self.answers] if self.greeting else self.answers
        if self.flow and self.greeting and not self.answers:
            first = [self.greeting]
        if first:
            replies.append(Reply("\n\n".join(first), meta={"sources": self.sources, "llm": self.used_llm}))
        if self.flow:
            meta: dict[str, Any] = {"step": str(self.state.step)}
            if self.offered:
                meta["offered"] = [s.isoformat() for s in self.offered]
            replies.append(Reply("\n\n".join(self.flow), meta=meta))
        self.state.lead.language = self.lang
        usage = self.usage
        return TurnResult(
            replies=replies,
            stage=str(self.state.stage),
            step=str(self.state.step),
            data=self.state.to_data(),
            lead=self.state.lead.to_data(),
            handoff=self.handoff,
            opt_out=self.opt_out,
            opt_in=self.opt_in,
            gaps=self.gaps,
            questions_for_staff=self.questions_for_staff,
            release_holds=self.release_holds,
            tokens_in=getattr(usage, "tokens_in", 0),
            tokens_out=getattr(usage, "tokens_out", 0),
            cost_usd=round(getattr(usage, "cost_usd", 0.0), 6),
        )
