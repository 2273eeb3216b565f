"""What the engine decides for one turn. The engine returns this; it never sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    text: str
    meta: dict[str, Any] = field(default_factory=dict)  # sources used, tokens, intent


@dataclass
class TurnResult:
    replies: list[Reply] = field(default_factory=list)
    stage: str | None = None  # None = unchanged
    step: str | None = None
    data: dict[str, Any] | None = None  # the conversation's collected data, replaced whole
    handoff: str = ""  # reason; non-empty puts the conversation with staff after the replies
    opt_out: bool = False
    opt_in: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
