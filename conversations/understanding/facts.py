"""The family's facts in a message: the parent's name, each child's name, age or school year and
subjects, corrections ("na verdade ela tem 7", "não é matemática, é português") and how they
heard of the unit.

Names come after cues ("sou a", "meu filho", "ele se chama", "my son", "mi hija") or as the bare
answer to the question just asked; ages and school years are numbers and ordinals with their
words; subjects are words of data/subjects.json, typos forgiven. Several children in one message
("a Sofia tem 9 anos e quer matemática, e o Pedro tá no pré II") are read in order: what follows a
child's name is about that child. Everything is exact pattern work — the parts that need
judgement (is this message an answer or a question?) are the engine's, with `step`.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from conversations.state import Step
from conversations.understanding.text import NUMBER_WORDS, correct, fold

DATA = Path(__file__).resolve().parent / "data"

ORDINALS = {
    "primeiro": 1,
    "primeira": 1,
    "segundo": 2,
    "segunda": 2,
    "terceiro": 3,
    "terceira": 3,
    "quarto": 4,
    "quarta": 4,
    "quinto": 5,
    "quinta": 5,
    "sexto": 6,
    "sexta": 6,
    "setimo": 7,
    "setima": 7,
    "oitavo": 8,
    "oitava": 8,
    "nono": 9,
    "nona": 9,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "primero": 1,
    "tercero": 3,
    "cuarto": 4,
}
_N = r"(\d{1,2}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"


@cache
def _lexicon() -> dict[str, Any]:
    return json.loads((DATA / "lexicon.json").read_text(encoding="utf-8"))


def interjections() -> list[str]:
    """ "oxe", "uai", "bah", "égua": what parents say before the sentence (data/lexicon.json)."""
    return list(_lexicon()["interjections"])


@cache
def subject_patterns() -> dict[str, re.Pattern[str]]:
    subjects: dict[str, list[str]] = _lexicon()["subjects"]
    return {name: re.compile(r"\b(?:" + "|".join(words) + r")\b") for name, words in subjects.items()}


@cache
def given_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names parents write, those of them that are also everyday words — names only with a
    capital): data/names.json, from the 2010 IBGE census list plus recent, immigrant, foreign and
    nickname forms."""
    data = json.loads((DATA / "names.json").read_text(encoding="utf-8"))
    return frozenset(data["given_names"]), frozenset(data["also_words"])


@cache
def not_names() -> frozenset[str]:
    return frozenset(fold(w) for w in _lexicon()["not_names"])


@dataclass
class ChildFacts:
    name: str = ""
    age: int | None = None
    school_year: str = ""
    subjects: list[str] = field(default_factory=list)
    not_subjects: list[str] = field(default_factory=list)  # said not to be wanted ("não é matemática")
    tentative: bool = False  # the subjects were only asked about ("vcs têm japonês?")
    adding: bool = False  # "coloca matemática também": added to what was said before
    only: bool = False  # "só inglês por enquanto": replaces what was said before

    @property
    def empty(self) -> bool:
        return not (self.name or self.age or self.school_year or self.subjects or self.not_subjects)


@dataclass
class Facts:
    parent_name: str = ""
    children: list[ChildFacts] = field(default_factory=list)
    heard_from: str = ""
    correction: bool = False
    children_count: int | None = None  # "meus dois filhos"
    not_names: list[str] = field(default_factory=list)  # "é Gabriel, não Guilherme": a name taken back
    respelt: str = ""  # "*Lana": WhatsApp's way to correct the word just sent (a name said before, respelt)
    for_self: bool = False  # "queria fazer inglês pra mim mesma": the student is the adult writing
    enrolled: bool = False  # "a Alice é aluna aí", "ele já estuda aí": a student already, no first visit

    @property
    def empty(self) -> bool:
        return not (self.parent_name or any(not c.empty for c in self.children) or self.heard_from)


# --- names ---------------------------------------------------------------------------------------

_NAME_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’-]+"
_PARENT_CUES = re.compile(
    r"\b(?:sou (?:a |o )?(?:mae|pai|avo|tia|tio|madrinha|padrinho|responsavel)(?: dele| dela| d[oa]s? "
    + _NAME_WORD
    + r")?\s*,\s*"
    r"|meu nome e|meu nome eh|me chamo|pode me chamar de|me chama de|me chamam de|call me|aqui (?:e|eh|quem fala e) (?:a |o )?|quem fala e (?:a |o )?|sou (?:a |o )?"
    r"|eu sou (?:a |o )?|e eu (?:sou )?(?:a |o )|falo com voce(?:s)? (?:e|sou) |my name is|i am|i'm|im|this is|me llamo|soy|mi nombre es|aqui (?:a|o) "
    r"|^\W*(?:oi|ola|bom dia|boa tarde|boa noite)?[\s,!]*(?:e|eh) (?:a|o) "
    r")"
    # "aqui é Dona Zélia", "sou o Seu Antônio": a title of respect before the name is not the name.
    r"\s*(?:(?:dona|seu|sr|sra|senhora|senhor|dr|dra|mrs|mr|ms|senora|senor)\.?\s+)?(?=" + _NAME_WORD + ")"
)
# "Michele aqui", "Wellington falando", "Fábio, pai da Manuela": a capitalised name that introduces itself.
_NAME_INTRODUCES = re.compile(
    r"(?:^|[.!?\n]\s*|\b(?:oi|ola|olá|bom dia|boa tarde|boa noite|e ai|e aí|opa|hello|hi|hola|buenas)[!,.\s]+)"
    r"(?P<name>[A-ZÀ-Ö][a-zà-ÿ'’-]+(?:\s+[A-ZÀ-Ö][a-zà-ÿ'’-]+)?)"
    r"(?:\s+(?:aqui|falando|here|speaking|por aqui)\b|\s*,\s*(?:a\s+|o\s+)?(?:mae|mãe|pai|avó|avo|avô|tia|tio|madrinha|padrinho|responsável|responsavel)\s+d[oa]s?\b)"
)
_CHILD_CUES = re.compile(
    r"\b(?:(?:meu|minha|o meu|a minha|meus|minhas|my|our|mi|nuestro|nuestra|nosso|nossa)\s+(?:filho|filha|filhinho|filhinha|filhote|fio|fia|fiho|fiha|filio|filia|neto|neta"
    r"|pia|guri|guria|piazinho|gurizinho|guriazinha|moleque|garoto|garota|rapazinho|mocinha|afilhado|afilhada"
    r"|sobrinho|sobrinha|enteado|enteada|menino|menina|pequeno|pequena|caçula|cacula|mais velh[oa]|mais nov[oa]|son|daughter|kid|boy|girl|hijo|hija|nene|nena)"
    r"(?:\s+(?:mais velh[oa]|mais nov[oa]|do meio|caçula|cacula))?"
    r"(?:\s*,)?(?:\s+(?:que\s+)?(?:se chama|chama|chamad[oa]|e o|e a|eh o|eh a|o nome dele e|o nome dela e|named|called|se llama|llamad[oa]|is called))?"
    r"|(?:ele|ela|he|she|a menina|o menino|a pequena|o pequeno|a crianca|o moleque|a mocinha)\s+(?:se\s+)?(?:chama|xama|chma|llama|is called)"
    # "sou o Jorge, filha Isadora 13 anos": the relation without "minha" after a pause.
    r"|(?:(?<=[,;.:!\n] )|(?<=^)|(?<=\be ))(?:filho|filha|filhinho|filhinha|neto|neta|fio|fia|fiho|fiha)(?=\s)"
    r"|(?:ele|ela)\s+(?:e|eh)\s+(?:o|a)|(?<![a-z] )o nome e|(?<![a-z] )o nome eh"
    r"|(?<![a-z] )se chama|o nome dele e|o nome dela e|o nome dele eh|o nome dela eh"
    r"|nome da crianca e|nome do aluno e|nome da aluna e|(?:his|her) name is|se llama|chama-se"
    # "corrigindo: é Ana Luiza", "desculpa, o corretor trocou, é Ana Júlia": the name set right.
    r"|(?:corrigindo|correcao|na verdade|na vdd|desculpa|desculpe|perdao|ops)\W+(?:(?:o corretor (?:trocou|mudou)|foi o corretor)\W+)?(?:e|eh)(?:\s+(?:o|a)(?=\s))?"
    r"|(?:mae|pai|avo|avo|tia|tio|responsavel|madrinha|padrinho|mom|dad|mother|father|madre|padre)\s+d[oa]s?"
    r"|(?:visita|teste|agendamento|horario|matricula|avaliacao)\s+(?:marcad[oa]\s+)?(?:d[oa]|pr[oa]|pra|para (?:o|a))"
    r")\s+(?=" + _NAME_WORD + ")"
)
# "tenho visita marcada quarta 14h pra Beatriz": in a message about a visit, "pra" + a capitalised name.
_FOR_NAME = re.compile(
    r"\b(?:pra|pro|para|para o|para a|pra a|pro o|for|para el|para la)\s+(?=[A-ZÀ-Ö][a-zà-ÿ'’-]+)"
)
_ABOUT_VISIT = re.compile(
    r"\b(?:visita|agend|marc|teste|avaliacao|conhecer|horario|cancel|remarc|appointment|visit|cita)"
)
# "a Olívia, minha filha de 9", "o Pietro (12)", "pro Caleb, 7 anos": a capitalised name next to
# what marks a child (an age in brackets, "meu filho" after it, an age right after a comma).
_NAME_THEN_CHILD = re.compile(
    r"(?:^|[\s,;(])(?:[aAoO] |pro |pra |do |da |pro o |pra a |para )?(?P<name>[A-ZÀ-Ö][a-zà-ÿ'’-]+(?:\s+[A-ZÀ-Ö][a-zà-ÿ'’-]+)?)"
    r"(?=\s*\(\s*\d{1,2}\s*(?:anos?)?\s*\)|\s*,\s*(?:meu|minha|o meu|a minha|mi|my)\s+(?:filh|net|sobrinh|enteado|enteada|hij|son|daughter)|\s*,\s*\d{1,2}\s*(?:anos|años)\b|,?\s+de\s+\d{1,2}\s+(?:anos|años)\b|\s+(?:e\s+)?o nome d(?:ela|ele|a minha filha|o meu filho)\b)"
)
# "a Sofia tem 9 anos", "o Pedro tá no pré II": an article, a capitalised name and a fact verb.
_ARTICLE_NAME = re.compile(
    r"(?:^|[\s,;(])(?:a|o|e a|e o|and|y)\s+(?=[A-ZÀ-Ö][a-zà-ÿ'’-]+\s+(?:tem|tá|ta|está|esta|faz|fez|quer|vai|estuda|"
    r"ja|já|precisa|has|is|tiene|está|anda|com|de\s+\d|\d{1,2}\b(?!\s*(?:h\b|hs|horas|:|/))))"
    r"|(?:^|[.!?\n]\s*|\bsao (?:dois|duas|tres|2|3)[,:]?\s+)(?=[A-ZÀ-Ö][a-zà-ÿ'’-]+\s+(?:tem|tá|está|faz|fez|vai fazer|completou|estuda)\s+(?:\d|"
    + "|".join(NUMBER_WORDS)
    + r"|o\s|no\s|na\s))"
)


_PLACES = {
    "sao",
    "sao paulo",
    "moema",
    "unidade",
    "kumon",
    "voces",
    "vcs",
    "semana",
    "segunda",
    "terca",
    "quarta",
    "quinta",
    "sexta",
    "sabado",
    "domingo",
    "amanha",
    "hoje",
    "mim",
    "gente",
    "ele",
    "ela",
    "nos",
    "matematica",
    "portugues",
    "ingles",
    "japones",
    "dezembro",
    "janeiro",
}


def writes_capitals(text: str) -> bool:
    """Whether the writer capitalises anything after the first word (then names are capitalised too)."""
    words = re.findall(r"[A-Za-zÀ-ÿ]+", text)
    return any(w[0].isupper() for w in words[1:])


def _clean_name(candidate: str, *, strict: bool) -> str:
    """A person's name from the words after a cue: one to three name words, the later ones only
    when capitalised ("Carla Mendes", "Martín Pereyra"). `strict`: the first word must be
    capitalised too (weak cues)."""
    words = re.findall(_NAME_WORD, candidate)
    taken: list[str] = []
    for n, word in enumerate(words[:3]):
        folded = fold(word)
        if folded in not_names() or len(folded) < 2 or any(ch.isdigit() for ch in word):
            break
        if n == 0 and strict and not word[0].isupper():
            break
        if n > 0 and not word[0].isupper():
            break
        taken.append(word)
        # Stop at the end of the name: the next word must follow directly (no comma in between).
        after = candidate[candidate.find(word) + len(word) :]
        if not re.match(r"\s+" + _NAME_WORD, after) or re.match(r"\s*[,.;!?]", after):
            break
        candidate = after
    if not taken:
        return ""
    return " ".join(w if w[0].isupper() else w.capitalize() for w in taken)


def _name_after(text: str, end: int, *, strict: bool) -> str:
    return _clean_name(text[end : end + 60], strict=strict)


def _bare_name(text: str) -> str:
    """A message that is only a name (the answer to "qual o nome?"): "Laura", "é a Laura",
    "jessyca", "Maria Clara". Never a question, never a sentence."""
    stripped = re.sub(
        r"^\s*(?:e|é|eh|se chama|chama|o nome (?:dele|dela) e|a|o)\s+", "", text.strip(), flags=re.I
    )
    stripped = stripped.strip(" .!,;")
    if "?" in text or not stripped or len(stripped) > 40:
        return ""
    words = re.findall(_NAME_WORD, stripped)
    if not words or len(words) > 3 or len(" ".join(words)) < len(stripped) - 3:
        return ""
    if any(subjects_in(fold(stripped))):
        return ""  # "matematca": a subject, typed fast, not a name
    return _clean_name(stripped, strict=False)


# --- ages, years, subjects ------------------------------------------------------------------------

_AGE = re.compile(
    r"\b(?:tem|tenho|ta com|esta com|com|de|fez|faz|completou|vai fazer|vai completar|idade|is|he's|she's|turns|turned|tiene|cumplio)\s+"
    + _N
    + r"\s*(?:anos|aninhos|ano|anitos|anos de idade|years?|yrs|yo|y/o|anos?)?\b(?!\s*(?:h\b|horas|:|/|%|reais|vezes|filhos|materias|disciplinas|dias|semanas|meses|minutos))"
    r"|\b" + _N + r"\s*(?:anos|aninhos|ano de idade|anos de idade|years? old|yrs old|yo|y/o|años|anitos)\b"
    r"|\b" + _N + r"\s+ano\b(?!\s*(?:do|de|da|escolar|letivo|que vem|passado))"
    r"|\(\s*(\d{1,2})\s*(?:anos?)?\s*\)"
    r"|\b(?:filh[oa]|net[oa]|menin[oa]|crianca|pequen[oa]|sobrinh[oa]|son|daughter|hij[oa])\s+(?:de|with|of)\s+(\d{1,2})\b(?!\s*(?:h\b|horas|:|/|%|de (?:dezembro|janeiro|novembro)))"
)
_AGE_NEEDS_UNIT = {"com", "de"}  # "com 8" or "de 8" alone is not an age
_SCHOOL_YEAR = re.compile(
    # "2º ano", "2o ano", "no 2 ano", "5a série", "3 ano do médio" — a bare "8 ano" is an age.
    r"(?:\b(\d{1,2})\s*(?:º|°|o|a|ª)\s*|(?<=\bno )(\d{1,2})\s+|(?<=\bna )(\d{1,2})\s+|\b(\d{1,2})\s+(?=serie|grade|grado|ano do))"
    r"(ano|serie|grade|grado)\b(?!\s*(?:que vem|passado))(?:\s+do\s+(medio|fundamental|ensino medio))?"
    r"|\b("
    + "|".join(ORDINALS)
    + r")\s+(ano|serie|grade|grado)\b(?:\s+do\s+(medio|fundamental|ensino medio))?"
    r"|\b(pre-escola|pre escola|pre|jardim|maternal|bercario|infantil|kindergarten|ensino medio|colegial|faculdade|cursinho)\b"
    r"(?:\s*(i{1,3}|[1-5])\b)?"
)
_ROMAN = {"i": 1, "ii": 2, "iii": 3}
_NEGATED_SUBJECT = re.compile(
    r"\b(?:nao e|nao eh|nao seria|nao quero|nao precisa(?: de)?|sem|nem|menos|not|no es"
    r"|esquece|esqueca|esquecer|tira|tirar|tire|em vez de|ao inves de|no lugar de|instead of|forget|en vez de)"
    r"\s+(?:a |o |de |do |da |em |pra |para |the )?(?:\w+\s+){0,1}$"
    r"|(?:^|[,;.]\s*|\b(?:e|mas)\s+)nao\s+(?:a |o |e |eh )?$"  # "é português, não mat"
)
# "my Portuguese is basic", "meu português é fraco": the parent's own language, not a wish.
_OWN_LANGUAGE = re.compile(
    r"\b(?:my|mi|meu|nosso|our)\s+$"
    # "todavía no habla bien portugués", "ele fala inglês em casa": a language spoken, not a subject.
    r"|\b(?:fala|falam|falar|habla|hablan|hablar|speak|speaks|speaking)\s+(?:(?:bem|bien|muito|mucho|well|good|much|any|a lot of|a little|pouco|poco|nada de|um pouco de|un poco de)\s+)?(?:o\s+|el\s+)?$"
)
# "melhorar meu inglês", "improve my English": the adult's own subject to study.
_IMPROVE = (
    r"(?:melhorar|aprender|estudar|treinar|reforcar|praticar|desenvolver|improve|learn|practice|mejorar)"
)
_IMPROVE_OWN = re.compile(r"\b" + _IMPROVE + r"\s+(?:o\s+)?(?:meu|my|mi)\s+$")
# "faz 6 só em março", "vai fazer 7 mês que vem": a birthday to come, not the age now.
_FUTURE_BIRTHDAY = re.compile(
    r"^\s*(?:anos?\s*)?(?:so\s+)?(?:em|no|na|agora em|ano que vem|mes que vem|semana que vem|daqui|logo|in|next)\b"
)
_DOING_WELL = re.compile(
    r"^[^\w.!?;]*(?:\w+[^\w.!?;,]+){0,3}(?:ele|ela)?\s*(?:vai|esta|ta|anda|is doing|va)\s+(?:bem|otim[oa]|super bem|muito bem|well|fine)"
    # "bem" as an intensifier: "ta bem fraca", "vai bem mal" is the opposite of doing well.
    r"(?!\s+(?:frac\w*|ruim|mal|atrasad\w*|devagar|baix\w*|pior|abaixo|complicad\w*|dificil|perdid\w*|fei\w*))"
)
# "inglês ela já faz em outro canto": a subject the child already does elsewhere is not the wish.
_DOES_ALREADY = re.compile(
    r"^[^\w.!?;]*(?:(?:ele|ela|o|a|\w+)\s+)?ja\s+(?:faz|fazia|estuda|tem|cursa|does|takes)\b"
)
_WANTS = re.compile(
    r"\b(quero|queria|queremos|gostaria|inscrever|matricular|precisa|dificuldade|marcar|agendar|pra ele|pra ela|e pra|seria|want|would like|quiero|queremos)\b"
)
_CORRECTION = re.compile(
    r"\b(?:na verdade|na vdd|na vrdd|pensando (?:bem|melhor)|mudei de ideia|melhor dizendo|ops|opa,? errei|errei|corrigindo|correcao"
    r"|quis dizer|digo|me enganei|desculpa,? e|actually|i meant|en realidad|perdon,? es|o corretor (?:trocou|mudou)|foi o corretor)\b"
    r"|\bnao e \w+,?\s+e\b|\bnao,?\s+pera\b"
)
_FOR_SELF = re.compile(
    r"\b(?:fazer|estudar|aprender|cursar|matricular|comecar)\b.{0,40}\b(?:pra|para) mim(?: mesm[oa])?\b"
    r"|\b(?:pra|para) mim mesm[oa]\b|\beu mesm[oa] (?:quero|queria|gostaria de) (?:fazer|estudar)\b"
    r"|\bquem (?:quer|vai|queria|vai querer) (?:estudar|fazer|aprender)\b.{0,25}\b(?:sou eu|e eu)\b"
    r"|\bsou eu (?:mesm[oa] )?(?:que|quem) (?:quer|vou|vai) (?:estudar|fazer|aprender)\b"
    r"|\bfor myself\b|\b(?:para|por) mi mism[oa]\b|\bsou (?:eu|eu mesm[oa]) (?:o|a) alun[oa]\b"
    # an adult speaking of their own age or their own English ("tenho 24 anos", "melhorar meu ingles")
    r"|\b(?:eu )?tenho (?:1[6-9]|[2-9]\d) anos\b|\bi'?m (?:1[6-9]|[2-9]\d)(?: years old)?\b"
    r"|\b" + _IMPROVE + r" (?:o )?meu (?:ingles|portugues|japones|matematica)\b"
)
_HEARD = re.compile(
    r"\b(indicacao|indicou|indicaram|recomendou|recomendacao|instagram|insta|facebook|google|tiktok|youtube|site"
    r"|passei na frente|vi a placa|placa|panfleto|folheto|outdoor|whatsapp de uma amiga)\b"
)
_COUNT = re.compile(
    r"\b(?:meus|minhas|os|as|my|mis)\s+(dois|duas|tres|2|3|two|three|dos)\s+(?:filh|crianc|menin|kids|children|hij)"
)


def _age_from(match: re.Match[str]) -> int | None:
    raw = next(g for g in match.groups() if g)
    value = int(raw) if raw.isdigit() else NUMBER_WORDS.get(raw)
    cue = fold(match.group(0)).split()[0]
    if cue.startswith("(") or re.match(r"(filh|net|menin|crianca|pequen|sobrinh|son|daughter|hij)", cue):
        return value if value is not None and 1 <= value <= 99 else None
    if cue in _AGE_NEEDS_UNIT and not re.search(
        r"anos|ano|aninhos|anitos|años|years|yrs|yo", fold(match.group(0))
    ):
        return None
    if value is None or not 1 <= value <= 99:
        return None
    return value


def _school_year_from(match: re.Match[str]) -> str:
    g = match.groups()
    number = g[0] or g[1] or g[2] or g[3]
    if number:
        stage = g[5]
        return f"{int(number)}º ano" + (" do médio" if stage and "medio" in stage else "")
    if g[6]:
        stage = g[8]
        return f"{ORDINALS[g[6]]}º ano" + (" do médio" if stage and "medio" in stage else "")
    name = g[9]
    level = g[10] or ""
    label = {
        "pre": "Pré",
        "pre-escola": "Pré-escola",
        "pre escola": "Pré-escola",
        "jardim": "Jardim",
        "maternal": "Maternal",
        "bercario": "Berçário",
        "infantil": "Educação infantil",
        "kindergarten": "Educação infantil",
        "ensino medio": "Ensino médio",
        "colegial": "Ensino médio",
        "faculdade": "Faculdade",
        "cursinho": "Cursinho",
    }[name]
    if level:
        label += " " + (
            "I" * _ROMAN.get(level, 0) if level in _ROMAN else "I" * int(level) if int(level) <= 3 else level
        )
    return label


_READING_GOAL = re.compile(r"(?:ler|leitura|escrever|escrita)\b")


def subjects_in(folded: str) -> tuple[list[str], list[str]]:
    """(wanted, not wanted) subjects in a folded text, in the order they appear."""
    corrected = " ".join(correct(w) if w.isalpha() else w for w in re.findall(r"\w+|[^\w\s]", folded))
    found: list[tuple[int, str, bool]] = []
    goals: list[int] = []
    for name, pattern in subject_patterns().items():
        for m in pattern.finditer(corrected):
            before = corrected[max(0, m.start() - 30) : m.start()]
            after = corrected[m.end() : m.end() + 40]
            if _OWN_LANGUAGE.search(before) and not _IMPROVE_OWN.search(before):
                continue
            if (
                name == "Português"
                and _READING_GOAL.match(corrected, m.start())
                and re.search(r"\b(?:pra|para)\s*$", before)
            ):
                goals.append(m.start())  # "meu ingles pra ler artigo": what the other subject is for
            negated = (
                bool(_NEGATED_SUBJECT.search(before))
                or bool(_DOING_WELL.match(after))
                or bool(_DOES_ALREADY.match(after))
            )
            found.append((m.start(), name, negated))
    found.sort()
    if goals and any(n != "Português" for _, n, _ in found):
        found = [f for f in found if f[0] not in goals]
    wanted = list(dict.fromkeys(n for _, n, neg in found if not neg))
    unwanted = list(dict.fromkeys(n for _, n, neg in found if neg and n not in wanted))
    return wanted, unwanted


# "faz o 2 ano", "ele é do 6 ano", "vai pro 1 ano", "2nd grade": a school year even without "º".
_YEAR_AFTER_WORD = re.compile(
    r"\b(do|no|na|pro|pra|para o|o|cursa|cursando|faz|fazendo|terminando|terminou)\s+(\d{1,2})\s+(ano|serie)\b(?!\s*(?:que vem|passado|de idade))"
)
_ENGLISH_GRADE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\s+grade\b")


def _normalise_years(folded: str) -> str:
    folded = _YEAR_AFTER_WORD.sub(lambda m: f"{m.group(1)} {m.group(2)}º {m.group(3)}", folded)
    return _ENGLISH_GRADE.sub(lambda m: f"{m.group(1)}º ano", folded)


def _child_facts(folded: str) -> ChildFacts:
    child = ChildFacts()
    folded = _normalise_years(folded)
    school = _SCHOOL_YEAR.search(folded)
    for m in _AGE.finditer(folded):
        if school and m.start() < school.end() and school.start() < m.end():
            continue  # "no 2 ano" is the school year, not an age
        age = _age_from(m)
        cue = fold(m.group(0)).split()[0]
        if (
            age is not None
            and cue in {"faz", "vai", "completa"}
            and child.age is not None
            and _FUTURE_BIRTHDAY.match(folded[m.end() : m.end() + 30])
        ):
            continue  # "tem 5, faz 6 só em março": the age now was said
        if age is not None:
            child.age = age
    if school:
        child.school_year = _school_year_from(school)
    child.subjects, child.not_subjects = subjects_in(folded)
    if child.subjects:
        # Every mention inside a question that asks whether the unit has it ("vcs têm japonês?"):
        # the parent asked about them, they did not choose them yet.
        asking = [q for q in re.findall(r"[^?!.]*\?", folded) if not _WANTS.search(q)]
        rest = folded
        for q in asking:
            rest = rest.replace(q, " ")
        child.tentative = not subjects_in(rest)[0]
        child.adding = bool(
            re.search(r"\b(tambem|tb|junto|alem d[eo]|mais|too|also|as well|tambien)\b", folded)
        )
        child.only = bool(
            re.search(
                r"\b(so|somente|apenas|only|solo|solamente)\s+(?:o |a )?(?:kumon de |de )?(?:"
                + "|".join(w for ws in _lexicon()["subjects"].values() for w in ws)
                + r")\b",
                folded,
            )
        )
    return child


# --- the whole message ----------------------------------------------------------------------------


def extract(text: str, *, step: Step = Step.NONE) -> Facts:
    """Facts in `text`; `step` is what the receptionist asked last (a bare "Laura", "7" or
    "portugues" answers it)."""
    original = unicodedata.normalize("NFC", text)
    folded = fold(original)
    facts = Facts(correction=bool(_CORRECTION.search(folded)))

    intro = _NAME_INTRODUCES.search(original)
    if intro and fold(intro.group("name").split()[0]) not in not_names():
        facts.parent_name = _clean_name(intro.group("name"), strict=True)
    m = None if facts.parent_name else _PARENT_CUES.search(folded)
    while m:
        # "sou a X" names the parent only with a capital (else "sou a mãe", "sou estudante"), unless
        # we just asked their name.
        weak = re.sub(r"\s+(a|o)$", "", fold(m.group(0)).strip()) in {
            "sou",
            "eu sou",
            "soy",
            "i am",
            "im",
            "i'm",
            "this is",
        }
        strict = weak and step != Step.ASK_PARENT_NAME and writes_capitals(original)
        name = _name_after(original, m.end(), strict=strict)
        if (
            name
            and step in (Step.ASK_CHILD_NAME, Step.ASK_CHILD_AGE, Step.ASK_SUBJECT)
            and re.fullmatch(
                r"\W*(?:oi|ola|bom dia|boa tarde|boa noite)?[\s,!]*(?:e|eh) (?:a|o)\s*", fold(m.group(0))
            )
        ):
            name = ""  # "é a Helena" answers the question about the child
        if name and re.fullmatch(
            r"\W*(?:oi|ola|bom dia|boa tarde|boa noite)?[\s,!]*(?:e|eh) (?:a|o)\s*", fold(m.group(0))
        ):
            # "e a sala tem ar?" begins with "and", not "é a Sala": a name there is one we know of,
            # or written with a capital.
            given, also_words = given_names()
            word = fold(name.split()[0])
            if not original[m.end() :].lstrip()[:1].isupper() and (word not in given or word in also_words):
                name = ""
        if name:
            facts.parent_name = name
            break
        m = _PARENT_CUES.search(folded, m.end())

    # Child mentions, in order: (position where their facts start, name).
    mentions: list[tuple[int, int, str]] = []
    # A writer who uses capitals writes names with one: "meu filho chegou em casa" names no one.
    capitalises = writes_capitals(original)
    for cue in _CHILD_CUES.finditer(folded):
        relation = re.match(
            r"(?:mae|pai|avo|tia|tio|responsavel|madrinha|padrinho|mom|dad|mother|father|madre|padre)\b",
            cue.group(0),
        )
        weak = bool(relation) or cue.group(0).startswith(
            ("visita", "teste", "agend", "horario", "matric", "avalia")
        )
        name = _name_after(original, cue.end(), strict=weak or capitalises)
        if name and fold(name) != fold(facts.parent_name):
            mentions.append((cue.start(), cue.end() + len(name), name))
    if _ABOUT_VISIT.search(folded):
        for cue in _FOR_NAME.finditer(original):
            name = _name_after(original, cue.end(), strict=True)
            if (
                name
                and fold(name) not in _PLACES
                and fold(name) != fold(facts.parent_name)
                and all(fold(name) != fold(n) for _, _, n in mentions)
            ):
                mentions.append((cue.start(), cue.end() + len(name), name))
    for near in _NAME_THEN_CHILD.finditer(original):
        before = original[: near.start("name")].rstrip(" ")
        if (
            before
            and before.split()[-1] not in ("A", "O")
            and before.split()[-1][:1].isupper()
            and before[-1:] not in ".!?,"
        ):
            continue  # "São Paulo, 10 anos": part of a longer proper name
        name = _clean_name(near.group("name"), strict=True)
        if (
            name
            and fold(name) not in _PLACES
            and fold(name) != fold(facts.parent_name)
            and all(fold(name) != fold(n) for _, _, n in mentions)
        ):
            mentions.append((near.start("name"), near.end("name"), name))
    for art in _ARTICLE_NAME.finditer(original):
        name = _name_after(original, art.end(), strict=True)
        if (
            name
            and fold(name) != fold(facts.parent_name)
            and all(fold(name) != fold(n) for _, _, n in mentions)
        ):
            mentions.append((art.start(), art.end() + len(name), name))
    for start, end, name in _known_names(original, folded, step=step, parent=facts.parent_name):
        if all(fold(name) != fold(n) and not (a <= start < b) for a, b, n in mentions):
            mentions.append((start, end, name))
    mentions.sort()
    count = _COUNT.search(folded)
    if count:
        facts.children_count = (
            NUMBER_WORDS.get(count.group(1)) or int(count.group(1))
            if count.group(1).isdigit()
            else NUMBER_WORDS.get(count.group(1))
        )

    if mentions:
        joined: list[tuple[ChildFacts, ChildFacts]] = []  # (named with the next, the next)
        previous_joined: ChildFacts | None = None
        for n, (start, end, name) in enumerate(mentions):
            stop = mentions[n + 1][0] if n + 1 < len(mentions) else len(folded)
            segment = folded[end:stop]
            joins_next = n + 1 < len(mentions) and bool(_JOINS_NAMES.fullmatch(segment))
            if n == 0:
                segment = folded[:start] + " , " + segment  # what came before the first name is about it too
            child = _child_facts(segment)
            lead_age = _AGE_AFTER_NAME.match(segment if n else folded[end:stop])
            if child.age is None and lead_age:
                value = lead_age.group(1)
                age = int(value) if value.isdigit() else NUMBER_WORDS.get(value)
                child.age = age if age and 1 <= age <= 18 else None
            child.name = name
            same = next((c for c in facts.children if fold(c.name) == fold(name)), None)
            if same is None:
                facts.children.append(child)
            else:
                _merge_child(same, child)
                child = same
            if previous_joined is not None:
                joined.append((previous_joined, child))
            previous_joined = child if joins_next else None
        # "Caio e Cauã, 6 anos": names joined by "e" share what is said after the last of them.
        for first_child, next_child in reversed(joined):
            _share(into=first_child, source=next_child)
        if _ALL_OF_THEM.search(folded):
            # "os dois precisam de matemática", "gêmeos de 8": what one has, every one has.
            for attribute in ("age", "school_year", "subjects"):
                values = {repr(getattr(c, attribute)) for c in facts.children if getattr(c, attribute)}
                if len(values) == 1:
                    value = next(getattr(c, attribute) for c in facts.children if getattr(c, attribute))
                    for c in facts.children:
                        if not getattr(c, attribute):
                            setattr(c, attribute, list(value) if isinstance(value, list) else value)
    else:
        child = _child_facts(folded)
        if not child.empty:
            facts.children.append(child)
            each = _all_of_them_count(folded)
            if each and (facts.children_count or each) > 1:
                # "tenho gêmeos de 8", "os dois querem matemática": the facts are each child's,
                # whose names come later ("são o Bento e o Joaquim" then finds both aged 8).
                facts.children_count = max(facts.children_count or 0, each)
                facts.children.extend(copy.deepcopy(child) for _ in range(facts.children_count - 1))

    # The question just asked has first claim on a bare answer.
    first = facts.children[0] if facts.children else None
    if step == Step.ASK_CHILD_NAME and not mentions:
        name = _bare_name(original)
        if not name and facts.parent_name:
            # "Sophia, e eu sou a Elaine": the answer first, then the parent introduces themself.
            name = _bare_name(re.split(r"[,;]|\s+e\s+", original, maxsplit=1)[0])
        if name and fold(name) != fold(facts.parent_name):
            if first is None:
                facts.children.append(ChildFacts(name=name))
            else:
                first.name = name
    elif step == Step.ASK_PARENT_NAME and not facts.parent_name and not mentions:
        name = _bare_name(original)
        if name:
            facts.parent_name = name
    elif step == Step.ASK_CHILD_AGE and (first is None or (first.age is None and not first.school_year)):
        bare = re.fullmatch(
            r"\W*(?:(?:ele|ela|o|a|he|she|el)\s+)?(?:(?:ja\s+)?(?:tem|ta com|esta com|faz|fez|acabou de fazer|completou|vai fazer|is|tiene)\s+)?"
            + _N
            + r"\s*(?:anos?|aninhos|years?|años)?\b(?!\s*(?:h\b|horas|:|/))(?!\s*(?:º|°|o|a|ª)?\s*(?:ano|serie)\b).*",
            folded,
        )
        if bare:
            value = bare.group(1)
            age = int(value) if value.isdigit() else NUMBER_WORDS.get(value)
            if age and 1 <= age <= 99:
                if first is None:
                    facts.children.append(ChildFacts(age=age))
                else:
                    first.age = age
    m = _HEARD.search(folded)
    if m:
        facts.heard_from = m.group(1)
    facts.for_self = bool(_FOR_SELF.search(folded)) and not mentions
    facts.enrolled = bool(_ENROLLED.search(folded))
    star = _STAR_CORRECTION.match(original)
    if star and fold(star.group(1)) not in not_names():
        facts.respelt, facts.correction = star.group(1)[0].upper() + star.group(1)[1:], True
    for m in re.finditer(
        r"\bnao (?:e |eh |era )?(?:o |a )?(?=[A-ZÀ-Ö])", original.replace("não", "nao").replace("Não", "nao")
    ):
        taken_back = _clean_name(original[m.end() : m.end() + 40], strict=True)
        if taken_back:
            facts.not_names.append(taken_back)
    _signed(facts, original, step=step)
    return facts


def _signed(facts: Facts, original: str, *, step: Step) -> None:
    """ "…, ele tem 5 anos, portugues. Paulo": a name standing alone in a message that names the
    child elsewhere is the parent signing it; so is "8h. Marcelo. Bryan o nome dele" at "E qual é
    o seu nome?"."""
    if facts.parent_name or not facts.children:
        return
    alone = [
        segment.strip()
        for segment in re.split(r"[.!?\n]+", original)
        if re.fullmatch(r"\s*" + _NAME_WORD + r"(?:\s+" + _NAME_WORD + r")?\s*", segment)
    ]
    folded = fold(original)
    known = [
        c
        for c in facts.children
        if c.name
        and (
            c.age
            or c.school_year
            or c.subjects
            or re.search(
                re.escape(fold(c.name)) + r",?\s+(?:e\s+)?o nome (?:dele|dela|do menino|da menina)", folded
            )
        )
    ]
    if step == Step.ASK_PARENT_NAME:
        names, _ = given_names()
        children = {fold(c.name) for c in facts.children}
        for segment in alone:
            word = fold(segment)
            if word.split()[0] in names and word not in children and word not in not_names():
                facts.parent_name = _clean_name(segment, strict=False)
                return
    if not known:
        return
    for child in facts.children:
        if child.name and child not in known and not child.age and fold(child.name) in map(fold, alone):
            facts.parent_name = child.name
            facts.children.remove(child)
            return


# Where a known first name is not the child's: the person talked to or about ("falar com a
# Rosângela", "a tia Bruna", "sou a Ana"), a name that introduces itself ("Gisele aqui").
_NOT_CHILD_BEFORE = re.compile(
    r"(?:\bcom(?: a| o)?|\bfalar(?: com)?|\btia|\btio|\bprofessora?|\borientadora?|\batendente|\bsou(?: a| o)?|\bchamo|\bnome e"
    r"|\bi'?m|\bi am|\bname is|\bsoy|\bllamo|\bdona|\bseu|\bsenhora?|\bsra?\.?"
    # "ele ta rui de matematica": after "tá", a word says how someone is, not who
    r"|\bta|\besta|\btava|\bestava|\bfica|\bficou)\s*$"
)
# Where the family comes from or lives, for any place ("somos de Rosario", "we're from Austin").
_HOME_PLACE_BEFORE = re.compile(
    r"\b(?:somos|sou|viemos|vim|venho|vindos?|vindas?|moro|moramos|morava|morei|nasci|nascemos|we are|we're|i am|i'm"
    r"|came|come|live|lived|living|vivimos|vivo|venimos|soy)\s+(?:de|do|da|dos|das|em|no|na|from|in|en)\s*$"
    r"|\b(?:mudamos|mudei|mudaram|moved|moving)\s+(?:de|do|da|from)\s*$"
)
# Brazilian cities that are also first names, and what puts a place before them.
_CITIES_THAT_ARE_NAMES = frozenset(
    {
        "salvador",
        "vitoria",
        "natal",
        "marilia",
        "franca",
        "palmas",
        "americana",
        "serra",
        "luziania",
        "barbacena",
        "petrolina",
        "teresina",
        "regina",
        "santos",
        "jandira",
    }
)
_PLACE_BEFORE = re.compile(
    r"(?:\b(?:em|de|do|da|no|na|in|from|to|at|of|desde|en)|\b(?:mud\w*|vim|viemos|vinda|moved|moving|live|living|moro|moramos|chegamos|llegamos)\s+(?:pra|para|a))\s*$"
)
_NOT_CHILD_AFTER = re.compile(r"^\s+(?:aqui|falando|here|speaking)\b")
# Something in the message is about a child (or the question just asked was the child's name).
_CHILD_CONTEXT = re.compile(
    r"\b(?:filh|net[oa]s?\b|crianc|menin|pia\b|piazinho|guri|garot|molequ|alun|gemeos|irmaos|sobrinh|enteado|afilhad|kid|son\b|daughter|child|hij"
    r"|anos\b|aninhos|\d{1,2}\s*(?:o|º|°)?\s*ano\b|serie|pre\b|maternal|years? old|visita|agend|marc|levar|conhecer|matricul"
    r"|matematica|portugues|ingles|japones|mat\b|math|english)"
)


def _known_names(original: str, folded: str, *, step: Step, parent: str) -> list[tuple[int, int, str]]:
    """Children named without a cue, found by the names lexicon: "queria levar o Pedro pra
    conhecer", "são o Bento e o Joaquim", "Our daughter Chloe is 9", "meu piá henrique". A
    lowercase word counts only if it is no everyday word too ("clara", "luz" need a capital)."""
    if step == Step.ASK_PARENT_NAME and not parent:
        return []  # at "E qual é o seu nome?", "Marcia, quero agendar" names the parent
    if step not in (Step.ASK_CHILD_NAME, Step.ASK_PARENT_NAME) and not _CHILD_CONTEXT.search(folded):
        return []  # ("Cecília. e eu sou a Iara" there: the parent said who they are, the other is the child)
    names, words = given_names()
    parent_words = {fold(w) for w in parent.split()}
    found: list[tuple[int, int, str]] = []
    for m in re.finditer(_NAME_WORD, original):
        word = fold(m.group(0))
        if word not in names or word in parent_words or word in not_names() or word in _PLACES:
            continue
        if word in words and not m.group(0)[0].isupper():
            continue
        if _NOT_CHILD_BEFORE.search(folded[: m.start()]) or _NOT_CHILD_AFTER.match(folded[m.end() :]):
            continue
        if word in _CITIES_THAT_ARE_NAMES and _PLACE_BEFORE.search(folded[: m.start()]):
            continue  # "we moved to Salvador", "moro em Vitória": the city, not a child
        if _HOME_PLACE_BEFORE.search(folded[: m.start()]):
            continue  # "somos de Rosario": where the family is from
        if found and found[-1][1] > m.start():
            continue  # the surname of the name just taken
        before = original[: m.start()]
        previous = re.search(r"(" + _NAME_WORD + r")\s+$", before)
        if (
            previous
            and previous.group(1)[0].isupper()
            and not re.search(r"(?:^|[.!?\n])\s*" + re.escape(previous.group(1)) + r"\s+$", before)
            and fold(previous.group(1)) not in names
        ):
            continue  # "São Paulo", "Porto Alegre", "Colégio Santa Maria": part of a longer proper name
        name = _clean_name(original[m.start() : m.start() + 60], strict=False)
        if name:
            found.append((m.start(), m.start() + len(name), name))
    return found


# "*Lana, o corretor trocou": a word starting with "*" corrects the word of the message before.
_STAR_CORRECTION = re.compile(r"^\s*\*\s*(" + _NAME_WORD + r")\*?\s*(?:$|[,.!;:-]|\s)")


# Right after a child's name: "o Pedro de 8", "a Bia 10", "Lucas, 7".
_AGE_AFTER_NAME = re.compile(
    r"\s*[,(]?\s*(?:de|com)?\s*"
    + _N
    + r"\s*\)?(?:\s*(?:anos|aninhos|anos de idade))?(?=\s*(?:$|[,;.!?)]|e\b|and\b|y\b|que\b|quer\b|ta\b|esta\b"
    # "Bento 9 mat", "a Lis 4 portugues": an age, then the subject, in a list of children.
    r"|(?:de |pra |para )?(?:mat|matematica|math|port|portugues|ingles|english|japones|faz|precisa)\b))"
)


# Between two children's names: only "e", a comma or "&" ("o Caio e o Cauã").
_JOINS_NAMES = re.compile(r"\s*(?:,|&|\be\b|\band\b|\by\b)\s*(?:(?:o|a)\s+)?")
# The facts said about one are about all: "os dois", "ambos", "gêmeos", "twins".
_ALL_OF_THEM = re.compile(
    r"\b(?:os dois|as duas|os 2|as 2|ambos|ambas|os tres|as tres|todos eles|os gemeos|as gemeas|gemeos|gemeas"
    r"|both|twins|los dos|las dos|mellizos|gemelos)\b"
)


# A child who studies at the unit already (their family asks about lessons, not a first visit).
_ENROLLED = re.compile(
    r"\b(?:e|eh|ja e|sao|ja sao)\s+(?:seu |sua |teu |tua )?alun[oa]s?\s+(?:ai|daqui|dai|da unidade|de voces|de vcs|do kumon|da kumon|da tia|da orientadora|ha)\b"
    r"|\b(?:ja )?(?:estuda|estudam|faz|fazem)\s+(?:o )?(?:kumon\s+)?(?:(?:de\s+)?(?:mat|matematica|port|portugues|ingles|japones|math|english)\s+)?(?:ai|aqui|com voces|com vcs|na unidade)\b"
    # a family that pays the monthly fee, gets lessons or misses them is already there
    r"|\b(?:esqueci de pagar|paguei|pagar atrasad|boleto (?:venc|atrasad|desse mes|do mes)|mensalidade (?:venc|atrasad|desse mes|do mes))"
    r"|\b(?:ele|ela) (?:nao foi|faltou|perdeu a aula)\b.{0,40}\b(?:repor|reposicao|aula)\b"
    r"|\bja (?:e|eh|sao) alun[oa]s?\b|\b(?:is|are) (?:a )?students? (?:there|at your|with you)"
)

# How many "all of them" are, when the words say it.
_ALL_COUNT = {
    "dois": 2,
    "duas": 2,
    "2": 2,
    "ambos": 2,
    "ambas": 2,
    "gemeos": 2,
    "gemeas": 2,
    "both": 2,
    "twins": 2,
    "dos": 2,
    "mellizos": 2,
    "gemelos": 2,
    "tres": 3,
    "3": 3,
}


def _all_of_them_count(folded: str) -> int | None:
    match = _ALL_OF_THEM.search(folded)
    return _ALL_COUNT.get(match.group(0).split()[-1]) if match else None


def _share(*, into: ChildFacts, source: ChildFacts) -> None:
    if into.age is None and not into.school_year:
        into.age, into.school_year = source.age, source.school_year
    if not into.subjects:
        into.subjects = list(source.subjects)


def _merge_child(into: ChildFacts, other: ChildFacts) -> None:
    into.age = other.age if other.age is not None else into.age
    into.school_year = other.school_year or into.school_year
    into.subjects = list(dict.fromkeys([*into.subjects, *other.subjects]))
    into.not_subjects = list(dict.fromkeys([*into.not_subjects, *other.not_subjects]))
