"""HTTP clients of the two WhatsApp providers: Evolution API 2.x and Meta's Graph API.

No database access. Every call has explicit (connect, read) timeouts and ends in a dataclass
or in TransientError (timeouts, connection errors, 5xx, 429) / PermanentError (other 4xx, with
the provider's reason).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from whatsapp.exceptions import PermanentError, TransientError

CONNECT_TIMEOUT = 5.0
# Evolution sleeps `delay` ms inside sendText before answering (REFERENCE.md §4.2).
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class SentMessage:
    provider_id: str
    to: str = ""  # the JID/number the provider actually used (9th digit resolved)


@dataclass(frozen=True)
class InstanceState:
    instance: str
    state: str  # open | connecting | close | unknown


def _timeout(read: float) -> httpx.Timeout:
    return httpx.Timeout(connect=CONNECT_TIMEOUT, read=read, write=10.0, pool=5.0)


def _reason(response: httpx.Response) -> str:
    """The provider's own words: Evolution {"response": {"message": ...}}, Graph {"error": {...}}."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(body, dict):
        if isinstance(body.get("response"), dict) and "message" in body["response"]:
            message = body["response"]["message"]
            return f"HTTP {response.status_code}: {json.dumps(message, ensure_ascii=False)[:400]}"
        error = body.get("error")
        if isinstance(error, dict):
            details = (
                (error.get("error_data") or {}).get("details")
                if isinstance(error.get("error_data"), dict)
                else ""
            )
            return f"HTTP {response.status_code}: ({error.get('code')}) {error.get('message', '')} {details or ''}".strip()[
                :500
            ]
    return f"HTTP {response.status_code}: {json.dumps(body, ensure_ascii=False)[:300]}"


def _request(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TransientError(f"timeout: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"connection error: {type(exc).__name__}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(_reason(response), status=response.status_code)
    if response.status_code >= 400:
        raise PermanentError(_reason(response), status=response.status_code)
    return response


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        # A 2xx we cannot read: the message may have gone out; do not send it again.
        raise PermanentError(f"HTTP {response.status_code}: unreadable response") from exc
    if not isinstance(body, dict):
        raise PermanentError(f"HTTP {response.status_code}: unexpected response")
    return body


class EvolutionClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        read_timeout: float = READ_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise PermanentError("EVOLUTION_API_URL is not configured")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.read_timeout = read_timeout
        self.transport = transport

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"apikey": self.api_key, "Accept": "application/json"},
            timeout=_timeout(self.read_timeout),
            transport=self.transport,
        )

    def send_text(self, *, instance: str, number: str, text: str, delay_ms: int = 0) -> SentMessage:
        """POST /message/sendText/{instance} → 201 {"key": {"id", "remoteJid"}, ...}."""
        payload: dict[str, Any] = {"number": number, "text": text, "linkPreview": False}
        if delay_ms:
            payload["delay"] = delay_ms
        with self._client() as client:
            response = _request(client, "POST", f"/message/sendText/{instance}", json=payload)
        key = _json(response).get("key")
        if not isinstance(key, dict) or not isinstance(key.get("id"), str) or not key["id"]:
            raise PermanentError(f"HTTP {response.status_code}: no key.id in the response")
        return SentMessage(provider_id=key["id"], to=str(key.get("remoteJid") or ""))

    def media_base64(self, *, instance: str, message_id: str) -> str:
        """POST /chat/getBase64FromMediaMessage/{instance} → {"base64", "mimetype", ...}
        (REFERENCE.md §4.8): the media of a message Evolution stored."""
        payload = {"message": {"key": {"id": message_id}}, "convertToMp4": False}
        with self._client() as client:
            response = _request(client, "POST", f"/chat/getBase64FromMediaMessage/{instance}", json=payload)
        encoded = _json(response).get("base64")
        if not isinstance(encoded, str) or not encoded:
            raise PermanentError(f"HTTP {response.status_code}: no base64 in the response")
        return encoded

    def connection_state(self, *, instance: str) -> InstanceState:
        """GET /instance/connectionState/{instance} → {"instance": {"instanceName", "state"}}."""
        with self._client() as client:
            response = _request(client, "GET", f"/instance/connectionState/{instance}")
        body = _json(response).get("instance")
        state = body.get("state") if isinstance(body, dict) else None
        # `state` is missing when the socket is gone from Evolution's memory (#2583).
        return InstanceState(instance=instance, state=state if isinstance(state, str) else "unknown")


class MetaClient:
    def __init__(
        self,
        *,
        graph_url: str,
        access_token: str,
        read_timeout: float = READ_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not access_token:
            raise PermanentError("META_ACCESS_TOKEN is not configured")
        self.graph_url = graph_url.rstrip("/")
        self.access_token = access_token
        self.read_timeout = read_timeout
        self.transport = transport

    def _send(self, phone_number_id: str, payload: dict[str, Any]) -> SentMessage:
        with httpx.Client(
            base_url=self.graph_url,
            headers={"Authorization": f"Bearer {self.access_token}"},
            timeout=_timeout(self.read_timeout),
            transport=self.transport,
        ) as client:
            response = _request(client, "POST", f"/{phone_number_id}/messages", json=payload)
        body = _json(response)
        messages = body.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or not isinstance(messages[0], dict)
            or not messages[0].get("id")
        ):
            raise PermanentError(f"HTTP {response.status_code}: no messages[0].id in the response")
        contacts = body.get("contacts")
        wa_id = (
            contacts[0].get("wa_id", "")
            if isinstance(contacts, list) and contacts and isinstance(contacts[0], dict)
            else ""
        )
        return SentMessage(provider_id=str(messages[0]["id"]), to=str(wa_id))

    def send_text(self, *, phone_number_id: str, to: str, text: str) -> SentMessage:
        return self._send(
            phone_number_id,
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": {"preview_url": False, "body": text},
            },
        )

    def send_template(
        self, *, phone_number_id: str, to: str, template: str, language: str, parameters: list[str]
    ) -> SentMessage:
        """An approved template (outside the 24-hour window). The body parameters fill {{1}}…"""
        component = {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        return self._send(
            phone_number_id,
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "template",
                "template": {
                    "name": template,
                    "language": {"code": language},
                    "components": [component] if parameters else [],
                },
            },
        )
