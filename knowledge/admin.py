"""Knowledge admin: sources with phrasings inline and indexing status, a test-search page, gaps.

Shared (franchise-wide, unit empty) sources are visible to every staff member and written only
by the franchise role (kumon.tenancy.is_franchise_admin): a change there reaches every unit's
answers. A unit's owner and staff override a shared entry for their unit with an entry of their
own (same external id, or "overrides").
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from knowledge import services, topics
from knowledge.models import Chunk, KnowledgeGap, Phrasing, Source, TopicOrigin
from kumon.exceptions import DomainError
from kumon.models import Unit
from kumon.tenancy import UnitScopedAdmin, is_franchise_admin, units_for

SHARED_ONLY_FRANCHISE = _("Only the franchise writes knowledge shared by every unit: choose your unit.")


def _editable(request: HttpRequest, obj: Source | None) -> bool:
    """A unit's rows: its members (the queryset is scoped). Shared rows: the franchise role."""
    if obj is None or obj.unit_id is not None:
        return True
    return is_franchise_admin(request.user)


class PhrasingInline(admin.TabularInline):
    model = Phrasing
    extra = 1
    # `generated`: written by the language model at import; staff review and delete them here.
    fields = ["text", "generated"]
    readonly_fields = ["generated"]
    verbose_name = _("alternative phrasing")
    verbose_name_plural = _("alternative phrasings (how parents ask it)")

    # Staff have no Django model permissions (their rights come from Membership, kumon.tenancy):
    # with the default checks on `knowledge.*_phrasing` the inline was invisible to every unit
    # member. The phrasings of an entry are seen by whoever sees the entry and written by
    # whoever may write it.
    def _source_admin(self) -> admin.ModelAdmin:
        return self.admin_site._registry[Source]

    def has_view_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return self._source_admin().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return self._source_admin().has_change_permission(request, obj) and _editable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return self._source_admin().has_change_permission(request, obj) and _editable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return self._source_admin().has_change_permission(request, obj) and _editable(request, obj)


@admin.register(Source)
class SourceAdmin(UnitScopedAdmin):
    include_shared = True
    change_list_template = "admin/knowledge/source/change_list.html"
    inlines = [PhrasingInline]
    list_display = [
        "__str__",
        "unit",
        "kind",
        "external_id",
        "published",
        "topic",
        "topic_score",
        "index_status",
        "indexed_at",
        "updated_at",
    ]
    list_filter = ["index_status", "kind", "published", "topic_origin", "unit"]
    search_fields = ["title", "question", "answer", "external_id"]
    list_select_related = ["unit"]
    autocomplete_fields = ["overrides"]
    readonly_fields = [
        "index_status",
        "index_error",
        "index_attempts",
        "indexed_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [*readonly_fields, "topic_score", "topic_origin"]
    fieldsets = [
        (None, {"fields": ["unit", "kind", "external_id", "published", "overrides"]}),
        (_("Content"), {"fields": ["title", "question", "answer", "document"]}),
        (_("Catalogue topic"), {"fields": ["topic", "topic_score", "topic_origin"]}),
        (_("Indexing"), {"fields": tuple(readonly_fields[:6])}),
    ]
    actions = ["reindex"]

    def _allowed(self, request: HttpRequest, action: str) -> bool:
        # The franchise team may have no unit of its own: it works on the shared rows.
        return super()._allowed(request, action) or (
            request.user.is_staff and is_franchise_admin(request.user)
        )

    def has_change_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return super().has_change_permission(request, obj) and _editable(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if is_franchise_admin(request.user) or "unit" not in form.base_fields:
            return form
        # Not the franchise: the unit is required (empty would make the entry shared).
        form.base_fields["unit"].required = True
        form.base_fields["unit"].empty_label = None
        scoped_clean = form.clean

        def clean(form_self: Any) -> Any:
            data = scoped_clean(form_self)
            if data.get("unit") is None and "unit" not in form_self.errors:
                form_self.add_error("unit", SHARED_ONLY_FRANCHISE)
            return data

        form.clean = clean
        return form

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "topic":
            # The catalogue's answerable topics; a staff choice is kept across re-imports.
            return forms.ChoiceField(
                choices=[("", _("— no topic —")), *topics.choices()],
                required=False,
                label=_("catalogue topic"),
                help_text=_("Linked by similarity at indexing (score beside it); a change here is kept."),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "overrides":
            # Only shared entries can be overridden; every staff member sees them.
            kwargs["queryset"] = Source.objects.filter(unit__isnull=True)
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Source | None = None) -> bool:
        return super().has_delete_permission(request, obj) and _editable(request, obj)

    def save_model(self, request: HttpRequest, obj: Source, form: forms.ModelForm, change: bool) -> None:
        if obj.unit_id is None and not is_franchise_admin(request.user):
            raise DjangoPermissionDenied(SHARED_ONLY_FRANCHISE)  # the form refuses it first
        upload = form.cleaned_data.get("document")
        if "document" in form.changed_data and upload:
            # Size and type checked here; the text is extracted by the index task in the worker.
            try:
                services.check_document(filename=upload.name, size=upload.size)
            except DomainError as exc:
                raise DjangoPermissionDenied(exc.message) from exc
            obj.kind = Source.Kind.DOCUMENT
            obj.answer = ""
        if "topic" in form.changed_data:
            obj.topic_origin = TopicOrigin.STAFF if obj.topic else TopicOrigin.NONE
            obj.topic_score = None
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # After the phrasings are saved: one re-index, queued after commit.
        services.mark_source_changed(source=form.instance)

    @admin.action(description=_("Re-index selected sources"))
    def reindex(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        sources = [s for s in queryset if _editable(request, s)]
        for source in sources:
            services.mark_source_changed(source=source)
        self.message_user(request, _("%d sources queued for indexing.") % len(sources))

    def get_urls(self) -> list:
        return [
            path(
                "test-search/",
                self.admin_site.admin_view(self.test_search_view),
                name="knowledge_source_test_search",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "test_search_url": reverse("admin:knowledge_source_test_search"),
        }
        return super().changelist_view(request, extra_context)

    # What the test search page shows for the search's codes (staff read labels, not codes).
    REFUSAL_LABELS = {
        "empty": _("the message is empty"),
        "too_long": _("the message is too long"),
        "invalid_text": _("the message has no readable text"),
        "no_match": _("nothing in the knowledge matches"),
        "uncovered_topic": _("a topic this unit has no entry for"),
        "low_confidence": _("not sure enough"),
        "prompt_injection": _("an attempt to change the bot's rules"),
        "student_record": _("a question about one student's record"),
        "other_unit": _("it names another unit"),
        "other_school": _("it is about another school"),
        "personal_data": _("it asks for someone's personal data"),
    }
    MATCHED_LABELS = {
        "entry": _("entry"),
        "question": _("question"),
        "phrasing": _("phrasing"),
        "answer": _("answer"),
        "chunk": _("part of the answer"),
        "topic": _("catalogue topic"),
    }

    def test_search_view(self, request: HttpRequest) -> HttpResponse:
        from knowledge.search import search  # noqa: PLC0415 -- knowledge.search loads the embedding index, only the test-search page needs it

        form = TestSearchForm(request.GET or None, user=request.user)
        result = None
        if form.is_valid():
            try:
                result = search(
                    unit=form.cleaned_data["unit"],
                    query=form.cleaned_data["query"],
                    limit=form.cleaned_data["limit"],
                    record_gap=False,
                )
            except DomainError as exc:
                messages.error(request, exc.message)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Test search"),
            "form": form,
            "result": result,
            "refusal_label": self.REFUSAL_LABELS.get(result.refusal_reason or "", result.refusal_reason)
            if result
            else "",
            "hit_rows": [(h, self.MATCHED_LABELS.get(h.matched, h.matched)) for h in result.hits]
            if result
            else [],
        }
        return TemplateResponse(request, "admin/knowledge/source/test_search.html", context)


class TestSearchForm(forms.Form):
    unit: forms.ModelChoiceField[Unit] = forms.ModelChoiceField(queryset=Unit.objects.none(), label=_("Unit"))
    query = forms.CharField(
        max_length=2000, label=_("Parent's message"), widget=forms.TextInput(attrs={"size": 80})
    )
    limit = forms.IntegerField(min_value=1, max_value=20, initial=5, label=_("Entries shown"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit = cast("forms.ModelChoiceField[Unit]", self.fields["unit"])
        unit.queryset = units_for(user).order_by("name")


@admin.register(Chunk)
class ChunkAdmin(UnitScopedAdmin):
    include_shared = True
    list_display = ["__str__", "unit", "source", "role", "ordinal", "embedding_model"]
    list_filter = ["embedding_model", "role"]
    search_fields = ["text"]
    list_select_related = ["unit", "source"]
    raw_id_fields = ["source"]
    exclude = ["embedding", "search_vector"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # chunks are built by indexing

    def has_change_permission(self, request: HttpRequest, obj: Chunk | None = None) -> bool:
        return False


@admin.register(KnowledgeGap)
class KnowledgeGapAdmin(UnitScopedAdmin):
    list_display = ["text", "unit", "reason", "confidence", "created_at"]
    list_filter = ["reason", "unit"]
    search_fields = ["text"]
    list_select_related = ["unit"]
    readonly_fields = ["unit", "text", "reason", "confidence", "candidates", "created_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
