"""Scheduling in the staff's workplace: the week's appointments with attendance actions, the
reminders (with why one was not sent), holds, closures, opening hours, booking options.

Thin: writes go through scheduling.services; every list and form is scoped to the user's units.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar, cast
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kumon.exceptions import DomainError
from kumon.models import Unit
from kumon.queue import enqueue
from kumon.tenancy import UnitListFilter, UnitScopedAdmin, unit_ids_for
from scheduling import outcomes_admin, selectors, services
from scheduling.models import (
    Appointment,
    AppointmentEvent,
    Closure,
    OpeningHours,
    Reminder,
    SlotHold,
    UnitBookingOptions,
)
from scheduling.slots import Slot
from scheduling.texts import WEEKDAYS, hour_pt, when_pt


class WeekFilter(admin.SimpleListFilter):
    title = _("when")
    parameter_name = "when"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("today", _("today")),
            ("week", _("this week")),
            ("next", _("next week")),
            ("upcoming", _("from now on")),
            ("past", _("past")),
        ]

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


# Reasons the services store on a reminder (`last_error`), in the words staff read. A provider's
# own error text (after "whatsapp: ") is shown as the provider wrote it.
REMINDER_REASONS: dict[str, Any] = {
    "appointment cancelled": _("the visit was cancelled"),
    "appointment attended": _("the family came to the visit"),
    "appointment no_show": _("the family missed the visit"),
    "appointment booked": _("the visit is booked again"),
    "appointment confirmed": _("the visit was confirmed"),
    "marked attended": _("the family came to the visit"),
    "contact opted out": _("the family asked not to receive messages"),
    "visit already started": _("the visit had already started"),
    "visit booked after this reminder was due": _("the visit was booked after this reminder was due"),
    "appointment has no contact": _("the appointment has no family contact"),
    "not sent": _("not sent"),
    "paused: staff are talking with the family": _("paused: staff are talking with the family"),
    "WhatsApp: outside the 24h window": _("WhatsApp: outside the 24-hour window and no template configured"),
}


def reminder_kind_label(kind: str) -> str:
    return Reminder(kind=kind).kind_label


def reminder_reason_label(text: str) -> str:
    return str(REMINDER_REASONS.get(text, text)) if text else ""


def local(moment: dt.datetime | None, unit: Unit) -> str:
    """ "ter 02/12/2026 14:00" in the unit's time zone (lists show units of any zone side by side)."""
    if moment is None:
        return "–"
    value = moment.astimezone(ZoneInfo(unit.timezone))
    return f"{WEEKDAYS[value.weekday()][:3]} {value:%d/%m/%Y %H:%M}"


class AppointmentEventInline(admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    can_delete = False
    fields: ClassVar[tuple[str, ...]] = (
        "at",
        "kind",
        "from_status",
        "to_status",
        "old_start",
        "new_start",
        "changed_by",
        "by_parent",
    )
    readonly_fields = fields
    verbose_name = _("history entry")
    verbose_name_plural = _("history")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True


class ReminderInline(AppointmentEventInline):
    model = Reminder  # type: ignore[assignment]
    fields = ("kind_label", "due_at", "status", "attempts", "sent_at", "reason")
    readonly_fields = fields
    verbose_name = _("reminder")
    verbose_name_plural = _("reminders")

    @admin.display(description=_("kind"))
    def kind_label(self, obj: Reminder) -> str:
        return reminder_kind_label(obj.kind)

    @admin.display(description=_("reason / last error"))
    def reason(self, obj: Reminder) -> str:
        return reminder_reason_label(obj.last_error)


class AppointmentAddForm(forms.ModelForm):
    """Staff booking by phone: the same service as the chat and the API, so the same rules."""

    class Meta:
        model = Appointment
        fields = [
            "unit",
            "start",
            "phone",
            "parent_name",
            "child_name",
            "child_age",
            "school_year",
            "subject",
            "notes",
        ]

    request: HttpRequest

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        try:
            self.booked = services.book_appointment(
                unit=data["unit"],
                start=data["start"],
                phone=data["phone"],
                parent_name=data.get("parent_name", ""),
                child_name=data.get("child_name", ""),
                child_age=data.get("child_age"),
                school_year=data.get("school_year", ""),
                subject=data.get("subject", ""),
                notes=data.get("notes", ""),
                source=Appointment.Source.STAFF,
                changed_by=self.request.user,
            )
        except DomainError as exc:
            raise forms.ValidationError(_with_alternatives(exc, data["unit"])) from exc
        return data


def _with_alternatives(exc: DomainError, unit: Unit) -> str:
    options = ", ".join(
        when_pt(dt.datetime.fromisoformat(a["start"]), unit.timezone)
        for a in exc.extra.get("alternatives", [])
    )
    next_free = _("Next free")  # outside the f-string: xgettext does not read inside one
    return f"{exc.message} {next_free}: {options}" if options else exc.message


RESCHEDULE_DAYS = 14
RESCHEDULE_SLOTS = 60


class RescheduleForm(forms.Form):
    """The new time: one of the free slots listed, or another time typed by staff (local time)."""

    slot = forms.ChoiceField(label=_("Free times"), required=False, widget=forms.RadioSelect)
    other = forms.DateTimeField(
        label=_("Or another time"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("In the unit's time zone. The same rules as the chat apply (hours, notice, places)."),
    )
    notify = forms.BooleanField(
        label=_("Tell the family the new time on WhatsApp"), required=False, initial=True
    )

    def __init__(self, *args: Any, slots: list[Slot], unit: Unit, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit = unit
        days: dict[str, list[tuple[str, str]]] = {}
        tz = ZoneInfo(unit.timezone)
        for slot in slots:
            start = slot.start.astimezone(tz)
            days.setdefault(f"{WEEKDAYS[start.weekday()]} {start:%d/%m}", []).append(
                (slot.start.isoformat(), hour_pt(start))
            )
        cast(forms.ChoiceField, self.fields["slot"]).choices = list(days.items())

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        other = data.get("other")
        if other is not None:
            # Typed as the unit's wall-clock time, whatever zone the form parsed it in.
            data["start"] = other.replace(tzinfo=None).replace(tzinfo=ZoneInfo(self.unit.timezone))
        elif data.get("slot"):
            data["start"] = dt.datetime.fromisoformat(data["slot"])
        else:
            raise forms.ValidationError(_("Choose a free time or type another one."))
        return data


@admin.register(Appointment)
class AppointmentAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "change", "add"})
    owner_can = frozenset({"view", "change", "add"})
    list_display = [
        "when",
        "status",
        "outcome_shown",
        "child_name",
        "parent_name",
        "phone",
        "unit_name",
        "source",
        "calendar_sync_status",
    ]
    list_filter = [WeekFilter, "status", "outcome__result", "source", UnitListFilter, "calendar_sync_status"]
    search_fields = ["phone", "child_name", "parent_name", "calendar_event_id"]
    list_select_related = ["unit", "outcome", "outcome__reason"]
    date_hierarchy = "start"
    ordering = ["start"]
    inlines = [ReminderInline, AppointmentEventInline]
    actions = [
        "reschedule",
        "mark_attended",
        "mark_no_show",
        "confirm",
        "cancel",
        "resync_calendar",
        outcomes_admin.record_enrolled,
        outcomes_admin.record_not_enrolled,
    ]
    action_form = outcomes_admin.OutcomeActionForm
    change_form_template = "admin/scheduling/appointment/change_form.html"
    lead_fields = list(services.LEAD_FIELDS)
    readonly = [
        "unit",
        "family",
        "start",
        "end",
        "seat",
        "status",
        "source",
        "phone",
        "calendar_event_id",
        "calendar_sync_status",
        "calendar_sync_error",
        "changed_by",
        "changed_at",
        "created_at",
    ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return tuple(AppointmentAddForm.Meta.fields)
        return (*self.readonly[:8], *self.lead_fields, *self.readonly[8:])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else self.readonly

    def get_list_display(self, request: HttpRequest) -> tuple[str | Callable[[Any], str | bool], ...]:
        ids = unit_ids_for(request.user)
        if ids is not None and len(ids) <= 1:
            return tuple(name for name in self.list_display if name != "unit_name")
        return tuple(self.list_display)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = AppointmentAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return [] if obj is None else self.inlines

    @admin.display(description=_("when"), ordering="start")
    def when(self, obj: Appointment) -> str:
        return local(obj.start, obj.unit)

    @admin.display(description=_("outcome"), ordering="outcome__result")
    def outcome_shown(self, obj: Appointment) -> str:
        outcome = getattr(obj, "outcome", None)
        if outcome is None:
            return "—"
        return (
            f"{outcome.get_result_display()}: {outcome.reason}"
            if outcome.reason
            else outcome.get_result_display()
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        form = (
            getattr(response, "context_data", {}).get("action_form")
            if hasattr(response, "context_data")
            else None
        )
        if form is not None and "reason" in form.fields:
            # The reasons of the user's own units only.
            form.fields["reason"].widget.choices = outcomes_admin.reason_choices(request)
        return response

    @admin.display(description=_("unit"), ordering="unit__name")
    def unit_name(self, obj: Appointment) -> str:
        return obj.unit.name

    @admin.display(description=_("family"))
    def family(self, obj: Appointment) -> str:
        if obj.contact_id is None:
            return "–"
        # By URL name: the conversation page is conversations' (scheduling never imports it).
        url = reverse("admin:conversations_conversation_family", args=[obj.contact_id])
        return format_html('<a href="{}" id="kr-conversation-link">{}</a>', url, _("open the conversation"))

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        if not change:
            return form.booked  # booked by the service in the form's clean()
        return form.save(commit=False)

    def save_model(self, request: HttpRequest, obj: Appointment, form: Any, change: bool) -> None:
        if change:
            changed = {
                name: form.cleaned_data[name] for name in form.changed_data if name in self.lead_fields
            }
            if changed:
                services.update_appointment_details(appointment=obj, changed_by=request.user, **changed)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # nothing editable inline

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        obj = kwargs.get("obj")
        context["can_reschedule"] = bool(
            obj is not None and obj.status in Appointment.LIVE and self.has_change_permission(request, obj)
        )
        return super().render_change_form(request, context, *args, **kwargs)

    # -- reschedule: free slots listed, the chat's service, the family told --

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/reschedule/",
                self.admin_site.admin_view(self.reschedule_view),
                name="scheduling_appointment_reschedule",
            ),
            *super().get_urls(),
        ]

    def reschedule_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        appointment = self.get_object(request, unquote(object_id))
        if appointment is None:
            raise Http404
        if not self.has_change_permission(request, appointment):
            raise DjangoPermissionDenied
        unit = appointment.unit
        now = timezone.now()
        try:
            slots = _free_slots_for(appointment, now=now)
        except DomainError as exc:  # the unit's Google calendar cannot be read: no offer from it
            self.message_user(request, exc.message, messages.ERROR)
            slots = []
        form = RescheduleForm(request.POST or None, slots=slots, unit=unit)
        if request.method == "POST" and form.is_valid():
            try:
                moved = services.reschedule_appointment(
                    appointment=appointment,
                    start=form.cleaned_data["start"],
                    changed_by=request.user,
                    notify_family=form.cleaned_data["notify"],
                    now=now,
                )
            except DomainError as exc:
                form.add_error(None, _with_alternatives(exc, unit))
            else:
                self.log_change(request, moved, "rescheduled")
                text = _("Visit moved to %(when)s.") % {"when": when_pt(moved.start, unit.timezone)}
                if form.cleaned_data["notify"]:
                    told = _("The family gets a WhatsApp message with the new time.")
                    text = f"{text} {told}"
                self.message_user(request, text, messages.SUCCESS)
                return redirect("admin:scheduling_appointment_change", moved.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": appointment,
            "title": _("Reschedule the visit"),
            "subtitle": str(appointment),
            "form": form,
            "current": when_pt(appointment.start, unit.timezone),
        }
        with timezone.override(ZoneInfo(unit.timezone)):
            return TemplateResponse(request, "admin/scheduling/appointment/reschedule.html", context).render()

    # -- actions --

    def _each(
        self, request: HttpRequest, queryset: QuerySet, call: Callable[[Appointment], Any], done: Any
    ) -> None:
        ok = 0
        for appointment in queryset.select_related("unit"):
            try:
                call(appointment)
                ok += 1
            except DomainError as exc:
                self.message_user(request, f"{appointment}: {exc.message}", messages.WARNING)
        if ok:
            self.message_user(request, done(ok) % {"n": ok}, messages.SUCCESS)

    @admin.action(description=_("Reschedule (one visit)"), permissions=["change"])
    def reschedule(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        chosen = list(queryset.values_list("pk", flat=True)[:2])
        if len(chosen) != 1:
            self.message_user(request, _("Choose exactly one visit to reschedule."), messages.WARNING)
            return None
        return redirect("admin:scheduling_appointment_reschedule", chosen[0])

    @admin.action(description=_("Mark attended"), permissions=["change"])
    def mark_attended(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda a: services.mark_attended(appointment=a, changed_by=request.user),
            lambda n: ngettext("%(n)d visit marked attended", "%(n)d visits marked attended", n),
        )

    @admin.action(description=_("Mark no-show"), permissions=["change"])
    def mark_no_show(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda a: services.mark_no_show(appointment=a, changed_by=request.user),
            lambda n: ngettext("%(n)d visit marked no-show", "%(n)d visits marked no-show", n),
        )

    @admin.action(description=_("Confirm"), permissions=["change"])
    def confirm(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda a: services.confirm_appointment(appointment=a, changed_by=request.user, by_parent=False),
            lambda n: ngettext("%(n)d visit confirmed", "%(n)d visits confirmed", n),
        )

    @admin.action(description=_("Cancel"), permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda a: services.cancel_appointment(appointment=a, changed_by=request.user),
            lambda n: ngettext("%(n)d visit cancelled", "%(n)d visits cancelled", n),
        )

    @admin.action(description=_("Sync with the calendar again"), permissions=["change"])
    def resync_calendar(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.filter(unit__calendar_backend=Unit.Calendar.GOOGLE).values_list("pk", flat=True))
        for appointment_id in ids:
            enqueue("scheduling.sync_appointment", appointment_id=appointment_id)
        self.message_user(
            request,
            ngettext(
                "%(n)d visit queued for calendar sync", "%(n)d visits queued for calendar sync", len(ids)
            )
            % {"n": len(ids)},
            messages.SUCCESS,
        )


def _free_slots_for(appointment: Appointment, *, now: dt.datetime) -> list[Slot]:
    """The next free slots the visit could move to (its own place counts as free). Reads the
    unit's Google calendar once (network, outside any transaction); CalendarUnavailable if it
    cannot be read."""
    unit = appointment.unit
    end = now + dt.timedelta(days=RESCHEDULE_DAYS)
    busy = selectors.external_busy(unit=unit, start=now, end=end)
    slots = selectors.compute_free_slots(
        unit=unit, start=now, end=end, now=now, busy=busy, exclude_appointment_id=appointment.pk
    )
    return [s for s in slots if s.start != appointment.start][:RESCHEDULE_SLOTS]


class ReminderUnitFilter(UnitListFilter):
    field = "appointment__unit"


class ReminderKindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        kinds = [f"{hours:g}h" for hours in settings.REMINDER_OFFSETS_HOURS] + [
            Reminder.NO_SHOW,
            Reminder.RESCHEDULED,
        ]
        return [(kind, reminder_kind_label(kind)) for kind in kinds]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Reminder)
class ReminderAdmin(UnitScopedAdmin):
    unit_field = "appointment__unit"
    member_can = frozenset({"view", "change"})
    owner_can = frozenset({"view", "change"})
    list_display = ["due", "kind_label", "status", "reason", "attempts", "sent", "appointment"]
    list_filter = ["status", ReminderKindFilter, ReminderUnitFilter]
    search_fields = ["appointment__phone", "appointment__child_name", "appointment__parent_name"]
    list_select_related = ["appointment", "appointment__unit"]
    readonly_fields = (
        "appointment",
        "kind_label",
        "due_at",
        "status",
        "attempts",
        "reason",
        "claimed_at",
        "sent_at",
        "message_id",
        "created_at",
    )
    fields = readonly_fields
    actions = ["retry"]
    date_hierarchy = "due_at"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    @admin.display(description=_("due at"), ordering="due_at")
    def due(self, obj: Reminder) -> str:
        return local(obj.due_at, obj.appointment.unit)

    @admin.display(description=_("sent at"), ordering="sent_at")
    def sent(self, obj: Reminder) -> str:
        return local(obj.sent_at, obj.appointment.unit)

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj: Reminder) -> str:
        return reminder_kind_label(obj.kind)

    @admin.display(description=_("reason / last error"))
    def reason(self, obj: Reminder) -> str:
        return reminder_reason_label(obj.last_error)

    @admin.action(description=_("Send again (failed only)"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for reminder in queryset.filter(status=Reminder.Status.FAILED):
            services.retry_reminder(reminder=reminder)
            count += 1
        self.message_user(
            request,
            ngettext("%(n)d reminder queued again", "%(n)d reminders queued again", count) % {"n": count},
            messages.SUCCESS,
        )


@admin.register(SlotHold)
class SlotHoldAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "delete"})
    owner_can = frozenset({"view", "delete"})
    list_display = ["start", "holder", "expires_at", "unit"]  # times: the unit's zone (UnitScopedAdmin)
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
