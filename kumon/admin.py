"""Admin of the tenant core, and the pieces every app's admin uses to stay inside the user's units.

Staff users have no Django model permissions: what a member may do comes from their Membership
(MemberPermissions), and what they may see from kumon.tenancy (UnitScopedAdmin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from kumon.models import Membership, Unit
from kumon.tenancy import UnitScopedAdmin, unit_ids_for, units_for

admin.site.site_header = _("Kumon Receptionist")
admin.site.site_title = _("Kumon Receptionist")
admin.site.index_title = _("Unit workplace")


def is_member(user: Any) -> bool:
    ids = unit_ids_for(user)
    return ids is None or bool(ids)


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


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]

    def _superuser(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser or bool(owner_unit_ids(request.user))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._superuser(request)


@admin.register(Unit)
class UnitAdmin(MemberPermissions, UnitScopedAdmin):
    unit_field = "pk"
    member_can = frozenset({"view"})
    owner_can = frozenset({"view", "change"})
    list_display = ["name", "slug", "active", "whatsapp_gateway", "evolution_instance", "calendar_backend"]
    list_filter = ["active", "whatsapp_gateway", "calendar_backend"]
    search_fields = ["name", "slug", "evolution_instance", "meta_phone_number_id"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = admin.ModelAdmin.get_queryset(self, request)
        ids = unit_ids_for(request.user)
        return qs if ids is None else qs.filter(pk__in=ids)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Owners change their own units only; staff of a unit see it read-only.
        if not super().has_change_permission(request, obj):
            return False
        owned = owner_unit_ids(request.user)
        return owned is None or obj is None or obj.pk in owned

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return dict(self.prepopulated_fields) if request.user.is_superuser else {}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if request.user.is_superuser:
            return []
        # Channel secrets and routing are set up by the operator, not by the unit.
        return ["slug", "whatsapp_gateway", "evolution_instance", "webhook_secret", "meta_phone_number_id"]


@admin.register(Membership)
class MembershipAdmin(MemberPermissions, UnitScopedAdmin):
    member_can = frozenset()
    owner_can = frozenset({"view"})
    list_display = ["user", "unit", "role", "created_at"]
    list_filter = ["role", UnitListFilter]
    search_fields = ["user__username", "unit__name"]
    list_select_related = ["user", "unit"]
    raw_id_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = admin.ModelAdmin.get_queryset(self, request)
        owned = owner_unit_ids(request.user)
        return qs if owned is None else qs.filter(unit_id__in=owned)
