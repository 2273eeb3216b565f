"""Signals about the messages this app stores, sent by the channel that delivers them.

Defined here rather than in whatsapp: the receivers live in this app and below, and an app
never imports a higher one (kumon/tests/test_layers.py). The channel knows nothing of what a
message was for; the receivers (conversations.receivers) do.
"""

from __future__ import annotations

from django.dispatch import Signal

# An outbound message the channel gave up on: status "failed" or "skipped", after its row was
# marked so. kwargs: message_id (int), status (str), reason (str), kind (meta["kind"], "" if none).
send_failed = Signal()
