"""The conversation engine: given a conversation and the new turn, decide the replies.

Placeholder until the full engine lands (issue #5): a fixed acknowledgement.
"""

from __future__ import annotations

import datetime as dt

from conversations.models import Conversation, Message
from conversations.turn import Reply, TurnResult


def respond(*, conversation: Conversation, messages: list[Message], now: dt.datetime) -> TurnResult:
    name = conversation.unit.name
    return TurnResult(replies=[Reply(f"Olá! Aqui é a {name}. Recebemos sua mensagem e já vamos responder.")])
