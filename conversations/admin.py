"""The staff's workplace: the conversation inbox with take-over, contacts (with LGPD export and
erasure), messages, the knowledge-gaps page and the reports.

Thin: every write goes through conversations.services / privacy / gaps; every read is scoped to
the user's units (kumon.tenancy) and another unit's row opened by URL is a 404.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from conversations import funnel, inbox, privacy, reports, services
from conversations import gaps as gap_service
from conversations.models import Conversation, Message
from kumon.exceptions import DomainError
from kumon.models import Contact, Membership
from kumon.tenancy import (
    UnitListFilter,
    UnitScopedAdmin,
    is_franchise_admin,
    owner_unit_ids,
    unit_ids_for,
    units_for,
    user_timezone,
)

logger = logging.getLogger(__name__)


# --- contacts -------------------------------------------------------------------------------------


@admin.register(Contact)
class ContactAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "change"})
    owner_can = frozenset({"view", "change"})
    list_display = ["phone", "name", "unit_name", "opted_out_at", "erased_at", "created"]
    list_filter = [UnitListFilter, "is_unit_staff", "opted_out_at", "erased_at"]
    search_fields = ["phone", "name"]
    list_select_related = ["unit"]
    readonly_fields = ["is_unit_staff", "erased_at", "created", "updated"]
    actions = ["export_data", "erase_data"]

    # kumon.Contact's unit and timestamps have no translated names: labelled here.
    @admin.display(description=_("unit"), ordering="unit__name")
    def unit_name(self, obj: Contact) -> str:
        return obj.unit.name

    @admin.display(description=_("first message at"), ordering="created_at")
    def created(self, obj: Contact) -> str:
        return _local(obj.created_at, obj.unit)

    @admin.display(description=_("updated at"), ordering="updated_at")
    def updated(self, obj: Contact) -> str:
        return _local(obj.updated_at, obj.unit)

    @admin.action(description=_("Export all data of the selected families (JSON)"), permissions=["change"])
    def export_data(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse | None:
        contacts = list(queryset.select_related("unit"))
        if not contacts:
            return None
        payload = [privacy.export_contact(contact=c) for c in contacts]
        for contact in contacts:
            self.log_change(request, contact, "LGPD export")
        logger.info("LGPD export of contacts %s by user %s", [c.pk for c in contacts], request.user.pk)
        body = json.dumps(
            payload[0] if len(payload) == 1 else payload,
            cls=privacy.json_encoder,
            ensure_ascii=False,
            indent=2,
        )
        name = f"contact-{contacts[0].pk}.json" if len(contacts) == 1 else "contacts.json"
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description=_("Erase the selected families' personal data (LGPD)"), permissions=["change"])
    def erase_data(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse | None:
        contacts = list(queryset.select_related("unit"))
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/kumon/contact/erase_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "contacts": contacts,
                    "opts": self.model._meta,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "title": _("Erase family data"),
                },
            )
        for contact in contacts:
            erased = privacy.erase_contact(contact=contact)
            self.log_change(request, erased, "LGPD erasure")
        logger.info("LGPD erasure of contacts %s by user %s", [c.pk for c in contacts], request.user.pk)
        self.message_user(request, _("%(n)d families erased.") % {"n": len(contacts)}, messages.SUCCESS)
        return None


# --- conversations: the inbox ---------------------------------------------------------------------


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(STATE_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return inbox.filter_state(queryset, self.value() or "")


class StageFilter(admin.SimpleListFilter):
    """The funnel stage, in words (the column holds the engine's codes)."""

    title = _("stage")
    parameter_name = "stage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(code, label) for code, label in inbox.STAGE_LABELS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(stage=self.value()) if self.value() else queryset


STATE_LABELS = inbox.STATE_LABELS


def _local(moment: dt.datetime | None, unit: Any) -> str:
    """dd/mm HH:MM in the unit's time zone (the inbox lists units of any zone side by side)."""
    if moment is None:
        return "–"
    return timezone.localtime(moment, ZoneInfo(unit.timezone)).strftime("%d/%m %H:%M")


@admin.register(Conversation)
class ConversationAdmin(UnitScopedAdmin):
    member_can = frozenset({"view", "change"})
    owner_can = frozenset({"view", "change"})
    list_display = [
        "state_badge",
        "family",
        "waiting_for",
        "stage_label",
        "assigned",
        "last_activity",
        "unit_name",
    ]
    list_display_links = None
    list_filter = [StateFilter, UnitListFilter, StageFilter]
    search_fields = ["contact__phone", "contact__name"]
    list_select_related = ["contact", "unit", "assigned_to"]
    list_per_page = 50
    show_full_result_count = False
    actions = None
    change_list_template = "admin/conversations/conversation/inbox.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        related = self.model._default_manager.select_related("contact", "unit", "assigned_to")
        return inbox.inbox(user=request.user, queryset=related)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> Any:
        # The previews only for the list (the conversation page reads its own transcript).
        changelist = super().get_changelist(request, **kwargs)

        class InboxChangeList(changelist):  # type: ignore[misc, valid-type]
            def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
                return inbox.with_last_message(super().get_queryset(request, exclude_parameters))

        return InboxChangeList

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        # The unit column only for someone who works in more than one (the inbox fits 1400 px).
        ids = unit_ids_for(request.user)
        if ids is not None and len(ids) <= 1:
            return [name for name in self.list_display if name != "unit_name"]
        return list(self.list_display)

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return ["state_order", "handoff_at", "-last_activity_at"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("state"), ordering="state_order")
    def state_badge(self, obj: Conversation) -> str:
        state = inbox.state_of(obj)
        label: Any = STATE_LABELS[state]
        if state == "with_staff" and obj.assigned_to:
            label = f"{label}: {obj.assigned_to.get_username()}"
        return format_html('<span class="kr-state kr-state-{}">{}</span>', state, label)

    @admin.display(description=_("family"), ordering="contact__phone")
    def family(self, obj: Conversation) -> str:
        url = reverse("admin:conversations_conversation_change", args=[obj.pk])
        name = inbox.family_name(obj)
        phone = obj.contact.phone
        preview = getattr(obj, "last_body", None) or ""
        who = _("family") if getattr(obj, "last_direction", "") == "in" else _("we")
        return format_html(
            '<a href="{}" class="kr-family">{}</a>{}<div class="kr-preview" title="{}">{}</div>',
            url,
            name or phone,
            format_html(' <small class="kr-phone">{}</small>', phone) if name else "",
            preview,
            format_html("<b>{}:</b> {}", who, preview) if preview else "",
        )

    @admin.display(description=_("waiting for"))
    def waiting_for(self, obj: Conversation) -> str:
        waited = inbox.waited(obj, timezone.now())
        return inbox.duration_text(waited) if waited is not None else "–"

    @admin.display(description=_("stage"), ordering="stage")
    def stage_label(self, obj: Conversation) -> str:
        return inbox.stage_label(obj.stage)

    @admin.display(description=_("assigned to"), ordering="assigned_to__username")
    def assigned(self, obj: Conversation) -> str:
        return obj.assigned_to.get_username() if obj.assigned_to else "–"

    @admin.display(description=_("last activity"), ordering="last_activity_at")
    def last_activity(self, obj: Conversation) -> str:
        return _local(obj.last_activity_at, obj.unit)

    @admin.display(description=_("unit"), ordering="unit__name")
    def unit_name(self, obj: Conversation) -> str:
        return obj.unit.name

    # -- the conversation page and its buttons --

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("reports/", wrap(self.reports_view), name="conversations_reports"),
            path("reports.csv", wrap(self.reports_csv_view), name="conversations_reports_csv"),
            path("reports/funnel/", wrap(self.funnel_view), name="conversations_funnel"),
            path("reports/funnel.csv", wrap(self.funnel_csv_view), name="conversations_funnel_csv"),
            path("gaps/", wrap(self.gaps_view), name="conversations_gaps"),
            path("gaps/answer/", wrap(require_POST(self.gaps_answer_view)), name="conversations_gaps_answer"),
            path(
                "family/<int:contact_id>/", wrap(self.family_view), name="conversations_conversation_family"
            ),
            path(
                "<path:object_id>/transcript/",
                wrap(self.transcript_view),
                name="conversations_conversation_transcript",
            ),
            path(
                "<path:object_id>/take-over/",
                wrap(require_POST(self.take_over_view)),
                name="conversations_conversation_take_over",
            ),
            path(
                "<path:object_id>/reply/",
                wrap(require_POST(self.reply_view)),
                name="conversations_conversation_reply",
            ),
            path(
                "<path:object_id>/hand-back/",
                wrap(require_POST(self.hand_back_view)),
                name="conversations_conversation_hand_back",
            ),
            *super().get_urls(),
        ]

    def _conversation(self, request: HttpRequest, object_id: str, *, change: bool = False) -> Conversation:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        allowed = (
            self.has_change_permission(request, obj) if change else self.has_view_permission(request, obj)
        )
        if not allowed:
            raise DjangoPermissionDenied
        return obj

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        conversation = self._conversation(request, object_id)
        page = inbox.conversation_page(conversation)
        waited = inbox.waited(conversation, timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": page.name or conversation.contact.phone,
            "page": page,
            "state_label": STATE_LABELS[page.state],
            "waited": inbox.duration_text(waited) if waited is not None and page.state == "waiting" else "",
            "can_change": self.has_change_permission(request, conversation),
            "refresh_ms": settings.INBOX_REFRESH_SECONDS * 1000,
        }
        # Every time on the page in the unit's time zone (rendered inside the override).
        with timezone.override(ZoneInfo(conversation.unit.timezone)):
            return TemplateResponse(request, "admin/conversations/conversation/detail.html", context).render()

    def transcript_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        conversation = self._conversation(request, object_id)
        page = inbox.conversation_page(conversation)
        with timezone.override(ZoneInfo(conversation.unit.timezone)):
            html = render_to_string(
                "admin/conversations/conversation/_transcript.html", {"page": page}, request
            )
        return JsonResponse(
            {
                "state": page.state,
                "state_label": str(STATE_LABELS[page.state]),
                "mode": conversation.mode,
                "assigned_to": conversation.assigned_to.get_username() if conversation.assigned_to else None,
                "messages": len(page.messages),
                "last_id": page.messages[-1].pk if page.messages else None,
                "html": html,
            }
        )

    def family_view(self, request: HttpRequest, contact_id: int) -> HttpResponse:
        """A family's conversation (the open one, else the latest): where an appointment's page
        links to, by URL name, since scheduling does not import conversations."""
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        conversation = (
            self.get_queryset(request)
            .filter(contact_id=contact_id)
            .order_by("state_order", "-last_activity_at")
            .first()
        )
        if conversation is None:
            raise Http404
        return redirect("admin:conversations_conversation_change", conversation.pk)

    def _back(self, conversation: Conversation) -> HttpResponseRedirect:
        return redirect("admin:conversations_conversation_change", conversation.pk)

    def take_over_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        conversation = self._conversation(request, object_id, change=True)
        services.take_over(conversation=conversation, user=request.user)
        self.log_change(request, conversation, "take over")
        self.message_user(request, _("You took over this conversation: the bot is silent."), messages.SUCCESS)
        return self._back(conversation)

    def reply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        conversation = self._conversation(request, object_id, change=True)
        try:
            services.send_staff_reply(
                conversation=conversation, user=request.user, body=request.POST.get("body", "")
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return self._back(conversation)

    def hand_back_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        conversation = self._conversation(request, object_id, change=True)
        services.hand_back(
            conversation=conversation, user=request.user, note=request.POST.get("note", "").strip()
        )
        self.log_change(request, conversation, "hand back")
        self.message_user(request, _("Handed back to the bot."), messages.SUCCESS)
        return self._back(conversation)

    # -- reports --

    def _report_params(
        self, request: HttpRequest
    ) -> tuple[list[Any], dt.date, dt.date, str, list[Any], bool]:
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        available = list(units_for(request.user).order_by("name"))
        owned = owner_unit_ids(request.user)
        compare = owned is None or bool(owned)
        slugs = request.GET.getlist("unit")
        chosen = [u for u in available if u.slug in slugs] or available
        if not compare:
            chosen = chosen[:1]  # staff: one unit at a time; owners compare their units side by side
        today = timezone.localdate()
        asked = request.GET.get("period") or "day"
        period = asked if asked in reports.PERIODS else "day"
        default_days = {"day": 30, "week": 12 * 7, "month": 365}[period]
        start = _date(request.GET.get("from")) or today - dt.timedelta(days=default_days - 1)
        end = _date(request.GET.get("to")) or today
        if end < start:
            start, end = end, start
        if (end - start).days > 800:
            start = end - dt.timedelta(days=800)
        return chosen, start, end, period, available, compare

    def reports_view(self, request: HttpRequest) -> HttpResponse:
        units, start, end, period, available, compare = self._report_params(request)
        report = reports.build_report(units=units, start=start, end=end, period=period)
        table = [
            {"metric": m, "cells": [reports.format_value(m, t.values[m.key]) for t in report.totals]}
            for m in reports.METRICS
        ]
        rows = [
            {"fold": r}
            if isinstance(r, reports.Fold)
            else {"row": r, "cells": [reports.format_value(m, r.values[m.key]) for m in reports.METRICS]}
            for r in reports.fold_empty_rows(report.rows)
        ]
        query = request.GET.copy()
        query.pop("lang", None)
        csv_url = reverse("admin:conversations_reports_csv")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Reports"),
            "report": report,
            "table": table,
            "rows": rows,
            "metrics": reports.METRICS,
            "available": available,
            "selected": {u.pk for u in units},
            "compare": compare,
            "periods": [("day", _("day")), ("week", _("week")), ("month", _("month"))],
            "chart": reports.chart_data(report),
            "csv_url": f"{csv_url}?{query.urlencode()}",
            "csv_en_url": f"{csv_url}?{query.urlencode()}{'&' if query else ''}lang=en",
        }
        return TemplateResponse(request, "admin/conversations/reports.html", context)

    def reports_csv_view(self, request: HttpRequest) -> HttpResponse:
        units, start, end, period, _available, _compare = self._report_params(request)
        report = reports.build_report(units=units, start=start, end=end, period=period)
        language = "en" if request.GET.get("lang") == "en" else "pt"
        response = HttpResponse(
            reports.report_csv(report, language=language), content_type="text/csv; charset=utf-8"
        )
        name = (
            f"report-{start}-{end}-{period}.csv"
            if language == "en"
            else f"relatorio-{start}-{end}-{period}.csv"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def funnel_view(self, request: HttpRequest) -> HttpResponse:
        units, start, end, _period, available, compare = self._report_params(request)
        result = funnel.build_funnel(units=units, start=start, end=end)
        query = request.GET.copy()
        query.pop("lang", None)
        csv_url = reverse("admin:conversations_funnel_csv")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Funnel by cohort"),
            "funnel": result,
            "table": [
                {"line": line, "cells": [funnel.format_cell(line, t.values[line.key]) for t in result.totals]}
                for line in funnel.LINES
            ],
            "sources": [
                {
                    "row": r,
                    "label": funnel.source_label(r.source),
                    "cells": [funnel.format_cell(line, r.values[line.key]) for line in funnel.LINES[:5]]
                    + [funnel.format_cell(funnel.LINES[9], r.values["overall_rate"])],
                }
                for r in result.by_source
            ],
            "losses": [
                {"label": label, "cells": [result.loss_count(u.pk, label) for u in result.units]}
                for label in result.loss_reasons
            ],
            "lines": funnel.LINES,
            "available": available,
            "selected": {u.pk for u in units},
            "compare": compare,
            "chart": funnel.chart_data(result),
            "csv_url": f"{csv_url}?{query.urlencode()}",
            "csv_en_url": f"{csv_url}?{query.urlencode()}{'&' if query else ''}lang=en",
        }
        return TemplateResponse(request, "admin/conversations/funnel.html", context)

    def funnel_csv_view(self, request: HttpRequest) -> HttpResponse:
        units, start, end, _period, _available, _compare = self._report_params(request)
        result = funnel.build_funnel(units=units, start=start, end=end)
        language = "en" if request.GET.get("lang") == "en" else "pt"
        response = HttpResponse(
            funnel.funnel_csv(result, language=language), content_type="text/csv; charset=utf-8"
        )
        name = f"funnel-{start}-{end}.csv" if language == "en" else f"funil-{start}-{end}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    # -- knowledge gaps --

    def gaps_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        unit_id = request.GET.get("unit")
        groups = gap_service.gap_groups(
            user=request.user, unit_id=int(unit_id) if unit_id and unit_id.isdigit() else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Knowledge gaps"),
            "groups": groups,
            "can_share": is_franchise_admin(request.user),
            "units": list(units_for(request.user).order_by("name")),
        }
        with timezone.override(user_timezone(request.user)):  # "last asked" in the units' local time
            return TemplateResponse(request, "admin/conversations/gaps.html", context).render()

    def gaps_answer_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise DjangoPermissionDenied
        ids = [int(i) for i in request.POST.get("gap_ids", "").split(",") if i.strip().isdigit()]
        try:
            source = gap_service.answer_gaps(
                user=request.user,
                gap_ids=ids,
                question=request.POST.get("question", ""),
                answer=request.POST.get("answer", ""),
                shared=request.POST.get("shared") == "1",
            )
        except DomainError as exc:
            if exc.status_code == 403:
                raise Http404 from exc
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(
                request,
                _("FAQ entry “%(q)s” created; it is being indexed.") % {"q": source.question[:60]},
                messages.SUCCESS,
            )
        return redirect("admin:conversations_gaps")


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- messages -------------------------------------------------------------------------------------


@admin.register(Message)
class MessageAdmin(UnitScopedAdmin):
    member_can = frozenset({"view"})
    owner_can = frozenset({"view"})
    list_display = ["created_at", "unit", "direction", "sender", "kind", "status", "short_body"]
    list_filter = ["direction", "sender", "status", "kind", UnitListFilter]
    search_fields = ["provider_id", "conversation__contact__phone"]
    list_select_related = ["unit"]
    raw_id_fields = ["conversation", "in_reply_to"]
    show_full_result_count = False  # big table: no COUNT(*) of everything
    readonly_fields = ["raw"]

    @admin.display(description=_("body"))
    def short_body(self, obj: Message) -> str:
        return obj.body[:80]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("raw")


# Follow-ups and proactive options live in their own module (registered on import).
from conversations import proactive_admin  # noqa: E402,F401,I001

__all__ = ["ContactAdmin", "ConversationAdmin", "MessageAdmin", "Membership"]
