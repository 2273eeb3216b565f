"""Which units a user may see. Every admin page and API endpoint scopes through here."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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


FRANCHISE_PERMISSION = "kumon.franchise_admin"


def is_franchise_admin(user: Any) -> bool:
    """The franchise role: superusers and holders of kumon.franchise_admin. Only they write
    shared (unit NULL) knowledge; a unit's owner and staff read it and override it per unit."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or user.has_perm(FRANCHISE_PERMISSION))


def user_timezone(user: Any) -> ZoneInfo:
    """The time zone a user's lists are shown in: the one their units share, else TIME_ZONE
    (a page about one row uses that row's unit: unit_of)."""
    zones = list(units_for(user).order_by().values_list("timezone", flat=True).distinct()[:2])
    return ZoneInfo(zones[0] if len(zones) == 1 else settings.TIME_ZONE)


def unit_of(obj: Any, unit_field: str = "unit") -> Unit | None:
    """The unit a row belongs to, following `unit_field` ("unit", "appointment__unit", "pk")."""
    if isinstance(obj, Unit):
        return obj
    for name in unit_field.split("__"):
        obj = getattr(obj, name, None)
    return obj if isinstance(obj, Unit) else None


def owner_unit_ids(user: Any) -> set[int] | None:
    """Units the user owns; None = every unit (superuser)."""
    return unit_ids_for(user, role=Membership.Role.OWNER)


class MemberPermissions:
    """Model permissions from Membership: members of a unit may `member_can` on its rows,
    owners also `owner_can`; superusers everything. Delete stays with superusers unless listed."""

    member_can: frozenset[str] = frozenset({"view"})
    owner_can: frozenset[str] = frozenset({"view"})

    def _allowed(self, request: HttpRequest, action: str) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        if action in self.member_can and unit_ids_for(user):
            return True
        return action in self.owner_can and bool(owner_unit_ids(user))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, "view")

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> Any:
        # Another unit's row opened by URL: 404, the same as a row that does not exist.
        raise Http404

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, "view") or self._allowed(request, "change")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, "change")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._allowed(request, "add")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, "delete")


class UnitListFilter(admin.SimpleListFilter):
    """The unit filter, listing only the user's units (the stock FK filter lists every unit)."""

    title = _("unit")
    parameter_name = "unit"
    field = "unit"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(u.pk), u.name) for u in units_for(request.user).only("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(**{f"{self.field}_id": int(value)})
        return queryset


class UnitScopedAdmin(MemberPermissions, admin.ModelAdmin):
    """Scopes the changelist, the change form, autocompletes and FK choices to the user's units;
    permissions come from Membership (MemberPermissions); another unit's row is a 404; the
    `unit` list filter lists only the user's units."""

    unit_field = "unit"
    include_shared = False
    member_can = frozenset({"view", "add", "change"})
    owner_can = frozenset({"view", "add", "change", "delete"})

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope(
            super().get_queryset(request), request.user, field=self.unit_field, shared=self.include_shared
        )

    # Times on admin pages are the unit's local time: a list in the time zone of the user's
    # units, a row's page in its own unit's. The response is rendered inside the override:
    # a TemplateResponse would otherwise render after the view returned, in the default zone.
    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        with timezone.override(user_timezone(request.user)):
            return _rendered(super().changelist_view(request, extra_context))

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        with timezone.override(self._zone_of(request, object_id)):
            return _rendered(super().changeform_view(request, object_id, form_url, extra_context))

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        with timezone.override(self._zone_of(request, object_id)):
            return _rendered(super().history_view(request, object_id, extra_context))

    def _zone_of(self, request: HttpRequest, object_id: str | None) -> ZoneInfo:
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        unit = unit_of(obj, self.unit_field) if obj is not None else None
        return ZoneInfo(unit.timezone) if unit is not None else user_timezone(request.user)

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [UnitListFilter if f == "unit" else f for f in super().get_list_filter(request)]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        original_clean = form.clean

        def clean(form_self: Any) -> Any:
            # Rows of one unit only point at rows of the same unit (a contact of unit B on an
            # appointment of unit A is refused even for someone who works in both).
            data = original_clean(form_self) or {}
            unit = data.get("unit")
            if unit is None and getattr(form_self.instance, "unit_id", None):
                unit = form_self.instance.unit
            if unit is not None:
                for name, value in list(data.items()):
                    if isinstance(value, Model) and not isinstance(value, Unit) and _has_unit(type(value)):
                        value_unit = getattr(value, "unit_id", None)
                        if value_unit is not None and value_unit != unit.pk:
                            form_self.add_error(name, _("This belongs to another unit."))
            return data

        # A subclass with the check (the admin builds the form class per request).
        return type(form.__name__, (form,), {"clean": clean})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.related_model
        if related is Unit:
            kwargs["queryset"] = units_for(request.user)
            kwargs.setdefault("label", _("unit"))  # some `unit` fields have no translated verbose_name
        elif _has_unit(related):
            kwargs["queryset"] = scope(related._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _rendered(response: HttpResponse) -> HttpResponse:
    render = getattr(response, "render", None)
    if render is not None and not getattr(response, "is_rendered", True):
        render()
    return response


def _has_unit(model: type[Model]) -> bool:
    return any(f.name == "unit" for f in model._meta.get_fields())
