"""Inbound webhook events (issue #16): the webhook stores them, the worker records them.

The request's whole database cost is one statement: an INSERT … ON CONFLICT DO NOTHING of its
inbound messages as `InboundEvent` rows, keyed by (unit, provider id) — the duplicate check —
and then one publish of `whatsapp.record_events`. The worker turns the events into contact,
conversation, message and due turn through conversations.services.record_inbound, the one
writer of those rows:

    webhook ──INSERT──► pending ──record_events──► done       (message stored, turn scheduled)
                           │  ▲                    └─► failed (a permanent error, with the reason)
                           │  └── sweep_inbound_events: pending past WHATSAPP_SWEEP_AFTER_SECONDS
                           │      (a lost publish, a killed worker): published again
                           └── broker refused the publish: the request records them itself (as
                               before issue #16), so an outage costs latency, not messages

Order per contact: a task records every pending event of the contact (unit, phone), oldest
provider timestamp first, in one transaction that holds their row locks; a second worker on the
same contact waits for those locks and then finds them done, so concurrent workers cannot
reorder a family's messages. Idempotent: only `pending` rows are recorded, and a message's
provider id is unique anyway.

Delivery receipts do not go through events: they stay one conditional UPDATE in the request
(conversations.services.update_delivery_status). Several receipts share one provider id (sent,
delivered, read), so they do not fit the (unit, provider id) key; they need no contact, no order
and no debounce, and the UPDATE is already idempotent and monotonic.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from conversations import services as conversation_services
from conversations.inbound import InboundMessage, StatusUpdate
from conversations.models import Message
from kumon import queue
from kumon.models import Unit
from whatsapp import selectors
from whatsapp.events import ConnectionChange, Event, Ignored
from whatsapp.models import InboundEvent

logger = logging.getLogger(__name__)

RECORD_TASK = "whatsapp.record_events"
# Done events are deleted after this (their messages keep the provider ids, which the INSERT
# checks too, so a very late redelivery is still a duplicate).
KEEP_DONE = dt.timedelta(days=2)
PURGE_BATCH = 1000

# One statement. A provider id already stored as an event, or as a message (our own sends come
# back as fromMe echoes carrying the id we recorded when sending them), inserts nothing. The ids
# follow the batch's order (`ORDER BY n`: the anti-join may reorder rows).
_INSERT = (
    f"INSERT INTO {InboundEvent._meta.db_table} (unit_id, provider_id, phone, sent_at, payload) "
    "SELECT v.unit_id, v.provider_id, v.phone, v.sent_at, v.payload FROM (VALUES {rows}) "
    "AS v (n, unit_id, provider_id, phone, sent_at, payload) "
    f"WHERE NOT EXISTS (SELECT 1 FROM {Message._meta.db_table} m "
    "WHERE m.unit_id = v.unit_id AND m.provider_id = v.provider_id) "
    "ORDER BY v.n ON CONFLICT (unit_id, provider_id) DO NOTHING RETURNING id"
)
_ROW = "(%s::int, %s::bigint, %s::varchar, %s::varchar, coalesce(%s::timestamptz, now()), %s::jsonb)"
# InboundMessage's fields kept in the payload (the others are columns).
_COLUMNS = frozenset({"phone", "provider_id", "sent_at"})


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    ignored: int = 0


def ingest_events(*, unit: Unit, events: list[Event]) -> IngestResult:
    """Apply parsed webhook events of one unit: what the webhook's request does.

    Side effects: the inbound messages stored as pending InboundEvent rows in one INSERT (a
    provider id already stored is a duplicate) and `whatsapp.record_events` published for them
    (with the broker down they are recorded here instead); delivery statuses moved forward;
    connection states cached.
    """
    result = IngestResult()
    inbound: list[InboundMessage] = []
    for event in events:
        if isinstance(event, InboundMessage):
            inbound.append(event)
        elif isinstance(event, StatusUpdate):
            conversation_services.update_delivery_status(unit=unit, update=event)
            result.statuses += 1
        elif isinstance(event, ConnectionChange):
            selectors.remember_connection_state(instance=event.instance, state=event.state)
            logger.info("instance %s of %s is %s (%s)", event.instance, unit.slug, event.state, event.reason)
            result.ignored += 1
        else:
            assert isinstance(event, Ignored)
            logger.info("webhook event for %s ignored: %s", unit.slug, event.reason)
            result.ignored += 1
    if inbound:
        ids = store_events(unit=unit, messages=inbound)
        result.stored = len(ids)
        result.duplicates = len(inbound) - len(ids)
        if ids:
            # Ids, never phone numbers, in a task's arguments: Celery logs them.
            queue.enqueue(RECORD_TASK, event_ids=ids, if_refused=lambda: _record_here(ids))
    return result


def _payload(message: InboundMessage) -> str:
    data: dict[str, Any] = {
        name: getattr(message, name) for name in message.__dataclass_fields__ if name not in _COLUMNS
    }
    if message.clock is not None:
        data["clock"] = message.clock.isoformat()
    return json.dumps(data)


def message_of(event: InboundEvent) -> InboundMessage:
    """The InboundMessage the webhook parsed, as stored in the event."""
    data = dict(event.payload)
    if data.get("clock"):
        data["clock"] = dt.datetime.fromisoformat(data["clock"])
    return InboundMessage(phone=event.phone, provider_id=event.provider_id, sent_at=event.sent_at, **data)


def store_events(*, unit: Unit, messages: list[InboundMessage]) -> list[int]:
    """One INSERT … ON CONFLICT DO NOTHING of the messages as pending events (outside a
    transaction: autocommit, no BEGIN/COMMIT around it). Returns the ids inserted, in order;
    a duplicate gets none."""
    params: list[Any] = []
    for n, message in enumerate(messages):
        params += [n, unit.pk, message.provider_id, message.phone, message.sent_at, _payload(message)]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT.format(rows=", ".join([_ROW] * len(messages))), params)
        return [row[0] for row in cursor.fetchall()]


def _record_here(event_ids: list[int]) -> None:
    """The broker refused the publish: record the events in the request (the path of every
    webhook before issue #16). A database error leaves them pending for the sweeper; the
    webhook still answers 200 (the events are stored)."""
    logger.warning("inbound events %s not published: recorded in the request", event_ids[:5])
    try:
        record_events(event_ids=event_ids)
    except DatabaseError as exc:
        logger.warning("inbound events %s left to the sweeper: %s", event_ids[:5], type(exc).__name__)


def moment(event: InboundEvent) -> dt.datetime:
    """When the parent sent it, for the debounce and the conversation's clocks: the provider's
    timestamp, so a queue's delay does not delay the turn. Not when it is after we received it
    (clock skew), nor when it is older than the debounce's window (the phone was offline and
    delivers a backlog, or a replayed payload): then when we received it, or a backlog of old
    messages would be answered one by one."""
    window = dt.timedelta(seconds=settings.CONVERSATION_DEBOUNCE_MAX_SECONDS)
    if event.received_at - window <= event.sent_at <= event.received_at:
        return event.sent_at
    return event.received_at


def record_events(*, event_ids: list[int]) -> int:
    """Record the contacts of these events: each one's pending events, in order (see
    record_contact_events). Returns how many events were recorded (0: already done)."""
    contacts = (
        InboundEvent.objects.filter(pk__in=event_ids, status=InboundEvent.Status.PENDING)
        .order_by("unit_id", "phone")
        .values_list("unit_id", "phone")
        .distinct()
    )
    return sum(record_contact_events(unit_id=unit_id, phone=phone) for unit_id, phone in list(contacts))


def record_contact_events(*, unit_id: int, phone: str, only: int | None = None) -> int:
    """Turn the contact's pending events into messages, oldest provider timestamp first, in one
    transaction; mark them done. Returns how many were recorded.

    Idempotent and ordered: the rows are locked FOR UPDATE in one order by every worker, so a
    second worker (a redelivered task, the sweeper, the request's fallback) waits, then finds
    them done. Side effects: those of conversations.services.record_inbound (contact,
    conversation, message; the due turn enqueued after commit). A database hiccup is raised (the
    task retries; the sweeper repairs); any other error fails the event with the reason, and the
    contact's other events go on without it.
    """
    pending = InboundEvent.objects.filter(unit_id=unit_id, phone=phone, status=InboundEvent.Status.PENDING)
    if only is not None:
        pending = pending.filter(pk=only)
    try:
        with transaction.atomic():
            events = list(
                pending.select_for_update(of=("self",)).select_related("unit").order_by("sent_at", "id")
            )
            for event in events:
                conversation_services.record_inbound(
                    unit=event.unit, message=message_of(event), now=moment(event), savepoint=False
                )
            if events:
                InboundEvent.objects.filter(pk__in=[e.pk for e in events]).update(
                    status=InboundEvent.Status.DONE, processed_at=Now()
                )
            return len(events)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:  # noqa: BLE001 -- one bad event must not hold the contact's others forever
        if only is None:
            ids = list(pending.order_by("sent_at", "id").values_list("pk", flat=True))
            if len(ids) > 1:  # which one? each on its own
                return sum(record_contact_events(unit_id=unit_id, phone=phone, only=pk) for pk in ids)
        logger.exception("inbound event of unit %s failed", unit_id)
        pending.update(
            status=InboundEvent.Status.FAILED,
            attempts=F("attempts") + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:500],
        )
        return 0


@dataclass
class InboundSweep:
    published: int = 0  # events published again
    purged: int = 0  # done events deleted


def sweep_inbound_events(*, now: dt.datetime | None = None, limit: int = 500) -> InboundSweep:
    """Beat: publish again the events still pending WHATSAPP_SWEEP_AFTER_SECONDS after they
    were received (a lost publish, a worker killed before it acknowledged), each at most once
    per that interval (`swept_at`), so a backlog is not multiplied; delete done events older
    than KEEP_DONE.

    Side effects: `whatsapp.record_events` published per contact (the broker down: stop, the
    next sweep tries again); `swept_at` of those published; old done events deleted.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.WHATSAPP_SWEEP_AFTER_SECONDS)
    result = InboundSweep()
    rows = list(
        InboundEvent.objects.filter(status=InboundEvent.Status.PENDING, received_at__lte=stale)
        .filter(Q(swept_at__isnull=True) | Q(swept_at__lte=stale))
        .order_by("received_at")
        .values_list("pk", "unit_id", "phone")[:limit]
    )
    by_contact: dict[tuple[int, str], list[int]] = {}
    for pk, unit_id, phone in rows:
        by_contact.setdefault((unit_id, phone), []).append(pk)
    published: list[int] = []
    for ids in by_contact.values():
        if not queue.publish(RECORD_TASK, event_ids=ids):
            break  # broker down: the next sweep tries again
        published += ids
    if published:
        InboundEvent.objects.filter(pk__in=published).update(swept_at=now)
        logger.info(
            "inbound sweeper: %d events of %d contacts published again", len(published), len(by_contact)
        )
    result.published = len(published)
    old = InboundEvent.objects.filter(status=InboundEvent.Status.DONE, processed_at__lt=now - KEEP_DONE)
    result.purged, _ = InboundEvent.objects.filter(pk__in=old.values("pk")[:PURGE_BATCH]).delete()
    return result
