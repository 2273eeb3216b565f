"""Where an outbound message goes: one gateway per provider, chosen by `unit.gateway`.

- evolution: Evolution API sendText to the unit's instance;
- meta: Graph API messages of the unit's phone number id (templates outside the 24 h window);
- console: no network; the message counts as sent with a generated id. `make run`, the
  simulator and tests without a provider use it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from django.conf import settings

from kumon.models import Unit
from kumon.phones import mask_phone
from whatsapp.client import EvolutionClient, MetaClient, SentMessage
from whatsapp.exceptions import PermanentError

logger = logging.getLogger(__name__)


class Gateway(Protocol):
    name: str
    supports_templates: bool
    # Meta's customer-service window: outside it only a template may start a conversation.
    has_service_window: bool
    # Proactive sends are spaced per number (whatsapp/pacing.py): the unofficial API bans bursts.
    paced: bool

    def send_text(self, *, unit: Unit, to: str, text: str) -> SentMessage: ...

    def send_template(
        self, *, unit: Unit, to: str, template: str, parameters: list[str], language: str = ""
    ) -> SentMessage: ...


def _digits(phone: str) -> str:
    return phone.lstrip("+")


class ConsoleGateway:
    name = "console"
    supports_templates = False
    has_service_window = False
    paced = False

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
    supports_templates = False
    has_service_window = False
    paced = True

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
    supports_templates = True
    has_service_window = True
    paced = False  # the Cloud API rate-limits and rates quality by itself

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


GATEWAYS: dict[str, type] = {"console": ConsoleGateway, "evolution": EvolutionGateway, "meta": MetaGateway}


def gateway_named(name: str) -> Gateway:
    try:
        return GATEWAYS[name]()
    except KeyError:
        raise PermanentError(f"unknown WhatsApp gateway {name!r}") from None


def gateway_for(unit: Unit) -> Gateway:
    return gateway_named(unit.gateway)


def fetch_evolution_media(message: Any) -> bytes | None:
    """The bytes of an inbound media message, from the unit's Evolution instance (worker only:
    a network call). Registered with conversations.media at start-up."""
    import base64

    unit = message.unit
    if not unit.evolution_instance or not message.provider_id:
        return None
    client = EvolutionClient(base_url=settings.EVOLUTION_API_URL, api_key=settings.EVOLUTION_API_KEY)
    encoded = client.media_base64(instance=unit.evolution_instance, message_id=message.provider_id)
    return base64.b64decode(encoded, validate=False)
