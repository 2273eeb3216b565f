"""Dialogue sets (`python manage.py dialogues eval FILE.json --profile UNIT.json`).

A dialogue file (shared/eval-dev/FORMAT.md) is what outside people wrote: parents' messages with
their times and what a person checking the result expects. Each dialogue runs on the unit through
the real path — ingest (`record_inbound`) → the worker answers the turn → the console gateway
sends — with the engine's clock at each message's time; `given` appointments are booked through
the booking service first. Messages less than 25 s apart form one burst (one turn). After the
last turn every `expect` field is checked; `judge` sentences are printed for a person.

Dialogues share the unit but not its calendar: each one's appointments and holds are removed
after it is checked, so an earlier dialogue's booking never takes a later one's slot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from conversations import state
from conversations.management.commands.chat import Typed, type_burst, wait_for_replies
from conversations.models import Conversation
from knowledge.normalize import strip_accents
from kumon.models import Contact, Unit
from kumon.phones import normalize_phone
from scheduling import services as booking
from scheduling.models import Appointment, SlotHold

BURST_SECONDS = 25
REPLY_TIMEOUT = 60.0


@dataclass(frozen=True)
class Turn:
    at: dt.datetime
    text: str
    media: str = ""  # "audio" | "image": `text` only describes it


@dataclass(frozen=True)
class Dialogue:
    name: str
    turns: list[Turn]
    expect: dict[str, Any]
    given: list[dict[str, Any]] = field(default_factory=list)
    judge: list[str] = field(default_factory=list)

    @property
    def bursts(self) -> list[list[int]]:
        """Turn indexes grouped into bursts (each less than 25 s after the previous one)."""
        groups: list[list[int]] = []
        for i, turn in enumerate(self.turns):
            if groups and (turn.at - self.turns[groups[-1][-1]].at).total_seconds() < BURST_SECONDS:
                groups[-1].append(i)
            else:
                groups.append([i])
        return groups

    @property
    def kind(self) -> str:
        """A rough label for reporting pass rates by kind of dialogue."""
        e = self.expect
        text = " ".join(t.text for t in self.turns)
        if e.get("opted_out"):
            return "opt-out"
        if e.get("mode") == "human":
            return "hand-off"
        if any(t.media for t in self.turns):
            return "media"
        if self.given:
            return "reschedule/cancel/return"
        if re.search(r"\b(the|my|hola|soy|mi|we|i'm)\b", text.lower()):
            return "languages"
        if e.get("appointments"):
            return "booking"
        return "questions"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Outcome:
    dialogue: Dialogue
    phone: str
    replies: list[list[dict[str, Any]]]  # per burst: [{"body", "offered"}]
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)


def parse_dialogues(data: Any) -> list[Dialogue]:
    if not isinstance(data, list):
        raise ValueError("a dialogue file is a JSON list")
    dialogues = []
    for n, item in enumerate(data):
        try:
            turns = [
                Turn(
                    at=dt.datetime.fromisoformat(t["at"]), text=t.get("parent", ""), media=t.get("media", "")
                )
                for t in item["turns"]
            ]
            dialogues.append(
                Dialogue(
                    name=item.get("name") or f"dialogue-{n + 1}",
                    turns=turns,
                    expect=item.get("expect") or {},
                    given=(item.get("given") or {}).get("appointments") or [],
                    judge=item.get("judge") or [],
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"dialogue {n + 1}: {exc}") from exc
    return dialogues


def phone_for(dialogue: Dialogue, index: int) -> str:
    digest = int(hashlib.sha256(dialogue.name.encode()).hexdigest(), 16) % 10_000
    return normalize_phone(f"+55119{index % 10_000:04d}{digest:04d}")


def reset_unit(unit: Unit) -> None:
    """Remove the unit's families and bookings: a fresh unit for a run (its hours and FAQ stay)."""
    with transaction.atomic():
        SlotHold.objects.filter(unit=unit).delete()
        Appointment.objects.filter(unit=unit).delete()
        Contact.objects.filter(unit=unit).delete()


def fold(text: str) -> str:
    return strip_accents(text).lower()


def run_dialogue(*, unit: Unit, dialogue: Dialogue, index: int, timeout: float = REPLY_TIMEOUT) -> Outcome:
    """Play the dialogue through ingest → worker → gateway and check its expectations."""
    phone = phone_for(dialogue, index)
    first_at = dialogue.turns[0].at
    for given in dialogue.given:
        booking.book_appointment(
            unit=unit,
            start=dt.datetime.fromisoformat(given["start"]),
            phone=phone,
            parent_name=given.get("parent_name", ""),
            child_name=given.get("child_name", ""),
            child_age=given.get("child_age"),
            school_year=given.get("school_year", ""),
            subject=given.get("subject", ""),
            source=Appointment.Source.API,
            now=first_at - dt.timedelta(days=1),
        )
    per_burst: list[list[dict[str, Any]]] = []
    for burst in dialogue.bursts:
        turns = [dialogue.turns[i] for i in burst]
        typed = [Typed(kind=t.media or "text", text="" if t.media else t.text) for t in turns]
        gaps = [(b.at - a.at).total_seconds() for a, b in zip(turns, turns[1:], strict=False)]
        # One transaction: the worker sees the whole burst (as after a debounce), never a part.
        with transaction.atomic():
            typed_burst = type_burst(unit=unit, phone=phone, burst=typed, at=turns[0].at, gaps=gaps)
        last = typed_burst.last
        assert last is not None, "nothing was stored"
        if not typed_burst.turn_due:
            per_burst.append([])  # no turn: staff have the conversation
            continue
        replies = wait_for_replies(last=last, timeout=timeout)
        if replies is None:
            raise TimeoutError(f"{dialogue.name}: no answer within {timeout:.0f}s (is a worker running?)")
        per_burst.append([{"body": r.body, "offered": r.offered_slots} for r in replies])
    checks = check(unit=unit, dialogue=dialogue, phone=phone, replies=per_burst)
    with transaction.atomic():  # the next dialogue gets the calendar empty
        SlotHold.objects.filter(unit=unit).delete()
        Appointment.objects.filter(unit=unit).delete()
    return Outcome(dialogue=dialogue, phone=phone, replies=per_burst, checks=checks)


def _same_name(a: Any, b: Any) -> bool:
    return fold(str(a or "")).strip() == fold(str(b or "")).strip()


def _lead_checks(expected: dict[str, Any], lead: state.Lead) -> list[Check]:
    checks = []
    if "parent_name" in expected:
        ok = _same_name(expected["parent_name"], lead.parent_name)
        checks.append(
            Check("lead.parent_name", ok, f"{lead.parent_name!r}, want {expected['parent_name']!r}")
        )
    child_keys = [k for k in ("child_name", "child_age", "school_year", "subjects") if k in expected]
    if not child_keys:
        return checks

    def matches(child: state.Child, key: str) -> bool:
        want = expected[key]
        if key == "child_name":
            return _same_name(want, child.name)
        if key == "child_age":
            return child.age == want
        if key == "school_year":
            return fold(child.school_year or "") == fold(str(want))
        return {fold(s) for s in child.subjects} == {fold(s) for s in want}

    # Several children: the expectation holds for one of them.
    best = max(lead.children or [state.Child()], key=lambda c: sum(matches(c, k) for k in child_keys))
    shown = {
        "child_name": best.name,
        "child_age": best.age,
        "school_year": best.school_year,
        "subjects": best.subjects,
    }
    for key in child_keys:
        checks.append(Check(f"lead.{key}", matches(best, key), f"{shown[key]!r}, want {expected[key]!r}"))
    return checks


def check(*, unit: Unit, dialogue: Dialogue, phone: str, replies: list[list[dict[str, Any]]]) -> list[Check]:
    e = dialogue.expect
    contact = Contact.objects.filter(unit=unit, phone=phone).first()
    conversation = (
        Conversation.objects.filter(contact=contact).exclude(mode=Conversation.Mode.CLOSED).first()
        if contact
        else None
    )
    checks: list[Check] = []
    if "lead" in e:
        lead = state.Lead.from_data(contact.data if contact else {})
        checks.extend(_lead_checks(e["lead"], lead))
    offered = [start for burst in replies for reply in burst for start in reply["offered"]]
    if "appointments" in e:
        live = sorted(
            Appointment.objects.filter(unit=unit, phone=phone, status__in=Appointment.LIVE).values_list(
                "start", flat=True
            )
        )
        wanted: list[dt.datetime | None] = []
        for item in e["appointments"]:
            start = item["start"]
            if start.startswith("offered:"):
                n = int(start.split(":", 1)[1])
                wanted.append(dt.datetime.fromisoformat(offered[n - 1]) if 0 < n <= len(offered) else None)
            else:
                wanted.append(dt.datetime.fromisoformat(start))
        ok = None not in wanted and sorted(w for w in wanted if w) == live
        tz = unit.timezone
        checks.append(
            Check("appointments", ok, f"{_iso(live, tz)}, want {e['appointments']} = {_iso(wanted, tz)}")
        )
    if "mode" in e:
        mode = conversation.mode if conversation else "none"
        checks.append(Check("mode", mode == e["mode"], f"{mode}, want {e['mode']}"))
    if "opted_out" in e:
        opted = bool(contact and contact.opted_out_at)
        checks.append(Check("opted_out", opted == e["opted_out"], f"{opted}, want {e['opted_out']}"))
    bodies = [fold(r["body"]) for burst in replies for r in burst]
    for pattern in e.get("replies_include", []):
        rx = re.compile(fold(pattern), re.I)
        checks.append(Check(f"includes /{pattern}/", any(rx.search(b) for b in bodies)))
    for pattern in e.get("replies_exclude", []):
        rx = re.compile(fold(pattern), re.I)
        hits = [m.group(0) for b in bodies if (m := rx.search(b))]
        checks.append(Check(f"excludes /{pattern}/", not hits, f"found {hits[:3]}" if hits else ""))
    if "silent_turns" in e:
        talked = [i + 1 for burst, got in zip(dialogue.bursts, replies, strict=True) if got for i in burst]
        loud = sorted(set(e["silent_turns"]) & set(talked))
        checks.append(Check("silent_turns", not loud, f"turns {loud} got a reply" if loud else ""))
    if "max_replies_per_burst" in e:
        most = max((len(b) for b in replies), default=0)
        checks.append(
            Check(
                "max_replies_per_burst",
                most <= e["max_replies_per_burst"],
                f"{most}, max {e['max_replies_per_burst']}",
            )
        )
    return checks


def _iso(values: list[Any], tz: str) -> list[str]:
    return [v.astimezone(ZoneInfo(tz)).strftime("%d/%m %H:%M") if v else "?" for v in values]


def run_all(
    *,
    unit: Unit,
    dialogues: list[Dialogue],
    timeout: float = REPLY_TIMEOUT,
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    reset_unit(unit)
    outcomes = []
    for index, dialogue in enumerate(dialogues):
        outcome = run_dialogue(unit=unit, dialogue=dialogue, index=index, timeout=timeout)
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    return outcomes


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    by_kind: dict[str, list[bool]] = {}
    for o in outcomes:
        by_kind.setdefault(o.dialogue.kind, []).append(o.passed)
    passed = sum(o.passed for o in outcomes)
    return {
        "passed": passed,
        "total": len(outcomes),
        "pass_rate": round(passed / len(outcomes), 4) if outcomes else 0.0,
        "by_kind": {k: {"passed": sum(v), "total": len(v)} for k, v in sorted(by_kind.items())},
    }


def transcript(outcome: Outcome) -> list[str]:
    """The dialogue as a person reads it, with ✓/✗ per expectation."""
    d = outcome.dialogue
    lines = [f"{'✓' if outcome.passed else '✗'} {d.name} ({d.kind})"]
    for burst, got in zip(d.bursts, outcome.replies, strict=True):
        for i in burst:
            t = d.turns[i]
            lines.append(f"  {t.at:%d/%m %H:%M} pai/mãe: {('[' + t.media + '] ') if t.media else ''}{t.text}")
        for reply in got:
            body = re.sub(r"\s*\n+\s*", " / ", reply["body"])
            lines.append(f"              bot: {body}")
        if not got:
            lines.append("              bot: (nada)")
    for c in outcome.checks:
        lines.append(
            f"  {'✓' if c.ok else '✗'} {c.name}" + (f": {c.detail}" if c.detail and not c.ok else "")
        )
    for sentence in d.judge:
        lines.append(f"  ? {sentence}")
    return lines
