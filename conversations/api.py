"""REST API of conversations for staff tools: the inbox, a conversation with its messages, the
state by phone (DESIGN.md contract), take-over / hand-back / reply, and the reports.

Every query is scoped to the user's units; another unit's row is a 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations import inbox, reports, services, state
from conversations.models import Conversation, Message
from kumon.api import UNIT_PARAM, filter_unit
from kumon.exceptions import DomainError, NotFound
from kumon.models import Contact, Membership
from kumon.phones import InvalidPhone, normalize_phone
from kumon.tenancy import scope, unit_ids_for, units_for

MESSAGE_LIMIT = 500


class MessageOutput(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "direction", "sender", "kind", "body", "status", "created_at", "sent_at", "meta"]


class ConversationOutput(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    phone = serializers.CharField(source="contact.phone", read_only=True)
    name = serializers.CharField(source="contact.name", read_only=True)
    state = serializers.SerializerMethodField()
    data = serializers.SerializerMethodField()
    assigned_to = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "unit",
            "phone",
            "name",
            "mode",
            "state",
            "stage",
            "step",
            "data",
            "handoff_at",
            "handoff_reason",
            "assigned_to",
            "last_activity_at",
            "created_at",
        ]

    @extend_schema_field(serializers.DictField())
    def get_data(self, obj: Conversation) -> dict:
        """The lead facts (conversations.state.Lead), under the keys of the dialogue format."""
        return state.lead_of(obj).to_data()

    @extend_schema_field(serializers.ChoiceField(choices=inbox.STATES))
    def get_state(self, obj: Conversation) -> str:
        return inbox.state_of(obj)


class ConversationDetailOutput(ConversationOutput):
    messages = serializers.SerializerMethodField()

    class Meta(ConversationOutput.Meta):
        fields = [*ConversationOutput.Meta.fields, "messages"]

    @extend_schema_field(MessageOutput(many=True))
    def get_messages(self, obj: Conversation) -> list[dict[str, Any]]:
        return MessageOutput(inbox.transcript(obj, limit=MESSAGE_LIMIT), many=True).data


def _conversations(request: Request) -> QuerySet[Conversation]:
    return inbox.inbox(
        user=request.user, queryset=Conversation.objects.select_related("unit", "contact", "assigned_to")
    )


@extend_schema(
    tags=["conversations"],
    summary="The inbox: conversations of your units",
    description="Waiting for staff first (oldest hand-off first), then with staff, bot, closed.",
    parameters=[
        UNIT_PARAM,
        OpenApiParameter("state", OpenApiTypes.STR, enum=list(inbox.STATES)),
        OpenApiParameter("phone", OpenApiTypes.STR, description="phone contains (digits)"),
    ],
)
class ConversationList(generics.ListAPIView):
    serializer_class = ConversationOutput

    def get_queryset(self) -> QuerySet[Conversation]:
        params = self.request.query_params
        qs = inbox.filter_state(filter_unit(_conversations(self.request), params), params.get("state", ""))
        if params.get("phone"):
            qs = qs.filter(contact__phone__contains="".join(ch for ch in params["phone"] if ch.isdigit()))
        return qs


@extend_schema(tags=["conversations"], summary="One conversation with its messages (the last 500)")
class ConversationDetail(generics.RetrieveAPIView):
    serializer_class = ConversationDetailOutput

    def get_queryset(self) -> QuerySet[Conversation]:
        return _conversations(self.request)


class ConversationStateOutput(serializers.Serializer):
    unit = serializers.CharField()
    phone = serializers.CharField()
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=Conversation.Mode.choices)
    state = serializers.ChoiceField(choices=inbox.STATES)
    stage = serializers.CharField()
    step = serializers.CharField()
    data = serializers.JSONField()
    handoff_at = serializers.DateTimeField(allow_null=True)
    assigned_to = serializers.CharField(allow_null=True)
    messages = inline_serializer(
        "ConversationStateMessage",
        fields={
            "direction": serializers.ChoiceField(choices=Message.Direction.choices),
            "sender": serializers.ChoiceField(choices=Message.Sender.choices),
            "body": serializers.CharField(),
            "status": serializers.CharField(),
            "created_at": serializers.DateTimeField(),
        },
        many=True,
    )


def conversation_for_phone(*, user: Any, phone: str, unit_slug: str | None) -> Conversation:
    """The open conversation (or the latest) of `phone` in the user's units; NotFound otherwise."""
    try:
        e164 = normalize_phone(phone)
    except InvalidPhone as exc:
        raise NotFound(gettext("No conversation for this phone.")) from exc
    contacts = scope(Contact.objects.filter(phone=e164), user).exclude(is_unit_staff=True)
    if unit_slug:
        contacts = contacts.filter(unit__slug=unit_slug)
    unit_ids = set(contacts.values_list("unit_id", flat=True))
    if not unit_ids:
        raise NotFound(gettext("No conversation for this phone."))
    if len(unit_ids) > 1:
        raise DomainError(
            gettext("This phone wrote to several of your units: choose one with ?unit=<slug>."),
            extra={"units": sorted(units_for(user).filter(pk__in=unit_ids).values_list("slug", flat=True))},
        )
    conversation = (
        Conversation.objects.filter(contact__in=contacts)
        .select_related("unit", "contact", "assigned_to")
        # The open conversation first, else the latest closed one.
        .order_by(
            Case(When(mode=Conversation.Mode.CLOSED, then=Value(1)), default=Value(0)), "-last_activity_at"
        )
        .first()
    )
    if conversation is None:
        raise NotFound(gettext("No conversation for this phone."))
    return conversation


@extend_schema(
    tags=["conversations"],
    summary="Conversation state by phone",
    description="The phone in any Brazilian spelling (+55 11 98765-4321, 11987654321, 551187654321). "
    "If the phone wrote to several of your units, `?unit=<slug>` selects one (400 otherwise). "
    "404 if it is not a family of your units.",
    parameters=[UNIT_PARAM],
    responses={200: ConversationStateOutput},
)
class ConversationByPhone(APIView):
    def get(self, request: Request, phone: str) -> Response:
        conversation = conversation_for_phone(
            user=request.user, phone=phone, unit_slug=request.query_params.get("unit")
        )
        messages = inbox.transcript(conversation, limit=MESSAGE_LIMIT)
        return Response(
            {
                "unit": conversation.unit.slug,
                "phone": conversation.contact.phone,
                "name": conversation.contact.name,
                "mode": conversation.mode,
                "state": inbox.state_of(conversation),
                "stage": conversation.stage,
                "step": conversation.step,
                "opted_out": conversation.contact.opted_out_at is not None,
                "data": state.lead_of(conversation).to_data(),
                "handoff_at": conversation.handoff_at,
                "assigned_to": conversation.assigned_to.get_username() if conversation.assigned_to else None,
                "messages": [
                    {
                        "direction": m.direction,
                        "sender": m.sender,
                        "body": m.body,
                        "status": m.status,
                        "created_at": m.created_at,
                    }
                    for m in messages
                ],
            }
        )


class _ConversationAction(APIView):
    def conversation(self, request: Request, pk: int) -> Conversation:
        conversation = _conversations(request).filter(pk=pk).first()
        if conversation is None:
            raise NotFound(gettext("Not found."))
        return conversation

    def done(self, conversation: Conversation) -> Response:
        conversation = _conversations(self.request).get(pk=conversation.pk)
        return Response(ConversationOutput(conversation).data)


@extend_schema(
    tags=["conversations"],
    summary="Take over: the bot stops at once",
    request=None,
    responses={200: ConversationOutput},
)
class TakeOver(_ConversationAction):
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(request, pk)
        services.take_over(conversation=conversation, user=request.user)
        return self.done(conversation)


class HandBackInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


@extend_schema(
    tags=["conversations"],
    summary="Hand back to the bot (optional note for its context)",
    request=HandBackInput,
    responses={200: ConversationOutput},
)
class HandBack(_ConversationAction):
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(request, pk)
        data = HandBackInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.hand_back(
            conversation=conversation, user=request.user, note=data.validated_data.get("note", "")
        )
        return self.done(conversation)


class ReplyInput(serializers.Serializer):
    body = serializers.CharField(max_length=4000)


@extend_schema(
    tags=["conversations"],
    summary="Reply as staff (takes the conversation over)",
    request=ReplyInput,
    responses={201: MessageOutput},
)
class Reply(_ConversationAction):
    def post(self, request: Request, pk: int) -> Response:
        conversation = self.conversation(request, pk)
        data = ReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.send_staff_reply(
            conversation=conversation, user=request.user, body=data.validated_data["body"]
        )
        return Response(MessageOutput(message).data, status=201)


class ReportOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    period = serializers.ChoiceField(choices=reports.PERIODS)
    metrics = inline_serializer(
        "ReportMetric",
        fields={
            "key": serializers.CharField(),
            "label": serializers.CharField(),
            "definition": serializers.CharField(),
            "kind": serializers.CharField(),
        },
        many=True,
    )
    totals = inline_serializer(
        "ReportTotal", fields={"unit": serializers.CharField(), "values": serializers.DictField()}, many=True
    )
    rows = inline_serializer(
        "ReportRow",
        fields={
            "unit": serializers.CharField(),
            "period": serializers.DateField(),
            "values": serializers.DictField(),
        },
        many=True,
    )


def _date(value: str | None, default: dt.date) -> dt.date:
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise DomainError(gettext("Dates are YYYY-MM-DD."), extra={"value": value}) from exc


@extend_schema(
    tags=["reports"],
    summary="Report of your units",
    description="Per unit and period; owners may pass several `unit` slugs to compare their units. "
    "Rates are 0..1; times are seconds. Definitions are in `metrics`.",
    parameters=[
        OpenApiParameter("unit", OpenApiTypes.STR, many=True, description="unit slug(s); default all yours"),
        OpenApiParameter("period", OpenApiTypes.STR, enum=list(reports.PERIODS)),
        OpenApiParameter("from", OpenApiTypes.DATE),
        OpenApiParameter("to", OpenApiTypes.DATE),
    ],
    responses={200: ReportOutput},
)
class ReportView(APIView):
    def get(self, request: Request) -> Response:
        params = request.query_params
        mine = units_for(request.user)
        slugs = params.getlist("unit")
        if slugs:
            mine = mine.filter(slug__in=slugs)
        units = list(mine)
        if not units:
            raise NotFound(gettext("No such unit."))
        owned = unit_ids_for(request.user, role=Membership.Role.OWNER)
        if len(units) > 1 and owned is not None and not {u.pk for u in units} <= owned:
            raise DomainError(gettext("Comparing units is for their owners: choose one unit."))
        period = params.get("period", "day")
        if period not in reports.PERIODS:
            raise DomainError(gettext("period is day, week or month."))
        today = timezone.localdate()
        end = _date(params.get("to"), today)
        start = _date(params.get("from"), end - dt.timedelta(days=29))
        if start > end or (end - start).days > 800:
            raise DomainError(gettext("from must be before to, at most 800 days apart."))
        report = reports.build_report(units=units, start=start, end=end, period=period)
        slug = {u.pk: u.slug for u in report.units}
        return Response(
            {
                "start": report.start,
                "end": report.end,
                "period": report.period,
                "metrics": [
                    {"key": m.key, "label": str(m.label), "definition": str(m.definition), "kind": m.kind}
                    for m in reports.METRICS
                ],
                "totals": [{"unit": slug[t.unit_id], "values": t.values} for t in report.totals],
                "rows": [
                    {"unit": slug[r.unit_id], "period": r.period, "values": r.values} for r in report.rows
                ],
            }
        )
