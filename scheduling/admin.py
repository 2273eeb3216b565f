"""Scheduling in the staff's workplace: the week's appointments with attendance actions, the
reminders (with why one was not sent), holds, closures, opening hours, booking options.

Thin: writes go through scheduling.services; every list and form is scoped to the user's units.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kumon.exceptions import DomainError
from kumon.models import Unit
from kumon.tenancy import UnitListFilter, UnitScopedAdmin
from scheduling import services
from scheduling.models import (
    Appointment,
    AppointmentEvent,
    Closure,
    OpeningHours,
    Reminder,
    SlotHold,
    UnitBookingOptions,
)
from scheduling.texts import when_pt


class WeekFilter(admin.SimpleListFilter):
    title = _("when")
    parameter_name = "when"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("today", _("today")), ("week", _("this week")), ("next", _("next week")),
                ("upcoming", _("from now on")), ("past", _("past"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.localtime()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        monday = today - dt.timedelta(days=today.weekday())
        ranges = {
            "today": (today, today + dt.timedelta(days=1)),
            "week": (monday, monday + dt.timedelta(days=7)),
            "next": (monday + dt.timedelta(days=7), monday + dt.timedelta(days=14)),
        }
        value = self.value()
        if value in ranges:
            start, end = ranges[value]
            return queryset.filter(start__gte=start, start__lt=end)
        if value == "upcoming":
            return queryset.filter(start__gte=now)
        if value == "past":
            return queryset.filter(start__lt=now)
        return queryset


class AppointmentEventInline(admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "from_status", "to_status", "old_start", "new_start", "changed_by", "by_parent"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True


class ReminderInline(AppointmentEventInline):
    model = Reminder  # type: ignore[assignment]
    fields = ["kind", "due_at", "status", "attempts", "sent_at", "last_error"]
    readonly_fields = fields


class AppointmentAddForm(forms.ModelForm):
    """Staff booking by phone: the same service as the chat and the API, so the same rules."""

    class Meta:
        model = Appointment
        fields = ["unit", "start", "phone", "parent_name", "child_name", "child_age", "school_year", "subject", "notes"]

    request: HttpRequest

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            self.booked = services.book_appointment(
                unit=data["unit"], start=data["start"], phone=data["phone"], parent_name=data.get("parent_name", ""),
                child_name=data.get("child_name", ""), child_age=data.get("child_age"),
                school_year=data.get("school_year", ""), subject=data.get("subject", ""), notes=data.get("notes", ""),
                source=Appointment.Source.STAFF, changed_by=self.request.user,
            )
        except DomainError as exc:
            tz = ZoneInfo(data["unit"].timezone)
            options = ", ".join(
                when_pt(dt.datetime.fromisoformat(a["start"]), tz) for a in exc.extra.get("alternatives", [])
            )
            raise forms.ValidationError(f"{exc.message} {_('Next free')}: {options}" if options else exc.message) from exc
        return data


@admin.register(Appointment)
class AppointmentAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "change", "add"})
    owner_can = frozenset({"view", "change", "add"})
    list_display = ["start", "status", "child_name", "parent_name", "phone", "unit", "source", "calendar_sync_status"]
    list_filter = [WeekFilter, "status", "source", UnitListFilter, "calendar_sync_status"]
    search_fields = ["phone", "child_name", "parent_name", "calendar_event_id"]
    list_select_related = ["unit"]
    date_hierarchy = "start"
    ordering = ["start"]
    inlines = [ReminderInline, AppointmentEventInline]
    actions = ["mark_attended", "mark_no_show", "confirm", "cancel", "resync_calendar"]
    lead_fields = list(services.LEAD_FIELDS)
    readonly = ["unit", "contact", "start", "end", "seat", "status", "source", "phone", "calendar_event_id",
                "calendar_sync_status", "calendar_sync_error", "changed_by", "changed_at", "created_at"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return list(AppointmentAddForm.Meta.fields)
        return self.readonly[:8] + self.lead_fields + self.readonly[8:]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else self.readonly

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = AppointmentAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return [] if obj is None else self.inlines

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        if not change:
            return form.booked  # booked by the service in the form's clean()
        return form.save(commit=False)

    def save_model(self, request: HttpRequest, obj: Appointment, form: Any, change: bool) -> None:
        if change:
            changed = {name: form.cleaned_data[name] for name in form.changed_data if name in self.lead_fields}
            if changed:
                services.update_appointment_details(appointment=obj, changed_by=request.user, **changed)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # nothing editable inline

    def _each(self, request: HttpRequest, queryset: QuerySet, call: Callable[[Appointment], Any], done: str) -> None:
        ok = 0
        for appointment in queryset.select_related("unit"):
            try:
                call(appointment)
                ok += 1
            except DomainError as exc:
                self.message_user(request, f"{appointment}: {exc.message}", messages.WARNING)
        if ok:
            self.message_user(request, f"{ok} {done}", messages.SUCCESS)

    @admin.action(description=_("Mark attended"), permissions=["change"])
    def mark_attended(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda a: services.mark_attended(appointment=a, changed_by=request.user),
                   str(_("marked attended")))

    @admin.action(description=_("Mark no-show"), permissions=["change"])
    def mark_no_show(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda a: services.mark_no_show(appointment=a, changed_by=request.user),
                   str(_("marked no-show")))

    @admin.action(description=_("Confirm"), permissions=["change"])
    def confirm(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset,
                   lambda a: services.confirm_appointment(appointment=a, changed_by=request.user, by_parent=False),
                   str(_("confirmed")))

    @admin.action(description=_("Cancel"), permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda a: services.cancel_appointment(appointment=a, changed_by=request.user),
                   str(_("cancelled")))

    @admin.action(description=_("Sync with the calendar again"), permissions=["change"])
    def resync_calendar(self, request: HttpRequest, queryset: QuerySet) -> None:
        from scheduling.tasks import sync_appointment

        ids = list(queryset.filter(unit__calendar_backend=Unit.Calendar.GOOGLE).values_list("pk", flat=True))
        for appointment_id in ids:
            sync_appointment.delay(appointment_id=appointment_id)
        self.message_user(request, f"{len(ids)} {_('queued for calendar sync')}", messages.SUCCESS)


class ReminderUnitFilter(UnitListFilter):
    field = "appointment__unit"


@admin.register(Reminder)
class ReminderAdmin(UnitScopedAdmin):
    unit_field = "appointment__unit"
    member_can = frozenset({"view", "change"})
    owner_can = frozenset({"view", "change"})
    list_display = ["due_at", "kind", "status", "last_error", "attempts", "sent_at", "appointment"]
    list_filter = ["status", "kind", ReminderUnitFilter]
    search_fields = ["appointment__phone", "appointment__child_name", "appointment__parent_name"]
    list_select_related = ["appointment", "appointment__unit"]
    readonly_fields = ["appointment", "kind", "due_at", "status", "attempts", "last_error", "claimed_at",
                       "sent_at", "message_id", "created_at"]
    actions = ["retry"]
    date_hierarchy = "due_at"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    @admin.action(description=_("Send again (failed only)"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for reminder in queryset.filter(status=Reminder.Status.FAILED):
            services.retry_reminder(reminder=reminder)
            count += 1
        self.message_user(request, f"{count} {_('reminders queued again')}", messages.SUCCESS)


@admin.register(SlotHold)
class SlotHoldAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "delete"})
    owner_can = frozenset({"view", "delete"})
    list_display = ["start", "holder", "expires_at", "unit"]
    list_filter = [UnitListFilter]
    search_fields = ["holder"]
    list_select_related = ["unit"]
    readonly_fields = ["unit", "start", "end", "holder", "expires_at", "created_at"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False


@admin.register(OpeningHours)
class OpeningHoursAdmin(UnitScopedAdmin):
    member_can = frozenset({"view"})
    owner_can = frozenset({"view", "add", "change", "delete"})
    list_display = ["unit", "weekday", "start", "end"]
    list_filter = [UnitListFilter, "weekday"]
    search_fields = ["unit__name"]
    list_select_related = ["unit"]


@admin.register(Closure)
class ClosureAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "add", "change", "delete"})
    owner_can = frozenset({"view", "add", "change", "delete"})
    list_display = ["start_date", "end_date", "reason", "unit"]
    list_filter = [UnitListFilter]
    search_fields = ["reason"]
    list_select_related = ["unit"]


@admin.register(UnitBookingOptions)
class UnitBookingOptionsAdmin(UnitScopedAdmin):
    member_can = frozenset({"view"})
    owner_can = frozenset({"view", "add", "change"})
    list_display = ["unit", "no_show_followup", "no_show_followup_hour"]
    list_select_related = ["unit"]
