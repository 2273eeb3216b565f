"""Unit profiles: a whole unit in one JSON file (`python manage.py unit load FILE.json`).

The format is `shared/eval-dev/FORMAT.md`'s: name, address, time zone, opening hours, visit
hours / length / capacity, closures and the FAQ as the unit types it in a spreadsheet. It is
how a franchise onboards a unit without clicking, and how the dialogue sets run on a unit.

A profile is parsed completely before anything is written (`parse_profile` names the field at
fault); `load_profile` then writes the unit, its hours and closures and its FAQ in one
transaction and embeds the FAQ after commit. Loading the same file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils.text import slugify

from conversations.understanding.text import fold
from knowledge import services as knowledge_services
from kumon.exceptions import DomainError
from kumon.models import SUBJECTS, Unit
from scheduling.models import Closure, OpeningHours, VisitHours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KNOWN_KEYS = {
    "slug",
    "name",
    "timezone",
    "address",
    "city",
    "state",
    "opening_hours",
    "visit",
    "closures",
    "faq",
    "staff_phone",
    "greeting",
    "what_to_bring",
    "subjects",
}

Periods = dict[int, list[tuple[dt.time, dt.time]]]


class ProfileError(DomainError):
    """The profile is not valid; `field` is the dotted path of what is wrong."""

    def __init__(self, field_path: str, problem: str) -> None:
        super().__init__(f"{field_path}: {problem}", extra={"field": field_path})
        self.field = field_path


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str


@dataclass(frozen=True)
class Profile:
    slug: str
    name: str
    timezone: str
    address: str = ""
    city: str = ""
    state: str = ""
    opening_hours: Periods = field(default_factory=dict)
    visit_minutes: int | None = None
    capacity: int | None = None
    visit_hours: Periods = field(default_factory=dict)
    closures: list[tuple[dt.date, str]] = field(default_factory=list)
    faq: list[FaqEntry] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)  # staff_phone, greeting, what_to_bring
    unknown_keys: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)  # the profile's, else read from its FAQ


def _text(data: dict[str, Any], key: str, path: str, *, required: bool = False, limit: int = 255) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise ProfileError(path, "is required")
        return ""
    if not isinstance(value, str):
        raise ProfileError(path, f"must be text, not {type(value).__name__}")
    value = value.strip()
    if len(value) > limit:
        raise ProfileError(path, f"is longer than {limit} characters")
    return value


def _time(value: Any, path: str) -> dt.time:
    match = re.fullmatch(r"\s*(\d{1,2})[:h](\d{2})\s*", value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ProfileError(path, f'is not a time like "08:30": {value!r}')
    return dt.time(int(match.group(1)), int(match.group(2)))


def _periods(value: Any, path: str, *, allow_equal: bool = False) -> Periods:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProfileError(path, 'must be an object like {"mon": [["08:00", "12:00"]]}')
    periods: Periods = {}
    for day, ranges in value.items():
        day_path = f"{path}.{day}"
        if day not in WEEKDAYS:
            raise ProfileError(day_path, f"is not a weekday key ({', '.join(WEEKDAYS)})")
        if not isinstance(ranges, list):
            raise ProfileError(day_path, 'must be a list of ["from", "until"] pairs')
        for n, pair in enumerate(ranges):
            pair_path = f"{day_path}[{n}]"
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ProfileError(pair_path, 'must be a pair ["from", "until"]')
            start, end = _time(pair[0], f"{pair_path}[0]"), _time(pair[1], f"{pair_path}[1]")
            if end < start or (end == start and not allow_equal):
                raise ProfileError(pair_path, "ends before it starts")
            periods.setdefault(WEEKDAYS.index(day), []).append((start, end))
    return periods


def _positive_int(value: Any, path: str, *, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProfileError(path, f"must be a whole number from {low} to {high}")
    return value


def parse_profile(data: Any) -> Profile:
    """Check the whole profile; raises ProfileError naming the first field at fault."""
    if not isinstance(data, dict):
        raise ProfileError("(profile)", "must be a JSON object")
    name = _text(data, "name", "name", required=True, limit=120)
    slug = _text(data, "slug", "slug", limit=60) or slugify(name)[:60]
    if slug != slugify(slug):
        raise ProfileError("slug", f"must be lowercase letters, digits and hyphens: {slug!r}")
    timezone = _text(data, "timezone", "timezone") or "America/Sao_Paulo"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProfileError("timezone", f"unknown time zone {timezone!r}") from None
    state = _text(data, "state", "state", limit=2).upper()
    visit = data.get("visit") or {}
    if not isinstance(visit, dict):
        raise ProfileError("visit", "must be an object with minutes, capacity and hours")
    closures = []
    raw_closures = data.get("closures") or []
    if not isinstance(raw_closures, list):
        raise ProfileError("closures", 'must be a list of {"date", "reason"}')
    for n, item in enumerate(raw_closures):
        path = f"closures[{n}]"
        if not isinstance(item, dict):
            raise ProfileError(path, 'must be an object {"date", "reason"}')
        try:
            day = dt.date.fromisoformat(str(item.get("date", "")))
        except ValueError:
            raise ProfileError(
                f"{path}.date", f"is not a date like 2026-12-24: {item.get('date')!r}"
            ) from None
        closures.append((day, _text(item, "reason", f"{path}.reason", limit=200)))
    faq = []
    raw_faq = data.get("faq") or []
    if not isinstance(raw_faq, list):
        raise ProfileError("faq", 'must be a list of {"id", "question", "answer"}')
    seen: set[str] = set()
    for n, item in enumerate(raw_faq):
        path = f"faq[{n}]"
        if not isinstance(item, dict):
            raise ProfileError(path, 'must be an object {"id", "question", "answer"}')
        entry = FaqEntry(
            id=_text(item, "id", f"{path}.id", required=True, limit=100),
            question=_text(item, "question", f"{path}.question", required=True, limit=2000),
            answer=_text(item, "answer", f"{path}.answer", required=True, limit=20000),
        )
        if entry.id in seen:
            raise ProfileError(f"{path}.id", f"{entry.id!r} appears twice")
        seen.add(entry.id)
        faq.append(entry)
    extra = {
        key: _text(data, key, key, limit=2000)
        for key in ("staff_phone", "greeting", "what_to_bring")
        if key in data
    }
    subjects = _subjects(data["subjects"]) if "subjects" in data else subjects_in_faq(faq)
    return Profile(
        slug=slug,
        name=name,
        timezone=timezone,
        address=_text(data, "address", "address"),
        city=_text(data, "city", "city", limit=80),
        state=state,
        opening_hours=_periods(data.get("opening_hours"), "opening_hours"),
        visit_minutes=_positive_int(visit.get("minutes"), "visit.minutes", low=5, high=600),
        capacity=_positive_int(visit.get("capacity"), "visit.capacity", low=1, high=100),
        visit_hours=_periods(visit.get("hours"), "visit.hours", allow_equal=True),
        closures=closures,
        faq=faq,
        extra=extra,
        unknown_keys=sorted(set(data) - KNOWN_KEYS),
        subjects=subjects,
    )


def _subjects(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ProfileError("subjects", f"a non-empty list of {', '.join(SUBJECTS)}")
    by_plain = {fold(s): s for s in SUBJECTS}
    wanted = []
    for item in value:
        name = by_plain.get(fold(str(item)).strip())
        if name is None:
            raise ProfileError("subjects", f"{item!r} is not one of {', '.join(SUBJECTS)}")
        wanted.append(name)
    return [s for s in SUBJECTS if s in wanted]


# A sentence that denies what it names: "Japonês não temos nesta unidade", "sem inglês".
_DENIES = re.compile(r"\b(?:nao|sem|nenhum|nenhuma|infelizmente)\b")
_SUBJECT_WORDS = {
    "Matemática": r"matematica",
    "Português": r"portugues",
    "Inglês": r"ingles",
    "Japonês": r"japones",
}


def subjects_in_faq(faq: list[FaqEntry]) -> list[str]:
    """The subjects a unit teaches, as its FAQ says: Matemática, Português and Inglês unless
    only denied ("não temos inglês"); Japonês only where a sentence offers it (few units do)."""
    # The answers only: a question ("Tem japonês?") offers nothing.
    sentences = [sentence for entry in faq for sentence in re.split(r"[.!?;:,\n]+", fold(entry.answer))]
    offered = []
    for subject, word in _SUBJECT_WORDS.items():
        mentions = [s for s in sentences if re.search(rf"\b{word}\b", s)]
        said = any(not _DENIES.search(s) for s in mentions)
        denied = bool(mentions) and not said
        if said or (subject != "Japonês" and not denied):
            offered.append(subject)
    return offered


def _replace_periods(model: type[OpeningHours] | type[VisitHours], unit: Unit, periods: Periods) -> None:
    wanted = sorted((d, s, e) for d, ranges in periods.items() for s, e in ranges)
    current = sorted(model.objects.filter(unit=unit).values_list("weekday", "start", "end"))
    if wanted != current:  # unchanged hours keep their rows (and ids)
        model.objects.filter(unit=unit).delete()
        model.objects.bulk_create([model(unit=unit, weekday=d, start=s, end=e) for d, s, e in wanted])  # type: ignore[misc]  # one of two models, not their union


@dataclass(frozen=True)
class LoadResult:
    unit: Unit
    created: bool
    faq_changed: int
    embedded: int


def load_profile(*, profile: Profile, slug: str | None = None, embed: bool = True) -> LoadResult:
    """Create or update the unit `slug` (default: the profile's) from the profile.

    Side effects, in one transaction: the unit's fields, opening hours, visit hours and closures
    replaced by the profile's; FAQ entries upserted by id (entries the profile does not list are
    kept: staff may have added them). After commit, with `embed`, the FAQ is embedded in this
    process, so the unit answers as soon as this returns.
    """
    slug = slug or profile.slug
    fields: dict[str, Any] = {
        "name": profile.name,
        "timezone": profile.timezone,
        "address": profile.address,
        "city": profile.city,
        "state": profile.state,
        **profile.extra,
    }
    if profile.subjects:
        fields["subjects"] = profile.subjects
    if profile.visit_minutes is not None:
        fields["visit_minutes"] = profile.visit_minutes
    if profile.capacity is not None:
        fields["capacity"] = profile.capacity
    changed_ids: list[int] = []
    with transaction.atomic():
        unit, created = Unit.objects.update_or_create(slug=slug, defaults=fields)
        _replace_periods(OpeningHours, unit, profile.opening_hours)
        _replace_periods(VisitHours, unit, profile.visit_hours)
        wanted_closures = sorted(profile.closures)
        current = sorted(Closure.objects.filter(unit=unit).values_list("start_date", "reason"))
        if wanted_closures != current:
            Closure.objects.filter(unit=unit).delete()
            Closure.objects.bulk_create(
                Closure(unit=unit, start_date=day, end_date=day, reason=reason)
                for day, reason in wanted_closures
            )
        for entry in profile.faq:
            source, changed = knowledge_services.upsert_faq(
                unit=unit,
                external_id=entry.id,
                question=entry.question,
                answer=entry.answer,
                enqueue=not embed,
            )
            if changed:
                changed_ids.append(source.pk)
    # Also what an earlier load left pending (its embedding failed): the unit answers from all of it.
    embedded = knowledge_services.index_pending(unit=unit) if embed else 0
    return LoadResult(unit=unit, created=created, faq_changed=len(changed_ids), embedded=embedded)
