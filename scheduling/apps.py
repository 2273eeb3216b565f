from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = _("Scheduling")

    def ready(self) -> None:
        from scheduling import checks  # noqa: F401, PLC0415 -- registers the system checks once the app registry is ready
