"""REST API of the tenant core: the user's units and contacts (families). Scoped to the user's
units; read-only (contacts are written by the channel and the engine)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from kumon.models import Contact, Unit
from kumon.tenancy import scope, units_for


class UnitOutput(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "slug", "name", "timezone", "address", "city", "state", "active"]


class ContactOutput(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "unit",
            "phone",
            "name",
            "data",
            "opted_out_at",
            "consent_at",
            "erased_at",
            "created_at",
        ]


UNIT_PARAM = OpenApiParameter("unit", OpenApiTypes.STR, description="unit slug (one of yours)")


def filter_unit(queryset: QuerySet, params: Any, *, field: str = "unit") -> QuerySet:
    slug = params.get("unit")
    return queryset.filter(**{f"{field}__slug": slug}) if slug else queryset


@extend_schema(tags=["units"], summary="Your units")
class UnitList(generics.ListAPIView):
    serializer_class = UnitOutput

    def get_queryset(self) -> QuerySet[Unit]:
        return units_for(self.request.user).order_by("name")


@extend_schema(tags=["units"], summary="One of your units")
class UnitDetail(generics.RetrieveAPIView):
    serializer_class = UnitOutput
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Unit]:
        return units_for(self.request.user)


@extend_schema(
    tags=["contacts"],
    summary="Families of your units",
    parameters=[
        UNIT_PARAM,
        OpenApiParameter("phone", OpenApiTypes.STR, description="phone contains (digits)"),
        OpenApiParameter(
            "opted_out", OpenApiTypes.BOOL, description="only families who opted out (true) or not"
        ),
    ],
)
class ContactList(generics.ListAPIView):
    serializer_class = ContactOutput

    def get_queryset(self) -> QuerySet[Contact]:
        qs = scope(Contact.objects.select_related("unit"), self.request.user).exclude(is_unit_staff=True)
        params = self.request.query_params
        qs = filter_unit(qs, params)
        if params.get("phone"):
            qs = qs.filter(phone__contains="".join(ch for ch in params["phone"] if ch.isdigit()))
        if params.get("opted_out") in ("true", "1"):
            qs = qs.filter(opted_out_at__isnull=False)
        elif params.get("opted_out") in ("false", "0"):
            qs = qs.filter(opted_out_at__isnull=True)
        return qs.order_by("-created_at", "-pk")


@extend_schema(tags=["contacts"], summary="One family")
class ContactDetail(generics.RetrieveAPIView):
    serializer_class = ContactOutput

    def get_queryset(self) -> QuerySet[Contact]:
        return scope(Contact.objects.select_related("unit"), self.request.user)


urlpatterns = [
    path("units/", UnitList.as_view(), name="api-units"),
    path("units/<slug:slug>/", UnitDetail.as_view(), name="api-unit"),
    path("contacts/", ContactList.as_view(), name="api-contacts"),
    path("contacts/<int:pk>/", ContactDetail.as_view(), name="api-contact"),
]
