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
    r"\b(?=((?:unidade|unidad|kumon|escola|unit|branch)\s+(?:de|do|da|em|no|na|en|la|del|in|at|of|on)\s+(?:la\s+|the\s+|bairro\s+|barrio\s+)?([a-z]+(?:\s+[a-z]+)?)))"
)
# Words that go on the sentence after a place's first word ("kumon do centro que …").
_LINK_WORDS = frozenset("que pra para com tem esta uai nao sim mas tambem".split())
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
# Other after-school brands parents compare with (knowledge/data/lexicon.json "competitors").
_COMPETITORS = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in _LEXICON.get("competitors", [])) + r")\b")
# Someone's personal data: a document number, a personal phone, another family's contact or plans.
_PERSONAL_DATA = re.compile(
    r"\b(?:qual|quais|me passa|me manda|me fala|me informa|passa|manda)\b.{0,12}\b(?:cpf|rg)\b"
    r"|\b(?:numero|telefone|celular|whats\w*|zap|contato|email|e-mail|endereco|instagram)\s+(?:pessoal|particular|privado|da casa)\b"
    r"|\b(?:numero|telefone|celular|whats\w*|zap|contato|email|endereco)\s+d[aoe]s?\s+(?:mae|pai|familia|avo|tia|tio|colega|amig[oa]|outr[oa]s?)\b"
    r"|\bquem mais\s+(?:agendou|marcou|vai|estuda|faz|matriculou)\b|\b(?:outros|outras)\s+(?:pais|maes|familias|alunos)\s+(?:agendaram|marcaram|que vao)\b"
    r"|\b(?:personal|private)\s+(?:number|phone|email|address)\b"
)
# The family's own account: a payment of theirs, whether it arrived (staff look it up).
_ACCOUNT_RECORD = re.compile(
    r"\b(?:meu|minha|o meu|a minha|nosso)\s+(?:pix|pagamento|boleto|transferencia|deposito)\s+(?:de|do mes de|do dia)\s+\w+"
    r"|\b(?:ja|nao)\s+(?:caiu|compensou|entrou|foi compensad\w*|foi baixad\w*)\b|\bquanto (?:eu )?paguei\b"
    r"|\bresultado d[oa] (?:teste|diagnostico|avaliacao|prova) d[oa]\b"
)
# "colégio Bandeirantes", "Escola Vera Cruz": a school's name (capitalised in the message).
_OTHER_SCHOOL = re.compile(r"\b(?:[Cc]ol[eé]gio|[Ee]scola|[Cc]olegio)\s+(?:[A-Z][\w']+)")
# "qto tá a mensalidade do colégio militar?": what another school charges or does, named in lower case.
_OTHER_SCHOOL_ASKED = re.compile(
    r"\b(?:mensalidade|valor|preco|quanto|qto|horario|matricula)\b.{0,30}\b(?:d[oa]|n[oa])\s+(?:colegio|escola|cursinho)\s+(?!dela\b|dele\b|del\b|da crianca\b)[a-z]{3,}"
)
# A particular child's record (grades, attendance, level) is not FAQ knowledge.
_CHILD_RECORD = re.compile(
    r"\b(?:nota|notas|boletim|estagio|desempenho|frequencia)\s+(?:d[oa]s?|que)\s+(?!escola\b)(?:meu|minha|\w+)"
    r"|\b(?:fez|entregou)\s+a\s+(?:tarefa|licao)\b"
    r"|\b(?:filho|filha)\s+[a-z]+\s+(?:faltou|fez|tirou)\b"
    # "a Cecília faltou quantas vezes esse mês?": a child's attendance (not "quantas vezes pode faltar?")
    r"|\b(?:faltou|faltaram)\b.{0,25}\bquantas\b|\bquantas (?:vezes|aulas)\b.{0,25}\b(?:faltou|faltaram)\b"
)
_INJECTION = re.compile(
    r"\b(?:ignore|ignora|ignorar|esqueca|esquece|desconsidere|disregard|forget|olvida)\b.{0,40}"
    r"\b(?:instrucoes|instrucao|regras|instructions|rules|prompt|comandos|instrucciones)\b"
    r"|\bsystem prompt\b|\bseu prompt\b|\bdo anything now\b|\byou are now\b|\bjailbreak\b"
    r"|^\s*system\b|\bmodo (?:desenvolvedor|admin|administrador)\b|\bdeveloper mode\b"
    r"|\bvoce agora e\b|\bfinge que (?:voce|vc) e\b|\bsem filtro\b"
)


# "o Bento já chegou aí?", "ela já saiu da aula?": where a child is right now.
_CHILD_NOW = re.compile(
    r"\b(?:o|a|meu filho|minha filha|ele|ela)\s+(?:(\w+)\s+)?(?:ja|ainda nao|nao)\s+(?:chegou|saiu|foi embora|entrou|terminou|acabou)\b"
)


def _child_now(text: str, query: str) -> bool:
    """A child (ele/ela, or a name: known or written with a capital) and where they are now."""
    for m in _CHILD_NOW.finditer(text):
        word = m.group(1)
        if word is None or word in _FIRST_NAMES:
            return True
        if any(normalize(w) == word for w in re.findall(r"\b[A-ZÀ-Ö][\w'’-]+", query)):
            return True
    return False


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
    if _CHILD_RECORD.search(text) or _ACCOUNT_RECORD.search(text) or _child_now(text, query):
        return "student_record"
    if _PERSONAL_DATA.search(text):
        return "personal_data"
    ours = _words_of_unit(unit.name, unit.address, getattr(unit, "city", ""), unit.slug)
    for match in _OTHER_PLACE.finditer(text):
        words = match.group(2).split()
        if words[0] in _NOT_A_PLACE or words[0] in _FIRST_NAMES:
            continue
        # "kumon do setor marista" at Setor Bueno: a word of our own address begins another place.
        rest = [w for w in words[1:] if len(w) > 2 and w not in _NOT_A_PLACE and w not in _LINK_WORDS]
        if words[0] in ours and all(w in ours for w in rest):
            continue
        named_district = match.group(1).split()[2] in {"bairro", "barrio"}
        preposition = match.group(1).split()[1]
        if (
            match.group(1).startswith("kumon")
            and preposition == "da"
            and not named_district
            and _known_word(words[0])
        ):
            continue  # "o kumon da medalha?": "dá", a verb, before a word of the catalogue ("do água verde" is a place)
        if _TRANSFER.search(text):
            return None  # a transfer between units: answerable here
        return "other_unit"
    if _OTHER_SCHOOL.search(query) or _OTHER_SCHOOL_ASKED.search(text) or _COMPETITORS.search(text):
        return "other_school"
    return None
