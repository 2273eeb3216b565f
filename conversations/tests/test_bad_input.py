"""Bad input never breaks a turn: a huge message, only emoji or punctuation, fifty messages in a
burst, a voice note nobody can transcribe — each gets one polite reply, nothing is lost."""

from __future__ import annotations

import pytest

from conversations.models import Conversation, Message
from conversations.tests.conftest import chat, next_weekday_at

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+5511987652222"


@pytest.fixture
def at():
    return next_weekday_at(2, 10)


@pytest.mark.parametrize("text", ["😊😊🙏", "?!?!", "...", "kkkkkkkk"])
def test_emoji_or_punctuation_only_gets_a_short_helpful_reply(demo, celery_worker, at, text) -> None:
    replies = chat(demo, PHONE, text, at=at)
    assert replies[0] == "Olá! Aqui é a recepção virtual da Kumon Demo. 😊"
    assert len(replies) == 2 and replies[1]
    assert Conversation.objects.get(contact__phone=PHONE).mode == "bot"


def test_a_20_kb_message_is_answered_once(demo, celery_worker, at) -> None:
    text = "qto custa a mensalidade? " + "blá " * 5000
    replies = chat(demo, PHONE, text, at=at)
    assert "R$ 390,00" in replies[0]
    inbound = Message.objects.get(conversation__contact__phone=PHONE, direction="in")
    assert (len(inbound.body), inbound.status) == (len(text), "handled")


def test_fifty_messages_in_one_burst_get_one_reply_and_a_person(demo, celery_worker, at) -> None:
    burst = ["oi"] * 49 + ["qto custa a mensalidade?"]
    replies = chat(demo, PHONE, *burst, at=at, timeout=60)
    conversation = Conversation.objects.get(contact__phone=PHONE)
    assert Message.objects.filter(conversation=conversation, direction="in", status="handled").count() == 50
    assert replies == [
        "Olá! Aqui é a recepção virtual da Kumon Demo. 😊 / Recebi suas mensagens! Já te respondo. 🙏"
    ]
    assert (conversation.mode, conversation.handoff_reason) == ("human", "flood")


def test_a_voice_note_with_no_transcription_asks_to_write(demo, celery_worker, at) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "chat",
        "--unit",
        "demo",
        "--phone",
        PHONE,
        "--media",
        "audio",
        "--at",
        at.isoformat(),
        "--json",
        stdout=out,
    )
    lines = [line for line in out.getvalue().splitlines() if line]
    assert len(lines) == 1
    assert "não consigo ouvir áudios" in lines[0] and '"offered": []' in lines[0]


def test_a_typed_burst_says_whether_a_turn_was_due_before_any_worker_answers_it(demo, at) -> None:
    # No worker here: what type_burst reports is read inside its transaction, so a worker that
    # answers (and hands a flood to staff) before the command looks cannot turn it into "no turn".
    from conversations.management.commands.chat import Typed, type_burst

    bot = type_burst(unit=demo, phone=PHONE, burst=[Typed(kind="text", text="oi")], at=at)
    conversation = Conversation.objects.get(contact__phone=PHONE)
    conversation.mode, conversation.reply_due_at = Conversation.Mode.HUMAN, None
    conversation.save(update_fields=["mode", "reply_due_at"])
    conversation.contact.is_unit_staff = True
    conversation.contact.save(update_fields=["is_unit_staff"])
    staff = type_burst(unit=demo, phone=PHONE, burst=[Typed(kind="text", text="oi de novo")], at=at)

    assert (bot.turn_due, staff.turn_due) == (True, False)
