"""Webhooks (Evolution, Meta) and the simulator page.

Webhooks: size check → JSON → unit → authentication → typed events → one service → 200.
Status codes (one scheme for both providers' retry rules):
- 200 {"ok": true, ...}: stored, duplicate, or acknowledged and ignored;
- 400 {"error": reason}: not JSON, wrong types, missing fields (Evolution 2.3 does not retry);
- 401 {"error": "unauthorized"}: Evolution with an unknown instance or a bad/missing secret
  (one answer for both, so instance names cannot be probed);
- 403: Meta with a bad/missing X-Hub-Signature-256, or a failed verify-token handshake;
- 413 {"error": ...}: body over WHATSAPP_WEBHOOK_MAX_BYTES (Content-Length or actual size);
- 429 {"error": "too many requests"} + Retry-After: over WEBHOOK_RATE_PER_MINUTE for the unit.
Nothing is stored unless the answer is 200. The views never call an external API. A message's
whole database cost in the request is one INSERT of its inbound event (whatsapp/ingest.py); the
worker records it.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny

from conversations import services as conversation_services
from kumon.exceptions import RealFamilyPhone
from kumon.phones import InvalidPhone
from kumon.tenancy import units_for
from kumon.throttling import webhook_allowed
from whatsapp import evolution, ingest, meta, selectors, services
from whatsapp.exceptions import PayloadError
from whatsapp.text import valid_json
from whatsapp.webhook_auth import evolution_request_ok

logger = logging.getLogger(__name__)


class _IgnoreAccept(BaseContentNegotiation):
    """A provider's Accept header must never turn a delivery into a 406 (lost message)."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


def webhook_endpoint(methods: list[str]) -> Any:
    """A DRF function view (so the schema shows it) without session auth, CSRF, permissions or
    content negotiation: webhooks authenticate themselves and answer plain Django responses."""

    def wrap(func: Any) -> Any:
        func.authentication_classes = []
        func.permission_classes = [AllowAny]
        # Not the API's per-address limits (a provider sends everything from a few addresses):
        # each unit's own, after authentication (kumon.throttling.webhook_allowed).
        func.throttle_classes = []
        func.content_negotiation_class = _IgnoreAccept
        return csrf_exempt(api_view(methods)(func))

    return wrap


def _error(reason: str, status: int) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status)


def _too_many(retry_after: int) -> JsonResponse:
    response = _error("too many requests", 429)
    response["Retry-After"] = str(retry_after)
    return response


def _read_body(request: HttpRequest) -> bytes | JsonResponse:
    limit = settings.WHATSAPP_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error("invalid Content-Length", 400)
    if declared > limit:
        return _error(f"body over {limit} bytes", 413)
    body = request.body
    if len(body) > limit:
        return _error(f"body over {limit} bytes", 413)
    return body


def _json(body: bytes) -> Any:
    """The decoded body. Its text is made storable by the parsers (whatsapp/text.py)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise PayloadError("invalid JSON") from None


_WEBHOOK_OK = inline_serializer(
    "WebhookAck",
    {
        "ok": serializers.BooleanField(),
        "stored": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "statuses": serializers.IntegerField(),
        "ignored": serializers.IntegerField(),
    },
)
_WEBHOOK_ERROR = inline_serializer("WebhookError", {"error": serializers.CharField()})


_EVOLUTION_SCHEMA: dict[str, Any] = dict(
    summary="Evolution API webhook (all units; the unit is the envelope's `instance`)",
    description=(
        "Authenticated with the unit's webhook secret, sent by Evolution as the header "
        "`X-Webhook-Secret` (webhook.headers) or as its `jwt_key` HS256 Bearer token. "
        "Also served under `/api/v1/evolution/webhook/<event-suffix>` (webhook by events)."
    ),
    request=OpenApiTypes.OBJECT,
    parameters=[
        OpenApiParameter("X-Webhook-Secret", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False)
    ],
    responses={
        200: _WEBHOOK_OK,
        400: OpenApiResponse(_WEBHOOK_ERROR, description="malformed body"),
        401: OpenApiResponse(_WEBHOOK_ERROR, description="unknown instance or bad secret"),
        413: OpenApiResponse(_WEBHOOK_ERROR, description="body too large"),
        429: OpenApiResponse(_WEBHOOK_ERROR, description="over the unit's webhook rate (Retry-After)"),
    },
    tags=["webhooks"],
    auth=[],
)


@extend_schema(operation_id="evolution_webhook", **_EVOLUTION_SCHEMA)
@webhook_endpoint(["POST"])
def evolution_webhook(request: Any) -> HttpResponse:
    return _evolution(request._request, "")


@extend_schema(operation_id="evolution_webhook_by_event", **_EVOLUTION_SCHEMA)
@webhook_endpoint(["POST"])
def evolution_webhook_by_event(request: Any, event: str) -> HttpResponse:
    return _evolution(request._request, event)


def _evolution(django_request: HttpRequest, event: str) -> HttpResponse:
    # DRF's Request only wraps for the schema; the raw Django request is read directly (no
    # parser runs, no session or CSRF machinery).
    body = _read_body(django_request)
    if isinstance(body, JsonResponse):
        return body
    try:
        payload = _json(body)
        instance = evolution.instance_of(payload)
    except PayloadError as exc:
        return _error(exc.reason, 400)
    unit = selectors.unit_for_instance(instance)
    if unit is None or not _evolution_authenticated(django_request, unit.webhook_secret):
        logger.warning("evolution webhook refused for instance %s", instance[:60])
        return _error("unauthorized", 401)
    verdict = webhook_allowed(key=f"evolution:{unit.pk}")
    if not verdict.allowed:
        logger.warning(
            "evolution webhook for %s over %s/min: 429", unit.slug, settings.WEBHOOK_RATE_PER_MINUTE
        )
        return _too_many(verdict.retry_after)
    try:
        parsed = evolution.parse_envelope(payload, event_suffix=event)
    except PayloadError as exc:
        logger.info("evolution webhook for %s rejected: %s", unit.slug, exc.reason)
        return _error(exc.reason, 400)
    result = ingest.ingest_events(unit=unit, events=parsed.events)
    return JsonResponse({"ok": True, **result.__dict__})


def _evolution_authenticated(request: HttpRequest, secret: str) -> bool:
    return evolution_request_ok(
        secret_header=request.headers.get("X-Webhook-Secret"),
        authorization=request.headers.get("Authorization"),
        secret=secret,
    )


@extend_schema(
    methods=["GET"],
    operation_id="meta_webhook_verify",
    summary="Meta webhook verification handshake",
    parameters=[
        OpenApiParameter("hub.mode", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True),
        OpenApiParameter("hub.verify_token", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True),
        OpenApiParameter("hub.challenge", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True),
    ],
    responses={(200, "text/plain"): OpenApiTypes.STR, 403: OpenApiResponse(description="wrong token")},
    tags=["webhooks"],
    auth=[],
)
@extend_schema(
    methods=["POST"],
    operation_id="meta_webhook",
    summary="Meta WhatsApp Cloud API webhook (the unit is each change's phone_number_id)",
    description="Signed by Meta: `X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body)>`.",
    request=OpenApiTypes.OBJECT,
    parameters=[
        OpenApiParameter("X-Hub-Signature-256", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)
    ],
    responses={
        200: _WEBHOOK_OK,
        400: OpenApiResponse(_WEBHOOK_ERROR, description="malformed body"),
        403: OpenApiResponse(_WEBHOOK_ERROR, description="bad or missing signature"),
        413: OpenApiResponse(_WEBHOOK_ERROR, description="body too large"),
        429: OpenApiResponse(_WEBHOOK_ERROR, description="over the unit's webhook rate (Retry-After)"),
    },
    tags=["webhooks"],
    auth=[],
)
@webhook_endpoint(["GET", "POST"])
def meta_webhook(request: Any) -> HttpResponse:
    django_request: HttpRequest = request._request
    if django_request.method == "GET":
        return _meta_handshake(django_request)
    body = _read_body(django_request)
    if isinstance(body, JsonResponse):
        return body
    if not meta.signature_ok(
        body, django_request.headers.get("X-Hub-Signature-256"), settings.META_APP_SECRET
    ):
        logger.warning("meta webhook refused: bad or missing signature")
        return _error("invalid signature", 403)
    try:
        events = meta.parse_payload(_json(body))
    except PayloadError as exc:
        logger.info("meta webhook rejected: %s", exc.reason)
        return _error(exc.reason, 400)
    total = ingest.IngestResult()
    by_number: dict[str, list] = {}
    for number_id, event in events:
        by_number.setdefault(number_id, []).append(event)
    for number_id in by_number:
        verdict = webhook_allowed(key=f"meta:{number_id}") if number_id else None
        if verdict is not None and not verdict.allowed:
            # Nothing of the batch is stored: Meta delivers it again after Retry-After.
            logger.warning(
                "meta webhook for number %s over %s/min: 429",
                number_id[:40],
                settings.WEBHOOK_RATE_PER_MINUTE,
            )
            return _too_many(verdict.retry_after)
    for number_id, unit_events in by_number.items():
        unit = selectors.unit_for_meta_number(number_id) if number_id else None
        if unit is None:
            # Signed by Meta but for a number we do not serve: acknowledge, or Meta retries for days.
            logger.warning("meta webhook for unknown phone_number_id %s ignored", number_id[:40])
            total.ignored += len(unit_events)
            continue
        result = ingest.ingest_events(unit=unit, events=unit_events)
        for field in ("stored", "duplicates", "statuses", "ignored"):
            setattr(total, field, getattr(total, field) + getattr(result, field))
    return JsonResponse({"ok": True, **total.__dict__})


def _meta_handshake(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    expected = settings.META_VERIFY_TOKEN
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return HttpResponse(challenge[:200], content_type="text/plain")
    return HttpResponse("forbidden", status=403, content_type="text/plain")


# ---------------------------------------------------------------------------------------------
# Simulator: a staff member types as a parent; same ingest path, replies via the console gateway.


@login_required
@ensure_csrf_cookie
@require_GET
def simulator(request: HttpRequest) -> HttpResponse:
    units = list(
        units_for(request.user).filter(active=True).order_by("name").values("slug", "name", "timezone")
    )
    return render(request, "whatsapp/simulator.html", {"units": units})


def _simulator_unit(request: HttpRequest, slug: str) -> Any:
    return units_for(request.user).filter(slug=slug, active=True).first()


@login_required
@require_POST
def simulator_send(request: HttpRequest) -> JsonResponse:
    try:
        data = _json(request.body or b"{}")
    except PayloadError as exc:
        return _error(exc.reason, 400)
    if not isinstance(data, dict):
        return _error("body must be a JSON object", 400)
    data = valid_json(data)
    unit = _simulator_unit(request, str(data.get("unit", "")))
    text = data.get("text")
    phone = data.get("phone")
    if unit is None:
        return _error("unidade não encontrada", 404)
    if not isinstance(text, str) or not text.strip() or len(text) > 4000:
        return _error("mensagem vazia ou longa demais", 400)
    if not isinstance(phone, str):
        return _error("telefone inválido", 400)
    try:
        message = services.simulate_inbound(
            unit=unit, phone=phone, text=text.strip(), name=str(data.get("name", ""))[:120]
        )
    except InvalidPhone:
        return _error("telefone inválido", 400)
    except RealFamilyPhone:
        return _error("este número é de uma família de verdade: use outro número no simulador", 409)
    return JsonResponse({"ok": True, "id": message.pk if message else None}, status=201)


@login_required
@require_http_methods(["GET"])
def simulator_messages(request: HttpRequest) -> JsonResponse:
    unit = _simulator_unit(request, request.GET.get("unit", ""))
    if unit is None:
        return _error("unidade não encontrada", 404)
    try:
        after = int(request.GET.get("after") or 0)
        messages = selectors.simulator_transcript(
            unit=unit, phone=request.GET.get("phone", ""), after_id=after
        )
        _conversation_id, typing = selectors.simulator_conversation(
            unit=unit, phone=request.GET.get("phone", "")
        )
    except (ValueError, InvalidPhone):
        return _error("parâmetros inválidos", 400)
    return JsonResponse({"messages": messages, "typing": typing})


@login_required
@require_POST
def simulator_answer(request: HttpRequest) -> JsonResponse:
    """The person stopped typing (the page saw no keystroke for a moment): answer the pending
    turn now, as `manage.py chat` does, instead of after WhatsApp's debounce."""
    try:
        data = _json(request.body or b"{}")
    except PayloadError as exc:
        return _error(exc.reason, 400)
    if not isinstance(data, dict):
        return _error("body must be a JSON object", 400)
    unit = _simulator_unit(request, str(data.get("unit", "")))
    if unit is None:
        return _error("unidade não encontrada", 404)
    try:
        conversation_id, _typing = selectors.simulator_conversation(
            unit=unit, phone=str(data.get("phone", ""))
        )
    except InvalidPhone:
        return _error("telefone inválido", 400)
    answered = conversation_id is not None and conversation_services.answer_turn_now(
        conversation_id=conversation_id
    )
    return JsonResponse({"ok": True, "answered": answered})
