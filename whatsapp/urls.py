from django.urls import path

from whatsapp import api, views

app_name = "whatsapp"

urlpatterns = [
    path("api/v1/evolution/webhook", views.evolution_webhook, name="evolution-webhook"),
    path(
        "api/v1/evolution/webhook/<slug:event>",
        views.evolution_webhook_by_event,
        name="evolution-webhook-event",
    ),
    path("api/v1/evolution/instances", api.InstancesApi.as_view(), name="evolution-instances"),
    path("api/v1/meta/webhook", views.meta_webhook, name="meta-webhook"),
    path("simulator/", views.simulator, name="simulator"),
    path("simulator/send", views.simulator_send, name="simulator-send"),
    path("simulator/messages", views.simulator_messages, name="simulator-messages"),
    path("simulator/answer", views.simulator_answer, name="simulator-answer"),
]
