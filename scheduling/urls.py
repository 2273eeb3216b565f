from django.urls import path

from scheduling import api

urlpatterns = [
    path("api/v1/slots/", api.SlotListApi.as_view(), name="scheduling-slots"),
    path("api/v1/appointments/", api.AppointmentListCreateApi.as_view(), name="scheduling-appointments"),
    path("api/v1/appointments/<int:pk>/", api.AppointmentDetailApi.as_view(), name="scheduling-appointment"),
    path(
        "api/v1/appointments/<int:pk>/outcome/",
        api.AppointmentOutcomeApi.as_view(),
        name="scheduling-appointment-outcome",
    ),
]
