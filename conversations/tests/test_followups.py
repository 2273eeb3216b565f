"""Follow-ups of families that went quiet: scheduled by the turn, sent by beat / `proactive run`
(same code), written from the state at send time, cancelled by a reply, staff, a booking."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from conversations import followups, proactive, services
from conversations.models import Conversation, Followup, Message, ProactiveOptions
from conversations.tests.conftest import chat, next_weekday_at
from kumon.testing import wait_for
from kumon.tests.factories import UnitFactory
from scheduling.tests.factories import ClosureFactory

SP = ZoneInfo("America/Sao_Paulo")
PHONE = "+5511987650001"


def run_at(at: dt.datetime) -> str:
    out = io.StringIO()
    call_command("proactive", "run", "--at", at.isoformat(), stdout=out)
    return out.getvalue().strip()


def sent_body(followup: Followup) -> str:
    followup.refresh_from_db()
    return followup.message.body


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (
            dt.datetime(2026, 12, 1, 13, 0, tzinfo=SP),
            dt.datetime(2026, 12, 1, 13, 0, tzinfo=SP),
        ),  # Tuesday, inside
        (
            dt.datetime(2026, 12, 1, 6, 30, tzinfo=SP),
            dt.datetime(2026, 12, 1, 8, 0, tzinfo=SP),
        ),  # before 08:00
        (
            dt.datetime(2026, 12, 1, 20, 0, tzinfo=SP),
            dt.datetime(2026, 12, 2, 8, 0, tzinfo=SP),
        ),  # 20:00 is out
        (
            dt.datetime(2026, 12, 5, 22, 0, tzinfo=SP),
            dt.datetime(2026, 12, 7, 8, 0, tzinfo=SP),
        ),  # Sat night → Monday
        (
            dt.datetime(2026, 12, 24, 21, 0, tzinfo=SP),
            dt.datetime(2026, 12, 26, 8, 0, tzinfo=SP),
        ),  # Christmas
    ],
)
def test_next_send_moment_keeps_the_window_and_skips_sunday_and_holidays(db, moment, expected):
    unit = UnitFactory()

    assert followups.next_send_moment(unit=unit, options=followups.Options(), moment=moment) == expected


def test_next_send_moment_skips_a_closure_and_uses_the_units_window(db):
    unit = UnitFactory()
    ClosureFactory(unit=unit, start_date=dt.date(2026, 12, 2), end_date=dt.date(2026, 12, 3))
    ProactiveOptions.objects.create(unit=unit, window_start=dt.time(9), window_end=dt.time(18))
    options = followups.options_for(unit)

    due = followups.next_send_moment(
        unit=unit, options=options, moment=dt.datetime(2026, 12, 1, 18, 0, tzinfo=SP)
    )

    assert due == dt.datetime(2026, 12, 4, 9, 0, tzinfo=SP)


@pytest.mark.django_db(transaction=True)
def test_quiet_family_gets_followups_written_from_the_state_and_a_reply_cancels_the_rest(celery_worker, demo):
    at = next_weekday_at(1, 10)  # a Tuesday, 10:00
    chat(demo, PHONE, "oi, quero agendar uma visita", at=at)
    conversation = Conversation.objects.get(contact__phone=PHONE)

    rows = list(Followup.objects.filter(conversation=conversation).order_by("seq"))
    assert [(f.seq, f.status, f.due_at) for f in rows] == [
        (1, "pending", at + dt.timedelta(hours=3)),
        (2, "pending", at + dt.timedelta(hours=22)),  # 08:00 the next day
    ]

    assert run_at(at + dt.timedelta(hours=2)) == (
        f"at {(at + dt.timedelta(hours=2)).isoformat()}: 0 reminders, 0 follow-ups queued; 0 after-visit follow-ups scheduled"
    )
    run_at(at + dt.timedelta(hours=3))
    run_at(at + dt.timedelta(hours=3, minutes=1))  # beat's next tick: nothing twice

    first = Followup.objects.get(pk=rows[0].pk)
    assert first.status == "sent"
    assert sent_body(first) == (
        "Oi! 😊 Ainda posso ajudar com a visita ao Kumon? Para eu ver os horários, só falta me contar "
        "o nome da criança, a idade ou o ano escolar, a matéria de interesse (Matemática, Português, Inglês ou "
        "Japonês) e o seu nome."
    )
    assert wait_for(lambda: Message.objects.get(pk=first.message_id).status == "sent", timeout=20)
    assert Message.objects.filter(conversation=conversation, meta__kind="followup").count() == 1

    chat(demo, PHONE, "Ana", at=at + dt.timedelta(hours=4))

    second = Followup.objects.get(pk=rows[1].pk)
    assert (second.status, second.reason) == ("cancelled", "the family wrote again")


@pytest.mark.django_db(transaction=True)
def test_followup_of_an_offer_lists_fresh_slots_and_the_reply_books_one_of_them(celery_worker, demo):
    at = next_weekday_at(1, 10)
    replies = chat(
        demo, PHONE, "oi, sou a Carla, quero agendar uma visita para a Ana, 7 anos, matemática", at=at
    )
    conversation = Conversation.objects.get(contact__phone=PHONE)
    assert conversation.step == "offer_slots", replies
    later = at + dt.timedelta(days=2, hours=1)  # the first offer is stale by now
    Followup.objects.filter(conversation=conversation).update(due_at=later)

    run_at(later)

    first = Followup.objects.get(conversation=conversation, seq=1)
    conversation.refresh_from_db()
    offered = [s.isoformat() for s in followups.State.of(conversation).flow.offered]
    assert first.status == "sent"
    assert first.message.meta["offered"] == offered
    assert len(offered) == 3 and all(dt.datetime.fromisoformat(s) > later for s in offered)
    assert sent_body(first).startswith(
        "Oi, Carla! 😊 Ainda dá para agendar a visita de Ana. Os próximos horários livres são:\n1) "
    )
    second = Followup.objects.get(conversation=conversation, seq=2)
    # Both were due: the second waits the gap between their delays (22 h - 3 h) after the first.
    assert (second.status, second.due_at, second.reason) == (
        "pending",
        later + dt.timedelta(hours=19),
        "after the previous follow-up",
    )

    chat(demo, PHONE, "1", at=later + dt.timedelta(minutes=5))
    chat(demo, PHONE, "sim", at=later + dt.timedelta(minutes=6))

    assert conversation.contact.appointments.get().start == dt.datetime.fromisoformat(offered[0])
    second.refresh_from_db()
    assert (second.status, second.reason) == ("cancelled", "the family wrote again")


@pytest.mark.django_db(transaction=True)
def test_take_over_and_opt_out_and_booking_cancel_pending_followups(celery_worker, demo):
    at = next_weekday_at(1, 10)
    for phone in ("+5511987650002", "+5511987650003", "+5511987650004"):
        chat(demo, phone, "oi, quero agendar uma visita", at=at)
    taken, opted, booked = (
        Conversation.objects.get(contact__phone=p)
        for p in ("+5511987650002", "+5511987650003", "+5511987650004")
    )

    services.take_over(conversation=taken, user=None)
    type(opted.contact).objects.filter(pk=opted.contact_id).update(opted_out_at=at)
    booked_start = next_weekday_at(3, 15)
    from scheduling.models import Appointment  # noqa: PLC0415 -- only this test books by hand

    Appointment.objects.create(
        unit=demo,
        contact=booked.contact,
        phone=booked.contact.phone,
        start=booked_start,
        end=booked_start + dt.timedelta(hours=1),
    )
    run_at(at + dt.timedelta(hours=3))

    rows = {f.conversation_id: (f.status, f.reason) for f in Followup.objects.filter(seq=1)}
    assert rows == {
        taken.pk: ("cancelled", "staff have the conversation"),
        opted.pk: ("cancelled", "the family opted out"),
        booked.pk: ("cancelled", "visit booked"),
    }
    assert Message.objects.filter(meta__kind="followup").count() == 0


def _pending_followup(unit, *, due: dt.datetime, step: str = "ask_child_name") -> Followup:
    from conversations.tests.factories import ConversationFactory, MessageFactory  # noqa: PLC0415

    conversation = ConversationFactory(contact__unit=unit, step=step, stage="qualifying")
    last = MessageFactory(conversation=conversation)
    return Followup.objects.create(
        unit=unit,
        conversation=conversation,
        contact=conversation.contact,
        seq=1,
        anchor_at=due - dt.timedelta(hours=3),
        anchor_message=last,
        due_at=due,
    )


def test_claim_outside_the_window_waits_and_a_claim_is_taken_once(db):
    unit = UnitFactory()
    saturday_night = dt.datetime(2026, 12, 5, 21, 0, tzinfo=SP)
    late = _pending_followup(unit, due=saturday_night)
    due = _pending_followup(unit, due=dt.datetime(2026, 12, 7, 9, 0, tzinfo=SP))

    first = proactive.claim_due_followups(now=saturday_night)
    again = proactive.claim_due_followups(now=dt.datetime(2026, 12, 7, 9, 0, tzinfo=SP))
    twice = proactive.claim_due_followups(now=dt.datetime(2026, 12, 7, 9, 1, tzinfo=SP))

    late.refresh_from_db()
    assert first == []
    assert (late.status, late.due_at, late.reason) == (
        "sending",
        dt.datetime(2026, 12, 7, 8, 0, tzinfo=SP),
        "waiting for the send window",
    )
    assert sorted(f.pk for f in again) == sorted([late.pk, due.pk])
    assert twice == []


def test_daily_cap_moves_the_rest_to_the_next_day(db):
    unit = UnitFactory()
    ProactiveOptions.objects.create(unit=unit, daily_cap=1)
    now = dt.datetime(2026, 12, 7, 9, 0, tzinfo=SP)
    rows = [_pending_followup(unit, due=now) for _ in range(2)]

    claimed = proactive.claim_due_followups(now=now)
    for followup in claimed:
        proactive.send_followup(followup=followup, now=now)
    proactive.claim_due_followups(now=now + dt.timedelta(minutes=1))

    statuses = sorted(
        (f.status, f.due_at, f.reason) for f in Followup.objects.filter(pk__in=[r.pk for r in rows])
    )
    assert statuses == [
        ("pending", dt.datetime(2026, 12, 8, 8, 0, tzinfo=SP), "the unit's daily cap was reached: tomorrow"),
        ("sent", now, ""),
    ]


def test_followup_admin_lists_the_units_rows_only_and_cancels(client, db):
    from kumon.tests.factories import MembershipFactory  # noqa: PLC0415

    unit, other = UnitFactory(), UnitFactory()
    mine = _pending_followup(unit, due=dt.datetime(2026, 12, 7, 9, 0, tzinfo=SP))
    _pending_followup(other, due=dt.datetime(2026, 12, 7, 9, 0, tzinfo=SP))
    staff = MembershipFactory(unit=unit).user
    outsider = MembershipFactory(unit=UnitFactory()).user

    client.force_login(outsider)
    assert client.get("/admin/conversations/followup/").context["cl"].result_count == 0
    client.force_login(staff)
    page = client.get("/admin/conversations/followup/")
    response = client.post(
        "/admin/conversations/followup/", {"action": "cancel", "_selected_action": [mine.pk]}
    )

    assert [f.pk for f in page.context["cl"].result_list] == [mine.pk]
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.status, mine.reason, mine.cancelled_by) == ("cancelled", "cancelled by staff", staff)


def _visit_without_enrolment(unit, *, start: dt.datetime):
    from scheduling import outcomes  # noqa: PLC0415
    from scheduling.tests.factories import AppointmentFactory, ContactFactory  # noqa: PLC0415

    contact = ContactFactory(unit=unit, data={"parent_name": "Carla Souza", "child_name": "Ana"})
    appointment = AppointmentFactory(
        unit=unit, contact=contact, phone=contact.phone, start=start, end=start + dt.timedelta(hours=1)
    )
    outcomes.record_visit_outcome(
        appointment=appointment,
        result="not_enrolled",
        reason=outcomes.reason_named(unit=unit, label="preço"),
        now=start + dt.timedelta(hours=2),
    )
    return appointment


def test_after_visit_followup_is_off_by_default_and_sent_n_days_later_when_on(db):
    visit_at = dt.datetime(2026, 12, 2, 15, 0, tzinfo=SP)  # Wednesday
    quiet_unit, unit = UnitFactory(), UnitFactory(name="Kumon Centro")
    ProactiveOptions.objects.create(unit=unit, after_visit_followup_days=3)
    _visit_without_enrolment(quiet_unit, start=visit_at)
    appointment = _visit_without_enrolment(unit, start=visit_at)

    early = proactive.run_followups(now=visit_at + dt.timedelta(days=1))
    again = proactive.run_followups(now=visit_at + dt.timedelta(days=1, minutes=1))
    due = proactive.run_followups(now=dt.datetime(2026, 12, 5, 15, 0, tzinfo=SP))

    followup = Followup.objects.get()
    assert (early.scheduled, early.followups, again.scheduled, due.followups) == (1, 0, 0, 1)
    assert (followup.unit, followup.kind, followup.appointment_id, followup.status) == (
        unit,
        "after_visit",
        appointment.pk,
        "sent",
    )
    assert sent_body(followup) == (
        "Oi, Carla! 😊 Como foi a visita de Ana ao Kumon Centro? Se ficou alguma dúvida sobre a matrícula, "
        "os horários ou os valores, é só me chamar por aqui."
    )


@pytest.mark.django_db(transaction=True)
def test_beat_task_on_the_real_worker_sends_a_due_followup_once(celery_worker):
    from celery import current_app  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    unit = UnitFactory()
    ProactiveOptions.objects.create(unit=unit, window_start=dt.time(0), window_end=dt.time(23, 59))
    now = timezone.now()
    if followups.next_send_moment(unit=unit, options=followups.options_for(unit), moment=now) != now:
        pytest.skip("today is a Sunday or a holiday: no send window")
    due = _pending_followup(unit, due=now - dt.timedelta(minutes=1))
    gone = _pending_followup(unit, due=now - dt.timedelta(minutes=1))
    Followup.objects.filter(pk=gone.pk).update(status="cancelled", reason="cancelled by staff")

    for _ in range(2):  # two beat ticks
        current_app.send_task("conversations.send_due_followups")
    assert wait_for(lambda: Followup.objects.get(pk=due.pk).status == "sent", timeout=20)
    assert wait_for(
        lambda: Message.objects.get(pk=Followup.objects.get(pk=due.pk).message_id).status == "sent",
        timeout=20,
    )

    assert Message.objects.filter(meta__kind="followup").count() == 1
    assert Followup.objects.get(pk=gone.pk).status == "cancelled"


def test_followup_changelist_query_count_does_not_grow_with_rows(client, db):
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    from kumon.tests.factories import MembershipFactory  # noqa: PLC0415

    unit = UnitFactory()
    client.force_login(MembershipFactory(unit=unit).user)

    def render(rows: int) -> int:
        while Followup.objects.count() < rows:
            _pending_followup(unit, due=dt.datetime(2026, 12, 7, 9, 0, tzinfo=SP))
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/admin/conversations/followup/")
        assert len(response.context["cl"].result_list) == rows
        return len(queries)

    assert render(1) == render(3)
