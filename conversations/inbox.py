"""Reads of the staff inbox: conversations by state, the waiting count, a conversation's page.

States: waiting for staff (mode human, nobody assigned, hand-off requested), with staff (mode
human, assigned), bot, closed. Waiting ones first, oldest hand-off first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from conversations import state
from conversations.models import Conversation, Message
from kumon.tenancy import scope
from scheduling.models import Appointment

WAITING = Q(mode=Conversation.Mode.HUMAN, assigned_to__isnull=True, handoff_at__isnull=False)
WITH_STAFF = Q(mode=Conversation.Mode.HUMAN) & ~WAITING
STATE_ORDER = Case(
    When(WAITING, then=Value(0)),
    When(mode=Conversation.Mode.HUMAN, then=Value(1)),
    When(mode=Conversation.Mode.BOT, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
STATES = ("waiting", "with_staff", "bot", "closed")
STATE_LABELS = {
    "waiting": _("waiting for staff"),
    "with_staff": _("with staff"),
    "bot": _("bot"),
    "closed": _("closed"),
}

# What staff read for the engine's codes. Keyed by the codes the engine writes (state.Stage,
# state.Step, the reasons of decisions.handoff.hand_off and services.take_over); a test checks
# that every code has a label, so a new one cannot reach the page untranslated.
STAGE_LABELS: dict[str, Any] = {
    state.Stage.NEW: pgettext_lazy("conversation stage", "new"),
    state.Stage.QUALIFYING: pgettext_lazy("conversation stage", "getting to know the family"),
    state.Stage.BOOKING: pgettext_lazy("conversation stage", "booking a visit"),
    state.Stage.RESCHEDULING: pgettext_lazy("conversation stage", "moving the visit"),
    state.Stage.BOOKED: pgettext_lazy("conversation stage", "visit booked"),
    state.Stage.CANCELLED: pgettext_lazy("conversation stage", "visit cancelled"),
    state.Stage.HANDOFF: pgettext_lazy("conversation stage", "passed to staff"),
    state.Stage.OPTED_OUT: pgettext_lazy("conversation stage", "opted out"),
}
STEP_LABELS: dict[str, Any] = {
    state.Step.NONE: "",
    state.Step.CTA: pgettext_lazy("conversation step", "offered a visit"),
    state.Step.ASK_CHILD_NAME: pgettext_lazy("conversation step", "asked the child's name"),
    state.Step.ASK_CHILD_AGE: pgettext_lazy("conversation step", "asked the child's age"),
    state.Step.ASK_SUBJECT: pgettext_lazy("conversation step", "asked the subject"),
    state.Step.ASK_PARENT_NAME: pgettext_lazy("conversation step", "asked the parent's name"),
    state.Step.OFFER_SLOTS: pgettext_lazy("conversation step", "offered times"),
    state.Step.CONFIRM_SLOT: pgettext_lazy("conversation step", "waiting to confirm the time"),
    state.Step.CONFIRM_CANCEL: pgettext_lazy("conversation step", "waiting to confirm the cancellation"),
    state.Step.OFFER_REBOOK: pgettext_lazy("conversation step", "offered a new time"),
    state.Step.BOOKED: pgettext_lazy("conversation step", "visit booked"),
    state.Step.ASK_MOVE: pgettext_lazy("conversation step", "asked whether to move the visit"),
    state.Step.CLARIFY: pgettext_lazy("conversation step", "asked which question was meant"),
}
HANDOFF_REASONS: dict[str, Any] = {
    "requested": pgettext_lazy("hand-off reason", "the family asked for a person"),
    "asked_for_person": pgettext_lazy("hand-off reason", "the family asked for a person"),
    "complaint": pgettext_lazy("hand-off reason", "complaint"),
    "calendar": pgettext_lazy("hand-off reason", "the calendar could not be read"),
    "change_too_late": pgettext_lazy("hand-off reason", "change too close to the visit"),
    "no_slots": pgettext_lazy("hand-off reason", "no free times"),
    "flood": pgettext_lazy("hand-off reason", "many messages at once"),
    "unknown_question": pgettext_lazy("hand-off reason", "a question the bot could not answer"),
    "staff": pgettext_lazy("hand-off reason", "taken over by staff"),
    "staff_phone": pgettext_lazy("hand-off reason", "staff answered on the unit's phone"),
}


def _label(labels: dict[str, Any], code: str) -> str:
    # A code of a newer engine than this table still reads as words, never as a snake_case code.
    return str(labels.get(code, (code or "").replace("_", " ")))


def stage_label(code: str) -> str:
    return _label(STAGE_LABELS, code)


def step_label(code: str) -> str:
    return _label(STEP_LABELS, code)


def handoff_reason_label(code: str) -> str:
    return _label(HANDOFF_REASONS, code)


def family_name(conversation: Conversation) -> str:
    """The name staff know the family by: WhatsApp's profile name, else the parent's name learned
    in the chat, else "" (the page then shows the phone, once)."""
    return conversation.contact.name or state.lead_of(conversation).parent_name


def duration_text(delta: dt.timedelta) -> str:
    """ "menos de 1 minuto", "5 minutos", "2 h 05 min", "3 dias": a wait as staff read it (never
    "0 minuto": Portuguese plural rules make 0 singular, so under a minute has its own words)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return str(_("less than a minute"))
    if minutes < 60:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    if minutes < 24 * 60:
        return str(_("%(h)d h %(m)02d min")) % {"h": minutes // 60, "m": minutes % 60}
    days = minutes // (24 * 60)
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def waited(conversation: Conversation, now: dt.datetime) -> dt.timedelta | None:
    """How long the family has been waiting for an answer: since the hand-off while nobody took
    it, else since their last message when nobody has answered it yet (needs `with_last_message`)."""
    if state_of(conversation) == "waiting" and conversation.handoff_at:
        return now - conversation.handoff_at
    last_at = getattr(conversation, "last_at", None)
    if (
        conversation.mode != Conversation.Mode.CLOSED
        and last_at
        and getattr(conversation, "last_direction", None) == "in"
    ):
        return now - last_at
    return None


PREVIEW_CHARS = 120


def with_last_message(queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Annotate each conversation with its last message (`last_body`, cut to a preview,
    `last_direction`, `last_at`): three LIMIT 1 look-ups on the (conversation, created_at) index
    inside the one inbox query, whatever the number of rows."""
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-created_at", "-pk")
    return queryset.annotate(
        last_body=Substr(Subquery(last.values("body")[:1]), 1, PREVIEW_CHARS),
        last_direction=Subquery(last.values("direction")[:1]),
        last_at=Subquery(last.values("created_at")[:1]),
    )


def family_conversations(queryset: QuerySet[Conversation] | None = None) -> QuerySet[Conversation]:
    """Conversations with families: the unit's own staff phone (hand-off notices) is left out."""
    queryset = Conversation.objects.all() if queryset is None else queryset
    return queryset.exclude(contact__is_unit_staff=True)


def inbox(*, user: Any, queryset: QuerySet[Conversation] | None = None) -> QuerySet[Conversation]:
    """The user's conversations, waiting first (oldest hand-off first), then with staff, bot, closed."""
    qs = scope(family_conversations(queryset), user)
    return qs.annotate(state_order=STATE_ORDER).order_by(
        "state_order", "handoff_at", "-last_activity_at", "-pk"
    )


def filter_state(queryset: QuerySet[Conversation], state: str) -> QuerySet[Conversation]:
    if state == "waiting":
        return queryset.filter(WAITING)
    if state == "with_staff":
        return queryset.filter(WITH_STAFF)
    if state == "bot":
        return queryset.filter(mode=Conversation.Mode.BOT)
    if state == "closed":
        return queryset.filter(mode=Conversation.Mode.CLOSED)
    return queryset


def state_of(conversation: Conversation) -> str:
    if conversation.mode == Conversation.Mode.HUMAN:
        return "with_staff" if conversation.assigned_to_id or not conversation.handoff_at else "waiting"
    return "bot" if conversation.mode == Conversation.Mode.BOT else "closed"


def waiting_count(*, user: Any) -> int:
    return scope(family_conversations(), user).filter(WAITING).count()


@dataclass
class ConversationPage:
    conversation: Conversation
    messages: list[Message]
    lead: dict[str, Any]
    staff_note: str
    appointments: list[Appointment]
    state: str
    name: str
    stage: str
    step: str
    handoff_reason: str


def transcript(conversation: Conversation, *, limit: int = 500) -> list[Message]:
    """The last `limit` messages, oldest first, without the raw payloads."""
    latest = list(
        conversation.messages.select_related("staff_user").defer("raw").order_by("-created_at", "-pk")[:limit]
    )
    return latest[::-1]


def lead_rows(lead: state.Lead) -> dict[str, Any]:
    """The family as label → value rows for the conversation page, in Portuguese."""
    rows: dict[str, Any] = {}
    if lead.parent_name:
        rows[str(pgettext_lazy("lead data", "parent"))] = lead.parent_name
    for n, child in enumerate(lead.children, start=1):
        suffix = f" {n}" if len(lead.children) > 1 else ""
        # Labels outside the f-strings: xgettext does not read inside them.
        labels = (_("child"), _("child age"), _("school year"), _("subjects"))
        if child.name:
            rows[f"{labels[0]}{suffix}"] = child.name
        if child.age is not None:
            rows[f"{labels[1]}{suffix}"] = child.age
        if child.school_year:
            rows[f"{labels[2]}{suffix}"] = child.school_year
        if child.subjects:
            rows[f"{labels[3]}{suffix}"] = ", ".join(child.subjects)
    if lead.heard_from:
        rows[str(_("heard from"))] = lead.heard_from
    return rows


def conversation_page(conversation: Conversation) -> ConversationPage:
    current = state.State.of(conversation)
    lead = lead_rows(current.lead)
    appointments = list(
        Appointment.objects.filter(contact_id=conversation.contact_id).order_by("-start")[:20]
    )
    return ConversationPage(
        conversation=conversation,
        messages=transcript(conversation),
        lead=lead,
        staff_note=current.flow.staff_note,
        appointments=appointments,
        state=state_of(conversation),
        name=current.lead.parent_name if not conversation.contact.name else conversation.contact.name,
        stage=stage_label(conversation.stage),
        step=step_label(conversation.step),
        handoff_reason=handoff_reason_label(conversation.handoff_reason)
        if conversation.handoff_reason
        else "",
    )
