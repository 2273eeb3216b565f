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

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("unit"))
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
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies",
        verbose_name=_("in reply to"),
    )
    seq = models.PositiveSmallIntegerField(_("part"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    raw = models.JSONField(_("raw payload"), null=True, blank=True)
    meta = models.JSONField(_("details"), default=dict, blank=True)
    tokens_in = models.PositiveIntegerField(_("LLM tokens in"), default=0)
    tokens_out = models.PositiveIntegerField(_("LLM tokens out"), default=0)
    cost_usd = models.DecimalField(_("estimated LLM cost (USD)"), max_digits=10, decimal_places=6, default=0)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
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
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.sender}: {self.body[:40]}"
