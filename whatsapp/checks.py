"""Start-up checks: each missing setting of the configured default gateway, by name."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from whatsapp.gateways import PROVIDERS


@register()
def whatsapp_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    gateway = settings.WHATSAPP_GATEWAY
    if gateway not in PROVIDERS:
        return [
            Error(
                f"WHATSAPP_GATEWAY={gateway!r} is not one of {', '.join(sorted(PROVIDERS))}",
                id="whatsapp.E001",
            )
        ]
    problems: list[Any] = [
        Error(f"{name} is required when WHATSAPP_GATEWAY={gateway}", id="whatsapp.E002")
        for name in PROVIDERS[gateway].required_settings
        if not getattr(settings, name, "")
    ]
    if gateway != "meta" and settings.META_ACCESS_TOKEN and not settings.META_APP_SECRET:
        problems.append(
            Warning("META_APP_SECRET is empty: every Meta webhook will be refused (403)", id="whatsapp.W001")
        )
    return problems
