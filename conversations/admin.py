from django.contrib import admin

from conversations.models import Conversation, Message
from kumon.tenancy import UnitScopedAdmin


@admin.register(Conversation)
class ConversationAdmin(UnitScopedAdmin):
    list_display = ["contact", "unit", "mode", "stage", "handoff_at", "assigned_to", "last_activity_at"]
    list_filter = ["mode", "stage", "unit"]
    search_fields = ["contact__phone", "contact__name"]
    list_select_related = ["contact", "unit", "assigned_to"]
    raw_id_fields = ["contact"]


@admin.register(Message)
class MessageAdmin(UnitScopedAdmin):
    list_display = ["created_at", "unit", "direction", "sender", "kind", "status", "short_body"]
    list_filter = ["direction", "sender", "status", "kind"]
    search_fields = ["provider_id", "conversation__contact__phone"]
    list_select_related = ["unit"]
    raw_id_fields = ["conversation", "in_reply_to"]
    show_full_result_count = False  # big table: no COUNT(*) of everything
    readonly_fields = ["raw"]

    @admin.display(description="body")
    def short_body(self, obj: Message) -> str:
        return obj.body[:80]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("raw")
