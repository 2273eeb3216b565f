from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WhatsappConfig(AppConfig):
    name = "whatsapp"
    verbose_name = _("WhatsApp")

    def ready(self) -> None:
        from conversations.media import register_fetcher  # noqa: PLC0415 -- after the app registry is ready (AppConfig.ready)
        from whatsapp import checks  # noqa: F401, PLC0415 -- registers the system checks once the registry is ready
        from whatsapp.gateways import PROVIDERS  # noqa: PLC0415 -- after the app registry is ready (AppConfig.ready)

        # The engine asks conversations.media for a voice note's bytes; the channel knows how.
        for provider in PROVIDERS.values():
            if provider.fetch_media is not None:
                register_fetcher(provider.name, provider.fetch_media)
