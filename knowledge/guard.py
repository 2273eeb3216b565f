"""Questions the unit's knowledge must not answer even when an entry looks similar.

Embeddings put "quanto custa o kumon de Campinas?" next to this unit's price entry and "qual a
nota do Pedro?" next to the progress entry; answering them would be wrong. These rules run on the
normalised query and turn such messages into "I don't know" (a hand-off), whatever the score.

"Another unit" needs another unit or place to be named ("unidade de Pinheiros", "kumon do
Brooklin"), and is not a refusal when the message is about moving between units (a transfer:
"faz kumon na unidade da Vila Mariana, queria passar pra cá") or names "outra unidade" in a
how-to question: those are this unit's to answer. Another school named with a capital
("colégio Bandeirantes") is not ours either.
"""

from __future__ import annotations

import re
from functools import lru_cache

from knowledge.normalize import _LEXICON, normalize
from kumon.models import Unit

_FIRST_NAMES = frozenset(_LEXICON["first_names"])

# "unidade de campinas", "kumon da moema", "kumon de belo horizonte", "kumon do bairro
# funcionários": a place that is not ours ("bairro" itself is a known word, the place follows it).
# A lookahead, so "kumon en la unidad de morumbi" is tried at "unidad" too (matches overlap).
_OTHER_PLACE = re.compile(
    r"\b(?=((?:unidade|unidad|kumon|escola)\s+(?:de|do|da|em|no|na|en|la|del)\s+(?:la\s+|bairro\s+|barrio\s+)?([a-z]+(?:\s+[a-z]+)?)))"
)
# Words that follow "kumon de/do …" without naming a place.
_NOT_A_PLACE = frozenset(
    "matematica portugues ingles japones voces voce adulto adultos crianca criancas manha tarde "
    "noite sabado segunda semana mes ano hoje amanha casa meu minha seu sua filho filha teste "
    "ferias feriado verdade novo vez vezes graca gracas lingua sala aula aulas "
    "origem outra outro outras outros mesma mesmo cidade perto aqui ai vcs kumon unidade escola "
    "hoje agora manha ele ela eles elas o a os as um uma lo las los mi su matematicas idiomas "
    "unidad ensino fundamental medio infantil primeiro segundo terceiro quarto quinto sexto".split()
)
# Moving between units (a transfer) is this unit's question, whatever place is named.
_TRANSFER = re.compile(
    r"\b(?:transfer\w*|mud\w*|passar|trocar|troca|vir|vindo|continua\w*|mover|cambiar|seguir|"
    r"historico|estagio|nivel|level|mesmo nivel|de onde parou|moving|move|continue)\b"
)
# "colégio Bandeirantes", "Escola Vera Cruz": a school's name (capitalised in the message).
_OTHER_SCHOOL = re.compile(r"\b(?:[Cc]ol[eé]gio|[Ee]scola|[Cc]olegio)\s+(?:[A-Z][\w']+)")
# A particular child's record (grades, attendance, level) is not FAQ knowledge.
_CHILD_RECORD = re.compile(
    r"\b(?:nota|notas|boletim|estagio|desempenho|frequencia)\s+(?:d[oa]s?|que)\s+(?!escola\b)(?:meu|minha|\w+)"
    r"|\b(?:fez|entregou)\s+a\s+(?:tarefa|licao)\b"
    r"|\b(?:filho|filha)\s+[a-z]+\s+(?:faltou|fez|tirou)\b"
)
_INJECTION = re.compile(
    r"\b(?:ignore|ignora|ignorar|esqueca|esquece|desconsidere|disregard|forget|olvida)\b.{0,40}"
    r"\b(?:instrucoes|instrucao|regras|instructions|rules|prompt|comandos|instrucciones)\b"
    r"|\bsystem prompt\b|\bseu prompt\b|\bdo anything now\b|\byou are now\b|\bjailbreak\b"
    r"|^\s*system\b|\bmodo (?:desenvolvedor|admin|administrador)\b|\bdeveloper mode\b"
    r"|\bvoce agora e\b|\bfinge que (?:voce|vc) e\b|\bsem filtro\b"
)


def _known_word(word: str) -> bool:
    from knowledge.topics import vocabulary  # noqa: PLC0415 -- topics imports the embedder stack

    return word in vocabulary().words


@lru_cache(maxsize=1024)
def _words_of_unit(*parts: str) -> frozenset[str]:
    """The words naming the unit itself (its name, address, city): not "another unit"."""
    return frozenset(normalize(" ".join(parts)).split())


def refusal_reason(*, query: str, unit: Unit) -> str | None:
    """Why this query must get "I don't know" whatever the retrieval says, or None."""
    text = normalize(query, drop_fillers=False)
    if _INJECTION.search(text):
        return "prompt_injection"
    if _CHILD_RECORD.search(text):
        return "student_record"
    ours = _words_of_unit(unit.name, unit.address, getattr(unit, "city", ""), unit.slug)
    for match in _OTHER_PLACE.finditer(text):
        words = match.group(2).split()
        if words[0] in _NOT_A_PLACE or words[0] in ours or words[0] in _FIRST_NAMES:
            continue
        named_district = match.group(1).split()[2] in {"bairro", "barrio"}
        if match.group(1).startswith("kumon") and not named_district and _known_word(words[0]):
            continue  # "o kumon da medalha?": "dá", a verb, before a word of the catalogue
        if _TRANSFER.search(text):
            return None  # a transfer between units: answerable here
        return "other_unit"
    if _OTHER_SCHOOL.search(query):
        return "other_school"
    return None
