"""The invented-number guard of the LLM path: every amount, percentage, date, time and phone
number in an answer must be in the entries the model was given, as the same kind of quantity."""

from __future__ import annotations

import pytest

from conversations.llm import invented_quantities

KNOWLEDGE = [
    "A primeira visita dura cerca de 1 hora. A mensalidade é de R$ 469,00 por disciplina.",
    "O desconto para irmãos é de 10%. Atendemos de segunda a sexta, das 8h às 19h. Telefone (11) 3333-4444.",
]


@pytest.mark.parametrize(
    ("answer", "invented"),
    [
        ("A mensalidade é R$ 469,00 e a visita dura 1 hora.", set()),
        ("O desconto é de 10% para o segundo filho.", set()),
        ("Estamos abertos das 8h às 19h.", set()),
        ("A mensalidade custa só R$ 1.", {("money", "1")}),  # "1 hora" is not an amount
        ("Para o seu filho de 7 anos são R$ 7 por aula.", {("money", "7")}),  # the child's age is not a price
        ("Damos 50% de desconto.", {("percent", "50")}),
        ("Abrimos às 7h30.", {("time", "7h30")}),
        ("A matrícula vence em 05/12.", {("date", "05/12")}),
        ("Ligue para (11) 9999-8888.", {("phone", "1199998888")}),
    ],
)
def test_quantities_not_in_the_entries_are_invented(answer: str, invented: set) -> None:
    assert invented_quantities(answer, KNOWLEDGE, family='{"child_age": 7}') == invented
