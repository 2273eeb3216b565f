from django.contrib import admin

from knowledge.models import Chunk, Source
from kumon.tenancy import UnitScopedAdmin


@admin.register(Source)
class SourceAdmin(UnitScopedAdmin):
    include_shared = True
    list_display = ["__str__", "unit", "kind", "external_id", "published", "index_status", "updated_at"]
    list_filter = ["kind", "published", "index_status", "unit"]
    search_fields = ["title", "question", "answer", "external_id"]
    list_select_related = ["unit"]


@admin.register(Chunk)
class ChunkAdmin(UnitScopedAdmin):
    include_shared = True
    list_display = ["__str__", "unit", "source", "ordinal", "embedding_model"]
    list_filter = ["embedding_model"]
    search_fields = ["text"]
    list_select_related = ["unit", "source"]
    raw_id_fields = ["source"]
    exclude = ["embedding", "search_vector"]
