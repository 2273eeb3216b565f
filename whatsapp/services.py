"""Writes of the channel: send one outbound message, sweep stuck ones, and the simulator's
ingest (webhook events: whatsapp/ingest.py).

Conversations owns the rows (contacts, conversations, messages); these functions call its
services for every inbound write and own only the send state machine of outbound messages:

    queued ──claim──► sending ──201──► sent ──receipts──► delivered/read
       ▲                 │ transient (attempts left): back to queued, retried with backoff
       └─────────────────┤ transient (last attempt) / permanent: failed, with the reason
                         │ meta gateway outside the 24 h window, no template: skipped
                         ├ claim expired before the provider was called: back to queued
                         └ claim expired during the provider call: failed, "outcome unknown"

Double-send policy: at most once, and nothing lost that certainly was not sent. A claim is one
atomic UPDATE queued→sending (with the lease `claimed_until`); only the worker that made it may
call the provider, and it marks the row `in_flight` just before the call. A worker that died
before that point certainly sent nothing: the sweeper puts the message back in the queue. One
that died during the call (between the request and our UPDATE) leaves an unknowable outcome
(neither Evolution nor Meta accepts an idempotency key): that message is marked failed with
"outcome unknown" for staff to check, rather than risking a second copy to a parent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from conversations import followups, state
from conversations import services as conversation_services
from conversations.inbound import InboundMessage
from conversations.models import Message
from conversations.signals import send_failed
from kumon import queue
from kumon.models import Unit
from kumon.phones import mask_phone
from whatsapp import pacing
from whatsapp.exceptions import PermanentError, TransientError
from whatsapp.gateways import SIMULATOR, Provider, provider_for

logger = logging.getLogger(__name__)

SIMULATOR_PREFIX = "sim-"
SENDER = "whatsapp"  # the sender of the signals this module sends
# Longer than the send task's hard time limit: a live claim is never taken for a lost one.
CLAIM_SECONDS = 150
OUTSIDE_WINDOW = "outside the 24h window"


# ---------------------------------------------------------------------------------------------
# Inbound


def simulate_inbound(*, unit: Unit, phone: str, text: str, name: str = "") -> Message | None:
    """The simulator's "webhook": the same recording as WhatsApp's (record_inbound, which the
    inbound worker calls for webhook events) with a synthetic provider id, on a simulator
    contact of its own (raises kumon.exceptions.RealFamilyPhone for a real family's number).
    Recorded at once, without an InboundEvent: there is no provider to deduplicate and no
    request to keep fast, and the page shows the message (its id is the answer) and the
    RealFamilyPhone refusal at once. Replies to a simulator contact always go through the
    console gateway."""
    message = InboundMessage(
        phone=phone,
        provider_id=f"{SIMULATOR_PREFIX}{uuid.uuid4().hex}",
        text=text,
        push_name=name,
        sent_at=timezone.now(),
        raw={"simulator": True},
        simulated=True,
    )
    return conversation_services.record_inbound(unit=unit, message=message)


# ---------------------------------------------------------------------------------------------
# Outbound


@dataclass(frozen=True)
class SendOutcome:
    status: str  # sent | retry | failed | skipped | not_claimed
    retry_in: float | None = None
    reason: str = ""


def _meta_merge(values: dict[str, Any]) -> RawSQL:
    # One UPDATE keeps the claim atomic: the JSON merge happens in the same statement.
    return RawSQL("meta || %s::jsonb", (json.dumps(values),))


def _moment(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with ±25 % jitter: base·2^(attempt-1), capped."""
    base = settings.WHATSAPP_SEND_RETRY_BASE_SECONDS * (2 ** max(0, attempt - 1))
    return min(base, settings.WHATSAPP_SEND_RETRY_MAX_SECONDS) * random.uniform(0.75, 1.25)


def split_bubbles(text: str, limit: int) -> list[str]:
    """Long replies as WhatsApp-sized bubbles, cut at a paragraph, line, sentence or word."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), -1)
        for sep in ("\n", ". ", "! ", "? ", " "):
            if cut > limit // 2:
                break
            cut = max(cut, window.rfind(sep) + (len(sep) - 1 if sep != "\n" else 0))
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].strip())
        text = text[cut:].strip()
    if text or not parts:
        parts.append(text)
    return [p for p in parts if p] or [""]


def _provider(message: Message) -> Provider:
    # A simulator contact must never reach a real phone, whatever the unit's gateway. The flag is
    # the contact's, not "a simulator message somewhere in the conversation": one simulator
    # message used to reroute a real family's replies (issue #11 M4).
    provider = provider_for(message.unit)
    if provider.reaches_phones and message.conversation.contact.simulated:
        return SIMULATOR
    return provider


def _finish(message_id: int, status: str, reason: str) -> SendOutcome:
    finished = Message.objects.filter(pk=message_id, status=Message.Status.SENDING).update(
        status=status, last_error=reason[:500]
    )
    logger.warning("message %s %s: %s", message_id, status, reason)
    if finished:
        # What the message was for (a reminder, a follow-up) is for the receivers to know.
        failed = Message.objects.only("meta").filter(pk=message_id).first()
        send_failed.send(
            sender=SENDER,
            message_id=message_id,
            status=status,
            reason=reason,
            kind=failed.purpose if failed else "",
        )
    return SendOutcome(status, reason=reason)


PROACTIVE_KINDS = frozenset({"reminder", "no_show", "followup"})


def is_proactive(message: Message) -> bool:
    """A message the receptionist starts (not an answer to the family's turn)."""
    return bool((message.meta or {}).get("proactive")) or message.purpose in PROACTIVE_KINDS


def _template_for(message: Message, *, contact: Any, ours: bool) -> tuple[str, str, list[str]]:
    """The approved template (name, language, body parameters) a message outside Meta's window
    goes as: the unit's proactive template (admin: proactive messages) for what we start, else
    the unit's reminder template with the text as its one parameter; ("", …) = none."""
    unit = message.unit
    if ours:
        options = followups.options_for(unit)
        if options.template_name:
            lead = state.lead_of(message.conversation)
            values = {
                "parent_name": (lead.parent_name or contact.name or "").split(" ")[0] or "família",
                "child_name": lead.first_child.name or "",
                "unit": unit.name,
                "text": message.body,
            }
            parameters = [_fill(p, values) for p in options.template_parameters]
            return options.template_name, options.template_language, parameters
    return unit.meta_reminder_template, "", [message.body]


def _fill(pattern: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        pattern = pattern.replace("{" + key + "}", value)
    return pattern


def _paced(message: Message, *, key: str) -> SendOutcome | None:
    """Space proactive sends of one number: the first attempt reserves a moment; if it is still
    ahead, the row goes back to `queued` with `retry_at` then (the attempt is not counted)."""
    epoch = time.time()
    at = message.meta.get("paced_at")
    if at is None:
        at = pacing.reserve(key=key, now=epoch)
        Message.objects.filter(pk=message.pk).update(meta=_meta_merge({"paced_at": at}))
    if at <= epoch + 0.05:
        return None
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
        status=Message.Status.QUEUED, attempts=F("attempts") - 1, retry_at=_moment(at)
    )
    return SendOutcome("retry", retry_in=at - epoch, reason="paced")


def send_message(*, message_id: int, now: dt.datetime | None = None) -> SendOutcome:
    """Deliver one queued outbound message through its unit's gateway.

    Side effects: the message row moves queued → sending → sent (provider_id, sent_at), or back
    to queued with `retry_at` for a transient error with attempts left, or to failed/skipped
    with `last_error`. Never sends a message that this call did not claim.
    """
    now = now or timezone.now()
    claimed = Message.objects.filter(
        pk=message_id, direction=Message.Direction.OUT, status=Message.Status.QUEUED
    ).update(
        status=Message.Status.SENDING,
        attempts=F("attempts") + 1,
        claimed_until=timezone.now() + dt.timedelta(seconds=CLAIM_SECONDS),
    )
    if claimed != 1:
        return SendOutcome("not_claimed")  # gone, already sent, or another worker has it
    message = Message.objects.select_related("unit", "conversation__contact").get(pk=message_id)
    unit: Unit = message.unit
    contact = message.conversation.contact
    ours = is_proactive(message)
    if ours and contact.opted_out_at is not None and not message.confirms_opt_out:
        # Checked again at send time: the family may have opted out after it was queued.
        return _finish(message_id, Message.Status.SKIPPED, "contact opted out")
    try:
        provider = _provider(message)
        gateway = provider.gateway()
        template, language, parameters = "", "", [message.body]
        if provider.service_window is not None:
            last_inbound = message.conversation.last_inbound_at
            if last_inbound is None or now - last_inbound > provider.service_window:
                if provider.supports_templates:
                    template, language, parameters = _template_for(message, contact=contact, ours=ours)
                if not template:
                    return _finish(message_id, Message.Status.SKIPPED, OUTSIDE_WINDOW)
        if ours and provider.paced and not message.meta.get("part_ids"):
            wait = _paced(message, key=unit.evolution_instance or unit.slug)
            if wait is not None:
                return wait
        part_ids: list[str] = list(message.meta.get("part_ids") or [])
        # From here on a lost worker leaves an unknown outcome (see the module docstring).
        Message.objects.filter(pk=message_id).update(in_flight=True)
        if template:
            sent = gateway.send_template(
                unit=unit, to=contact.phone, template=template, parameters=parameters, language=language
            )
            part_ids = [sent.provider_id]
        else:
            parts = split_bubbles(message.body, settings.WHATSAPP_BUBBLE_CHARS)
            sent = None
            for part in parts[len(part_ids) :]:
                sent = gateway.send_text(unit=unit, to=contact.phone, text=part)
                part_ids.append(sent.provider_id)
                if len(parts) > 1:
                    # Progress of a split reply: a retry resumes after the last bubble sent.
                    Message.objects.filter(pk=message_id).update(meta=_meta_merge({"part_ids": part_ids}))
    except TransientError as exc:
        if message.attempts >= settings.WHATSAPP_SEND_MAX_ATTEMPTS:
            return _finish(
                message_id, Message.Status.FAILED, f"gave up after {message.attempts} attempts: {exc.reason}"
            )
        delay = backoff_seconds(message.attempts)
        Message.objects.filter(pk=message_id, status=Message.Status.SENDING).update(
            status=Message.Status.QUEUED,
            last_error=exc.reason[:500],
            retry_at=timezone.now() + dt.timedelta(seconds=delay),
            in_flight=False,
        )
        logger.info("message %s: %s; retry %s in %.1fs", message_id, exc.reason, message.attempts, delay)
        return SendOutcome("retry", retry_in=delay, reason=exc.reason)
    except PermanentError as exc:
        return _finish(message_id, Message.Status.FAILED, exc.reason)
    Message.objects.filter(pk=message_id, status=Message.Status.SENDING).update(
        status=Message.Status.SENT,
        provider_id=part_ids[-1] if part_ids else None,
        sent_at=now,
        last_error="",
        in_flight=False,
        meta=_meta_merge(
            {"part_ids": part_ids, "gateway": gateway.name, **({"template": template} if template else {})}
        ),
    )
    logger.info("message %s sent to %s via %s", message_id, mask_phone(contact.phone), gateway.name)
    return SendOutcome("sent")


def next_part(*, message_id: int) -> int | None:
    """The next part of the same reply still to send, once this part is settled (sent, failed or
    skipped); None when there is none or this part is not settled (its sender continues).
    One query: `this` yields no row (so NULL below) unless the part is settled."""
    this = Message.objects.filter(
        pk=message_id, direction=Message.Direction.OUT, status__in=Message.SETTLED, in_reply_to__isnull=False
    )
    return (
        Message.objects.filter(
            direction=Message.Direction.OUT,
            in_reply_to_id=Subquery(this.values("in_reply_to_id")),
            seq__gt=Subquery(this.values("seq")),
            status=Message.Status.QUEUED,
        )
        .order_by("seq")
        .values_list("pk", flat=True)
        .first()
    )


@dataclass(frozen=True)
class ReplyProgress:
    """How far send_reply got: the status of the message it was given (sent, failed, skipped,
    not_claimed; "" if that one must wait), and the part still to send, if any, with the
    backoff its send chose or the database error that stopped it."""

    status: str
    pending: int | None = None
    retry_in: float | None = None
    error: OperationalError | None = None


def send_reply(*, message_id: int) -> ReplyProgress:
    """Deliver one outbound message, then the later parts of the same reply, in order; stop at
    the first part that must wait (a transient error, pacing) or that the database refused (a
    deadlock, a dropped connection: returned, not raised, so the caller can retry that part;
    a claim left behind is repaired by the sweeper).

    Side effects: those of send_message, for each part sent.
    """
    current: int | None = message_id
    status = ""
    while current is not None:
        try:
            outcome = send_message(message_id=current)
        except OperationalError as exc:
            return ReplyProgress(status, pending=current, error=exc)
        if outcome.status == "retry":
            return ReplyProgress(status, pending=current, retry_in=outcome.retry_in)
        status = status or outcome.status
        current = next_part(message_id=current)
    return ReplyProgress(status)


@dataclass
class SweepResult:
    requeued: int = 0
    reclaimed: int = 0
    abandoned: int = 0


def sweep_stuck_messages(*, now: dt.datetime | None = None) -> SweepResult:
    """Beat: re-enqueue outbound messages still queued a while after they were due (a lost
    publish: broker down, worker crash before ack), and fail the claims of lost workers.

    Side effects: tasks published (errors swallowed: the next sweep tries again); expired
    `sending` rows → failed with "outcome unknown" (see the module's double-send policy).
    """
    now = now or timezone.now()
    after = settings.WHATSAPP_SWEEP_AFTER_SECONDS
    wall = timezone.now()  # leases and retry times are wall-clock moments, whatever `now` says
    result = SweepResult()
    # Both scans below read the partial indexes of conversations.Message (msg_claim_expiry_idx,
    # msg_retry_due_idx).
    expired = Message.objects.filter(
        direction=Message.Direction.OUT, status=Message.Status.SENDING, claimed_until__lt=wall
    )
    result.abandoned = expired.filter(in_flight=True).update(
        status=Message.Status.FAILED,
        last_error="send interrupted, outcome unknown: not re-sent to avoid a duplicate",
    )
    # What is left was lost before calling the provider: nothing went out, queue it again.
    result.reclaimed = expired.update(status=Message.Status.QUEUED)
    ids = list(
        Message.objects.filter(
            direction=Message.Direction.OUT,
            status=Message.Status.QUEUED,
            created_at__lte=now - dt.timedelta(seconds=after),
        )
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=wall - dt.timedelta(seconds=after)))
        # A later part of a reply waits for the earlier ones (their sender sends it next).
        .exclude(
            Exists(
                Message.objects.filter(
                    direction=Message.Direction.OUT,
                    in_reply_to_id=OuterRef("in_reply_to_id"),
                    seq__lt=OuterRef("seq"),
                    status__in=[Message.Status.QUEUED, Message.Status.SENDING],
                )
            )
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
    for message_id in ids:
        if not queue.publish("whatsapp.send_message", message_id=message_id):
            break  # broker still down: stop, the next sweep retries
        result.requeued += 1
    if result.requeued or result.abandoned:
        logger.info("sweeper: %s re-enqueued, %s abandoned claims", result.requeued, result.abandoned)
    return result
