"""Opening hours, closures and appointments (first visits) of a unit."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import Func, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kumon.models import Contact, Unit


class OpeningHours(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="opening_hours", verbose_name=_("unit")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["unit", "weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="hours_start_before_end"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="hours_weekday_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class VisitHours(models.Model):
    """When a first visit may start on a weekday: a window of start times, both ends included
    (the visit must also end within the opening hours). A unit with no rows at all takes visits
    whenever it is open; once it has some, a weekday without rows takes none."""

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="visit_hours", verbose_name=_("unit")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=OpeningHours.Weekday.choices)
    start = models.TimeField(_("first start"))
    end = models.TimeField(_("last start"))

    class Meta:
        verbose_name = _("visit hours")
        verbose_name_plural = _("visit hours")
        ordering = ["unit", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lte=models.F("end")), name="visithours_start_before_end"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="visithours_weekday_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class Closure(models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="closures", verbose_name=_("unit"))
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until (inclusive)"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["unit", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lte=models.F("end_date")), name="closure_start_before_end"
            )
        ]

    def __str__(self) -> str:
        return f"{self.start_date}–{self.end_date} {self.reason}"


def local_time(moment: dt.datetime, unit: Unit) -> str:
    """dd/mm HH:MM in the unit's time zone: what a row's name shows (the admin's titles, lists)."""
    return f"{moment.astimezone(ZoneInfo(unit.timezone)):%d/%m %H:%M}"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("booked")
        CONFIRMED = "confirmed", _("confirmed")
        CANCELLED = "cancelled", _("cancelled")
        ATTENDED = "attended", _("attended")
        NO_SHOW = "no_show", _("no-show")

    class Source(models.TextChoices):
        CHAT = "chat", _("chat")
        STAFF = "staff", _("staff")
        API = "api", _("API")

    LIVE = (Status.BOOKED, Status.CONFIRMED)

    class SyncStatus(models.TextChoices):
        # The values of scheduling.calendars.SyncStatus, with the words staff read.
        NONE = "none", _("not synced (local calendar)")
        PENDING = "pending", _("waiting to sync")
        SYNCED = "synced", _("in the calendar")
        FAILED = "failed", _("sync failed")

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="appointments", verbose_name=_("unit")
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("family"),
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    # One place of the unit's capacity: the exclusion constraint is per (unit, seat).
    seat = models.PositiveSmallIntegerField(_("place"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.BOOKED)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.CHAT)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    parent_name = models.CharField(pgettext_lazy("lead data", "parent"), max_length=120, blank=True)
    child_name = models.CharField(_("child"), max_length=120, blank=True)
    child_age = models.PositiveSmallIntegerField(_("child age"), null=True, blank=True)
    school_year = models.CharField(_("school year"), max_length=40, blank=True)
    subject = models.CharField(_("subject"), max_length=120, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    calendar_event_id = models.CharField(_("calendar event"), max_length=255, blank=True)
    calendar_sync_status = models.CharField(
        _("calendar sync"), max_length=10, choices=SyncStatus.choices, default=SyncStatus.NONE
    )
    calendar_sync_error = models.CharField(_("calendar sync error"), max_length=500, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")), name="appointment_start_before_end"
            ),
            models.CheckConstraint(condition=Q(seat__gte=1), name="appointment_seat_positive"),
            # Two live appointments of one unit never hold the same place at overlapping times,
            # whatever the race: the database refuses the second.
            ExclusionConstraint(
                name="appointment_no_overlap_per_seat",
                expressions=[
                    ("unit", RangeOperators.EQUAL),
                    ("seat", RangeOperators.EQUAL),
                    (TsTzRange("start", "end"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=["booked", "confirmed"]),
            ),
        ]
        indexes = [models.Index(fields=["unit", "start"], name="appointment_unit_start_idx")]

    def __str__(self) -> str:
        return f"{self.child_name or self.parent_name or self.phone} {local_time(self.start, self.unit)}"


class AppointmentEvent(models.Model):
    """The status history of an appointment: who changed what, and when (append-only)."""

    class Kind(models.TextChoices):
        BOOKED = "booked", _("booked")
        RESCHEDULED = "rescheduled", _("rescheduled")
        CONFIRMED = "confirmed", _("confirmed")
        CANCELLED = "cancelled", _("cancelled")
        ATTENDED = "attended", _("attended")
        NO_SHOW = "no_show", _("no-show")

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="events", verbose_name=_("appointment")
    )
    kind = models.CharField(_("what"), max_length=12, choices=Kind.choices)
    from_status = models.CharField(
        _("status before"), max_length=10, blank=True, choices=Appointment.Status.choices
    )
    to_status = models.CharField(_("status after"), max_length=10, choices=Appointment.Status.choices)
    old_start = models.DateTimeField(_("previous time"), null=True, blank=True)
    new_start = models.DateTimeField(_("new time"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    by_parent = models.BooleanField(_("by the family"), default=False)
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {local_time(self.at, self.appointment.unit)}"


class SlotHold(models.Model):
    """A place offered in a chat, held for that conversation (`holder`) until `expires_at`.

    Holds count against capacity for every other holder; an expired row is simply ignored
    (and purged by a beat job), so a hold expires by itself."""

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="slot_holds", verbose_name=_("unit")
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    holder = models.CharField(_("held for"), max_length=120)
    expires_at = models.DateTimeField(_("expires at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("slot hold")
        verbose_name_plural = _("slot holds")
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "holder", "start"], name="slothold_unique_per_holder"),
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="slothold_start_before_end"),
        ]
        indexes = [models.Index(fields=["unit", "expires_at"], name="slothold_unit_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.holder} {local_time(self.start, self.unit)}"


class Reminder(models.Model):
    """A message due at `due_at` about an appointment: "24h"/"2h" before it, or "no_show" after.

    A row, not an ETA task: a beat task claims due rows each minute (services.claim_due_reminders)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")

    NO_SHOW = "no_show"
    # Staff moved the visit (admin): the family is told the new time at the next claim.
    RESCHEDULED = "rescheduled"

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("appointment")
    )
    kind = models.CharField(_("kind"), max_length=12)
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("reason / last error"), max_length=500, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # conversations.Message id (no FK: scheduling never imports conversations).
    message_id = models.BigIntegerField(_("message id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["appointment", "kind"], name="reminder_unique_kind"),
        ]
        indexes = [
            # The beat task's scan: only rows still waiting are indexed.
            models.Index(
                fields=["due_at"], name="reminder_due_idx", condition=Q(status__in=["pending", "sending"])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} {local_time(self.due_at, self.appointment.unit)} ({self.get_status_display()})"

    @property
    def kind_label(self) -> str:
        """ "24h" → "24 h antes", "no_show" → "depois da falta", "rescheduled" → "aviso de novo horário"."""
        if self.kind == self.NO_SHOW:
            return str(_("after a missed visit"))
        if self.kind == self.RESCHEDULED:
            return str(_("new time notice"))
        if self.kind.endswith("h") and self.kind[:-1].replace(".", "", 1).isdigit():
            return str(_("%(hours)s h before")) % {"hours": self.kind[:-1]}
        return self.kind


class UnitBookingOptions(models.Model):
    """Scheduling options of a unit that the tenant core does not know about (one row or none:
    no row = the defaults)."""

    unit = models.OneToOneField(
        Unit, on_delete=models.CASCADE, related_name="booking_options", verbose_name=_("unit")
    )
    no_show_followup = models.BooleanField(_("message no-shows offering a new time"), default=True)
    no_show_followup_hour = models.PositiveSmallIntegerField(
        _("no-show message hour (next day, local time)"), default=10
    )

    class Meta:
        verbose_name = _("booking options")
        verbose_name_plural = _("booking options")
        constraints = [
            models.CheckConstraint(condition=Q(no_show_followup_hour__lte=23), name="bookingopts_hour_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.unit}"


class LossReason(models.Model):
    """Why a visited family did not enrol: a list each unit edits (price, schedule, distance…)."""

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="loss_reasons", verbose_name=_("unit")
    )
    label = models.CharField(_("reason"), max_length=80)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reason for not enrolling")
        verbose_name_plural = _("reasons for not enrolling")
        ordering = ["unit", "position", "label"]
        constraints = [models.UniqueConstraint(fields=["unit", "label"], name="lossreason_unique_label")]

    def __str__(self) -> str:
        return self.label


class VisitOutcome(models.Model):
    """What happened after a visit: the family enrolled (subjects, start date) or not (a reason)."""

    class Result(models.TextChoices):
        ENROLLED = "enrolled", _("enrolled")
        NOT_ENROLLED = "not_enrolled", _("did not enrol")

    appointment = models.OneToOneField(
        Appointment, on_delete=models.CASCADE, related_name="outcome", verbose_name=_("appointment")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="visit_outcomes", verbose_name=_("unit")
    )
    result = models.CharField(_("outcome"), max_length=12, choices=Result.choices)
    subjects = models.CharField(_("subjects"), max_length=200, blank=True)
    start_date = models.DateField(_("starts on"), null=True, blank=True)
    reason = models.ForeignKey(
        LossReason,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outcomes",
        verbose_name=_("reason for not enrolling"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("visit outcome")
        verbose_name_plural = _("visit outcomes")
        constraints = [
            models.CheckConstraint(
                condition=Q(result="enrolled", reason__isnull=True)
                | Q(result="not_enrolled", reason__isnull=False),
                name="outcome_reason_iff_not_enrolled",
            ),
        ]
        indexes = [models.Index(fields=["unit", "recorded_at"], name="outcome_unit_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_result_display()} {self.appointment}"
