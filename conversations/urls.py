from django.urls import path

from conversations import api

urlpatterns = [
    path("api/v1/conversations/", api.ConversationList.as_view(), name="api-conversations"),
    path("api/v1/conversations/<int:pk>/", api.ConversationDetail.as_view(), name="api-conversation-detail"),
    path(
        "api/v1/conversations/<int:pk>/take-over/", api.TakeOver.as_view(), name="api-conversation-take-over"
    ),
    path(
        "api/v1/conversations/<int:pk>/hand-back/", api.HandBack.as_view(), name="api-conversation-hand-back"
    ),
    path("api/v1/conversations/<int:pk>/reply/", api.Reply.as_view(), name="api-conversation-reply"),
    path(
        "api/v1/conversation/<str:phone>", api.ConversationByPhone.as_view(), name="api-conversation-by-phone"
    ),
    path("api/v1/reports/", api.ReportView.as_view(), name="api-reports"),
]
