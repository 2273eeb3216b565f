from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WhatsappConfig(AppConfig):
    name = "whatsapp"
    verbose_name = _("WhatsApp")

    def ready(self) -> None:
        from conversations.media import register_fetcher
        from whatsapp import checks  # noqa: F401  (registers the system checks)
        from whatsapp.gateways import PROVIDERS

        # The engine asks conversations.media for a voice note's bytes; the channel knows how.
        for provider in PROVIDERS.values():
            if provider.fetch_media is not None:
                register_fetcher(provider.name, provider.fetch_media)
