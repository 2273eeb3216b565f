"""Parent-style phrasings of an FAQ entry, written by the configured language model.

One Chat Completions call (OPENAI_* settings, any OpenAI-compatible server) per new entry, in
the worker. The model is asked for short WhatsApp-style questions a parent would send that this
entry answers; lines are cleaned (bullets, numbering, quotes) and kept when plausible. Without
OPENAI_API_KEY nothing is generated (knowledge.services.llm_configured).
"""

from __future__ import annotations

import re

from django.conf import settings

from kumon.exceptions import DomainError

MAX_PHRASINGS = 10
_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)])\s*")

PROMPT = (
    "Você ajuda uma unidade Kumon no Brasil. Escreva {n} mensagens curtas, diferentes entre si, "
    "como pais e mães escrevem no WhatsApp (informal, abreviações como vc, qto, pra; sem acento às "
    "vezes), que esta resposta do FAQ responde. Inclua 1 em inglês e 1 em espanhol. Uma mensagem "
    "por linha, sem numeração, sem aspas, sem a resposta.\n\nPergunta: {question}\nResposta: {answer}"
)


class GenerationError(DomainError):
    status_code = 502


class TransientGenerationError(GenerationError):
    """Timeout, connection error, 429 or 5xx: worth a retry with backoff."""


def phrasings_for(*, question: str, answer: str, n: int = 8) -> list[str]:
    import openai  # noqa: PLC0415 -- only the worker with an LLM configured needs the client

    client = openai.OpenAI(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=openai.Timeout(float(settings.OPENAI_TIMEOUT_SECONDS), connect=3.0),  # httpx2 (openai 3)
        max_retries=0,  # the Celery task owns retries
    )
    try:
        response = client.chat.completions.create(
            model=settings.OPENAI_MODEL,
            messages=[
                {"role": "user", "content": PROMPT.format(n=n, question=question, answer=answer[:1500])}
            ],
            temperature=0.7,
        )
    except (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError) as exc:
        raise TransientGenerationError(f"language model unavailable: {exc}") from exc
    except openai.APIStatusError as exc:
        if exc.status_code >= 500:
            raise TransientGenerationError(f"language model error {exc.status_code}") from exc
        raise GenerationError(f"language model refused the request ({exc.status_code})") from exc
    content = (response.choices[0].message.content or "") if response.choices else ""
    return clean_lines(content, question=question)


def clean_lines(content: str, *, question: str) -> list[str]:
    """The model's lines as phrasings: no bullets or quotes, 3–200 characters, no repeats."""
    out: list[str] = []
    seen = {question.strip().lower()}
    for line in content.splitlines():
        text = _BULLET.sub("", line).strip().strip("\"“”'").strip()
        if not 3 <= len(text) <= 200 or text.lower() in seen:
            continue
        seen.add(text.lower())
        out.append(text)
    return out[:MAX_PHRASINGS]
