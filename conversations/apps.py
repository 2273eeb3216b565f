from celery import signals
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = _("Conversations")

    def ready(self) -> None:
        # Imported here: models and the app registry are ready only now.
        from conversations import metrics, receivers  # noqa: PLC0415
        from conversations.signals import send_failed  # noqa: PLC0415
        from kumon.metrics import register_scrape_collector  # noqa: PLC0415
        from scheduling.reminders import reminders_due  # noqa: PLC0415

        reminders_due.connect(
            receivers.send_due_reminders_now, dispatch_uid="conversations.send_due_reminders_now"
        )
        send_failed.connect(receivers.report_send_failure, dispatch_uid="conversations.report_send_failure")
        register_scrape_collector(metrics.DatabaseCollector)
        # ready() runs in the worker's main process before worker_init (Celery's Django fixup
        # sets Django up first), so the models are built there, once, before the pool forks.
        signals.worker_init.connect(
            receivers.build_engine_models, dispatch_uid="conversations.build_engine_models"
        )
