"""Visit outcomes: after a first visit, staff record whether the family enrolled (subjects,
start date) or not (a reason from the unit's own list). Writes; the admin action and the API call
these. The optional follow-up of a family that did not enrol is scheduled by
conversations.proactive (scheduling never imports conversations)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kumon.exceptions import Conflict, DomainError
from kumon.models import Unit
from scheduling import services
from scheduling.models import Appointment, LossReason, VisitOutcome

# A unit's list starts with these (the list); the unit edits, adds, deactivates.
DEFAULT_REASONS = [
    _("price"),
    _("schedule"),
    _("distance"),
    _("child's age"),
    _("chose another school"),
    _("other"),
]
OTHER = "other"


class InvalidOutcome(DomainError):
    status = 400


def loss_reasons(*, unit: Unit) -> list[LossReason]:
    """The unit's active reasons, created from the defaults (in Portuguese for staff, the
    language the list is read in) the first time they are needed."""
    if not LossReason.objects.filter(unit=unit).exists():
        with translation.override("pt-br"):
            labels = [str(label) for label in DEFAULT_REASONS]
        for position, label in enumerate(labels):
            LossReason.objects.get_or_create(unit=unit, label=label, defaults={"position": position})
    return list(LossReason.objects.filter(unit=unit, active=True))


def reason_named(*, unit: Unit, label: str) -> LossReason:
    """The unit's reason with this label (case-insensitive), else its "other"."""
    reasons = loss_reasons(unit=unit)
    wanted = (label or "").strip().casefold()
    for reason in reasons:
        if reason.label.casefold() == wanted:
            return reason
    with translation.override("pt-br"):
        other = str(_(OTHER))
    for reason in reasons:
        if reason.label.casefold() in (other.casefold(), OTHER):
            return reason
    return LossReason.objects.get_or_create(unit=unit, label=other, defaults={"position": 99})[0]


def next_monday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=7 - day.weekday())


def record_visit_outcome(
    *,
    appointment: Appointment,
    result: str,
    subjects: str = "",
    start_date: dt.date | None = None,
    reason: LossReason | None = None,
    note: str = "",
    recorded_by: Any = None,
    now: dt.datetime | None = None,
) -> VisitOutcome:
    """Record (or correct) what came of a visit; returns the outcome.

    A visit still booked whose time has passed is marked attended first (a family that enrolled
    or said no came). Refused: a visit not yet started, cancelled or no-show (Conflict); an
    enrolment with a loss reason or a "not enrolled" without one (InvalidOutcome). Enrolled with
    no subjects takes the appointment's subject; with no start date, the Monday after the visit.
    Side effects: the appointment's attendance (event, calendar sync) via services.mark_attended.
    """
    now = now or timezone.now()
    if result not in VisitOutcome.Result.values:
        raise InvalidOutcome(gettext("Unknown outcome."), extra={"result": result})
    if result == VisitOutcome.Result.ENROLLED and reason is not None:
        raise InvalidOutcome(gettext("An enrolment has no reason for not enrolling."))
    if result == VisitOutcome.Result.NOT_ENROLLED and reason is None:
        raise InvalidOutcome(gettext("Choose why the family did not enrol."))
    if reason is not None and reason.unit_id != appointment.unit_id:
        raise InvalidOutcome(gettext("That reason belongs to another unit."))
    if appointment.status in (Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW):
        raise Conflict(
            gettext("Only a visit that took place has an outcome."), extra={"status": appointment.status}
        )
    if appointment.start > now:
        raise Conflict(
            gettext("The visit has not started yet."), extra={"start": appointment.start.isoformat()}
        )
    with transaction.atomic():
        if appointment.status in Appointment.LIVE:
            appointment = services.mark_attended(appointment=appointment, changed_by=recorded_by, now=now)
        local_day = appointment.start.astimezone(ZoneInfo(appointment.unit.timezone)).date()
        enrolled = result == VisitOutcome.Result.ENROLLED
        outcome, _created = VisitOutcome.objects.update_or_create(
            appointment=appointment,
            defaults={
                "unit_id": appointment.unit_id,
                "result": result,
                "subjects": (subjects or appointment.subject)[:200] if enrolled else "",
                "start_date": (start_date or next_monday(local_day)) if enrolled else None,
                "reason": None if enrolled else reason,
                "note": note[:300],
                "recorded_by": recorded_by,
                "recorded_at": now,
            },
        )
    return outcome
