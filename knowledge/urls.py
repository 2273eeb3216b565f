from django.urls import path

from knowledge import api

urlpatterns = [
    path("api/v1/embeddings/search", api.SearchApi.as_view(), name="embeddings-search"),
    path("api/v1/knowledge/search", api.SearchApi.as_view(), name="knowledge-search"),
    path("api/v1/knowledge/sources/", api.SourceListApi.as_view(), name="knowledge-sources"),
]
