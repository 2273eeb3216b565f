from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _unit_changed(**_: Any) -> None:
    from kumon.services import units_changed  # noqa: PLC0415 -- the receiver runs after the app registry is ready

    units_changed()


class KumonConfig(AppConfig):
    name = "kumon"
    verbose_name = _("Units")

    def ready(self) -> None:
        # Cache invalidation, not business logic: any write of a unit (admin, services, imports,
        # tests' factories) must reach the webhooks' unit caches (whatsapp/selectors.py).
        from kumon.models import Unit  # noqa: PLC0415 -- models load after the app registry (AppConfig.ready)

        post_save.connect(_unit_changed, sender=Unit, dispatch_uid="kumon.unit_changed")
        post_delete.connect(_unit_changed, sender=Unit, dispatch_uid="kumon.unit_deleted")
