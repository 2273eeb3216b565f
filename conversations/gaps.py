"""Knowledge gaps for staff: the questions the bot could not answer, grouped by similarity, and
the one-click answer that turns a group into an FAQ entry.

Similarity: the question normalised like the knowledge index does (accents, abbreviations,
greetings) and compared as word sets (Jaccard). It needs no model in the web process and groups
the usual rewordings ("qto custa?" / "quanto custa a mensalidade?") together.

A gap is answered when its text is the question or an alternative phrasing of an entry of its
unit (or shared): answering a group stores every text of the group as phrasings, so the group
leaves the page by itself and the bot finds the entry when the question comes again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Left
from django.utils.translation import gettext

from knowledge import services as knowledge_services
from knowledge.models import KnowledgeGap, Phrasing, Source
from knowledge.normalize import normalize
from kumon.exceptions import DomainError, PermissionDenied
from kumon.models import Unit
from kumon.tenancy import is_franchise_admin, scope

SIMILARITY = 0.5
MAX_GAPS = 400
_WORD = re.compile(r"\w+")
STOPWORDS = {
    "a",
    "o",
    "as",
    "os",
    "de",
    "da",
    "do",
    "das",
    "dos",
    "e",
    "em",
    "um",
    "uma",
    "para",
    "com",
    "que",
    "se",
}


@dataclass
class GapGroup:
    unit: Unit
    question: str  # the most frequent wording
    gaps: list[KnowledgeGap] = field(default_factory=list)
    words: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.gaps)

    @property
    def ids(self) -> str:
        return ",".join(str(g.pk) for g in self.gaps)

    @property
    def last_at(self) -> Any:
        return max(g.created_at for g in self.gaps)

    @property
    def texts(self) -> list[str]:
        return list(dict.fromkeys(g.text for g in self.gaps))


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(normalize(text)) if w not in STOPWORDS}


def _similar(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= SIMILARITY


def open_gaps(*, user: Any) -> Any:
    """The user's unanswered gaps, newest first (a text already an entry's question or phrasing
    of its unit or shared is answered)."""
    answered_phrasing = Phrasing.objects.filter(
        Q(source__unit=OuterRef("unit")) | Q(source__unit__isnull=True), text=OuterRef("_text500")
    )
    answered_question = Source.objects.filter(
        Q(unit=OuterRef("unit")) | Q(unit__isnull=True), question=OuterRef("text")
    )
    return (
        scope(KnowledgeGap.objects.select_related("unit"), user)
        .annotate(_text500=Left("text", 500))
        .exclude(Exists(answered_phrasing))
        .exclude(Exists(answered_question))
        .order_by("-created_at", "-pk")
    )


def gap_groups(*, user: Any, unit_id: int | None = None) -> list[GapGroup]:
    """Open gaps grouped by unit and similar wording, the most asked first."""
    gaps = open_gaps(user=user)
    if unit_id:
        gaps = gaps.filter(unit_id=unit_id)
    groups: list[GapGroup] = []
    for gap in gaps[:MAX_GAPS]:
        words = _words(gap.text)
        for group in groups:
            if group.unit.pk == gap.unit_id and _similar(group.words, words):
                group.gaps.append(gap)
                break
        else:
            groups.append(GapGroup(unit=gap.unit, question=gap.text, gaps=[gap], words=words))
    for group in groups:
        counts: dict[str, int] = {}
        for text in (g.text for g in group.gaps):
            counts[text] = counts.get(text, 0) + 1
        group.question = max(counts, key=lambda t: (counts[t], -len(t)))
    groups.sort(key=lambda g: (-g.count, -g.last_at.timestamp()))
    return groups


def answer_gaps(*, user: Any, gap_ids: list[int], question: str, answer: str, shared: bool = False) -> Source:
    """Create the FAQ entry answering these gaps (all of one unit), for the unit or, for the
    franchise role, shared by every unit. Every wording of the gaps becomes a phrasing.

    Side effects: knowledge.services.upsert_faq (the entry is embedded after commit)."""
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        raise DomainError(gettext("Question and answer are required."))
    gaps = list(scope(KnowledgeGap.objects.filter(pk__in=gap_ids), user))
    if not gaps or len(gaps) != len(set(gap_ids)):
        raise PermissionDenied(gettext("Unknown gaps."))
    unit_ids = {g.unit_id for g in gaps}
    if len(unit_ids) != 1:
        raise DomainError(gettext("Gaps of several units."))
    unit = gaps[0].unit
    if shared and not is_franchise_admin(user):
        raise PermissionDenied(gettext("Only the franchise writes shared knowledge."))
    phrasings = [t[:500] for t in dict.fromkeys(g.text.strip() for g in gaps) if t and t != question]
    source, _changed = knowledge_services.upsert_faq(
        unit=None if shared else unit,
        external_id=f"gap-{min(g.pk for g in gaps)}",
        question=question,
        answer=answer,
        phrasings=phrasings,
    )
    return source
