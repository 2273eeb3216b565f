"""The typed conversation state: the only reader and writer of `Conversation.data` and of the
lead data kept on `Contact.data`.

`Lead` is what the family told us (parent, children with age / school year / subjects, how they
heard of us, their language). It outlives the conversation: it is copied to the contact at every
turn, so a parent who comes back is not asked again. `Flow` is the receptionist's own
bookkeeping (slots offered, the visit being changed, a pending clarification, when the family
last got a "we told the team" note…). Every other module imports these names; no module reads a
key of those JSON columns by itself, so a key cannot be spelt two ways.

Stored layout: `Conversation.data = {"lead": Lead.to_data(), "flow": Flow.to_data()}` and
`Contact.data = Lead.to_data()`. `Lead.to_data()` is flat with the keys of the dialogue format
(`parent_name`, `child_name`, `child_age`, `school_year`, `subjects` — the first child's) plus
`children` (every child) — the API returns it as is and the reports filter on its keys in SQL.
Rows written before this module (one flat dict, `subjects` or `subject`, `_`-prefixed engine
keys) are read too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kumon.models import SUBJECTS  # noqa: F401 -- one list for the unit's settings and the lead


class Step(StrEnum):
    """What the receptionist asked last: the parent's next message is read against it."""

    NONE = ""
    CTA = "cta"  # "Quer agendar uma visita?" after an answer
    ASK_CHILD_NAME = "ask_child_name"
    ASK_CHILD_AGE = "ask_child_age"
    ASK_SUBJECT = "ask_subject"
    ASK_PARENT_NAME = "ask_parent_name"
    OFFER_SLOTS = "offer_slots"
    CONFIRM_SLOT = "confirm_slot"
    CONFIRM_CANCEL = "confirm_cancel"
    OFFER_REBOOK = "offer_rebook"  # after a cancellation: "quer remarcar?"
    BOOKED = "booked"
    ASK_MOVE = "ask_move"  # "Vocês já têm uma visita …: quer remarcar?"
    CLARIFY = "clarify"  # "Você quer saber de A ou de B?"

    @classmethod
    def parse(cls, value: str) -> Step:
        try:
            return cls(value or "")
        except ValueError:
            return cls.NONE  # a step of an older engine: start from the top


class Stage(StrEnum):
    """Where the family is in the funnel (a column, shown to staff and filtered in the admin)."""

    NEW = "new"
    QUALIFYING = "qualifying"
    BOOKING = "booking"
    RESCHEDULING = "rescheduling"
    BOOKED = "booked"
    CANCELLED = "cancelled"
    HANDOFF = "handoff"
    OPTED_OUT = "opted_out"


class Intent(StrEnum):
    """What a message wants. Examples of each live in conversations/understanding/data/."""

    BOOK = "book"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    MY_VISIT = "my_visit"  # "quando é a minha visita?"
    HUMAN = "human"
    COMPLAINT = "complaint"
    OPT_OUT = "opt_out"
    AFFIRM = "affirm"
    DENY = "deny"
    CHOOSE = "choose"
    QUESTION = "question"
    GIVE_INFO = "give_info"
    GREETING = "greeting"
    SMALLTALK = "smalltalk"
    THANKS = "thanks"
    INJECTION = "injection"
    OFFTOPIC = "offtopic"


@dataclass
class Child:
    name: str = ""
    age: int | None = None
    school_year: str = ""
    subjects: list[str] = field(default_factory=list)
    subjects_tentative: bool = (
        False  # only asked about so far: a subject the parent then states replaces them
    )

    @property
    def empty(self) -> bool:
        return not (self.name or self.age or self.school_year or self.subjects)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.name:
            data["name"] = self.name
        if self.age is not None:
            data["age"] = self.age
        if self.school_year:
            data["school_year"] = self.school_year
        if self.subjects:
            data["subjects"] = list(self.subjects)
        if self.subjects_tentative:
            data["subjects_tentative"] = True
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Child:
        return cls(
            name=str(data.get("name") or ""),
            age=_age(data.get("age")),
            school_year=str(data.get("school_year") or ""),
            subjects=_subjects(data.get("subjects")),
            subjects_tentative=bool(data.get("subjects_tentative")),
        )


@dataclass
class Lead:
    parent_name: str = ""
    children: list[Child] = field(default_factory=list)
    heard_from: str = ""
    language: str = "pt"
    for_self: bool = False  # the adult writing is the student ("o kumon seria pra mim mesma")

    @property
    def child(self) -> Child:
        """The first child (the one most messages are about); created on first use."""
        if not self.children:
            self.children.append(Child())
        return self.children[0]

    @property
    def first_child(self) -> Child:
        """The first child, without adding one."""
        return self.children[0] if self.children else Child()

    @property
    def subjects(self) -> list[str]:
        """Every subject of every child, in order."""
        return list(dict.fromkeys(s for c in self.children for s in c.subjects))

    @property
    def qualified(self) -> bool:
        """Child's age or school year and the subject known (the reports' "qualified lead")."""
        c = self.first_child
        return bool((c.age or c.school_year) and c.subjects)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.parent_name:
            data["parent_name"] = self.parent_name
        first = self.first_child
        if first.name:
            data["child_name"] = first.name
        if first.age is not None:
            data["child_age"] = first.age
        if first.school_year:
            data["school_year"] = first.school_year
        if first.subjects:
            data["subjects"] = list(first.subjects)
        children = [c.to_data() for c in self.children if not c.empty]
        if children:
            data["children"] = children
        if self.heard_from:
            data["heard_from"] = self.heard_from
        if self.language and self.language != "pt":
            data["language"] = self.language
        if self.for_self:
            data["for_self"] = True
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Lead:
        data = dict(data or {})
        if isinstance(data.get("lead"), dict):  # a Conversation.data
            data = data["lead"]
        children = [Child.from_data(c) for c in data.get("children") or [] if isinstance(c, dict)]
        if not children:  # the flat layout (older rows, or a lead with one child)
            first = Child(
                name=str(data.get("child_name") or ""),
                age=_age(data.get("child_age")),
                school_year=str(data.get("school_year") or ""),
                subjects=_subjects(data.get("subjects") or data.get("subject")),
            )
            children = [] if first.empty else [first]
        return cls(
            parent_name=str(data.get("parent_name") or ""),
            children=children,
            heard_from=str(data.get("heard_from") or ""),
            language=str(data.get("language") or "pt"),
            for_self=bool(data.get("for_self")),
        )


def _age(value: Any) -> int | None:
    try:
        age = int(value)
    except (TypeError, ValueError):
        return None
    return age if 1 <= age <= 99 else None


def _subjects(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [s.strip() for s in value.replace(" e ", ",").split(",")]
    if not isinstance(value, list):
        return []
    return [s for s in dict.fromkeys(str(v).strip() for v in value) if s]


def _when(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


@dataclass
class Candidate:
    """An FAQ entry offered in a clarification question."""

    source_id: int
    question: str

    def to_data(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "question": self.question}


@dataclass
class Flow:
    """The receptionist's bookkeeping for this conversation."""

    offered: list[dt.datetime] = field(default_factory=list)  # the slots of the last offer, in order
    selected: dt.datetime | None = None  # the slot of a pending "Posso confirmar …?"
    rescheduling: bool = False  # the booking flow moves an existing visit
    appointment_id: int | None = None  # the visit being changed / just booked
    cta_offered: bool = False
    failed_turns: int = 0
    clarify: list[Candidate] = field(default_factory=list)
    clarify_question: str = ""  # the parent's words that needed the clarification
    waiting_notice_at: dt.datetime | None = None  # the last "já avisei a equipe" while staff have it
    staff_note: str = ""  # the note staff left when handing back
    asked: dict[str, int] = field(default_factory=dict)  # how often each question was asked
    children_expected: int = 0  # "meus dois filhos": ask until this many are known
    # A day/time the parent asked for before the lead was complete (dates.When.to_data()).
    wish: dict[str, Any] = field(default_factory=dict)
    # The offer the visit was just booked from: "troca pro segundo" right after still means it.
    booked_from: list[dt.datetime] = field(default_factory=list)
    # The family already studies at the unit ("o Cauã faz mat aí"): lessons and fees, no first visit.
    student_family: bool = False

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.offered:
            data["offered"] = [s.isoformat() for s in self.offered]
        if self.selected:
            data["selected"] = self.selected.isoformat()
        if self.rescheduling:
            data["rescheduling"] = True
        if self.appointment_id:
            data["appointment_id"] = self.appointment_id
        if self.cta_offered:
            data["cta_offered"] = True
        if self.failed_turns:
            data["failed_turns"] = self.failed_turns
        if self.clarify:
            data["clarify"] = [c.to_data() for c in self.clarify]
            data["clarify_question"] = self.clarify_question
        if self.waiting_notice_at:
            data["waiting_notice_at"] = self.waiting_notice_at.isoformat()
        if self.staff_note:
            data["staff_note"] = self.staff_note
        if self.asked:
            data["asked"] = dict(self.asked)
        if self.children_expected:
            data["children_expected"] = self.children_expected
        if self.wish:
            data["wish"] = dict(self.wish)
        if self.booked_from:
            data["booked_from"] = [s.isoformat() for s in self.booked_from]
        if self.student_family:
            data["student_family"] = True
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Flow:
        data = dict(data or {})
        if isinstance(data.get("flow"), dict):
            data = data["flow"]
        elif "lead" not in data:  # the older flat layout kept these under "_" keys
            data = {k[1:]: v for k, v in data.items() if k.startswith("_")}
            data.setdefault("rescheduling", data.get("mode") == "reschedule")
            data.setdefault("cta_offered", data.get("cta_offered"))
        offered = [w for w in (_when(s) for s in data.get("offered") or []) if w]
        clarify = [
            Candidate(int(c["source_id"]), str(c.get("question", "")))
            for c in data.get("clarify") or []
            if isinstance(c, dict) and str(c.get("source_id", "")).isdigit()
        ]
        asked_data = data.get("asked")
        asked: dict[str, Any] = asked_data if isinstance(asked_data, dict) else {}
        return cls(
            offered=offered,
            selected=_when(data.get("selected")),
            rescheduling=bool(data.get("rescheduling")),
            appointment_id=int(data["appointment_id"])
            if str(data.get("appointment_id") or "").isdigit()
            else None,
            cta_offered=bool(data.get("cta_offered")),
            failed_turns=int(data.get("failed_turns") or 0),
            clarify=clarify,
            clarify_question=str(data.get("clarify_question") or ""),
            waiting_notice_at=_when(data.get("waiting_notice_at")),
            staff_note=str(data.get("staff_note") or ""),
            asked={str(k): int(v) for k, v in asked.items() if str(v).isdigit()},
            children_expected=int(data.get("children_expected") or 0),
            student_family=bool(data.get("student_family")),
            wish=dict(data["wish"]) if isinstance(data.get("wish"), dict) else {},
            booked_from=[w for w in (_when(s) for s in data.get("booked_from") or []) if w],
        )


@dataclass
class State:
    """Everything the receptionist knows about one conversation."""

    lead: Lead
    flow: Flow
    step: Step = Step.NONE
    stage: Stage | str = Stage.NEW

    @classmethod
    def of(cls, conversation: Any) -> State:
        """The state of a Conversation row; a new conversation starts from what the family told
        us before (the contact's lead data)."""
        data = conversation.data or {}
        if "lead" in data:
            lead_data = data["lead"]
        elif data and "flow" not in data:
            lead_data = data  # a row of the older flat layout
        else:
            lead_data = conversation.contact.data or {}
        return cls(
            lead=Lead.from_data(lead_data),
            flow=Flow.from_data(data),
            step=Step.parse(conversation.step),
            stage=conversation.stage or Stage.NEW,
        )

    def to_data(self) -> dict[str, Any]:
        return {"lead": self.lead.to_data(), "flow": self.flow.to_data()}


def lead_of(conversation_or_contact: Any) -> Lead:
    """The lead facts of a conversation (or of a contact), for views, notices and reports."""
    data = getattr(conversation_or_contact, "data", None) or {}
    if not data and hasattr(conversation_or_contact, "contact"):
        data = conversation_or_contact.contact.data or {}
    return Lead.from_data(data)


def handed_back(data: dict[str, Any] | None, *, note: str) -> dict[str, Any]:
    """A conversation's data after staff hand it back: the failure count reset, the note kept."""
    flow = Flow.from_data(data)
    flow.failed_turns = 0
    flow.waiting_notice_at = None
    if note:
        flow.staff_note = note[:500]
    return {"lead": Lead.from_data(data).to_data(), "flow": flow.to_data()}


def erased() -> dict[str, Any]:
    """The data of a conversation whose family was erased (LGPD): nothing about them."""
    return {}
