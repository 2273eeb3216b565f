"""The family's facts: merged into the lead as they come, in any order, corrected when the parent
corrects them; and the next thing to ask before a visit can be booked.

Order of the questions: the child's name, age or school year, subjects, then the parent's name —
a parent who has just said "pra minha filha" answers the child's name next, and "Laura" at
"qual o seu nome?" would be the wrong person. A question is asked at most twice: a parent who
does not want to say it is not asked forever.
"""

from __future__ import annotations

from conversations import texts
from conversations.state import Child, Lead, Stage, Step
from conversations.turn import Turn
from conversations.understanding import Understood
from conversations.understanding.facts import ChildFacts, subjects_in
from conversations.understanding.text import edit_distance, fold
from scheduling.models import Appointment
from scheduling.services import update_appointment_details

MAX_ASKS = 2
QUESTION_STEPS = (Step.ASK_CHILD_NAME, Step.ASK_CHILD_AGE, Step.ASK_SUBJECT, Step.ASK_PARENT_NAME)


def _target(lead: Lead, step: Step) -> Child:
    """The child an unnamed fact is about: the one the question just asked was about."""
    if not lead.children:
        return lead.child
    if step == Step.ASK_CHILD_AGE:
        return next((c for c in lead.children if c.age is None and not c.school_year), lead.children[0])
    if step == Step.ASK_SUBJECT:
        return next((c for c in lead.children if not c.subjects), lead.children[0])
    if step == Step.ASK_CHILD_NAME:
        return next((c for c in lead.children if not c.name), lead.children[-1])
    return lead.children[-1] if len(lead.children) > 1 else lead.children[0]


def _apply(child: Child, facts: ChildFacts, *, correction: bool) -> bool:
    changed = False
    if facts.name and fold(facts.name) != fold(child.name):
        child.name, changed = facts.name, True
    if facts.age is not None and facts.age != child.age:
        child.age, changed = facts.age, True
    if facts.school_year and facts.school_year != child.school_year:
        child.school_year, changed = facts.school_year, True
    if facts.subjects or facts.not_subjects:
        if child.subjects_tentative and not facts.tentative and facts.subjects and not facts.adding:
            child.subjects, child.subjects_tentative = list(facts.subjects), False
            return True
        if correction or facts.not_subjects or facts.only:
            # "não é matemática, é português": what is said now replaces what was said before.
            wanted = [s for s in facts.subjects if s not in facts.not_subjects]
            if not wanted:
                wanted = [s for s in child.subjects if s not in facts.not_subjects]
        else:
            wanted = list(dict.fromkeys([*child.subjects, *facts.subjects]))
        if wanted != child.subjects:
            child.subjects_tentative = facts.tentative and (not child.subjects or child.subjects_tentative)
            child.subjects, changed = wanted, True
    return changed


def merge(turn: Turn, u: Understood) -> bool:
    """Store what the parent told; returns whether the lead changed."""
    lead, facts = turn.lead, u.facts
    changed = False
    offered = set(turn.unit.offered_subjects)
    missing: list[str] = []
    for child_facts in facts.children:
        # "vcs têm japonês?" where the unit has none: the knowledge says so; the lead keeps only
        # what this unit teaches.
        missing += [s for s in child_facts.subjects if s not in offered and s not in missing]
        child_facts.subjects = [s for s in child_facts.subjects if s in offered]
    asked = subjects_in(" ".join(fold(q) for q in u.questions))[0]
    missing = [s for s in missing if s not in asked]
    if missing:
        # "queria japonês" said, not asked (the knowledge answers a question): the parent hears it
        # is not taught here, and what is.
        turn.answers.append(
            turn.say(
                "subject_not_offered",
                subjects=texts.subject_options(missing, turn.lang),
                options=texts.subject_options(turn.unit.offered_subjects, turn.lang),
            )
        )
    if facts.parent_name and fold(facts.parent_name) != fold(lead.parent_name):
        if not any(fold(c.name) == fold(facts.parent_name) for c in lead.children):
            lead.parent_name, changed = facts.parent_name, True
    if facts.for_self and not lead.for_self:
        lead.for_self, changed = True, True
    if lead.for_self and lead.parent_name:
        # An adult who wants to study: the student is the person writing, named when they are.
        if not facts.children and not any(c.name for c in lead.children):
            facts.children.append(ChildFacts())
        for child_facts in facts.children:
            child_facts.name = child_facts.name or lead.parent_name
    used: list[Child] = []  # the children this message's facts went to
    for child_facts in facts.children:
        if child_facts.empty:
            continue
        child = None
        if child_facts.name:
            child = next((c for c in lead.children if fold(c.name) == fold(child_facts.name)), None)
            if child is None:
                # "o nome dele é Gabriel, não Guilherme" (or a correction with one child known): a rename.
                renamed = [
                    c for c in lead.children if c.name and fold(c.name) in {fold(n) for n in facts.not_names}
                ]
                if not renamed and facts.correction and len(lead.children) == 1 and len(facts.children) == 1:
                    renamed = lead.children
                if renamed:
                    child = renamed[0]
                elif _was_the_parent(turn, child_facts):
                    # At "Quantos anos Jaqueline tem?", "minha filha chama Maria Alice": the bare
                    # "Jaqueline" answered with the parent's own name.
                    child = lead.children[0]
                    lead.parent_name, changed = child.name, True
            if child is None:
                unnamed = next((c for c in lead.children if not c.name), None)
                if unnamed is not None:
                    child = unnamed
                else:
                    child = Child()
                    lead.children.append(child)
        else:
            child = _target(lead, turn.state.step)
            if any(child is c for c in used):
                # A second unnamed child in one message ("gêmeos de 8"): the next one, not the same.
                child = next((c for c in lead.children if not c.name and not any(c is u for u in used)), None)
                if child is None:
                    child = Child()
                    lead.children.append(child)
        used.append(child)
        changed |= _apply(child, child_facts, correction=facts.correction)
    if facts.respelt:
        changed |= _respell(lead, facts.respelt)
    if facts.children_count and facts.children_count > turn.state.flow.children_expected:
        turn.state.flow.children_expected = facts.children_count
    if facts.heard_from and not lead.heard_from:
        lead.heard_from, changed = facts.heard_from, True
    lead.children = [
        c
        for c in lead.children
        if not (c.name == "" and c.age is None and not c.school_year and not c.subjects)
    ]
    return changed


def _was_the_parent(turn: Turn, facts: ChildFacts) -> bool:
    """A child named now, right after we asked about the only child we knew by a bare name alone,
    while the parent's name is still missing."""
    lead = turn.lead
    if turn.state.step != Step.ASK_CHILD_AGE or lead.parent_name or len(lead.children) != 1 or facts.adding:
        return False
    known = lead.children[0]
    return bool(known.name) and known.age is None and not known.school_year and not known.subjects


def _respell(lead: Lead, word: str) -> bool:
    """ "*Lana" after "minha filha Lara": the known name nearest to the respelt word (one or two
    letters off) takes the new spelling; a word near no name is not a name correction."""
    known: list[tuple[int, str]] = []
    if lead.parent_name:
        known.append((edit_distance(fold(lead.parent_name.split()[0]), fold(word), 2), "parent"))
    for n, child in enumerate(lead.children):
        if child.name:
            known.append((edit_distance(fold(child.name.split()[0]), fold(word), 2), str(n)))
    close = sorted(k for k in known if 0 < k[0] <= 2)
    if not close or (len(close) > 1 and close[0][0] == close[1][0]):
        return False
    which = close[0][1]
    if which == "parent":
        rest = lead.parent_name.split()[1:]
        lead.parent_name = " ".join([word, *rest])
    else:
        child = lead.children[int(which)]
        child.name = " ".join([word, *child.name.split()[1:]])
    return True


def missing(turn: Turn) -> Step | None:
    """The next fact to ask before booking, or None when the lead is complete enough."""
    lead, flow = turn.lead, turn.state.flow
    asked = flow.asked

    def can_ask(step: Step) -> bool:
        return asked.get(str(step), 0) < MAX_ASKS

    children = lead.children
    if (
        not children or any(not c.name for c in children) or len(children) < flow.children_expected
    ) and can_ask(Step.ASK_CHILD_NAME):
        return Step.ASK_CHILD_NAME
    if any(c.age is None and not c.school_year for c in children) and can_ask(Step.ASK_CHILD_AGE):
        return Step.ASK_CHILD_AGE
    if any(not c.subjects for c in children) and can_ask(Step.ASK_SUBJECT):
        return Step.ASK_SUBJECT
    if not lead.parent_name and can_ask(Step.ASK_PARENT_NAME):
        return Step.ASK_PARENT_NAME
    return None


def question(turn: Turn, step: Step) -> str:
    lead = turn.lead
    if step == Step.ASK_CHILD_NAME:
        named = [c for c in lead.children if c.name]
        return turn.say(
            "ask_other_child_name"
            if named and turn.state.flow.children_expected > len(named)
            else "ask_child_name"
        )
    if step == Step.ASK_CHILD_AGE:
        child = next((c for c in lead.children if c.age is None and not c.school_year), lead.first_child)
        return turn.say("ask_child_age", child=child.name) if child.name else turn.say("ask_child_age_any")
    if step == Step.ASK_SUBJECT:
        child = next((c for c in lead.children if not c.subjects), lead.first_child)
        options = texts.subject_options(turn.unit.offered_subjects, turn.lang)
        return (
            turn.say("ask_subject", child=child.name, options=options)
            if child.name
            else turn.say("ask_subject_any", options=options)
        )
    return turn.say("ask_parent_name")


def ask(turn: Turn, step: Step, *, stage: Stage = Stage.QUALIFYING) -> None:
    """Ask the next fact (counted: at most MAX_ASKS times each). Asked once the visit is booked,
    the stage stays BOOKED (no follow-up chases it)."""
    flow = turn.state.flow
    flow.asked[str(step)] = flow.asked.get(str(step), 0) + 1
    turn.set_step(step, stage)
    turn.flow.append(question(turn, step))
    turn.flow_done = True


def complete_booking(turn: Turn, appointment_id: int) -> None:
    """The facts asked after booking are known: the visit gets them, the parent a short thanks."""
    appointment = Appointment.objects.filter(pk=appointment_id, unit=turn.unit).first()
    if appointment is not None and turn.lead.parent_name and not appointment.parent_name:
        update_appointment_details(appointment=appointment, parent_name=turn.lead.parent_name)
    turn.set_step(Step.BOOKED, Stage.BOOKED)
    turn.flow.append(
        turn.say("noted_name", name=turn.lead.parent_name.split()[0])
        if turn.lead.parent_name
        else turn.say("noted")
    )
    turn.flow_done = True


def seed_from_appointment(turn: Turn, appointment: object) -> None:
    """A family booked by staff (or the API) writes for the first time: what the booking says
    about them is what we know."""
    lead = turn.lead
    if lead.parent_name or lead.children:
        return
    lead.parent_name = getattr(appointment, "parent_name", "") or ""
    name = getattr(appointment, "child_name", "") or ""
    subjects = [s.strip() for s in (getattr(appointment, "subject", "") or "").split(",") if s.strip()]
    child = Child(
        name=name,
        age=getattr(appointment, "child_age", None),
        school_year=getattr(appointment, "school_year", "") or "",
        subjects=subjects,
    )
    if not child.empty:
        lead.children.append(child)
