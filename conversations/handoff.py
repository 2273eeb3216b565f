"""Conversations left with staff go back to the bot after HANDOFF_IDLE_MINUTES without activity.

Silently: hand_back sends nothing to the parent; their next message is answered by the bot."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from conversations import services
from conversations.models import Conversation

logger = logging.getLogger(__name__)


def idle_handoff_ids(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Conversations with staff (waiting or assigned) with no activity for the idle time.
    The unit's own staff phone (notifications) is not a family: it stays as it is."""
    cutoff = now - dt.timedelta(minutes=settings.HANDOFF_IDLE_MINUTES)
    return list(
        Conversation.objects.filter(mode=Conversation.Mode.HUMAN, last_activity_at__lt=cutoff)
        .exclude(contact__is_unit_staff=True)
        .order_by("last_activity_at")
        .values_list("pk", flat=True)[:limit]
    )


def release_idle_handoffs(*, now: dt.datetime | None = None) -> int:
    """Hand every idle conversation back to the bot. Returns how many were released."""
    now = now or timezone.now()
    released = 0
    for conversation in Conversation.objects.filter(pk__in=idle_handoff_ids(now=now)):
        # Re-checked under hand_back's row lock: staff may have replied meanwhile.
        if conversation.last_activity_at >= now - dt.timedelta(minutes=settings.HANDOFF_IDLE_MINUTES):
            continue
        services.hand_back(conversation=conversation, user=None, now=now)
        released += 1
        logger.info("conversation %s handed back to the bot after idle time", conversation.pk)
    return released
