from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KumonConfig(AppConfig):
    name = "kumon"
    verbose_name = _("Units")
