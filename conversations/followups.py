"""Follow-ups of families that went quiet: when to schedule them, when they may go out (the
unit's send window), why one must not go out any more, and the text, written from the typed
state at send time (what is still missing; fresh slots, never a stale "amanhã").

Rows (`Followup`) with `due_at`, claimed by beat through conversations.proactive, which sends
them. Nothing here sends or imports the services (the services import us to cancel rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from conversations.decisions.booking import OFFER_STEPS
from conversations.decisions.qualify import QUESTION_STEPS as QUALIFYING_STEPS
from conversations.hours import LOOKAHEAD_DAYS, closed_days_ahead
from conversations.models import Conversation, Followup, Message, ProactiveOptions
from conversations.state import Lead, Stage, State, Step
from conversations.texts import join, say, subject_options
from conversations.understanding.dates import format_slot
from kumon.exceptions import DomainError
from kumon.models import Unit
from scheduling import selectors as scheduling_selectors
from scheduling.models import Appointment

# Where the receptionist is waiting for the family: a question of the qualification, the
# "quer agendar?" after an answer, or slots offered and not chosen. Elsewhere (booked, with
# staff, a cancellation just confirmed, a clarification) a follow-up would be noise.
WAITING_STEPS = frozenset({*QUALIFYING_STEPS, *OFFER_STEPS, Step.CTA})
SLOTS_OFFERED = 3

# Reasons shown in the admin (English here, Portuguese in the catalogue through the admin).
REPLIED = "the family wrote again"
OPTED_OUT = "the family opted out"
WITH_STAFF = "staff have the conversation"
CLOSED = "conversation closed"
BOOKED = "visit booked"
NOTHING_OPEN = "nothing left to follow up"
BY_STAFF = "cancelled by staff"
NO_WINDOW = "no send window in the next 3 weeks"
WAITING_WINDOW = "waiting for the send window"
DAILY_CAP = "the unit's daily cap was reached: tomorrow"
ENROLLED = "the family enrolled"
AFTER_PREVIOUS = "after the previous follow-up"


@dataclass(frozen=True)
class Options:
    followups_max: int = 2
    hours: tuple[float, ...] = (3.0, 22.0)
    window_start: dt.time = dt.time(8)
    window_end: dt.time = dt.time(20)
    after_visit_days: int | None = None
    daily_cap: int = 150
    template_name: str = ""
    template_language: str = "pt_BR"
    template_parameters: tuple[str, ...] = field(default=("{parent_name}", "{text}"))


def options_for(unit: Unit) -> Options:
    """The unit's proactive options (the defaults without a row)."""
    row = ProactiveOptions.objects.filter(unit=unit).first()
    if row is None:
        return Options()
    hours = []
    for part in row.followup_hours.split(","):
        try:
            hours.append(float(part.strip()))
        except ValueError:
            continue
    return Options(
        followups_max=row.followups_max,
        hours=tuple(h for h in hours if h > 0) or (3.0, 22.0),
        window_start=row.window_start,
        window_end=row.window_end,
        after_visit_days=row.after_visit_followup_days,
        daily_cap=row.daily_cap,
        template_name=row.meta_template_name,
        template_language=row.meta_template_language or "pt_BR",
        template_parameters=tuple(p.strip() for p in row.meta_template_parameters.split("|") if p.strip()),
    )


# --- the send window -------------------------------------------------------------------------


def next_send_moment(*, unit: Unit, options: Options, moment: dt.datetime) -> dt.datetime | None:
    """`moment` if it is inside the unit's send window, else the window's next opening: local
    [window_start, window_end), never on a Sunday, a public holiday or a closure of the unit.
    None if there is none within three weeks (a long closure)."""
    tz = ZoneInfo(unit.timezone)
    local = moment.astimezone(tz)
    first = local.date()
    closed = closed_days_ahead(unit=unit, first=first)
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = first + dt.timedelta(days=offset)
        if day.weekday() == 6 or day in closed:
            continue
        opens = dt.datetime.combine(day, options.window_start, tzinfo=tz)
        closes = dt.datetime.combine(day, options.window_end, tzinfo=tz)
        if local < opens:
            return opens
        if local < closes:
            return moment
    return None


# --- scheduling and cancelling ---------------------------------------------------------------


def waiting_for_family(conversation: Conversation) -> bool:
    """Does the bot's last turn leave a question to the family open (a follow-up makes sense)?"""
    if conversation.mode != Conversation.Mode.BOT or conversation.contact.opted_out_at is not None:
        return False
    if conversation.stage in (Stage.BOOKED, Stage.OPTED_OUT, Stage.HANDOFF, Stage.CANCELLED):
        return False
    return Step.parse(conversation.step) in WAITING_STEPS


def schedule_after_turn(*, conversation: Conversation, last: Message, now: dt.datetime) -> list[Followup]:
    """(Inside the turn's transaction, after its state is saved.) The family wrote, so their
    pending follow-ups are void; if the bot's answer left a question open, the unit's N
    follow-ups are scheduled after this message (`due_at` moved into the send window).
    Idempotent: a re-run turn on the same message creates nothing new. Returns the new rows."""
    # Rows anchored on this very message are this turn's own (a turn committed again): kept.
    Followup.objects.filter(
        conversation_id=conversation.pk, kind=Followup.Kind.QUIET, status=Followup.Status.PENDING
    ).exclude(anchor_message=last).update(status=Followup.Status.CANCELLED, reason=REPLIED)
    if conversation.contact.is_unit_staff:
        return []
    if not waiting_for_family(conversation):
        return []
    if has_live_visit(conversation, now=now):
        return []
    options = options_for(conversation.unit)
    anchor = _clock(last)
    created = []
    for seq, hours in enumerate(options.hours[: options.followups_max], 1):
        due = next_send_moment(
            unit=conversation.unit, options=options, moment=anchor + dt.timedelta(hours=hours)
        )
        if due is None:
            break
        followup, made = Followup.objects.get_or_create(
            conversation=conversation,
            kind=Followup.Kind.QUIET,
            anchor_message=last,
            seq=seq,
            defaults={
                "unit_id": conversation.unit_id,
                "contact_id": conversation.contact_id,
                "anchor_at": anchor,
                "due_at": due,
            },
        )
        if made:
            created.append(followup)
    return created


def cancel_pending(
    *,
    conversation_id: int,
    reason: str,
    now: dt.datetime | None = None,
    kind: str | None = None,
    user: Any | None = None,
) -> int:
    """Cancel the conversation's follow-ups not sent yet, with the reason; returns how many."""
    rows = Followup.objects.filter(conversation_id=conversation_id, status=Followup.Status.PENDING)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.update(status=Followup.Status.CANCELLED, reason=reason[:300], cancelled_by=user)


def cancel_followup(*, followup: Followup, user: Any | None) -> bool:
    """Staff cancel one follow-up from the admin (pending ones only). Returns whether it changed."""
    changed = Followup.objects.filter(pk=followup.pk, status=Followup.Status.PENDING).update(
        status=Followup.Status.CANCELLED, reason=BY_STAFF, cancelled_by=user
    )
    return bool(changed)


def has_live_visit(conversation: Conversation, *, now: dt.datetime) -> bool:
    contact = conversation.contact
    return Appointment.objects.filter(
        Q(contact=contact) | Q(phone=contact.phone),
        unit_id=conversation.unit_id,
        status__in=Appointment.LIVE,
        start__gt=now,
    ).exists()


def void_reason(followup: Followup, *, now: dt.datetime) -> str:
    """Why a due follow-up must not go out any more ("" = it still may)."""
    conversation = followup.conversation
    if followup.contact.opted_out_at is not None:
        return OPTED_OUT
    if conversation.mode == Conversation.Mode.HUMAN:
        return WITH_STAFF
    if followup.kind == Followup.Kind.AFTER_VISIT:
        if has_live_visit(conversation, now=now):
            return BOOKED
        if Message.objects.filter(
            conversation__contact_id=followup.contact_id,
            direction=Message.Direction.IN,
            created_at__gt=followup.created_at,
        ).exists():
            return REPLIED
        return ""
    if conversation.mode == Conversation.Mode.CLOSED:
        return CLOSED
    newer = Message.objects.filter(conversation=conversation, direction=Message.Direction.IN)
    if followup.anchor_message_id:
        newer = newer.filter(pk__gt=followup.anchor_message_id)
    else:
        newer = newer.filter(created_at__gt=followup.anchor_at)
    if newer.exists():
        return REPLIED
    if has_live_visit(conversation, now=now):
        return BOOKED
    if not waiting_for_family(conversation):
        return NOTHING_OPEN
    return ""


def _clock(message: Message) -> dt.datetime:
    """When the family sent it: the chat command's simulated moment, else when it was stored."""
    clock = (message.meta or {}).get("clock")
    if clock:
        try:
            return dt.datetime.fromisoformat(clock)
        except ValueError:
            pass
    return message.created_at or timezone.now()


# --- the text --------------------------------------------------------------------------------

TEXTS: dict[str, dict[str, str]] = {
    "hello": {"pt": "Oi{name}! 😊", "en": "Hi{name}! 😊", "es": "¡Hola{name}! 😊"},
    "missing": {
        "pt": "Ainda posso ajudar com a visita ao Kumon? Para eu ver os horários, só falta me contar {missing}.",
        "en": "Can I still help with the visit to Kumon? To look up the times I only need {missing}.",
        "es": "¿Te sigo ayudando con la visita a Kumon? Para ver los horarios solo me falta {missing}.",
    },
    "slots": {
        "pt": "Ainda dá para agendar a visita de {child}. Os próximos horários livres são:\n{options}\nAlgum serve? É só responder com o número ou sugerir outro dia.",
        "en": "There is still time to book {child}'s visit. The next free times are:\n{options}\nDoes one work? Reply with the number or suggest another day.",
        "es": "Todavía se puede agendar la visita de {child}. Los próximos horarios libres son:\n{options}\n¿Alguno te sirve? Responde con el número o sugiere otro día.",
    },
    "no_slots": {
        "pt": "Ainda quer agendar a visita de {child}? Me diga o melhor dia e horário que eu vejo na agenda.",
        "en": "Would you still like to book {child}'s visit? Tell me the best day and time and I'll check.",
        "es": "¿Todavía quieres agendar la visita de {child}? Dime el mejor día y hora y lo reviso.",
    },
    "cta": {
        "pt": "Ficou alguma dúvida? Se quiser, agendo uma visita para vocês conhecerem a unidade, sem compromisso.",
        "en": "Any other question? If you like, I can book a visit so you can see the unit, no commitment.",
        "es": "¿Te quedó alguna duda? Si quieres, agendo una visita para conocer la unidad, sin compromiso.",
    },
    "last": {
        "pt": "Se agora não for um bom momento, tudo bem: é só me chamar aqui quando quiser.",
        "en": "If now is not a good time, no problem: just message me here whenever you like.",
        "es": "Si ahora no es buen momento, no pasa nada: escríbeme cuando quieras.",
    },
    "after_visit": {
        "pt": "Como foi a visita de {child} ao Kumon {unit}? Se ficou alguma dúvida sobre a matrícula, os horários ou os valores, é só me chamar por aqui.",
        "en": "How was {child}'s visit to Kumon {unit}? If you have any question about enrolment, times or fees, just message me here.",
        "es": "¿Qué tal fue la visita de {child} a Kumon {unit}? Si tienes dudas sobre la matrícula, los horarios o los precios, escríbeme por aquí.",
    },
}

MISSING = {
    "child_name": {"pt": "o nome da criança", "en": "the child's name", "es": "el nombre del niño"},
    "child_age": {
        "pt": "a idade ou o ano escolar",
        "en": "the age or school year",
        "es": "la edad o el año escolar",
    },
    "subject": {
        "pt": "a matéria de interesse ({subjects})",
        "en": "the subject ({subjects})",
        "es": "la materia ({subjects})",
    },
    "parent_name": {"pt": "o seu nome", "en": "your name", "es": "tu nombre"},
}


def _t(key: str, lang: str, **values: Any) -> str:
    table = TEXTS[key]
    return table.get(lang, table["pt"]).format(**values)


@dataclass
class Written:
    """A follow-up's text and what it changes in the conversation's state."""

    text: str
    offered: list[dt.datetime] = field(default_factory=list)
    data: dict[str, Any] | None = None
    step: str | None = None
    stage: str | None = None


def missing_facts(lead: Lead) -> list[str]:
    child = lead.first_child
    missing = []
    if not child.name:
        missing.append("child_name")
    if child.age is None and not child.school_year:
        missing.append("child_age")
    if not child.subjects:
        missing.append("subject")
    if not lead.parent_name:
        missing.append("parent_name")
    return missing


def write_followup(*, followup: Followup, now: dt.datetime) -> Written:
    """The follow-up's text from the conversation's state as it is now. Slots are computed now
    (and become the conversation's offer, so "o 2" in the reply means the slot this message
    listed). Reads the unit's calendar: call it outside any transaction."""
    conversation = followup.conversation
    unit = conversation.unit
    st = State.of(conversation)
    lead = st.lead
    lang = lead.language if lead.language in ("pt", "en", "es") else "pt"
    names = [c.name for c in lead.children if c.name]
    child = join(names, lang) if names else say("the_child", lang)
    first = lead.parent_name.split()[0] if lead.parent_name else ""
    hello = _t("hello", lang, name=f", {first}" if first else "")
    last = followup.seq >= options_for(unit).followups_max
    if followup.kind == Followup.Kind.AFTER_VISIT:
        return Written(
            text=f"{hello} {_t('after_visit', lang, child=child, unit=unit.name.removeprefix('Kumon ').strip())}"
        )
    step = Step.parse(conversation.step)
    written = Written(text="")
    if step in OFFER_STEPS or (step == Step.CTA and lead.qualified):
        try:
            slots = scheduling_selectors.next_free_slots(
                unit=unit, after=now, now=now, holder=f"conversation:{conversation.pk}", limit=SLOTS_OFFERED
            )
        except DomainError:
            slots = []  # calendar unreadable: ask for a day instead
        if slots:
            tz = ZoneInfo(unit.timezone)
            options = "\n".join(
                f"{i}) {format_slot(s.start.astimezone(tz), lang=lang)}" for i, s in enumerate(slots, 1)
            )
            body = _t("slots", lang, child=child, options=options)
            st.flow.offered = [s.start for s in slots]
            st.flow.selected = None
            written.offered = list(st.flow.offered)
            written.step, written.stage = Step.OFFER_SLOTS, Stage.BOOKING
        else:
            body = _t("no_slots", lang, child=child)
            st.flow.offered = []
            written.step, written.stage = Step.NONE, Stage.BOOKING
        written.data = st.to_data()
    elif step in QUALIFYING_STEPS:
        missing = missing_facts(lead)
        if not missing:
            body = _t("cta", lang)
        else:
            subjects = subject_options(conversation.unit.offered_subjects, lang)
            body = _t(
                "missing",
                lang,
                missing=join(
                    [MISSING[m].get(lang, MISSING[m]["pt"]).format(subjects=subjects) for m in missing], lang
                ),
            )
    else:
        body = _t("cta", lang)
    text = f"{hello} {body}"
    if last:
        text = f"{text}\n{_t('last', lang)}"
    written.text = text
    return written
