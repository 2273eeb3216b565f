"""Conversations of a family (kumon.Contact) with a unit, and every message in and out."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kumon.models import Contact, Unit


class Conversation(models.Model):
    class Mode(models.TextChoices):
        BOT = "bot", _("bot")
        HUMAN = "human", _("with staff")
        CLOSED = "closed", _("closed")

    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("unit")
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("family")
    )
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.BOT)
    stage = models.CharField(_("stage"), max_length=40, default="new")
    step = models.CharField(_("step"), max_length=40, blank=True)
    data = models.JSONField(_("collected data"), default=dict, blank=True)
    # Hand-off: set when the bot (or the parent) asked for a person; cleared on hand-back.
    handoff_at = models.DateTimeField(_("hand-off requested at"), null=True, blank=True)
    handoff_reason = models.CharField(_("hand-off reason"), max_length=40, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
        verbose_name=_("assigned to"),
    )
    # Durable debounce: the turn is answered at reply_due_at (a row, not only an ETA task);
    # turn_started_at caps the window; a worker computing the turn holds turn_lease_until.
    reply_due_at = models.DateTimeField(null=True, blank=True)
    turn_started_at = models.DateTimeField(null=True, blank=True)
    turn_lease_until = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            # At most one open conversation per contact: concurrent webhooks cannot open two.
            models.UniqueConstraint(
                fields=["contact"],
                condition=~Q(mode="closed"),
                name="conversation_one_open_per_contact",
            )
        ]
        indexes = [
            models.Index(fields=["unit", "mode", "handoff_at"], name="conv_inbox_idx"),
            models.Index(
                fields=["reply_due_at"], name="conv_reply_due_idx", condition=Q(reply_due_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} ({self.get_mode_display()})"


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in", _("in")
        OUT = "out", _("out")

    class Sender(models.TextChoices):
        PARENT = "parent", _("parent")
        BOT = "bot", _("bot")
        STAFF = "staff", _("staff")

    class Kind(models.TextChoices):
        TEXT = "text", _("text")
        AUDIO = "audio", _("audio")
        IMAGE = "image", _("image")
        DOCUMENT = "document", _("document")
        STICKER = "sticker", _("sticker")
        REACTION = "reaction", _("reaction")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        HANDLED = "handled", _("handled")
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        READ = "read", _("read")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("not sent")

    # An outbound message whose sending is over, whatever its outcome.
    SETTLED = frozenset({Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED, Status.SKIPPED})

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="messages", verbose_name=_("unit"))
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name=_("conversation")
    )
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    sender = models.CharField(_("sender"), max_length=10, choices=Sender.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    provider_id = models.CharField(_("provider id"), max_length=128, null=True, blank=True)
    # A bot reply is part `seq` of the answer to the turn ending at `in_reply_to`: the unique
    # pair makes a re-run turn unable to store a second answer.
    in_reply_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("in reply to"),
    )
    seq = models.PositiveSmallIntegerField(_("part"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    # The send state machine of an outbound message (whatsapp/services.py), in columns the
    # sweeper indexes: the claim's lease, whether the provider call has started (a lost worker
    # then leaves an unknown outcome), and when a backed-off or paced send is due again.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    in_flight = models.BooleanField(_("provider call started"), default=False)
    retry_at = models.DateTimeField(_("retry at"), null=True, blank=True)
    raw = models.JSONField(_("raw payload"), null=True, blank=True)
    meta = models.JSONField(_("details"), default=dict, blank=True)
    tokens_in = models.PositiveIntegerField(_("LLM tokens in"), default=0)
    tokens_out = models.PositiveIntegerField(_("LLM tokens out"), default=0)
    cost_usd = models.DecimalField(_("estimated LLM cost (USD)"), max_digits=10, decimal_places=6, default=0)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "provider_id"],
                condition=Q(provider_id__isnull=False),
                name="message_unique_provider_id",
            ),
            models.UniqueConstraint(
                fields=["in_reply_to", "seq"],
                condition=Q(in_reply_to__isnull=False),
                name="message_one_reply_part",
            ),
            models.CheckConstraint(
                condition=(Q(direction="in", sender="parent") | Q(direction="out") | Q(sender="staff")),
                name="message_sender_matches_direction",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="msg_conv_time_idx"),
            # The sweeper's scan: only rows still waiting are indexed.
            models.Index(
                fields=["status", "created_at"],
                name="msg_pending_idx",
                condition=Q(status__in=["received", "queued", "sending"]),
            ),
            # The sweeper's two send scans: claims whose lease ran out, and queued rows whose
            # retry time has come (or that have none).
            models.Index(
                fields=["claimed_until"], name="msg_claim_expiry_idx", condition=Q(status="sending")
            ),
            models.Index(fields=["retry_at"], name="msg_retry_due_idx", condition=Q(status="queued")),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.sender}: {self.body[:40]}"

    # The `meta` keys more than one module reads, typed here (the rest belong to one module).
    @property
    def purpose(self) -> str:
        """What an outbound message the receptionist starts is for ("reminder", "no_show",
        "followup", "waiting_notice", …); "" for an answer to the family's turn."""
        return str((self.meta or {}).get("kind") or "")

    @property
    def offered_slots(self) -> list[str]:
        """The free slots a reply listed, ISO starts in order (what "o 2" then picks)."""
        return list((self.meta or {}).get("offered", []))

    @property
    def confirms_opt_out(self) -> bool:
        """The one message a family that opted out still gets: the confirmation of it."""
        return bool((self.meta or {}).get("opt_out_confirmation"))


class ProactiveOptions(models.Model):
    """How a unit's receptionist starts conversations: follow-ups of quiet leads, the send
    window, WhatsApp pacing and the Meta template used outside the 24-hour window (one row or
    none: no row = the defaults, see conversations.proactive.options_for)."""

    unit = models.OneToOneField(
        Unit, on_delete=models.CASCADE, related_name="proactive_options", verbose_name=_("unit")
    )
    followups_max = models.PositiveSmallIntegerField(_("follow-ups of a quiet family (0 = none)"), default=2)
    followup_hours = models.CharField(
        _("follow-up delays (hours after their last message)"),
        max_length=60,
        default="3,22",
        help_text=_("Comma separated, e.g. 3,22. Only the first N are used."),
    )
    window_start = models.TimeField(_("send from (local time)"), default="08:00")
    window_end = models.TimeField(_("send until (local time)"), default="20:00")
    after_visit_followup_days = models.PositiveSmallIntegerField(
        _("days after a visit without enrolment to follow up (empty = off)"), null=True, blank=True
    )
    daily_cap = models.PositiveIntegerField(_("follow-ups per day at most (WhatsApp number)"), default=150)
    meta_template_name = models.CharField(_("Meta template name"), max_length=120, blank=True)
    meta_template_language = models.CharField(_("Meta template language"), max_length=12, default="pt_BR")
    meta_template_parameters = models.CharField(
        _("Meta template parameters"),
        max_length=255,
        blank=True,
        default="{parent_name}|{text}",
        help_text=_(
            "The template's {{1}}, {{2}}… separated by |, from {parent_name}, {child_name}, {unit}, {text}."
        ),
    )

    class Meta:
        verbose_name = _("proactive messages")
        verbose_name_plural = _("proactive messages")
        constraints = [
            models.CheckConstraint(
                condition=Q(window_start__lt=models.F("window_end")), name="proactive_window_order"
            ),
            models.CheckConstraint(condition=Q(followups_max__lte=5), name="proactive_followups_max_5"),
        ]

    def __str__(self) -> str:
        return f"{self.unit}"


class Followup(models.Model):
    """A message to a family that went quiet, due at `due_at`: scheduled after a bot turn that
    left a question open, claimed by beat (conversations.proactive), cancelled by their reply,
    an opt-out, staff taking over, or a booking. Its text is written when it is sent."""

    class Kind(models.TextChoices):
        QUIET = "quiet", _("went quiet")
        AFTER_VISIT = "after_visit", _("after a visit without enrolment")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        CANCELLED = "cancelled", _("cancelled")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="followups", verbose_name=_("unit"))
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="followups", verbose_name=_("conversation")
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="followups", verbose_name=_("family")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.QUIET)
    seq = models.PositiveSmallIntegerField(_("number"), default=1)
    # The family's message this follows up (QUIET), or the visit's time (AFTER_VISIT): a newer
    # message from them cancels it.
    anchor_at = models.DateTimeField(_("their last message"))
    anchor_message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("their message"),
    )
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason / last error"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    appointment_id = models.BigIntegerField(_("appointment id"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("message")
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at"]
        constraints = [
            # Scheduling twice after the same message (a re-run turn) creates nothing new.
            models.UniqueConstraint(
                fields=["conversation", "anchor_message", "seq"],
                condition=Q(kind="quiet"),
                name="followup_unique_per_message",
            ),
            models.UniqueConstraint(
                fields=["appointment_id"], condition=Q(kind="after_visit"), name="followup_one_per_visit"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"], name="followup_due_idx", condition=Q(status__in=["pending", "sending"])
            ),
            models.Index(fields=["conversation", "status"], name="followup_conv_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.seq} ({self.get_status_display()})"
