from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WhatsappConfig(AppConfig):
    name = "whatsapp"
    verbose_name = _("WhatsApp")

    def ready(self) -> None:
        from conversations.media import register_fetcher
        from whatsapp import checks  # noqa: F401  (registers the system checks)
        from whatsapp.gateways import fetch_evolution_media

        # The engine asks conversations.media for a voice note's bytes; the channel knows how.
        register_fetcher("evolution", fetch_evolution_media)
