"""Reads used in more than one place (API, admin)."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext

from knowledge.models import Source
from kumon.exceptions import NotFound
from kumon.models import Unit
from kumon.tenancy import scope, unit_ids_for


def unit_for_user(*, user: Any, slug: str) -> Unit:
    """The unit `slug` if the user may see it; NotFound otherwise (an outsider learns nothing)."""
    unit = Unit.objects.filter(slug=slug).first()
    ids = unit_ids_for(user)
    if unit is None or (ids is not None and unit.pk not in ids):
        raise NotFound(gettext("Unit not found."), extra={"unit": slug})
    return unit


def visible_sources(*, user: Any, unit: Unit | None = None) -> QuerySet[Source]:
    """Sources the user sees: their units' own plus the shared ones; one unit's when given."""
    qs = scope(Source.objects.select_related("unit"), user, shared=True)
    if unit is not None:
        qs = qs.filter(unit__in=[unit.pk]) | qs.filter(unit__isnull=True)
    return qs.order_by("unit_id", "external_id", "pk")


def entry_on_topic(*, unit: Unit, topic: str) -> Source | None:
    """The published FAQ entry this unit answers `topic` with (its own first, else the shared one)."""
    entries = Source.objects.filter(kind=Source.Kind.FAQ, published=True, topic=topic).filter(
        Q(unit=unit) | Q(unit__isnull=True)
    )
    return entries.order_by(F("unit").desc(nulls_last=True), "pk").first()
