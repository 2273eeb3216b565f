"""The language-model path against the fake OpenAI-compatible server: grounding, fallbacks,
accounting; and a worker killed during the debounce window."""

from __future__ import annotations

import pytest
from django.test import override_settings

from conversations import services
from conversations.inbound import InboundMessage
from conversations.models import Message
from conversations.tests.conftest import chat, next_weekday_at
from kumon.testing import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+5511987651111"
PRICE_FAQ = (
    "A mensalidade na Kumon Demo é de R$ 390,00 por disciplina (Matemática, Português, Inglês ou Japonês). "
    "Cada disciplina é cobrada separadamente, e o pagamento é feito por boleto ou cartão até o dia 10 de cada mês."
)


@pytest.fixture(scope="module")
def llm_worker(celery_worker, fake_openai):
    celery_worker.restart(env=fake_openai.env())
    yield fake_openai
    fake_openai.mode = "ok"
    celery_worker.restart(env={})


@pytest.fixture
def fake(llm_worker):
    llm_worker.mode = "ok"
    llm_worker.requests.clear()
    return llm_worker


def test_llm_answer_is_grounded_in_the_retrieved_knowledge(demo, fake) -> None:
    replies = chat(demo, PHONE, "qto custa a mensalidade?", at=next_weekday_at(1, 10))
    # The fake model answers with the first sentence of the knowledge it was given.
    assert replies[0].endswith(
        "A mensalidade na Kumon Demo é de R$ 390,00 por disciplina (Matemática, Português, Inglês ou Japonês)."
    )
    (answer_request,) = fake.chat_requests(kind="answer")
    system = answer_request["body"]["messages"][0]["content"]
    assert f"KNOWLEDGE:\n- {PRICE_FAQ}" in system
    assert "Never invent prices" in system
    assert answer_request["body"]["messages"][1] == {"role": "user", "content": "qto custa a mensalidade?"}
    first = Message.objects.filter(sender="bot").order_by("created_at", "seq").first()
    assert first.tokens_in > 0 and first.tokens_out > 0 and first.cost_usd > 0
    assert first.meta["llm"] is True


def test_llm_answer_with_invented_numbers_is_replaced_by_the_knowledge(demo, fake) -> None:
    fake.mode = "hallucinate"  # "Custa só R$ 99,00 por mês, com 50% de desconto!"
    replies = chat(demo, PHONE, "qto custa a mensalidade?", at=next_weekday_at(1, 10))
    assert PRICE_FAQ in replies[0].replace(" / ", "\n")
    assert "99" not in replies[0]


def test_llm_down_mid_conversation_still_answers_with_rules(demo, fake) -> None:
    at = next_weekday_at(1, 10)
    assert chat(demo, PHONE, "oi, quero agendar uma visita", at=at)[-1] == "Qual é o nome da criança?"
    fake.mode = "down"  # 500 on every call
    assert chat(demo, PHONE, "Pedro", at=at) == ["Quantos anos Pedro tem (ou em que ano está na escola)?"]
    assert fake.chat_requests(kind="understand")  # it was tried


def test_llm_timeout_falls_back_within_the_task_time_limit(demo, fake) -> None:
    fake.mode = "slow"
    fake.slow_seconds = 10  # the worker's client times out after 3 s, retries once
    replies = chat(demo, PHONE, "qto custa a mensalidade?", at=next_weekday_at(1, 10), timeout=60)
    assert PRICE_FAQ in replies[0].replace(" / ", "\n")


def test_worker_killed_during_debounce_still_answers_exactly_once(demo, llm_worker, celery_worker) -> None:
    llm_worker.mode = "ok"
    with override_settings(CONVERSATION_DEBOUNCE_SECONDS=4):
        first = services.record_inbound(
            unit=demo, message=InboundMessage(phone=PHONE, provider_id="K1", text="oi")
        )
        services.record_inbound(
            unit=demo, message=InboundMessage(phone=PHONE, provider_id="K2", text="qto custa a mensalidade?")
        )
    celery_worker.kill()  # the countdown task dies with it (reserved, unacked)
    celery_worker.start()
    # Beat's durable half of the debounce: due turns are re-enqueued from the rows.
    from kumon.celery import app

    def beat_tick() -> bool:
        app.send_task("conversations.run_due_turns")
        return Message.objects.filter(provider_id="K2", status="handled").exists()

    wait_for(beat_tick, timeout=30, interval=1.0)
    replies = Message.objects.filter(conversation_id=first.conversation_id, sender="bot")
    assert sorted(r.in_reply_to.provider_id for r in replies) == ["K2", "K2"]  # one turn: answer + offer


def test_voice_note_fetched_from_evolution_is_transcribed(demo, fake, celery_worker) -> None:
    """Evolution webhooks carry no audio by default: the worker fetches it
    (getBase64FromMediaMessage) and sends it to the transcription API."""
    import base64

    from whatsapp.tests.fakes import FakeEvolution

    evolution = FakeEvolution().start()
    try:
        evolution.media["VOICE1"] = base64.b64encode(b"OggS opus voice note").decode()
        celery_worker.restart(
            env={**fake.env(), "EVOLUTION_API_URL": evolution.url, "EVOLUTION_API_KEY": evolution.api_key}
        )
        demo.whatsapp_gateway = "evolution"
        demo.save()
        fake.transcript = "quero agendar uma visita"
        services.record_inbound(
            unit=demo,
            message=InboundMessage(
                phone=PHONE,
                provider_id="VOICE1",
                kind="audio",
                media={"mimetype": "audio/ogg; codecs=opus", "seconds": 3},
                clock=next_weekday_at(1, 10),
            ),
        )
        wait_for(lambda: Message.objects.filter(provider_id="VOICE1", status="handled").exists(), timeout=30)
        replies = [m.body for m in Message.objects.filter(in_reply_to__provider_id="VOICE1").order_by("seq")]
        assert replies[-1] == "Qual é o nome da criança?"
        assert [r.path for r in evolution.requests if "getBase64" in r.path] == [
            "/chat/getBase64FromMediaMessage/kumon-demo"
        ]
        (transcription,) = [r for r in fake.requests if r["path"].endswith("/audio/transcriptions")]
        assert transcription["raw_size"] > len(b"OggS opus voice note")
    finally:
        celery_worker.restart(env=fake.env())
        evolution.stop()
