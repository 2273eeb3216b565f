"""Which units a user may see. Every admin page and API endpoint scopes through here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from kumon.models import Membership, Unit


def unit_ids_for(user: Any, *, role: str | None = None) -> set[int] | None:
    """The ids of the user's units; None means every unit (superuser)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    if user.is_superuser:
        return None
    cache_attr = f"_kumon_unit_ids_{role or 'any'}"
    cached = getattr(user, cache_attr, None)
    if cached is None:
        memberships = Membership.objects.filter(user=user, unit__active=True)
        if role:
            memberships = memberships.filter(role=role)
        cached = set(memberships.values_list("unit_id", flat=True))
        setattr(user, cache_attr, cached)
    return cached


def units_for(user: Any, *, role: str | None = None) -> QuerySet[Unit]:
    ids = unit_ids_for(user, role=role)
    return Unit.objects.all() if ids is None else Unit.objects.filter(pk__in=ids)


def scope(queryset: QuerySet, user: Any, *, field: str = "unit", shared: bool = False) -> QuerySet:
    """Restrict `queryset` to rows whose `field` is one of the user's units.

    shared=True also keeps rows whose unit is NULL (franchise-wide knowledge).
    """
    ids = unit_ids_for(user)
    if ids is None:
        return queryset
    condition = Q(**{f"{field}__in": ids})
    if shared:
        condition |= Q(**{f"{field}__isnull": True})
    return queryset.filter(condition)


class UnitScopedAdmin(admin.ModelAdmin):
    """Scopes the changelist, the change form, autocompletes and FK choices to the user's units."""

    unit_field = "unit"
    include_shared = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope(super().get_queryset(request), request.user, field=self.unit_field, shared=self.include_shared)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.related_model
        if related is Unit:
            kwargs["queryset"] = units_for(request.user)
        elif _has_unit(related):
            kwargs["queryset"] = scope(related._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff


def _has_unit(model: type[Model]) -> bool:
    return any(f.name == "unit" for f in model._meta.get_fields())
