"""Figures read from the conversations' rows at every scrape of `/metrics` (registered with
kumon.metrics in ConversationsConfig.ready)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from conversations.models import Conversation, Message

logger = logging.getLogger(__name__)


class DatabaseCollector(Collector):
    """Figures read from the rows at scrape time (one GROUP BY and one MIN, both on indexed
    columns of the last day): messages by direction and status, send failures, inbound lag."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        messages = GaugeMetricFamily(
            "kumon_messages_last_24h",
            "Messages created in the last 24 h, by direction and status.",
            labels=["direction", "status"],
        )
        failures = GaugeMetricFamily(
            "kumon_send_failures_last_24h", "Outbound messages of the last 24 h that ended failed."
        )
        lag = GaugeMetricFamily(
            "kumon_inbound_queue_lag_seconds",
            "Age of the oldest inbound message not yet handled in a bot conversation (0 = none waiting).",
        )
        up = GaugeMetricFamily("kumon_metrics_database_up", "1 when the database answered this scrape.")
        try:
            rows = (
                Message.objects.filter(created_at__gte=now - dt.timedelta(hours=24))
                .values_list("direction", "status")
                .annotate(n=Count("id"))
                .order_by()
            )
            failed = 0
            for direction, status, n in rows:
                messages.add_metric([direction, status], n)
                if direction == Message.Direction.OUT and status == Message.Status.FAILED:
                    failed = n
            failures.add_metric([], failed)
            oldest = Message.objects.filter(
                direction=Message.Direction.IN,
                status=Message.Status.RECEIVED,
                conversation__mode=Conversation.Mode.BOT,
            ).aggregate(oldest=Min("created_at"))["oldest"]
            lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
            up.add_metric([], 1)
        except DatabaseError as exc:
            logger.warning("metrics: database unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        yield from (messages, failures, lag, up)
