"""Reads of the staff inbox: conversations by state, the waiting count, a conversation's page.

States: waiting for staff (mode human, nobody assigned, hand-off requested), with staff (mode
human, assigned), bot, closed. Waiting ones first, oldest hand-off first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

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



def family_conversations(queryset: QuerySet[Conversation] | None = None) -> QuerySet[Conversation]:
    """Conversations with families: the unit's own staff phone (hand-off notices) is left out."""
    queryset = Conversation.objects.all() if queryset is None else queryset
    return queryset.exclude(contact__is_unit_staff=True)


def inbox(*, user: Any, queryset: QuerySet[Conversation] | None = None) -> QuerySet[Conversation]:
    """The user's conversations, waiting first (oldest hand-off first), then with staff, bot, closed."""
    qs = scope(family_conversations(queryset), user)
    return qs.annotate(state_order=STATE_ORDER).order_by("state_order", "handoff_at", "-last_activity_at", "-pk")


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
        rows[str(_("parent"))] = lead.parent_name
    for n, child in enumerate(lead.children, start=1):
        suffix = f" {n}" if len(lead.children) > 1 else ""
        if child.name:
            rows[f"{_('child')}{suffix}"] = child.name
        if child.age is not None:
            rows[f"{_('child age')}{suffix}"] = child.age
        if child.school_year:
            rows[f"{_('school year')}{suffix}"] = child.school_year
        if child.subjects:
            rows[f"{_('subjects')}{suffix}"] = ", ".join(child.subjects)
    if lead.heard_from:
        rows[str(_("heard from"))] = lead.heard_from
    return rows


def conversation_page(conversation: Conversation) -> ConversationPage:
    current = state.State.of(conversation)
    lead = lead_rows(current.lead)
    appointments = list(Appointment.objects.filter(contact_id=conversation.contact_id).order_by("-start")[:20])
    return ConversationPage(
        conversation=conversation,
        messages=transcript(conversation),
        lead=lead,
        staff_note=current.flow.staff_note,
        appointments=appointments,
        state=state_of(conversation),
    )
