"""Reads of the staff inbox: conversations by state, the waiting count, a conversation's page.

States: waiting for staff (mode human, nobody assigned, hand-off requested), with staff (mode
human, assigned), bot, closed. Waiting ones first, oldest hand-off first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

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
# Labels of the lead data the engine collects (other keys are shown as they are).
LEAD_LABELS = {
    "parent_name": _("parent"),
    "child_name": _("child"),
    "child_age": _("child age"),
    "school_year": _("school year"),
    "subject": _("subject"),
}


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


def conversation_page(conversation: Conversation) -> ConversationPage:
    data = conversation.data or {}
    lead = {
        str(LEAD_LABELS.get(k, k)): v
        for k, v in {**(conversation.contact.data or {}), **data}.items()
        if not k.startswith("_") and k != "staff"
    }
    appointments = list(Appointment.objects.filter(contact_id=conversation.contact_id).order_by("-start")[:20])
    return ConversationPage(
        conversation=conversation,
        messages=transcript(conversation),
        lead=lead,
        staff_note=str(data.get("_staff_note", "")),
        appointments=appointments,
        state=state_of(conversation),
    )
