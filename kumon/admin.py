from django.contrib import admin

from kumon.models import Contact, Membership, Unit
from kumon.tenancy import UnitScopedAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Unit)
class UnitAdmin(UnitScopedAdmin):
    unit_field = "pk"
    list_display = ["name", "slug", "active", "whatsapp_gateway", "evolution_instance", "calendar_backend"]
    list_filter = ["active", "whatsapp_gateway", "calendar_backend"]
    search_fields = ["name", "slug", "evolution_instance", "meta_phone_number_id"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        from kumon.tenancy import unit_ids_for

        qs = admin.ModelAdmin.get_queryset(self, request)
        ids = unit_ids_for(request.user)
        return qs if ids is None else qs.filter(pk__in=ids)


@admin.register(Membership)
class MembershipAdmin(UnitScopedAdmin):
    list_display = ["user", "unit", "role", "created_at"]
    list_filter = ["role", "unit"]
    search_fields = ["user__username", "unit__name"]
    list_select_related = ["user", "unit"]
    autocomplete_fields = ["user", "unit"]


@admin.register(Contact)
class ContactAdmin(UnitScopedAdmin):
    list_display = ["phone", "name", "unit", "opted_out_at", "created_at"]
    list_filter = ["unit", "opted_out_at"]
    search_fields = ["phone", "name"]
    list_select_related = ["unit"]
