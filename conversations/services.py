"""Writes of the conversations app: ingest, delivery status, outbound queue, take-over.

The channel (whatsapp) calls these; they never call a network API. Anything asynchronous is
enqueued after commit, by task name, so nothing here imports the channel.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from conversations import followups, state
from conversations.inbound import InboundMessage, StatusUpdate
from conversations.models import Conversation, Message
from kumon.db import insert_unless_conflict
from kumon.exceptions import DomainError
from kumon.models import Contact, Unit
from kumon.phones import mask_phone
from kumon.queue import enqueue
from kumon.services import get_or_create_contact

logger = logging.getLogger(__name__)

RAW_LIMIT = 16_000  # characters of a raw payload kept for support
# Delivery status only moves forward: an out-of-order "delivered" never undoes "read".
STATUS_RANK: dict[str, int] = {
    Message.Status.QUEUED: 0,
    Message.Status.SENDING: 1,
    Message.Status.SENT: 2,
    Message.Status.DELIVERED: 3,
    Message.Status.READ: 4,
}


def _bounded_raw(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    text = json.dumps(raw, ensure_ascii=False, default=str)
    return raw if len(text) <= RAW_LIMIT else {"truncated": text[:RAW_LIMIT]}


def _from_provider(message: InboundMessage, *, conversation: Conversation, **fields: Any) -> Message:
    """The (unsaved) row of a message the provider delivered, a parent's or staff's."""
    return Message(
        unit_id=conversation.unit_id,
        conversation=conversation,
        kind=message.kind,
        body=message.text,
        provider_id=message.provider_id,
        raw=_bounded_raw(message.raw),
        **fields,
    )


def _inbound_meta(message: InboundMessage) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if message.media:
        meta["media"] = message.media
    if message.clock is not None:
        meta["clock"] = message.clock.isoformat()
    return meta


def open_conversation(*, contact: Contact) -> Conversation:
    """The contact's open conversation, or a new one. Race-safe (one open per contact)."""
    conversation = Conversation.objects.filter(contact=contact).exclude(mode=Conversation.Mode.CLOSED).first()
    if conversation is not None:
        return conversation
    try:
        with transaction.atomic():
            # The family's lead is read from the contact until the first turn writes its own state.
            return Conversation.objects.create(unit_id=contact.unit_id, contact=contact, data={})
    except IntegrityError:
        return Conversation.objects.exclude(mode=Conversation.Mode.CLOSED).get(contact=contact)


def _lock_open_conversation(contact: Contact) -> Conversation:
    """The contact's open conversation, locked (FOR UPDATE) for this transaction."""
    conversation = (
        Conversation.objects.select_for_update()
        .filter(contact=contact)
        .exclude(mode=Conversation.Mode.CLOSED)
        .first()
    )
    if conversation is None:
        conversation = open_conversation(contact=contact)
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    return conversation


def _make_real(contact: Contact, *, name: str = "", now: dt.datetime) -> None:
    """A real message from a number the simulator played: from now on it is that family's. The
    simulator's conversations are closed and what it made up about the family (name, lead) is
    forgotten, so the family starts afresh and every reply goes through the unit's gateway."""
    Conversation.objects.filter(contact=contact).exclude(mode=Conversation.Mode.CLOSED).update(
        mode=Conversation.Mode.CLOSED,
        closed_at=now,
        reply_due_at=None,
        turn_started_at=None,
        turn_lease_until=None,
    )
    contact.simulated, contact.name, contact.data = False, name[:120], {}
    contact.save(update_fields=["simulated", "name", "data", "updated_at"])
    logger.info("simulator contact %s became a real family's contact", contact.pk)


def _debounce_due(conversation: Conversation, now: dt.datetime) -> dt.datetime:
    """When the turn is answered: `debounce` after the last message, but never later than
    `max window` after the first unanswered one (a parent typing for a minute still gets an
    answer)."""
    debounce = dt.timedelta(seconds=settings.CONVERSATION_DEBOUNCE_SECONDS)
    window = dt.timedelta(seconds=settings.CONVERSATION_DEBOUNCE_MAX_SECONDS)
    due = now + debounce
    if conversation.reply_due_at and conversation.turn_started_at:
        due = min(due, conversation.turn_started_at + window)
    return due


def record_inbound(
    *, unit: Unit, message: InboundMessage, now: dt.datetime | None = None, savepoint: bool = True
) -> Message | None:
    """Store one inbound message; None if this provider id was already stored (duplicate).

    `now`: when the parent sent it (the inbound worker passes the provider's timestamp, so the
    debounce does not grow with the queue's delay); the real clock by default.
    `savepoint=False`: inside a caller's transaction that is rolled back on any error (the
    inbound worker, whatsapp.ingest), no savepoint is needed: two round trips less.

    One transaction: contact, open conversation, message. Side effects after commit: the
    turn is scheduled (`conversations.handle_turn`) for parent messages in bot mode; a staff
    message typed on the unit's phone (from_me) puts the conversation with staff.
    """
    now = now or timezone.now()
    if message.from_me:
        return record_staff_message(unit=unit, message=message, now=now)
    # The inbound worker's path (whatsapp.ingest), in round trips: contact, conversation FOR
    # UPDATE, INSERT message … ON CONFLICT, UPDATE conversation (4); a new family: contact,
    # INSERT contact, INSERT conversation, INSERT message, UPDATE (5); BEGIN/COMMIT or a
    # savepoint around them unless the caller's transaction holds them (savepoint=False).
    with transaction.atomic(savepoint=savepoint):
        contact, created = get_or_create_contact(
            unit=unit, phone=message.phone, name=message.push_name, simulated=message.simulated
        )
        if contact.simulated and not message.simulated:
            _make_real(contact, name=message.push_name, now=now)
            created = True  # a conversation of its own, not the simulator's
        if created:
            # Nobody else can see this contact until we commit: no lock, no savepoint needed.
            conversation = Conversation.objects.create(unit_id=unit.pk, contact=contact, data={})
        else:
            conversation = _lock_open_conversation(contact)
        stored = _from_provider(
            message,
            conversation=conversation,
            direction=Message.Direction.IN,
            sender=Message.Sender.PARENT,
            status=Message.Status.RECEIVED,
            meta=_inbound_meta(message),
        )
        if not insert_unless_conflict(
            stored, conflict="(unit_id, provider_id) WHERE provider_id IS NOT NULL"
        ):
            logger.info("duplicate inbound %s ignored", message.provider_id)
            return None
        conversation.last_inbound_at = now
        conversation.last_activity_at = now
        if conversation.mode == Conversation.Mode.BOT or (
            conversation.mode == Conversation.Mode.HUMAN
            and conversation.assigned_to_id is None
            and not contact.is_unit_staff
        ):
            # With staff, the parent's messages wait for them; a family still waiting for someone
            # gets a turn too, which may only tell them the team knows (turns._waiting_notice).
            due = _debounce_due(conversation, now)
            if not conversation.reply_due_at:
                conversation.turn_started_at = now
            conversation.reply_due_at = due
            # `now` may be in the past (the provider's timestamp): the countdown runs on the real
            # clock, and never longer than the window (a caller's made-up `now`: the due-turns
            # sweeper, the durable half of the debounce, answers the turn when it is due).
            wait = min((due - timezone.now()).total_seconds(), settings.CONVERSATION_DEBOUNCE_MAX_SECONDS)
            enqueue("conversations.handle_turn", conversation_id=conversation.pk, countdown=max(0.0, wait))
        conversation.save(
            update_fields=["reply_due_at", "turn_started_at", "last_inbound_at", "last_activity_at"]
        )
    logger.info("inbound %s from %s stored as message %s", message.kind, mask_phone(contact.phone), stored.pk)
    return stored


def answer_turn_now(*, conversation_id: int, now: dt.datetime | None = None) -> bool:
    """The parent is known to have finished the burst (`manage.py chat`): answer the pending turn
    now instead of after the debounce. Returns whether a turn was brought forward.

    Side effects: `conversations.handle_turn` enqueued after commit."""
    now = now or timezone.now()
    with transaction.atomic():
        moved = Conversation.objects.filter(
            pk=conversation_id,
            mode__in=[Conversation.Mode.BOT, Conversation.Mode.HUMAN],
            reply_due_at__gt=now,
        ).update(reply_due_at=now)
        if moved:
            enqueue("conversations.handle_turn", conversation_id=conversation_id)
    return bool(moved)


def record_staff_message(
    *, unit: Unit, message: InboundMessage, now: dt.datetime | None = None
) -> Message | None:
    """A message typed by staff on the unit's own phone (Evolution `fromMe`).

    Our own sent messages come back as fromMe upserts too: when the provider id is one of ours,
    it is an echo and nothing happens (None). Otherwise the message is stored as staff and the
    conversation is taken over: the bot stops talking to this family.
    """
    now = now or timezone.now()
    if Message.objects.filter(unit=unit, provider_id=message.provider_id).exists():
        return None  # our echo, or a duplicate delivery
    with transaction.atomic():
        contact, _ = get_or_create_contact(unit=unit, phone=message.phone)
        if contact.simulated:  # staff wrote to this number from the unit's real phone
            _make_real(contact, now=now)
        conversation = open_conversation(contact=contact)
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        try:
            with transaction.atomic():
                stored = _from_provider(
                    message,
                    conversation=conversation,
                    direction=Message.Direction.OUT,
                    sender=Message.Sender.STAFF,
                    status=Message.Status.SENT,
                    sent_at=message.sent_at or now,
                    meta={"typed_on_phone": True},
                )
                stored.save(force_insert=True)
        except IntegrityError:
            return None
        take_over(conversation=conversation, user=None, now=now, reason="staff_phone")
    return stored


def take_over(
    *, conversation: Conversation, user: Any | None, now: dt.datetime | None = None, reason: str = "staff"
) -> Conversation:
    """Staff take the conversation: the bot is silent from now on, even for a turn being
    computed right now (the turn re-checks the mode under the row lock before storing replies).

    Side effects: pending parent messages stay for staff to read; no bot reply is queued.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.mode != Conversation.Mode.HUMAN:
            # A new hand-off: its clock starts now (staff response time is measured from it).
            locked.handoff_at = now
            locked.handoff_reason = reason
        locked.mode = Conversation.Mode.HUMAN
        # Staff talk to the family now (admin or their phone): no follow-up from the bot.
        followups.cancel_pending(conversation_id=locked.pk, reason=followups.WITH_STAFF, now=now)
        locked.assigned_to = user if user is not None else locked.assigned_to
        locked.reply_due_at = None
        locked.turn_started_at = None
        locked.last_activity_at = now
        locked.save(
            update_fields=[
                "mode",
                "assigned_to",
                "handoff_at",
                "handoff_reason",
                "reply_due_at",
                "turn_started_at",
                "last_activity_at",
            ]
        )
    return locked


def queue_outbound(
    *,
    body: str,
    conversation: Conversation | None = None,
    contact: Contact | None = None,
    sender: str = Message.Sender.BOT,
    in_reply_to: Message | None = None,
    seq: int = 0,
    meta: dict[str, Any] | None = None,
    staff_user: Any | None = None,
    now: dt.datetime | None = None,
    touch: bool = True,
    enqueue_send: bool = True,
) -> Message:
    """Store an outbound message as `queued` and enqueue `whatsapp.send_message` after commit
    (unless `enqueue_send` is False: a later part of a reply, sent after the earlier ones by the
    same task, in order).

    Either `conversation` or `contact` (its open conversation is used, or a new one). Opted-out
    contacts get nothing: the message is stored as `skipped` with the reason, never sent.
    """
    now = now or timezone.now()
    # No savepoint: inside a caller's transaction (a turn's replies) an error rolls the caller
    # back anyway; two round trips less per reply part.
    with transaction.atomic(savepoint=False):
        if conversation is None:
            if contact is None:
                raise ValueError("queue_outbound needs a conversation or a contact")
            conversation = open_conversation(contact=contact)
        contact = conversation.contact
        opted_out = contact.opted_out_at is not None and not (meta or {}).get("opt_out_confirmation")
        message = Message.objects.create(
            unit_id=conversation.unit_id,
            conversation=conversation,
            direction=Message.Direction.OUT,
            sender=sender,
            body=body,
            status=Message.Status.SKIPPED if opted_out else Message.Status.QUEUED,
            last_error="contact opted out" if opted_out else "",
            in_reply_to=in_reply_to,
            seq=seq,
            meta=meta or {},
            staff_user=staff_user,
        )
        if touch:
            Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now)
        if not opted_out and enqueue_send:
            enqueue("whatsapp.send_message", message_id=message.pk)
    return message


def update_delivery_status(*, unit: Unit, update: StatusUpdate) -> bool:
    """Apply a delivery receipt to our outbound message. Never moves a status backwards;
    `failed` is recorded unless the message was already delivered or read. Returns whether
    anything changed.

    One UPDATE (the webhook's request runs it): the filter on the current status makes the move
    atomic and monotonic under concurrent and out-of-order receipts."""
    ours = Message.objects.filter(unit=unit, provider_id=update.provider_id, direction=Message.Direction.OUT)
    if update.status == Message.Status.FAILED:
        changed = ours.filter(
            status__in=[Message.Status.QUEUED, Message.Status.SENDING, Message.Status.SENT]
        ).update(status=Message.Status.FAILED, last_error=update.error[:500])
        return bool(changed)
    rank = STATUS_RANK.get(update.status)
    if rank is None:
        return False
    at = update.at or timezone.now()
    lower = [s for s, r in STATUS_RANK.items() if r < rank]
    fields: dict[str, Any] = {"status": update.status}
    if update.status == Message.Status.DELIVERED:
        fields["delivered_at"] = at
    elif update.status == Message.Status.READ:
        fields["read_at"] = at
    elif update.status == Message.Status.SENT:
        fields["sent_at"] = Coalesce(F("sent_at"), Value(at))
    return bool(ours.filter(status__in=lower).update(**fields))


def expire_idle_conversations(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Close bot conversations idle longer than CONVERSATION_EXPIRY_HOURS. The lead data stays
    on the contact (copied there at every turn), so a returning parent is not asked again;
    their next message opens a new conversation. Conversations with staff are left alone.
    Returns how many were closed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.CONVERSATION_EXPIRY_HOURS)
    ids = list(
        Conversation.objects.filter(
            mode=Conversation.Mode.BOT, last_activity_at__lt=cutoff, reply_due_at__isnull=True
        )
        # A follow-up still to come keeps the conversation (and its offer) open until it is sent.
        .exclude(followups__status__in=["pending", "sending"])
        .values_list("pk", flat=True)[:limit]
    )
    return Conversation.objects.filter(
        pk__in=ids, mode=Conversation.Mode.BOT, reply_due_at__isnull=True
    ).update(mode=Conversation.Mode.CLOSED, closed_at=now)


def hand_back(
    *, conversation: Conversation, user: Any | None = None, note: str = "", now: dt.datetime | None = None
) -> Conversation:
    """Give the conversation back to the bot. The next parent message is answered by it.

    Side effects: the optional note is kept in the conversation's state (`Flow.staff_note`) for
    the bot's context; messages that arrived while staff had it are not answered by the bot;
    the hand-off stays recorded (handoff_at) for the reports.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.mode == Conversation.Mode.CLOSED:
            return locked
        Message.objects.filter(
            conversation=locked, direction=Message.Direction.IN, status=Message.Status.RECEIVED
        ).update(status=Message.Status.HANDLED, handled_at=now)
        # handoff_at/handoff_reason stay: the reports count this conversation as handed off.
        locked.mode = Conversation.Mode.BOT
        locked.assigned_to = None
        locked.reply_due_at = None
        locked.turn_started_at = None
        locked.data = state.handed_back(locked.data or {"lead": locked.contact.data or {}}, note=note)
        locked.last_activity_at = now
        locked.save()
    return locked


def send_staff_reply(
    *, conversation: Conversation, user: Any, body: str, now: dt.datetime | None = None
) -> Message:
    """Staff answer from the admin: sent through the unit's gateway, recorded as staff.

    Side effects: the conversation is (or stays) with staff, assigned to this user — replying
    is taking over, so the bot never talks over a person.
    """
    now = now or timezone.now()
    body = body.strip()
    if not body:
        raise DomainError(gettext("Empty message."))
    with transaction.atomic():
        locked = take_over(conversation=conversation, user=user, now=now, reason="staff")
        if locked.assigned_to_id is None:
            Conversation.objects.filter(pk=locked.pk).update(assigned_to=user)
        return queue_outbound(
            conversation=locked, body=body, sender=Message.Sender.STAFF, staff_user=user, now=now
        )
