"""Questions the unit's knowledge must not answer even when an entry looks similar.

Embeddings put "quanto custa o kumon de Campinas?" next to this unit's price entry and "qual a
nota do Pedro?" next to the progress entry; answering them would be wrong. These rules run on the
normalised query and turn such messages into "I don't know" (a hand-off), whatever the score.
"""

from __future__ import annotations

import re

from knowledge.normalize import normalize
from kumon.models import Unit

# "unidade de campinas", "kumon da moema", "kumon de belo horizonte": a place that is not ours.
_OTHER_PLACE = re.compile(r"\b(?:unidade|kumon|escola)\s+(?:de|do|da|em|no|na)\s+([a-z]+(?:\s+[a-z]+)?)")
# Words that follow "kumon de/do …" without naming a place.
_NOT_A_PLACE = frozenset(
    "matematica portugues ingles japones voces voce adulto adultos crianca criancas manha tarde "
    "noite sabado segunda semana mes ano hoje amanha casa meu minha seu sua filho filha teste "
    "ferias feriado verdade novo vez vezes graca gracas lingua sala aula aulas".split()
)
# A particular child's record (grades, attendance, level) is not FAQ knowledge.
_CHILD_RECORD = re.compile(
    r"\b(?:nota|notas|boletim|estagio|desempenho|frequencia)\s+(?:d[oa]s?|que)\s+(?!escola\b)(?:meu|minha|\w+)"
    r"|\b(?:fez|entregou)\s+a\s+tarefa\b"
    r"|\b(?:filho|filha)\s+[a-z]+\s+(?:faltou|fez|tirou)\b"
)
_INJECTION = re.compile(
    r"\b(?:ignore|ignora|ignorar|esqueca|esquece|desconsidere|disregard|forget)\b.{0,40}"
    r"\b(?:instrucoes|instrucao|regras|instructions|rules|prompt|comandos)\b"
    r"|\bsystem prompt\b|\bseu prompt\b|\bdo anything now\b|\byou are now\b|\bjailbreak\b"
)


def refusal_reason(*, query: str, unit: Unit) -> str | None:
    """Why this query must get "I don't know" whatever the retrieval says, or None."""
    text = normalize(query, drop_fillers=False)
    if _INJECTION.search(text):
        return "prompt_injection"
    if _CHILD_RECORD.search(text):
        return "student_record"
    ours = set(normalize(f"{unit.name} {unit.address} {getattr(unit, 'city', '')} {unit.slug}").split())
    for match in _OTHER_PLACE.finditer(text):
        words = match.group(1).split()
        if words[0] in _NOT_A_PLACE or words[0] in ours:
            continue
        return "other_unit"
    return None
