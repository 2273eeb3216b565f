"""The follow-ups in the staff's workplace (what will go out, why one did not, cancel) and the
unit's proactive options. Registered from conversations/admin.py; writes go through services."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from conversations import followups
from conversations.models import Followup, ProactiveOptions
from kumon.tenancy import UnitListFilter, UnitScopedAdmin


def _local(moment: Any, unit: Any) -> str:
    return f"{moment.astimezone(ZoneInfo(unit.timezone)):%d/%m %H:%M}" if moment else "—"


@admin.register(Followup)
class FollowupAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "change"})
    owner_can = frozenset({"view", "change"})
    list_display = ["due", "status", "kind", "seq", "family", "reason_shown", "sent", "message_status"]
    list_filter = ["status", "kind", UnitListFilter]
    search_fields = ["contact__phone", "contact__name"]
    list_select_related = ["unit", "contact", "message"]
    readonly_fields = [
        "unit",
        "conversation",
        "contact",
        "kind",
        "seq",
        "anchor_at",
        "due_at",
        "status",
        "reason",
        "attempts",
        "claimed_at",
        "sent_at",
        "message",
        "cancelled_by",
        "created_at",
    ]
    fields = tuple(readonly_fields)
    actions = ["cancel"]
    date_hierarchy = "due_at"
    ordering = ["-due_at"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    @admin.display(description=_("due at"), ordering="due_at")
    def due(self, obj: Followup) -> str:
        return _local(obj.due_at, obj.unit)

    @admin.display(description=_("sent at"), ordering="sent_at")
    def sent(self, obj: Followup) -> str:
        return _local(obj.sent_at, obj.unit)

    @admin.display(description=_("family"), ordering="contact__name")
    def family(self, obj: Followup) -> str:
        return str(obj.contact)

    @admin.display(description=_("reason / last error"))
    def reason_shown(self, obj: Followup) -> str:
        return str(_(obj.reason)) if obj.reason and not obj.reason.startswith("WhatsApp:") else obj.reason

    @admin.display(description=_("WhatsApp"))
    def message_status(self, obj: Followup) -> str:
        return obj.message.get_status_display() if obj.message else "—"

    @admin.action(description=_("Cancel (pending only)"), permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = sum(followups.cancel_followup(followup=f, user=request.user) for f in queryset)
        self.message_user(
            request,
            ngettext("%(n)d follow-up cancelled", "%(n)d follow-ups cancelled", count) % {"n": count},
            messages.SUCCESS,
        )


@admin.register(ProactiveOptions)
class ProactiveOptionsAdmin(UnitScopedAdmin):
    member_can = frozenset({"view"})
    owner_can = frozenset({"view", "add", "change"})
    list_display = [
        "unit",
        "followups_max",
        "followup_hours",
        "window_start",
        "window_end",
        "daily_cap",
        "after_visit_followup_days",
        "meta_template_name",
    ]
    list_select_related = ["unit"]
    search_fields = ["unit__name"]


# Reasons written by the code, listed so that makemessages puts them in the catalogue.
REASONS = [
    _("the family wrote again"),
    _("the family opted out"),
    _("staff have the conversation"),
    _("conversation closed"),
    _("visit booked"),
    _("nothing left to follow up"),
    _("cancelled by staff"),
    _("no send window in the next 3 weeks"),
    _("waiting for the send window"),
    _("the unit's daily cap was reached: tomorrow"),
    _("the family enrolled"),
    _("after the previous follow-up"),
]
