"""Scheduling API: free slots and appointments, scoped to the user's units (kumon.tenancy).

Times go out in the unit's time zone with their offset (ISO-8601); times coming in without an
offset are read in the unit's time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kumon.exceptions import NotFound
from kumon.models import Unit
from kumon.tenancy import scope, units_for
from scheduling import outcomes, selectors, services
from scheduling.models import Appointment, VisitOutcome

MAX_RANGE = dt.timedelta(days=62)


def unit_for(user: Any, slug: str) -> Unit:
    unit = units_for(user).filter(slug=slug, active=True).first()
    if unit is None:
        raise NotFound(gettext("Unit not found."), extra={"unit": slug})
    return unit


def aware(value: dt.datetime, unit: Unit) -> dt.datetime:
    """An input time: one without offset is the unit's local time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=ZoneInfo(unit.timezone))
    return value


class SchedulingErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    extra = serializers.DictField()


class SlotSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="ISO-8601 with the unit's offset")
    end = serializers.CharField(help_text="ISO-8601 with the unit's offset")
    remaining = serializers.IntegerField(help_text="places still free in this slot")


class LocalDateTimeField(serializers.DateTimeField):
    """Keeps a time without offset naive, so the view reads it in the unit's time zone."""

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        return value


class VisitOutcomeSerializer(serializers.ModelSerializer):
    reason = serializers.SlugRelatedField(slug_field="label", read_only=True, allow_null=True)

    class Meta:
        model = VisitOutcome
        fields = ["result", "subjects", "start_date", "reason", "note", "recorded_at"]


class AppointmentOutputSerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "id",
            "unit",
            "start",
            "end",
            "status",
            "seat",
            "source",
            "phone",
            "parent_name",
            "child_name",
            "child_age",
            "school_year",
            "subject",
            "notes",
            "calendar_sync_status",
            "created_at",
            "changed_at",
            "outcome",
        ]

    @extend_schema_field(VisitOutcomeSerializer(allow_null=True))
    def get_outcome(self, obj: Appointment) -> dict[str, Any] | None:
        outcome = getattr(obj, "outcome", None)  # a missing reverse one-to-one raises, getattr says None
        return VisitOutcomeSerializer(outcome).data if outcome is not None else None

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_start(self, obj: Appointment) -> str:
        return obj.start.astimezone(ZoneInfo(obj.unit.timezone)).isoformat()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_end(self, obj: Appointment) -> str:
        return obj.end.astimezone(ZoneInfo(obj.unit.timezone)).isoformat()


class SlotListApi(APIView):
    @extend_schema(
        summary="Free slots of a unit",
        description=(
            "Slots starting in [from, to) that can be booked now: opening hours minus closures, "
            "holidays, appointments, holds and the unit's external calendar; with minimum notice "
            "and booking window. 503 when the unit's Google calendar cannot be read (no slot is "
            "offered from a calendar we could not read)."
        ),
        parameters=[
            OpenApiParameter("unit", str, required=True, description="unit slug"),
            OpenApiParameter("from", OpenApiTypes.DATETIME, required=True, description="ISO-8601"),
            OpenApiParameter(
                "to", OpenApiTypes.DATETIME, required=True, description="ISO-8601, at most 62 days after from"
            ),
        ],
        responses={
            200: SlotSerializer(many=True),
            400: SchedulingErrorSerializer,
            404: SchedulingErrorSerializer,
            503: SchedulingErrorSerializer,
        },
        tags=["scheduling"],
    )
    def get(self, request: Request) -> Response:
        # Only the parameters given: a missing one is "required", not "may not be null".
        query = request.query_params
        params = SlotQuerySerializer(
            data={name: query[name] for name in ("unit", "from", "to") if name in query}
        )
        params.is_valid(raise_exception=True)
        unit = unit_for(request.user, params.validated_data["unit"])
        start = aware(params.validated_data["from"], unit)
        end = aware(params.validated_data["to"], unit)
        slots = selectors.free_slots(unit=unit, start=start, end=end)
        return Response([slot.as_dict() for slot in slots])


class SlotQuerySerializer(serializers.Serializer):
    unit = serializers.SlugField()
    to = LocalDateTimeField()

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword: declared here, so errors and data use the parameter's own name.
        return {"from": LocalDateTimeField(), **super().get_fields()}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs["to"].tzinfo is None) != (attrs["from"].tzinfo is None):
            raise serializers.ValidationError({"to": gettext("give both times with an offset, or neither")})
        if attrs["to"] <= attrs["from"]:
            raise serializers.ValidationError({"to": gettext("must be after from")})
        if attrs["to"] - attrs["from"] > MAX_RANGE:
            raise serializers.ValidationError({"to": gettext("at most 62 days after from")})
        return attrs


class AppointmentListCreateApi(ListAPIView):
    serializer_class = AppointmentOutputSerializer

    class BookingInputSerializer(serializers.Serializer):
        unit = serializers.SlugField()
        phone = serializers.CharField(max_length=40)
        start = LocalDateTimeField()
        parent_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
        child_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
        child_age = serializers.IntegerField(
            min_value=1, max_value=99, required=False, allow_null=True, default=None
        )
        school_year = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
        subject = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
        notes = serializers.CharField(required=False, allow_blank=True, default="")
        idempotency_key = serializers.CharField(max_length=100, required=False, allow_null=True, default=None)

    def get_queryset(self) -> Any:
        qs = scope(
            Appointment.objects.select_related("unit", "outcome", "outcome__reason"), self.request.user
        ).order_by("start", "id")
        slug = self.request.query_params.get("unit")
        if slug:
            qs = qs.filter(unit=unit_for(self.request.user, slug))
        status_filter = self.request.query_params.get("status")
        if status_filter:
            qs = qs.filter(status=status_filter)
        for name, lookup in (("from", "start__gte"), ("to", "start__lt")):
            value = self.request.query_params.get(name)
            if value:
                field = serializers.DateTimeField()
                try:
                    qs = qs.filter(**{lookup: field.to_internal_value(value)})
                except serializers.ValidationError as exc:
                    raise serializers.ValidationError({name: exc.detail}) from exc
        return qs

    @extend_schema(
        summary="Appointments of the user's units",
        parameters=[
            OpenApiParameter("unit", str, description="unit slug (default: all your units)"),
            OpenApiParameter("status", str, enum=[s for s, _ in Appointment.Status.choices]),
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="start ≥ from"),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="start < to"),
        ],
        tags=["scheduling"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Book a slot",
        description=(
            "Books through the same service as the chat. 409 when the place is taken or the time "
            'breaks a rule: `extra.reason` is "taken" or "rules", `extra.alternatives` the next '
            "free slots. A retried request (same phone and slot, or same idempotency_key) returns "
            "the appointment it made."
        ),
        request=BookingInputSerializer,
        responses={
            201: AppointmentOutputSerializer,
            400: SchedulingErrorSerializer,
            404: SchedulingErrorSerializer,
            409: SchedulingErrorSerializer,
            503: SchedulingErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "booking",
                request_only=True,
                value={
                    "unit": "demo",
                    "phone": "+5511987654321",
                    "parent_name": "Ana",
                    "child_name": "Pedro",
                    "child_age": 7,
                    "subject": "Matemática",
                    "start": "2026-12-07T14:00:00-03:00",
                },
            )
        ],
        tags=["scheduling"],
    )
    def post(self, request: Request) -> Response:
        data = self.BookingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        unit = unit_for(request.user, v["unit"])
        appointment = services.book_appointment(
            unit=unit,
            start=aware(v["start"], unit),
            phone=v["phone"],
            parent_name=v["parent_name"],
            child_name=v["child_name"],
            child_age=v["child_age"],
            school_year=v["school_year"],
            subject=v["subject"],
            notes=v["notes"],
            source=Appointment.Source.API,
            idempotency_key=f"api:{unit.pk}:{v['idempotency_key']}" if v["idempotency_key"] else None,
            changed_by=request.user,
        )
        return Response(AppointmentOutputSerializer(appointment).data, status=status.HTTP_201_CREATED)


class AppointmentDetailApi(APIView):
    class AppointmentPatchSerializer(serializers.Serializer):
        start = LocalDateTimeField(required=False, help_text="reschedule to this slot")
        status = serializers.ChoiceField(
            required=False,
            choices=[
                Appointment.Status.CONFIRMED,
                Appointment.Status.CANCELLED,
                Appointment.Status.ATTENDED,
                Appointment.Status.NO_SHOW,
            ],
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("start" in attrs) == ("status" in attrs):
                raise serializers.ValidationError(gettext("send either start (reschedule) or status"))
            return attrs

    def _get(self, request: Request, pk: int) -> Appointment:
        appointment = scope(Appointment.objects.select_related("unit"), request.user).filter(pk=pk).first()
        if appointment is None:
            raise NotFound(gettext("Appointment not found."), extra={"id": pk})
        return appointment

    @extend_schema(
        summary="One appointment",
        responses={200: AppointmentOutputSerializer, 404: SchedulingErrorSerializer},
        tags=["scheduling"],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(AppointmentOutputSerializer(self._get(request, pk)).data)

    @extend_schema(
        summary="Reschedule or change status",
        description='`{"start"}` moves the appointment (409 with alternatives if taken); '
        '`{"status"}` confirms, cancels or marks attended / no-show.',
        request=AppointmentPatchSerializer,
        responses={
            200: AppointmentOutputSerializer,
            400: SchedulingErrorSerializer,
            404: SchedulingErrorSerializer,
            409: SchedulingErrorSerializer,
            503: SchedulingErrorSerializer,
        },
        tags=["scheduling"],
    )
    def patch(self, request: Request, pk: int) -> Response:
        appointment = self._get(request, pk)
        data = self.AppointmentPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user = request.user
        if "start" in v:
            result = services.reschedule_appointment(
                appointment=appointment, start=aware(v["start"], appointment.unit), changed_by=user
            )
        elif v["status"] == Appointment.Status.CONFIRMED:
            result = services.confirm_appointment(appointment=appointment, changed_by=user, by_parent=False)
        elif v["status"] == Appointment.Status.CANCELLED:
            result = services.cancel_appointment(appointment=appointment, changed_by=user)
        elif v["status"] == Appointment.Status.ATTENDED:
            result = services.mark_attended(appointment=appointment, changed_by=user)
        else:
            result = services.mark_no_show(appointment=appointment, changed_by=user)
        return Response(AppointmentOutputSerializer(result).data)

    @extend_schema(
        summary="Cancel",
        description="Cancels (the row stays, status cancelled) and returns it.",
        responses={
            200: AppointmentOutputSerializer,
            404: SchedulingErrorSerializer,
            409: SchedulingErrorSerializer,
        },
        tags=["scheduling"],
    )
    def delete(self, request: Request, pk: int) -> Response:
        appointment = self._get(request, pk)
        result = services.cancel_appointment(appointment=appointment, changed_by=request.user)
        return Response(AppointmentOutputSerializer(result).data)


class AppointmentOutcomeApi(APIView):
    class OutcomeInputSerializer(serializers.Serializer):
        result = serializers.ChoiceField(choices=VisitOutcome.Result.choices)
        subjects = serializers.CharField(required=False, allow_blank=True, max_length=200)
        start_date = serializers.DateField(required=False, allow_null=True)
        reason = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=80,
            help_text="a reason of the unit's list (by label); unknown = the unit's \"other\"",
        )
        note = serializers.CharField(required=False, allow_blank=True, max_length=300)

    @extend_schema(
        summary="Record the visit's outcome",
        description="After the visit: `enrolled` (subjects, start date) or `not_enrolled` with a reason from the "
        "unit's list. Recording again corrects it. 409 for a visit not yet started, cancelled or no-show.",
        request=OutcomeInputSerializer,
        responses={
            200: AppointmentOutputSerializer,
            400: SchedulingErrorSerializer,
            404: SchedulingErrorSerializer,
            409: SchedulingErrorSerializer,
        },
        tags=["scheduling"],
    )
    def post(self, request: Request, pk: int) -> Response:
        appointment = AppointmentDetailApi()._get(request, pk)
        data = self.OutcomeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        reason = None
        if v["result"] == VisitOutcome.Result.NOT_ENROLLED:
            reason = outcomes.reason_named(unit=appointment.unit, label=v.get("reason", ""))
        outcomes.record_visit_outcome(
            appointment=appointment,
            result=v["result"],
            subjects=v.get("subjects", ""),
            start_date=v.get("start_date"),
            reason=reason,
            note=v.get("note", ""),
            recorded_by=request.user,
        )
        fresh = Appointment.objects.select_related("unit", "outcome", "outcome__reason").get(
            pk=appointment.pk
        )
        return Response(AppointmentOutputSerializer(fresh).data)
