"""Start-up checks of scheduling's settings (each names the setting at fault)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_scheduling_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    path = settings.GOOGLE_SERVICE_ACCOUNT_FILE
    if path:
        try:
            with open(path) as handle:
                data = json.load(handle)
            if not {"client_email", "private_key", "token_uri"} <= set(data):
                raise ValueError("missing keys")
        except (OSError, ValueError):
            errors.append(
                Error(
                    "GOOGLE_SERVICE_ACCOUNT_FILE is not a readable service-account JSON file.",
                    hint="Download the key of the service account the units share their calendars with.",
                    id="scheduling.E001",
                )
            )
    if any(h <= 0 for h in settings.REMINDER_OFFSETS_HOURS):
        errors.append(
            Error("REMINDER_OFFSETS_HOURS must be positive hours, e.g. 24,2.", id="scheduling.E002")
        )
    if settings.SLOT_HOLD_MINUTES <= 0:
        errors.append(Error("SLOT_HOLD_MINUTES must be positive.", id="scheduling.E003"))
    return errors
