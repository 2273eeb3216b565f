"""Error reporting to Sentry, on only when SENTRY_DSN is set (settings call `init_sentry`).

Django and Celery integrations: unhandled view errors and task failures are reported with their
correlation id. `send_default_pii=False`: no user emails, IPs, cookies or request bodies leave
(webhook bodies hold phone numbers and message text).
"""

from __future__ import annotations


def init_sentry(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    import sentry_sdk  # noqa: PLC0415 -- sentry_sdk loads only with SENTRY_DSN
    from sentry_sdk.integrations.celery import CeleryIntegration  # noqa: PLC0415 -- sentry_sdk loads only with SENTRY_DSN
    from sentry_sdk.integrations.django import DjangoIntegration  # noqa: PLC0415 -- sentry_sdk loads only with SENTRY_DSN

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=False)],
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        max_request_body_size="never",
    )
