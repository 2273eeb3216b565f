"""Every app's HTTP routes, mounted here; each app owns its own `urls.py`."""

from django.urls import include, path

urlpatterns = [
    path("", include("whatsapp.urls")),
    path("", include("conversations.urls")),
    path("", include("knowledge.urls")),
    path("", include("scheduling.urls")),
]
