"""Admin of the tenant core, and the pieces every app's admin uses to stay inside the user's units.

Staff users have no Django model permissions: what a member may do comes from their Membership
(MemberPermissions), and what they may see from kumon.tenancy (UnitScopedAdmin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kumon import services
from kumon.models import Membership, Unit
from kumon.tenancy import UnitListFilter, UnitScopedAdmin, is_franchise_admin, owner_unit_ids, unit_ids_for

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
    actions = ["rotate_webhook_secret"]

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

    def _owns(self, request: HttpRequest, unit: Unit) -> bool:
        owned = owner_unit_ids(request.user)
        return owned is None or unit.pk in owned

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The secret itself is never shown once the unit exists (read-only fields of a view-only
        # member would print it): owners see it masked and rotate it.
        return ["webhook_secret"] if obj is not None else []

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = (
            []
            if request.user.is_superuser
            else [
                # Channel secrets and routing are set up by the operator, not by the unit.
                "slug",
                "whatsapp_gateway",
                "evolution_instance",
                "meta_phone_number_id",
            ]
        )
        if not is_franchise_admin(request.user):
            # Every unit's calendar is reached with one service account: pointing a unit at
            # another unit's calendar would read and write its appointments (issue #11 M8).
            readonly.append("google_calendar_id")
        if obj is not None and self._owns(request, obj):
            readonly.append("masked_webhook_secret")
        return readonly

    @admin.display(description=_("webhook secret"))
    def masked_webhook_secret(self, obj: Unit) -> str:
        secret = obj.webhook_secret or ""
        return "•" * 12 + secret[-4:] if len(secret) > 8 else "•" * 12

    def has_rotate_permission(self, request: HttpRequest) -> bool:
        return bool(
            request.user.is_active
            and request.user.is_staff
            and (request.user.is_superuser or owner_unit_ids(request.user))
        )

    @admin.action(description=_("Rotate the webhook secret (shown once)"), permissions=["rotate"])
    def rotate_webhook_secret(self, request: HttpRequest, queryset: QuerySet) -> Any:
        units = [u for u in queryset.order_by("name") if self._owns(request, u)]
        if not units:
            self.message_user(request, _("Only a unit's owner rotates its webhook secret."), messages.ERROR)
            return None
        rotated = []
        for unit in units:
            rotated.append((unit, services.rotate_webhook_secret(unit=unit)))
            self.log_change(request, unit, "Webhook secret rotated")
        self.message_user(
            request,
            ngettext("%(n)d webhook secret rotated.", "%(n)d webhook secrets rotated.", len(rotated))
            % {"n": len(rotated)},
        )
        # The admin's views are never_cache: this page (it holds the secrets) is not stored either.
        return TemplateResponse(
            request,
            "admin/kumon/unit/rotated_secrets.html",
            {
                **self.admin_site.each_context(request),
                "title": _("New webhook secrets"),
                "opts": self.model._meta,
                "rotated": rotated,
            },
        )


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
