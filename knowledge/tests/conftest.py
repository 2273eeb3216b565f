from __future__ import annotations

from collections.abc import Callable

import pytest

from knowledge import services
from knowledge.models import Source
from kumon.models import Unit

FAQ = {
    "mensalidade": ("Quanto custa a mensalidade?", "A mensalidade é de R$ 390,00 por disciplina."),
    "horario": ("Qual o horário de funcionamento?", "Abrimos de segunda a sexta, das 8h às 19h."),
    "estacionamento": ("Tem estacionamento?", "Há um estacionamento conveniado na esquina."),
    "idade": ("Com que idade a criança pode começar?", "A partir dos 3 anos."),
}


@pytest.fixture(autouse=True)
def _fresh_index_model_check() -> None:
    """Each test has its own database state: forget which index model this process checked."""
    from knowledge import search

    search._index_model_checked.clear()


@pytest.fixture
def add_faq() -> Callable[..., Source]:
    """Create an FAQ entry and index it in-process (searchable on return)."""

    def make(
        unit: Unit | None,
        external_id: str,
        question: str | None = None,
        answer: str | None = None,
        phrasings: list[str] | None = None,
    ) -> Source:
        q, a = FAQ.get(external_id, (question, answer))
        source, _ = services.upsert_faq(
            unit=unit,
            external_id=external_id,
            question=question or q,
            answer=answer or a,
            phrasings=phrasings,
            enqueue=False,
        )
        return services.index_source(source_id=source.pk)

    return make
