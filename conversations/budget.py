"""A unit's daily budget of language-model tokens (LLM_DAILY_TOKEN_BUDGET, 0 = no limit).

Every turn that used the model adds its tokens to the unit's counter of the day (unit-local date,
in the cache: Redis); once the counter passes the budget, that unit's turns take the rules path
until midnight — answers are plainer, nothing stops. A parent flooding the chat cannot spend the
unit's money. The counter is shown on the unit in the admin and counted in /metrics.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache

from kumon import metrics


def _key(unit_id: int, day: dt.date) -> str:
    return f"llm-tokens:{unit_id}:{day.isoformat()}"


def local_day(unit: object, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(getattr(unit, "timezone", "America/Sao_Paulo"))).date()


def tokens_today(*, unit: object, now: dt.datetime) -> int:
    try:
        return int(cache.get(_key(unit.pk, local_day(unit, now))) or 0)  # type: ignore[attr-defined]
    except Exception:  # cache down: count nothing rather than fail the turn
        return 0


def allowed(*, unit: object, now: dt.datetime) -> bool:
    """Whether this unit may still use the language model today."""
    budget = settings.LLM_DAILY_TOKEN_BUDGET
    if budget <= 0 or tokens_today(unit=unit, now=now) < budget:
        return True
    metrics.LLM_BUDGET_EXHAUSTED.inc()
    return False


def spend(*, unit: object, tokens: int, now: dt.datetime) -> None:
    """Add a turn's tokens to the unit's counter of the day (kept two days)."""
    if tokens <= 0:
        return
    key = _key(unit.pk, local_day(unit, now))  # type: ignore[attr-defined]
    try:
        cache.add(key, 0, timeout=2 * 86400)
        cache.incr(key, tokens)
    except Exception:
        pass  # a lost count only lets the unit use a little more than its budget
