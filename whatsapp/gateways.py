"""Where an outbound message goes: the registered providers (PROVIDERS), chosen by
`unit.gateway`. A provider is one entry: its gateway (the transport), the settings it needs and
what it can do; the channel asks the entry (`supports_templates`, `service_window`, `paced`),
never the provider's name.

- evolution: Evolution API sendText to the unit's instance;
- meta: Graph API messages of the unit's phone number id (templates outside the 24 h window);
- console: no network; the message counts as sent with a generated id. `make run`, the
  simulator and tests without a provider use it.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from kumon.models import Unit
from kumon.phones import mask_phone
from whatsapp.client import EvolutionClient, MetaClient, SentMessage
from whatsapp.exceptions import PermanentError

logger = logging.getLogger(__name__)


class Gateway(Protocol):
    name: str

    def send_text(self, *, unit: Unit, to: str, text: str) -> SentMessage: ...

    def send_template(
        self, *, unit: Unit, to: str, template: str, parameters: list[str], language: str = ""
    ) -> SentMessage: ...


def _digits(phone: str) -> str:
    return phone.lstrip("+")


class ConsoleGateway:
    name = "console"

    def send_text(self, *, unit: Unit, to: str, text: str) -> SentMessage:
        provider_id = f"console-{uuid.uuid4().hex}"
        logger.info(
            "console gateway: %s to %s (%d chars) as %s", unit.slug, mask_phone(to), len(text), provider_id
        )
        return SentMessage(provider_id=provider_id, to=_digits(to))

    def send_template(
        self, *, unit: Unit, to: str, template: str, parameters: list[str], language: str = ""
    ) -> SentMessage:
        return self.send_text(unit=unit, to=to, text=" ".join(parameters))


class EvolutionGateway:
    name = "evolution"

    def send_text(self, *, unit: Unit, to: str, text: str) -> SentMessage:
        if not unit.evolution_instance:
            raise PermanentError("the unit has no Evolution instance")
        client = EvolutionClient(
            base_url=settings.EVOLUTION_API_URL,
            api_key=settings.EVOLUTION_API_KEY,
            read_timeout=settings.WHATSAPP_HTTP_READ_TIMEOUT,
        )
        return client.send_text(instance=unit.evolution_instance, number=_digits(to), text=text)

    def send_template(
        self, *, unit: Unit, to: str, template: str, parameters: list[str], language: str = ""
    ) -> SentMessage:
        raise PermanentError("templates are a Meta Cloud API feature")


class MetaGateway:
    name = "meta"

    def _client(self) -> MetaClient:
        return MetaClient(
            graph_url=settings.META_GRAPH_URL,
            access_token=settings.META_ACCESS_TOKEN,
            read_timeout=settings.WHATSAPP_HTTP_READ_TIMEOUT,
        )

    def _number_id(self, unit: Unit) -> str:
        if not unit.meta_phone_number_id:
            raise PermanentError("the unit has no Meta phone number id")
        return unit.meta_phone_number_id

    def send_text(self, *, unit: Unit, to: str, text: str) -> SentMessage:
        return self._client().send_text(phone_number_id=self._number_id(unit), to=_digits(to), text=text)

    def send_template(
        self, *, unit: Unit, to: str, template: str, parameters: list[str], language: str = ""
    ) -> SentMessage:
        return self._client().send_template(
            phone_number_id=self._number_id(unit),
            to=_digits(to),
            template=template,
            language=language or settings.META_TEMPLATE_LANGUAGE,
            parameters=parameters,
        )


def fetch_evolution_media(message: Any) -> bytes | None:
    """The bytes of an inbound media message, from the unit's Evolution instance (worker only:
    a network call). Registered with conversations.media at start-up."""
    unit = message.unit
    if not unit.evolution_instance or not message.provider_id:
        return None
    client = EvolutionClient(base_url=settings.EVOLUTION_API_URL, api_key=settings.EVOLUTION_API_KEY)
    encoded = client.media_base64(instance=unit.evolution_instance, message_id=message.provider_id)
    return base64.b64decode(encoded, validate=False)


@dataclass(frozen=True)
class Provider:
    """One WhatsApp provider and what it can do."""

    name: str  # kumon.models.Unit.Gateway's value
    gateway: Callable[[], Gateway]
    # Checked at start-up when it is the default gateway (whatsapp/checks.py).
    required_settings: tuple[str, ...] = ()
    # Approved templates (send_template): what may go outside the service window.
    supports_templates: bool = False
    # Meta's customer-service window (24 h, less a margin for clock skew and queueing): after it
    # only a template may start a conversation. None: the provider has none.
    service_window: dt.timedelta | None = None
    # Proactive sends are spaced per number (whatsapp/pacing.py): the unofficial API bans bursts.
    paced: bool = False
    # False for the console: a simulator contact's messages go there, never to a real phone.
    reaches_phones: bool = True
    # The bytes of an inbound voice note (registered with conversations.media), if it can.
    fetch_media: Callable[[Any], bytes | None] | None = None


PROVIDERS: dict[str, Provider] = {
    provider.name: provider
    for provider in (
        Provider(name="console", gateway=ConsoleGateway, reaches_phones=False),
        Provider(
            name="evolution",
            gateway=EvolutionGateway,
            required_settings=("EVOLUTION_API_URL", "EVOLUTION_API_KEY"),
            paced=True,
            fetch_media=fetch_evolution_media,
        ),
        Provider(
            name="meta",
            gateway=MetaGateway,
            required_settings=("META_ACCESS_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN", "META_GRAPH_URL"),
            supports_templates=True,
            service_window=dt.timedelta(hours=24) - dt.timedelta(minutes=5),
            paced=False,  # the Cloud API rate-limits and rates quality by itself
        ),
    )
}
# Where a simulator contact's messages go, whatever its unit's gateway.
SIMULATOR = PROVIDERS["console"]


def provider_named(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise PermanentError(f"unknown WhatsApp gateway {name!r}") from None


def provider_for(unit: Unit) -> Provider:
    return provider_named(unit.gateway)
