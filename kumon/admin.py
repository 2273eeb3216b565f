"""Admin of the tenant core, and the pieces every app's admin uses to stay inside the user's units.

Staff users have no Django model permissions: what a member may do comes from their Membership
(MemberPermissions), and what they may see from kumon.tenancy (UnitScopedAdmin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kumon.models import Membership, Unit
from kumon.tenancy import UnitListFilter, UnitScopedAdmin, owner_unit_ids, unit_ids_for

admin.site.site_header = _("Kumon Receptionist")
admin.site.site_title = _("Kumon Receptionist")
admin.site.index_title = _("Unit workplace")


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
class UnitAdmin(UnitScopedAdmin):
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
class MembershipAdmin(UnitScopedAdmin):
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
