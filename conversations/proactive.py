"""Messages the receptionist starts: the beat tick that sends due follow-ups (and, from the
`proactive run` command, the reminders too), through one code path.

Policy before a follow-up goes out, in this order: still relevant (followups.void_reason: a
reply, an opt-out, staff, a booking cancel it), inside the unit's send window (else it waits for
the next opening), under the unit's daily cap (else tomorrow). The WhatsApp rules that depend on
the provider (Meta's 24-hour window and templates, Evolution's pacing) are applied where the
message is sent (whatsapp.services.send_message), which reports a skip back here.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q

from conversations import followups, reminders
from conversations import services as conversation_services
from conversations.models import Conversation, Followup, Message
from scheduling.models import Appointment, VisitOutcome

log = logging.getLogger(__name__)

STALE_CLAIM = dt.timedelta(minutes=10)
AFTER_VISIT_LOOKBACK = dt.timedelta(days=60)


@dataclass
class RunResult:
    reminders: int = 0
    followups: int = 0
    scheduled: int = 0


def run(*, now: dt.datetime) -> RunResult:
    """What beat sends at `now`: reminders, then follow-ups (`manage.py proactive run --at`)."""
    sent = reminders.send_reminders(now=now)
    result = run_followups(now=now)
    result.reminders = sent
    return result


def run_followups(*, now: dt.datetime, limit: int = 100) -> RunResult:
    result = RunResult(scheduled=schedule_after_visit_followups(now=now))
    for followup in claim_due_followups(now=now, limit=limit):
        try:
            if send_followup(followup=followup, now=now):
                result.followups += 1
        except Exception as exc:  # one bad row must not stop the batch; its reason shows in the admin
            log.exception("follow-up %s could not be sent", followup.pk)
            Followup.objects.filter(pk=followup.pk, status=Followup.Status.SENDING).update(
                status=Followup.Status.FAILED, reason=f"{type(exc).__name__}: {exc}"[:300]
            )
    return result


def claim_due_followups(*, now: dt.datetime, limit: int = 100) -> list[Followup]:
    """Claim due follow-ups (marked `sending`). Skips rows locked by a concurrent claim;
    re-claims a `sending` row left by a crashed worker after 10 minutes (sending and marking
    sent are one transaction, so such a row sent nothing). On the way: void rows are cancelled
    with the reason, rows outside the send window or over the daily cap wait (due_at moved)."""
    claimed: list[Followup] = []
    with transaction.atomic():
        rows = list(
            Followup.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("conversation", "conversation__unit", "conversation__contact", "contact", "unit")
            .filter(due_at__lte=now)
            .filter(
                Q(status=Followup.Status.PENDING)
                | Q(status=Followup.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)
            )
            .order_by("due_at", "seq")[:limit]
        )
        sent_today: dict[int, int] = {}
        for followup in rows:
            reason = followups.void_reason(followup, now=now)
            if reason:
                followup.status, followup.reason = Followup.Status.CANCELLED, reason
                followup.save(update_fields=["status", "reason"])
                continue
            unit = followup.unit
            options = followups.options_for(unit)
            after = _previous_due(followup, options=options, claimed=claimed)
            if after is not None and after > now:
                # Never two at once (a weekend moved both to Monday 08:00): the gap stays.
                followup.due_at, followup.reason = after, followups.AFTER_PREVIOUS
                followup.save(update_fields=["due_at", "reason"])
                continue
            moment = followups.next_send_moment(unit=unit, options=options, moment=now)
            if moment is None:
                followup.status, followup.reason = Followup.Status.SKIPPED, followups.NO_WINDOW
                followup.save(update_fields=["status", "reason"])
                continue
            if moment > now:
                followup.due_at, followup.reason = moment, followups.WAITING_WINDOW
                followup.save(update_fields=["due_at", "reason"])
                continue
            if unit.pk not in sent_today:
                sent_today[unit.pk] = _sent_today(unit_id=unit.pk, tz=unit.timezone, now=now)
            if sent_today[unit.pk] >= options.daily_cap:
                tomorrow = followups.next_send_moment(
                    unit=unit,
                    options=options,
                    moment=_local_midnight(now, unit.timezone) + dt.timedelta(days=1),
                )
                followup.due_at, followup.reason = tomorrow or now + dt.timedelta(days=1), followups.DAILY_CAP
                followup.save(update_fields=["due_at", "reason"])
                continue
            sent_today[unit.pk] += 1
            followup.status = Followup.Status.SENDING
            followup.attempts += 1
            followup.claimed_at = now
            followup.save(update_fields=["status", "attempts", "claimed_at"])
            claimed.append(followup)
    return claimed


def _previous_due(
    followup: Followup, *, options: followups.Options, claimed: list[Followup]
) -> dt.datetime | None:
    """When a follow-up may go at the earliest given the one before it (same family): the gap
    between their delays after the earlier one went out. None: no earlier one in the way."""
    if followup.seq <= 1:
        return None
    hours = options.hours
    gap_hours = hours[followup.seq - 1] - hours[followup.seq - 2] if len(hours) >= followup.seq else 3.0
    gap = dt.timedelta(hours=max(1.0, gap_hours))
    if any(c.conversation_id == followup.conversation_id for c in claimed):
        return followup.due_at + gap
    earlier = (
        Followup.objects.filter(
            conversation_id=followup.conversation_id,
            kind=followup.kind,
            seq__lt=followup.seq,
            anchor_message_id=followup.anchor_message_id,
        )
        .exclude(status__in=[Followup.Status.CANCELLED, Followup.Status.SKIPPED, Followup.Status.FAILED])
        .order_by("-seq")
        .first()
    )
    if earlier is None:
        return None
    if earlier.status in (Followup.Status.PENDING, Followup.Status.SENDING):
        return max(earlier.due_at, followup.due_at) + gap
    return earlier.sent_at + gap if earlier.sent_at else None


def _local_midnight(now: dt.datetime, tz: str) -> dt.datetime:
    local = now.astimezone(ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _sent_today(*, unit_id: int, tz: str, now: dt.datetime) -> int:
    return Followup.objects.filter(
        unit_id=unit_id, status=Followup.Status.SENT, sent_at__gte=_local_midnight(now, tz), sent_at__lte=now
    ).count()


def send_followup(*, followup: Followup, now: dt.datetime) -> bool:
    """Write the text of one claimed follow-up from the conversation's state, store it as an
    outbound message (queued for WhatsApp) and mark the row sent, in one transaction.

    Side effects: the conversation's offer becomes the fresh slots the text lists (so the
    parent's "o 2" picks one of them); `whatsapp.send_message` enqueued after commit."""
    written = followups.write_followup(followup=followup, now=now)  # reads the calendar: no lock held
    with transaction.atomic():
        locked = (
            Followup.objects.select_for_update()
            .filter(pk=followup.pk, status=Followup.Status.SENDING)
            .first()
        )
        if locked is None:
            return False  # handled meanwhile
        conversation = (
            Conversation.objects.select_for_update()
            .select_related("contact", "unit")
            .get(pk=followup.conversation_id)
        )
        locked.conversation = conversation
        reason = followups.void_reason(locked, now=now)  # the family may have written meanwhile
        if reason:
            locked.status, locked.reason = Followup.Status.CANCELLED, reason
            locked.save(update_fields=["status", "reason"])
            return False
        target = conversation
        if conversation.mode == Conversation.Mode.CLOSED:  # after a visit: a new conversation
            target = conversation_services.open_conversation(contact=conversation.contact)
        elif written.data is not None:
            conversation.data = written.data
            conversation.step = written.step if written.step is not None else conversation.step
            conversation.stage = written.stage if written.stage is not None else conversation.stage
            conversation.save(update_fields=["data", "step", "stage"])
        message = conversation_services.queue_outbound(
            conversation=target,
            body=written.text,
            meta={
                "kind": "followup",
                "followup_id": locked.pk,
                "followup_kind": locked.kind,
                "proactive": True,
                "offered": [s.isoformat() for s in written.offered],
            },
            now=now,
        )
        if message.status == Message.Status.SKIPPED:
            locked.status, locked.reason = Followup.Status.SKIPPED, message.last_error or "not sent"
        else:
            locked.status, locked.reason, locked.sent_at = Followup.Status.SENT, "", now
        locked.message = message
        locked.save(update_fields=["status", "reason", "sent_at", "message"])
    return locked.status == Followup.Status.SENT


def report_message_outcome(*, message: Message, status: str, reason: str) -> None:
    """The channel could not deliver a follow-up's message (skipped outside the 24-hour window,
    failed): the follow-up row says so, with the provider's reason."""
    followup_id = (message.meta or {}).get("followup_id")
    if not followup_id:
        return
    new = Followup.Status.SKIPPED if status == Message.Status.SKIPPED else Followup.Status.FAILED
    Followup.objects.filter(pk=followup_id, status=Followup.Status.SENT).update(
        status=new, reason=f"WhatsApp: {reason}"[:300]
    )


def schedule_after_visit_followups(*, now: dt.datetime) -> int:
    """Units that follow up visited families who did not enrol (off by default): one follow-up
    per such visit, due N days after the visit, inside the send window. Returns how many rows
    were created (idempotent: one per visit, a unique constraint)."""
    outcomes = (
        VisitOutcome.objects.filter(
            result=VisitOutcome.Result.NOT_ENROLLED,
            recorded_at__gte=now - AFTER_VISIT_LOOKBACK,
            unit__proactive_options__after_visit_followup_days__isnull=False,
            appointment__contact__isnull=False,
            appointment__contact__opted_out_at__isnull=True,
        )
        .exclude(
            appointment_id__in=Followup.objects.filter(kind=Followup.Kind.AFTER_VISIT).values(
                "appointment_id"
            )
        )
        .select_related("appointment", "appointment__contact", "unit")[:200]
    )
    made = 0
    for outcome in outcomes:
        appointment: Appointment = outcome.appointment
        options = followups.options_for(outcome.unit)
        if options.after_visit_days is None:
            continue
        moment = max(appointment.start + dt.timedelta(days=options.after_visit_days), now)
        local = moment.astimezone(ZoneInfo(outcome.unit.timezone))
        # Mid-morning of that day, unless that is already past.
        moment = (
            max(moment, local.replace(hour=10, minute=0, second=0, microsecond=0))
            if local.hour < 10
            else moment
        )
        due = followups.next_send_moment(unit=outcome.unit, options=options, moment=moment)
        if due is None:
            continue
        contact = appointment.contact
        if contact is None:  # excluded by the query; the type does not know it
            continue
        conversation = Conversation.objects.filter(contact=contact).order_by(
            "-last_activity_at"
        ).first() or conversation_services.open_conversation(contact=contact)
        _, created = Followup.objects.get_or_create(
            kind=Followup.Kind.AFTER_VISIT,
            appointment_id=appointment.pk,
            defaults={
                "unit_id": outcome.unit_id,
                "conversation": conversation,
                "contact": contact,
                "anchor_at": appointment.start,
                "due_at": due,
                "seq": 1,
            },
        )
        made += int(created)
    return made
