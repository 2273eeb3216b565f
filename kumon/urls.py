from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from kumon import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    # The split view serves Swagger UI's setup script from this URL instead of inline: the
    # Content-Security-Policy (kumon/csp.py) runs no inline script without our nonce.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi"), name="docs"),
    path(
        "redoc",
        SpectacularRedocView.as_view(url_name="openapi", template_name="api/redoc.html"),
        name="redoc",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("kumon.api")),
    path("", include("kumon.api_urls")),
    # The admin's "Ver o site" link and a bare visit to the host land in the staff's workplace.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
]
