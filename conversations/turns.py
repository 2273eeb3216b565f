"""Answering a turn: claim it, let the engine compute without locks, store the replies only if
the turn is still current.

A turn is the run of parent messages still `received` in a conversation. Three phases:
1. claim (row lock, short): due? bot mode? take a lease so a second worker does not compute it too;
2. compute (no lock): the engine may call the LLM and search knowledge;
3. commit (row lock): if staff took over, or a newer message arrived, the computed answer is
   dropped (the newer turn answers everything); otherwise replies are stored in the same
   transaction that marks the messages handled. `(in_reply_to, seq)` is unique, so a re-run
   can never store a second answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from conversations import budget, engine, followups, state
from conversations.decisions.handoff import waiting_notice_due
from conversations.models import Conversation, Message
from conversations.services import queue_outbound
from conversations.texts import say
from conversations.turn import TurnResult
from conversations.understanding import ACKNOWLEDGEMENT_ONLY, HUMAN_REQUEST
from conversations.understanding.text import prepare
from knowledge import services as knowledge_services
from kumon.queue import enqueue
from scheduling import services as scheduling_services

logger = logging.getLogger(__name__)

# The claim's lease, renewed every LEASE_RENEW_SECONDS while the engine computes (a heartbeat
# thread): a live worker keeps its turn however long the LLM takes (up to the task's time limit,
# which kills the heartbeat with the task), and a dead worker's turn is free again within LEASE —
# the due-turns sweeper (every 2 s) answers it — instead of after a lease longer than the task's
# hard time limit (90 s: a parent waited ~100 s after a worker crash, issue #11).
LEASE = dt.timedelta(seconds=15)
LEASE_RENEW_SECONDS = 5.0


@contextmanager
def _lease_kept(conversation_id: int) -> Iterator[None]:
    """Renew the turn's lease while the body runs. The lease moves forward by the renewal
    interval each time, so it stays LEASE ahead of the claim's clock (`manage.py chat --at`
    claims on a clock of its own)."""
    stop = threading.Event()

    def heartbeat() -> None:
        try:
            while not stop.wait(LEASE_RENEW_SECONDS):
                try:
                    with transaction.atomic():
                        with connection.cursor() as cursor:  # never wait long behind a row lock
                            cursor.execute("SET LOCAL lock_timeout = '2s'")
                        Conversation.objects.filter(
                            pk=conversation_id, turn_lease_until__isnull=False
                        ).update(
                            turn_lease_until=F("turn_lease_until") + dt.timedelta(seconds=LEASE_RENEW_SECONDS)
                        )
                except DatabaseError as exc:  # the next beat tries again; the lease has 10 s left
                    logger.warning(
                        "lease of conversation %s not renewed: %s", conversation_id, type(exc).__name__
                    )
        finally:
            connection.close()  # this thread's own connection, if it opened one

    thread = threading.Thread(target=heartbeat, name=f"turn-lease-{conversation_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _pending(conversation: Conversation) -> list[Message]:
    # In arrival order: a conversation's inbound rows are inserted under its row lock
    # (record_inbound), so their ids are the order they came in; created_at is a wall clock that
    # can step back between two messages of a burst.
    return list(
        conversation.messages.filter(direction=Message.Direction.IN, status=Message.Status.RECEIVED).order_by(
            "pk"
        )
    )


def _close_turn(conversation: Conversation, messages: list[Message], now: dt.datetime) -> None:
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(
        status=Message.Status.HANDLED, handled_at=now
    )
    conversation.reply_due_at = None
    conversation.turn_started_at = None
    conversation.turn_lease_until = None
    conversation.save(update_fields=["reply_due_at", "turn_started_at", "turn_lease_until"])


def _waiting_notice(conversation: Conversation, pending: list[Message], now: dt.datetime) -> Message | None:
    """While a handed-off family waits and no one from staff has answered yet, a new message gets
    one short notice per WAITING_NOTICE_EVERY (counted from the hand-off message itself), never
    silence and never a flood. Nothing once staff took it (assigned or wrote) or for the staff phone."""
    if conversation.contact.is_unit_staff or conversation.assigned_to_id:
        return None
    since = conversation.handoff_at or conversation.created_at
    if conversation.messages.filter(sender=Message.Sender.STAFF, created_at__gte=since).exists():
        return None
    if pending[-1].kind == Message.Kind.TEXT and ACKNOWLEDGEMENT_ONLY.match(prepare(pending[-1].body or "")):
        return None  # "vou aguardar", "ok obrigada": nothing to answer while they wait
    clock = (pending[-1].meta or {}).get("clock")
    moment = dt.datetime.fromisoformat(clock) if clock else now
    current = state.State.of(conversation)
    asks_again = any(HUMAN_REQUEST.search(prepare(m.body or "")) for m in pending)
    if not waiting_notice_due(
        last_notice_at=current.flow.waiting_notice_at, now=moment, asks_for_person=asks_again
    ):
        return None
    current.flow.waiting_notice_at = moment
    conversation.data = current.to_data()
    try:
        with transaction.atomic():
            return queue_outbound(
                conversation=conversation,
                body=say("waiting_notice", current.lead.language or "pt"),
                in_reply_to=pending[-1],
                seq=0,
                meta={"kind": "waiting_notice"},
                now=now,
                touch=False,
            )
    except IntegrityError:
        return None  # a re-run claim already sent it


def claim_turn(*, conversation_id: int, now: dt.datetime) -> tuple[Conversation, list[Message]] | None:
    """Phase 1: the conversation and its pending messages if the turn is due and ours."""
    with transaction.atomic():
        # Only the conversation row is locked (`of`): a FOR UPDATE of the joined unit row would
        # hold off every insert that references the unit (messages, contacts: FOR KEY SHARE)
        # until the claim commits — every other family of the unit waited (issue #16).
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("unit", "contact")
            .filter(pk=conversation_id)
            .first()
        )
        if conversation is None or conversation.reply_due_at is None or conversation.reply_due_at > now:
            return None  # gone, answered, or a newer message moved the turn later
        if conversation.turn_lease_until and conversation.turn_lease_until > now:
            return None  # another worker is computing it
        pending = _pending(conversation)
        if conversation.mode == Conversation.Mode.HUMAN and pending:
            # The family waits for staff: at most a short "já avisei a equipe" now and then; their
            # messages stay unread for staff.
            _waiting_notice(conversation, pending, now)
            conversation.reply_due_at = conversation.turn_started_at = conversation.turn_lease_until = None
            conversation.save(update_fields=["data", "reply_due_at", "turn_started_at", "turn_lease_until"])
            return None
        if conversation.mode != Conversation.Mode.BOT or not pending:
            _close_turn(conversation, pending, now)  # staff answer these; the bot stays silent
            return None
        conversation.turn_lease_until = now + LEASE
        conversation.save(update_fields=["turn_lease_until"])
    return conversation, pending


def answer_turn(*, conversation_id: int, now: dt.datetime | None = None) -> list[Message]:
    """Answer the conversation's due turn. Returns the replies stored (empty if none were).

    Side effects: outbound messages queued for sending; conversation state from the engine;
    contact opt-out/opt-in; hand-off to staff.
    """
    now = now or timezone.now()
    claimed = claim_turn(conversation_id=conversation_id, now=now)
    if claimed is None:
        return []
    conversation, pending = claimed
    try:
        with _lease_kept(conversation_id):
            result = engine.respond(conversation=conversation, messages=pending, now=now)
        return commit_turn(conversation_id=conversation_id, last=pending[-1], result=result, now=now)
    except Exception:
        # Release the lease at once so a retry (or the due-turns sweeper) answers the parent
        # without waiting the lease out; the messages are still `received`.
        Conversation.objects.filter(pk=conversation_id, turn_lease_until__isnull=False).update(
            turn_lease_until=None
        )
        raise


def commit_turn(
    *, conversation_id: int, last: Message, result: TurnResult, now: dt.datetime
) -> list[Message]:
    """Phase 3: store the replies if the turn is still current (bot mode, no newer message)."""
    with transaction.atomic():
        # The conversation and its contact are locked (the turn writes both); the unit is only
        # read (gaps, budget): joined, not locked (see claim_turn).
        current = (
            Conversation.objects.select_for_update(of=("self", "contact"))
            .select_related("contact", "unit")
            .get(pk=conversation_id)
        )
        newest = _pending(current)
        if current.mode != Conversation.Mode.BOT:
            logger.info("turn of conversation %s dropped: staff took over", conversation_id)
            _close_turn(current, newest, now)
            return []
        if not newest or newest[-1].pk != last.pk:
            logger.info("turn of conversation %s superseded by a newer message", conversation_id)
            Conversation.objects.filter(pk=conversation_id).update(turn_lease_until=None)
            return []
        contact = current.contact
        if result.opt_in and contact.opted_out_at:
            contact.opted_out_at = None
            contact.save(update_fields=["opted_out_at", "updated_at"])
        stored: list[Message] = []
        try:
            with transaction.atomic():
                for seq, reply in enumerate(result.replies):
                    meta = dict(reply.meta)
                    if result.opt_out:
                        meta["opt_out_confirmation"] = True
                    if seq == 0 and result.questions_for_staff:
                        meta["questions_for_staff"] = result.questions_for_staff
                    message = queue_outbound(
                        conversation=current,
                        body=reply.text,
                        in_reply_to=last,
                        seq=seq,
                        meta=meta,
                        now=now,
                        touch=False,  # the conversation is saved once below
                        # One send task per turn: it sends the parts one after the other, so
                        # the parent reads them in order (two tasks on two workers could swap them).
                        enqueue_send=not any(m.status == Message.Status.QUEUED for m in stored),
                    )
                    stored.append(message)
        except IntegrityError:
            logger.info("turn of conversation %s was already answered", conversation_id)
            return []
        if stored and (result.tokens_in or result.tokens_out):
            Message.objects.filter(pk=stored[0].pk).update(
                tokens_in=result.tokens_in, tokens_out=result.tokens_out, cost_usd=result.cost_usd
            )
            budget.spend(unit=current.unit, tokens=result.tokens_in + result.tokens_out, now=now)
        contact_fields = []
        if result.opt_out and not contact.opted_out_at:
            contact.opted_out_at = now
            contact_fields.append("opted_out_at")
        if result.stage is not None:
            current.stage = result.stage
        if result.step is not None:
            current.step = result.step
        if result.data is not None:
            current.data = result.data
        if result.lead is not None and result.lead != contact.data:  # the lead outlives the conversation
            contact.data = result.lead
            contact_fields.append("data")
        # Only the turn that is sent records its gaps: a superseded computation recorded nothing.
        for gap in result.gaps:
            knowledge_services.record_gap(
                unit=current.unit,
                contact=contact,
                text=gap.text,
                confidence=gap.confidence,
                reason=gap.reason,
                candidates=gap.candidates,
            )
        if result.release_holds:
            scheduling_services.release_holds(holder=f"conversation:{current.pk}", unit=current.unit)
        if contact_fields:
            contact.save(update_fields=[*contact_fields, "updated_at"])
        if result.handoff:
            current.mode = Conversation.Mode.HUMAN
            current.handoff_at = now
            current.handoff_reason = result.handoff[:40]
        current.last_activity_at = now
        # One UPDATE for the state and the end of the turn.
        Message.objects.filter(pk__in=[m.pk for m in newest]).update(
            status=Message.Status.HANDLED, handled_at=now
        )
        current.reply_due_at = current.turn_started_at = current.turn_lease_until = None
        current.save(
            update_fields=[
                "stage",
                "step",
                "data",
                "mode",
                "handoff_at",
                "handoff_reason",
                "last_activity_at",
                "reply_due_at",
                "turn_started_at",
                "turn_lease_until",
            ]
        )
        # The family wrote: their pending follow-ups are void; a question left open schedules new ones.
        followups.schedule_after_turn(conversation=current, last=last, now=now)
        if result.handoff:
            enqueue("conversations.notify_handoff", conversation_id=current.pk)
        if result.questions_for_staff and stored:
            enqueue("conversations.notify_question", conversation_id=current.pk, message_id=stored[0].pk)
    return stored


def due_conversation_ids(*, now: dt.datetime, limit: int = 200) -> list[int]:
    """Conversations whose turn is due and not being computed: the durable half of the
    debounce (a lost or crashed task is picked up here)."""
    return list(
        Conversation.objects.filter(
            reply_due_at__lte=now, mode__in=[Conversation.Mode.BOT, Conversation.Mode.HUMAN]
        )
        .filter(Q(turn_lease_until__isnull=True) | Q(turn_lease_until__lte=now))
        .order_by("reply_due_at")
        .values_list("pk", flat=True)[:limit]
    )
