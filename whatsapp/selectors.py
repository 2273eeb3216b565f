"""Reads of the channel: which unit a webhook is for, and the instances' connection state."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from conversations.models import Conversation, Message
from kumon.models import Unit
from kumon.phones import normalize_phone
from kumon.services import UNITS_VERSION_KEY
from kumon.tenancy import units_for
from whatsapp.client import EvolutionClient
from whatsapp.exceptions import GatewayError

logger = logging.getLogger(__name__)

# Unit lookups of the webhooks, per process: one dict read instead of a query on every
# delivery. Every change of a unit (its secret rotated, instance renamed, deactivated) changes the
# units' version in Redis (kumon.services.units_changed), which each lookup reads — one GET, cheaper
# than the query — so no process keeps accepting an old secret (issue #11). With Redis down the
# version cannot be read and an entry lives UNIT_CACHE_SECONDS. Misses are not cached.
UNIT_CACHE_SECONDS = 10.0
_units: dict[tuple[str, str], tuple[float, Any, Unit]] = {}
_units_lock = threading.Lock()


def clear_unit_cache() -> None:
    with _units_lock:
        _units.clear()


def _units_version() -> Any:
    try:
        return cache.get(UNITS_VERSION_KEY)
    except Exception as exc:  # noqa: BLE001 -- the cache backend's errors; the TTL still bounds staleness
        logger.debug("units version unreadable (%s)", type(exc).__name__)
        return None


def _cached_unit(field: str, value: str) -> Unit | None:
    key = (field, value)
    now = time.monotonic()
    version = _units_version()
    hit = _units.get(key)
    if hit is not None and hit[0] > now and hit[1] == version:
        return hit[2]
    unit = Unit.objects.filter(**{field: value}, active=True).first()
    if unit is not None:
        with _units_lock:
            if len(_units) > 10_000:  # bounded: a flood of names cannot grow it forever
                _units.clear()
            _units[key] = (now + UNIT_CACHE_SECONDS, version, unit)
    return unit


def unit_for_instance(instance: str) -> Unit | None:
    return _cached_unit("evolution_instance", instance)


def unit_for_meta_number(phone_number_id: str) -> Unit | None:
    return _cached_unit("meta_phone_number_id", phone_number_id)


def _state_key(instance: str) -> str:
    return f"whatsapp:connection:{instance}"


def remember_connection_state(*, instance: str, state: str) -> None:
    """Cache a state reported by a `connection.update` webhook (best effort: Redis may be down)."""
    try:
        cache.set(
            _state_key(instance),
            {"state": state, "source": "webhook", "checked_at": time.time()},
            settings.WHATSAPP_CONNECTION_CACHE_SECONDS,
        )
    except Exception as exc:  # the cache is an optimisation, never a reason to fail a webhook
        logger.warning("connection state of %s not cached: %s", instance, type(exc).__name__)


@dataclass(frozen=True)
class InstanceRow:
    unit: str
    unit_name: str
    instance: str
    gateway: str
    state: str
    error: str
    checked_at: float | None


def connection_state(instance: str) -> dict[str, Any]:
    """{"state", "error", "checked_at"} from the cache, or from Evolution (then cached ~30 s)."""
    try:
        cached = cache.get(_state_key(instance))
    except Exception:
        cached = None
    if cached:
        return {"state": cached["state"], "error": "", "checked_at": cached.get("checked_at")}
    now = time.time()
    try:
        state = (
            EvolutionClient(
                base_url=settings.EVOLUTION_API_URL,
                api_key=settings.EVOLUTION_API_KEY,
                read_timeout=settings.WHATSAPP_STATE_READ_TIMEOUT,
            )
            .connection_state(instance=instance)
            .state
        )
        error = ""
    except GatewayError as exc:
        state, error = "unknown", exc.reason
    if not error:
        try:
            cache.set(
                _state_key(instance),
                {"state": state, "source": "api", "checked_at": now},
                settings.WHATSAPP_CONNECTION_CACHE_SECONDS,
            )
        except Exception:
            pass
    return {"state": state, "error": error, "checked_at": now}


def instances_for(user: Any) -> list[InstanceRow]:
    """The Evolution instances of the user's units with their connection state."""
    rows = []
    units = (
        units_for(user)
        .filter(evolution_instance__isnull=False)
        .exclude(evolution_instance="")
        .order_by("name")
    )
    for unit in units:
        state = connection_state(unit.evolution_instance or "")
        rows.append(
            InstanceRow(
                unit=unit.slug,
                unit_name=unit.name,
                instance=unit.evolution_instance or "",
                gateway=unit.gateway,
                state=state["state"],
                error=state["error"],
                checked_at=state["checked_at"],
            )
        )
    return rows


def simulator_transcript(
    *, unit: Unit, phone: str, after_id: int = 0, limit: int = 200
) -> list[dict[str, Any]]:
    """Messages of the simulated parent's conversations with `unit`, oldest first, after an id
    (a simulator contact's only: the page never shows a real family's messages)."""

    rows = (
        Message.objects.filter(
            unit=unit,
            conversation__contact__phone=normalize_phone(phone),
            conversation__contact__simulated=True,
            pk__gt=after_id,
        )
        .order_by("pk")
        .values("pk", "direction", "sender", "body", "status", "created_at")[:limit]
    )
    return [
        {
            "id": r["pk"],
            "direction": r["direction"],
            "sender": r["sender"],
            "body": r["body"],
            "status": r["status"],
            "created_at": r["created_at"].isoformat(),
        }
        for r in rows
    ]


def simulator_conversation(*, unit: Unit, phone: str) -> tuple[int | None, bool]:
    """The simulated parent's open conversation with `unit` and whether the bot is "typing": a
    turn is pending (the debounce runs, `reply_due_at`) or being computed (`turn_lease_until`)."""

    row = (
        Conversation.objects.filter(unit=unit, contact__phone=normalize_phone(phone), contact__simulated=True)
        .exclude(mode=Conversation.Mode.CLOSED)
        .values("pk", "mode", "reply_due_at", "turn_lease_until")
        .first()
    )
    if row is None:
        return None, False
    leased = row["turn_lease_until"] is not None and row["turn_lease_until"] > timezone.now()
    return row["pk"], row["mode"] != Conversation.Mode.HUMAN and (row["reply_due_at"] is not None or leased)
