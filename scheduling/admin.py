from django.contrib import admin

from kumon.tenancy import UnitScopedAdmin
from scheduling.models import Appointment, Closure, OpeningHours


@admin.register(OpeningHours)
class OpeningHoursAdmin(UnitScopedAdmin):
    list_display = ["unit", "weekday", "start", "end"]
    list_filter = ["unit", "weekday"]
    search_fields = ["unit__name"]
    list_select_related = ["unit"]


@admin.register(Closure)
class ClosureAdmin(UnitScopedAdmin):
    list_display = ["unit", "start_date", "end_date", "reason"]
    list_filter = ["unit"]
    search_fields = ["reason"]
    list_select_related = ["unit"]


@admin.register(Appointment)
class AppointmentAdmin(UnitScopedAdmin):
    list_display = ["start", "unit", "status", "child_name", "parent_name", "phone", "source"]
    list_filter = ["status", "source", "unit"]
    search_fields = ["phone", "child_name", "parent_name", "calendar_event_id"]
    list_select_related = ["unit"]
    raw_id_fields = ["contact"]
    date_hierarchy = "start"
