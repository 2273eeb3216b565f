"""The channel's one table: inbound events as the webhook received them (issue #16).

A webhook's only write is one INSERT … ON CONFLICT DO NOTHING of its inbound messages as events,
keyed by (unit, provider id): that key is the duplicate check. The worker turns them into
contact, conversation, message and due turn (whatsapp.ingest.record_contact_events) and marks
them done; the row carries its own state so that the task is idempotent and the sweeper can
repair a lost publish. Messages themselves, with their send state (status, attempts,
last_error, provider_id, claimed_until, in_flight, retry_at, meta.part_ids), live in
conversations.Message.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from kumon.models import Unit


class InboundEvent(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"  # a permanent error (last_error says why): never retried

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    provider_id = models.CharField(max_length=128)
    # The sender's E.164 number (parsed at the edge): a contact's events are recorded together, in
    # provider-timestamp order, under their row locks.
    phone = models.CharField(max_length=20)
    # The provider's timestamp of the message (when it had none: when we received it). The order
    # of a contact's messages and the start of the debounce (whatsapp.ingest.moment).
    sent_at = models.DateTimeField()
    # conversations.inbound.InboundMessage's other fields, as JSON (whatsapp.ingest).
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, db_default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(db_default=0)
    last_error = models.CharField(max_length=500, blank=True, db_default="")
    # Stamped by the database in the webhook's INSERT.
    received_at = models.DateTimeField(db_default=Now())
    # The last time the sweeper published it again (a sweep re-publishes an event at most once
    # per WHATSAPP_SWEEP_AFTER_SECONDS, so a backlog is not multiplied).
    swept_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "provider_id"], name="inbound_event_unique_provider_id"),
        ]
        indexes = [
            # The worker's "this contact's pending events, oldest first": pending rows only.
            models.Index(
                fields=["unit", "phone", "sent_at", "id"],
                name="inbound_event_pending_idx",
                condition=Q(status="pending"),
            ),
            # The sweeper's scan and the purge of old done events.
            models.Index(
                fields=["received_at"], name="inbound_event_sweep_idx", condition=Q(status="pending")
            ),
            models.Index(fields=["processed_at"], name="inbound_event_done_idx", condition=Q(status="done")),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} ({self.status})"
