"""The tenant core: a Kumon unit, who works in it, and the families (contacts) who write to it.

Contact lives here, not in conversations, because scheduling needs it too (appointments,
reminders to opted-out families) and imports point one way: apps depend on kumon."""

from __future__ import annotations

import secrets
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(24)


# The Kumon subjects, in the order the receptionist lists them.
SUBJECTS = ("Matemática", "Português", "Inglês", "Japonês")


def all_subjects() -> list[str]:
    return list(SUBJECTS)


class Unit(models.Model):
    class Gateway(models.TextChoices):
        DEFAULT = "", _("default (WHATSAPP_GATEWAY)")
        CONSOLE = "console", _("console (simulator)")
        EVOLUTION = "evolution", _("Evolution API")
        META = "meta", _("Meta Cloud API")

    class Calendar(models.TextChoices):
        LOCAL = "local", _("local (this database)")
        GOOGLE = "google", _("Google Calendar")

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="America/Sao_Paulo",
        choices=sorted((tz, tz) for tz in available_timezones() if tz.startswith("America/")),
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    # Holidays: Brazilian national ones plus this state's (ISO 3166-2 subdivision, e.g. "SP").
    # "state" alone is also the inbox's conversation state ("situação"): a context keeps them apart.
    state = models.CharField(
        pgettext_lazy("Brazilian state (UF)", "state"), max_length=2, blank=True, default="SP"
    )
    city = models.CharField(_("city"), max_length=80, blank=True)
    staff_phone = models.CharField(_("staff WhatsApp"), max_length=20, blank=True)
    greeting = models.TextField(_("greeting"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    # WhatsApp channel
    whatsapp_gateway = models.CharField(
        _("WhatsApp gateway"), max_length=12, choices=Gateway.choices, blank=True, default=""
    )
    evolution_instance = models.CharField(
        _("Evolution instance"), max_length=100, blank=True, null=True, unique=True
    )
    webhook_secret = models.CharField(_("webhook secret"), max_length=128, default=new_webhook_secret)
    meta_phone_number_id = models.CharField(
        _("Meta phone number id"), max_length=40, blank=True, null=True, unique=True
    )
    meta_reminder_template = models.CharField(_("Meta reminder template"), max_length=120, blank=True)

    # Calendar and booking rules
    calendar_backend = models.CharField(
        _("calendar"), max_length=10, choices=Calendar.choices, default=Calendar.LOCAL
    )
    google_calendar_id = models.CharField(_("Google calendar id"), max_length=255, blank=True)
    visit_minutes = models.PositiveSmallIntegerField(_("visit duration (min)"), default=60)
    buffer_before_minutes = models.PositiveSmallIntegerField(_("buffer before (min)"), default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(_("buffer after (min)"), default=0)
    min_notice_minutes = models.PositiveIntegerField(_("minimum notice (min)"), default=60)
    booking_window_days = models.PositiveSmallIntegerField(_("booking window (days)"), default=30)
    capacity = models.PositiveSmallIntegerField(_("families per slot"), default=1)
    change_notice_minutes = models.PositiveIntegerField(
        _("parent may change/cancel until (min before)"), default=60
    )
    what_to_bring = models.TextField(_("what to bring"), blank=True)
    # What the receptionist offers and asks about ("Matemática, Português ou Inglês?"): not every
    # unit teaches Japanese. `unit load` reads it from the profile or infers it from the FAQ.
    subjects = ArrayField(
        models.CharField(max_length=20, choices=[(s, s) for s in SUBJECTS]),
        verbose_name=_("subjects offered"),
        default=all_subjects,
        help_text=_("Comma-separated: Matemática, Português, Inglês, Japonês."),
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["name"]
        # The franchise role: writes what every unit shares (knowledge with no unit) and the
        # settings that point a unit at outside resources (its Google calendar). Superusers have
        # it implicitly; give it to a franchise team through a group.
        permissions = [("franchise_admin", _("Franchise administrator (shared knowledge, calendars)"))]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="unit_capacity_positive"),
            models.CheckConstraint(condition=Q(visit_minutes__gte=5), name="unit_visit_min_5"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def offered_subjects(self) -> list[str]:
        """The subjects this unit teaches, in the receptionist's order (all of them when unset)."""
        return [s for s in SUBJECTS if s in (self.subjects or SUBJECTS)]

    @property
    def gateway(self) -> str:
        return self.whatsapp_gateway or settings.WHATSAPP_GATEWAY


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        STAFF = "staff", _("staff")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "unit"], name="membership_unique_user_unit")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit} ({self.role})"


class Contact(models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="contacts")
    phone = models.CharField(_("phone (E.164)"), max_length=20)
    name = models.CharField(_("name"), max_length=120, blank=True)
    # Lead data kept across conversations: a returning parent is not asked again.
    data = models.JSONField(_("lead data"), default=dict, blank=True)
    # The unit's own staff phone (it receives the hand-off notifications): not a family, left
    # out of the inbox, the reports and the API's contact lists.
    is_unit_staff = models.BooleanField(_("unit's staff phone"), default=False, db_default=False)
    # A parent played in the simulator page (whatsapp/views.py): every reply goes to the console
    # gateway, never to a real phone. The simulator never uses a real family's contact, and a real
    # message from this number turns it into a real contact (conversations.services.record_inbound).
    simulated = models.BooleanField(_("simulator contact"), default=False, db_default=False)
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    consent_at = models.DateTimeField(_("consent at"), null=True, blank=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [models.UniqueConstraint(fields=["unit", "phone"], name="contact_unique_unit_phone")]

    def __str__(self) -> str:
        return self.name or self.phone
