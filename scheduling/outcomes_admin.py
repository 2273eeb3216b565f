"""Visit outcomes in the staff's workplace: the one-click actions on the day's visits (on the
appointments list), the outcomes list, and each unit's editable list of reasons."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kumon.exceptions import DomainError
from kumon.tenancy import UnitListFilter, UnitScopedAdmin, scope
from scheduling import outcomes
from scheduling.models import LossReason, VisitOutcome


class OutcomeActionForm(ActionForm):
    """The appointments list's action bar: the reason and start date the outcome actions use.
    A free text field with a list of the user's units' reasons: the action resolves the label
    in each visit's own unit (another unit's reason is never used)."""

    reason = forms.CharField(
        label=_("reason for not enrolling"), required=False, widget=forms.Select(choices=[("", "—")])
    )
    starts_on = forms.DateField(
        label=_("starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def reason_choices(request: HttpRequest) -> list[tuple[str, str]]:
    """One query; a unit whose list was never used shows the default reasons (created when the
    first outcome is recorded)."""
    reasons = scope(LossReason.objects.filter(active=True), request.user).order_by("position", "label")
    labels = list(dict.fromkeys(r.label for r in reasons))
    if not labels:
        with translation.override("pt-br"):
            labels = [str(label) for label in outcomes.DEFAULT_REASONS]
    return [("", "—"), *((label, label) for label in labels)]


def _record(model_admin: Any, request: HttpRequest, queryset: QuerySet, result: str) -> None:
    label = request.POST.get("reason", "")
    starts_on = forms.DateField(required=False).clean(request.POST.get("starts_on") or None)
    done = 0
    for appointment in queryset.select_related("unit"):
        reason = None
        if result == VisitOutcome.Result.NOT_ENROLLED:
            reason = outcomes.reason_named(unit=appointment.unit, label=label)
        try:
            outcomes.record_visit_outcome(
                appointment=appointment,
                result=result,
                reason=reason,
                start_date=starts_on,
                recorded_by=request.user,
            )
            done += 1
        except DomainError as exc:
            model_admin.message_user(request, f"{appointment}: {exc.message}", messages.WARNING)
    if done:
        model_admin.message_user(
            request,
            ngettext("%(n)d visit outcome recorded", "%(n)d visit outcomes recorded", done) % {"n": done},
            messages.SUCCESS,
        )


@admin.action(description=_("Outcome: enrolled"), permissions=["change"])
def record_enrolled(model_admin: Any, request: HttpRequest, queryset: QuerySet) -> None:
    _record(model_admin, request, queryset, VisitOutcome.Result.ENROLLED)


@admin.action(description=_("Outcome: did not enrol (reason beside)"), permissions=["change"])
def record_not_enrolled(model_admin: Any, request: HttpRequest, queryset: QuerySet) -> None:
    _record(model_admin, request, queryset, VisitOutcome.Result.NOT_ENROLLED)


@admin.register(VisitOutcome)
class VisitOutcomeAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "change"})
    owner_can = frozenset({"view", "change", "delete"})
    list_display = ["appointment", "result", "subjects", "start_date", "reason", "recorded_by", "recorded_at"]
    list_filter = ["result", "reason", UnitListFilter]
    search_fields = ["appointment__phone", "appointment__child_name", "appointment__parent_name"]
    list_select_related = ["appointment", "appointment__unit", "reason", "recorded_by"]
    readonly_fields = ["appointment", "unit", "recorded_by", "recorded_at"]
    fields = [
        "appointment",
        "unit",
        "result",
        "subjects",
        "start_date",
        "reason",
        "note",
        "recorded_by",
        "recorded_at",
    ]
    date_hierarchy = "recorded_at"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # recorded from the appointments (the actions) or the API

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "reason":
            kwargs["queryset"] = scope(LossReason.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: VisitOutcome, form: Any, change: bool) -> None:
        outcomes.record_visit_outcome(
            appointment=obj.appointment,
            result=obj.result,
            subjects=obj.subjects,
            start_date=obj.start_date,
            reason=obj.reason if obj.result == VisitOutcome.Result.NOT_ENROLLED else None,
            note=obj.note,
            recorded_by=request.user,
        )


@admin.register(LossReason)
class LossReasonAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "add", "change"})
    owner_can = frozenset({"view", "add", "change", "delete"})
    list_display = ["label", "position", "active", "unit"]
    list_editable = ["position", "active"]
    list_filter = ["active", UnitListFilter]
    search_fields = ["label"]
    list_select_related = ["unit"]
