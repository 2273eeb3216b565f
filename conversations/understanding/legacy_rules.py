"""Language understanding without a language model: intents, lead facts, questions, choices.

Written for how Brazilian parents write on WhatsApp: no accents, abbreviations, several facts
in one message, corrections ("na verdade ele tem 7"). The LLM path (conversations/llm.py)
returns the same `Understood`, so the engine does not care which one ran.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from conversations.dates import When, fold, parse_when

SUBJECTS = {
    "Matemática": r"matematica|matematicas|\bmat\b|math|maths|calculo|contas",
    "Português": r"portugues|\bport\b|leitura|portuguese|redacao",
    "Inglês": r"ingles|english|\bingl\b|idioma ingles",
    "Japonês": r"japones|japanese|japon",
}
ORDINALS = {
    "primeiro": 1, "primeira": 1, "segundo": 2, "segunda": 2, "terceiro": 3, "terceira": 3,
    "quarto": 4, "quinto": 5, "sexto": 6, "setimo": 7, "oitavo": 8, "nono": 9,
    "first": 1, "second": 2, "third": 3, "primera": 1, "tercera": 3, "tercero": 3,
}
NUMBER_WORDS = {
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6,
    "sete": 7, "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12, "treze": 13,
    "catorze": 14, "quatorze": 14, "quinze": 15, "dezesseis": 16, "dezessete": 17,
}
NOT_NAMES = set(
    "mae pai mamae papai responsavel avo avó tia tio madrinha padrinho mother father mom dad madre "
    "padre tem esta ta faz estuda que e de do da vai ja precisa is has tiene quer gostaria anda "
    "um uma o a os as meu minha seu sua nao sim ok oi ola interessad interessada interessado "
    "aluno aluna crianca filho filha menino menina bebe gente eu ele ela dele dela muito bem "
    "nova novo aqui la com para pra por em no na nos nas quero queria gostaria estou to "
    "agendar marcar saber uma duvida the my son daughter".split()
)

_OPT_OUT = re.compile(
    r"^\s*(pare|parar|para|sair|stop|unsubscribe|descadastrar|cancelar inscricao|chega)\s*[.!]*\s*$"
    r"|nao quero (mais )?(receber )?(mensage|msg|contato|nada)"
    r"|(pare|para|parem) de (me )?(mandar|enviar|mand|escrever)"
    r"|nao me (mande|mandem|envie|enviem) mais"
    r"|(remov|tir|exclu)\w* (o )?meu (numero|contato|telefone)"
    r"|nao tenho (mais )?interesse.*(mensage|contato)"
    r"|stop (sending|messaging)|dejen de enviar|no quiero (mas|recibir)"
)
_HUMAN = re.compile(
    r"atendente|falar com (uma |um |a |o |alguem|algu|gente|pessoa|humano|ser humano|atendente|"
    r"orientadora|coordenadora|responsavel|dona|dono|voces por telefone)"
    r"|pessoa de verdade|ser humano|\bhumano\b|com uma pessoa|me (liga|ligue|ligar)|pode(m)? me ligar"
    r"|talk to (a |an )?(human|person|someone|agent)|real person|hablar con (una persona|alguien|un humano)"
)
_COMPLAINT = re.compile(
    r"reclama|absurdo|pessim|insatisfeit|descaso|cobrad[oa]s? (errad|indevid|a mais|duas vezes)|cobranca indevid"
    r"|procon|processar|nao gostei|horrivel|decepcionad|falta de respeito|ninguem (me )?respond|mal atendid"
    r"|vergonha|ridiculo|complain|terrible|awful|queja"
)
_INJECTION = re.compile(
    r"ignor\w* (as |todas |all |previous |suas |the |tudo |o que )|instruc\w* (anterior|do sistema|iniciais)"
    r"|system prompt|prompt do sistema|seu prompt|your prompt|voce agora e|you are now|act as|aja como|finja|pretend"
    r"|revel\w* (o|a|seu|suas|as)|jailbreak|developer mode|modo desenvolvedor|esqueca (tudo|suas)"
    r"|dados d\w* outr|lista d\w* (alunos|clientes|contatos|pais)|telefone d\w* outr|outros pais|other parents"
    r"|escreva um poema|write a poem|conte uma piada|tell me a joke|codigo em python|python code"
)
_BOOK = re.compile(
    r"agend|marca(r|mos)? (uma |a )?(visita|horario|teste|aula|avaliacao)|\bmarcar\b|visita|conhecer a unidade|teste diagnostico"
    r"|fazer (o |um )?teste|avaliacao|matricul\w*|quero comecar|inscrever|\bvaga"
    r"|schedule|\bbook\b|appointment|visit|cita|agendar|reservar"
)
_RESCHEDULE = re.compile(
    r"remarc|reagend|mudar (o |a )?(horario|dia|data|visita)|trocar (o |a )?(horario|dia|data)|outro horario|outro dia"
    r"|nao vou (poder|conseguir) (ir|comparecer)|adiar|reschedule|change the (time|date)|cambiar (la|el) (hora|cita|dia)"
)
_CANCEL = re.compile(
    r"\b(?:cancel\w*|desmarc\w*)\b(?!.*\b(?:matricula|inscricao|curso|mensalidade|plano|contrato|aulas)\b)"
)
_YES = re.compile(
    r"^\s*(sim|s|ss|sss|isso|isso mesmo|confere|conferido|correto|certo|ta certo|esta certo|pode ser|pode|ok|okay|okey"
    r"|beleza|blz|perfeito|confirmo|confirmado|confirma|claro|com certeza|yes|yep|yeah|si|exato|fechado|bora|quero|quero sim"
    r"|pode sim|otimo|show|top|tudo certo|combinado|sure|of course|correct|right|vale|dale)\b"
)
_NO = re.compile(r"^\s*(nao|n|no|nope|negativo|errado|esta errado|ta errado|nao e isso|incorrect|wrong)\b")
_THANKS = re.compile(r"\b(obrigad|valeu|vlw|obg|agradeco|thanks|thank you|gracias)")
_GREETING = re.compile(r"^\s*(oi+e?|ola|ola+|bom dia|boa tarde|boa noite|hey|hi|hello|hola|buenos dias|buenas|e ai|opa)\b")
_CHOICE = re.compile(r"^\s*(?:(?:a |o )?(?:opcao|opção|numero|option|opcion|n)\s*)?(\d)\s*(?:[ºo°]\s*)?(?:opcao)?[.!]?\s*$")
_CHOICE_WORD = re.compile(r"\b(?:a |o |la |el |the )?(primeir[ao]|segund[ao]|terceir[ao]|first|second|third|primera|tercera)\b(?! ano| serie| grado)")
_QUESTION_START = re.compile(
    r"^(qual|quais|quanto|quanta|quantos|quantas|como|onde|aonde|quando|que horas|o que|oque|tem|tinha|existe|ha|"
    r"voces|vcs|voce|vc|pode|posso|podem|aceita|aceitam|funciona|precisa|preciso|da pra|da para|e possivel|seria|"
    r"what|how|when|where|do you|does|can|is there|are there|which|cuanto|cual|cuales|donde|hay|tienen|puede|como|"
    r"gostaria de saber|queria saber|quero saber|me fala|me diz|me diga|me informa|informacao|informacoes|duvida|e o|e a)\b"
)
_RELATION = re.compile(r"\b(?:mae|pai|avo|avó|tia|tio|responsavel|mother|father|mom|dad|madre|padre)\s+d[oa]s?\s+([A-Za-zÀ-ÿ]+)", re.I)
_PARENT_NAME = re.compile(
    r"\b(?:meu nome e|meu nome é|me chamo|aqui e (?:a |o )?|aqui é (?:a |o )?|sou (?:a |o )?|falo com (?:a |o )?|"
    r"my name is|i am|i'm|me llamo|soy)\s*([A-Za-zÀ-ÿ]+(?:\s+[A-Z][a-zà-ÿ]+)?)",
    re.I,
)
_CHILD_NAME = re.compile(
    r"\b(?:(?:meu|minha|o meu|a minha|my|mi)\s+(?:filho|filha|filhos|neto|neta|sobrinho|sobrinha|enteado|enteada|son|daughter|hijo|hija|kid|child)"
    r"(?:\s*(?:,|que)?\s*(?:se chama|chama|chamad[oa]|e o|é o|e a|é a|o|a|named|called|se llama|llamad[oa])?)"
    r"|(?:o nome dele e|o nome dele é|o nome dela e|o nome dela é|nome da crianca e|nome da criança é|ele se chama|ela se chama|"
    r"se chama|chama-se|chamad[oa]|his name is|her name is|se llama))\s+([A-Za-zÀ-ÿ]+)",
    re.I,
)
_AGE = re.compile(r"\b(\d{1,2})\s*(?:anos|aninhos|anos de idade|ano de idade|years?|yo|anos?\b(?=\s+(?:e|de idade)))\b|\b(\d{1,2})\s*(?:años|anitos)")
_AGE_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\s+(?:anos|aninhos)\b")
_AGE_TEM = re.compile(r"\b(?:tem|tenho|has|tiene|com|idade|is|he's|she's|turns)\s+(\d{1,2})\b(?!\s*(?:materias|disciplinas|filhos|/|h\b|horas))")
_SCHOOL_YEAR = re.compile(
    r"\b(\d{1,2})\s*(?:º|°|o|a|ª)?\s*(?:ano|serie|série|grade|grado)\b(?!s)|\b(" + "|".join(ORDINALS) + r")\s+(?:ano|serie|grade|grado)\b"
    r"|\b(pre[- ]?escola|pre\b|jardim|maternal|educacao infantil|infantil|berçario|bercario|ensino medio|colegial|kindergarten|"
    r"faculdade|adulto|adulta)\b"
)
_HEARD = re.compile(
    r"\b(indicacao|indicou|indicaram|amig[ao]|vizinh[ao]|instagram|insta|facebook|google|tiktok|youtube|site|"
    r"passei na frente|vi a placa|placa|panfleto|folheto|outdoor|escola)\b"
)
_CORRECTION = re.compile(r"\b(na verdade|corrigindo|correcao|errei|quis dizer|digo|actually|i meant|en realidad)\b")
EN_WORDS = set("the my is can how much what hello hi son daughter does do you price cost please want schedule years old "
               "visit book thanks thank have kid when where".split())
ES_WORDS = set("el la mi hijo hija cuanto cuesta precio hola quiero tiene anos años puede usted ustedes gracias buenos "
               "quisiera cita horario tienen es una hablar como nino niña nina".split())
PT_WORDS = set("voce vcs vc quero meu minha filho filha quanto tem oi ola obrigado obrigada nao sim pra para e "
               "de do da custa gostaria queria bom boa tarde dia noite ele ela anos ano horario qual".split())


@dataclass
class Understood:
    language: str = "pt"
    intents: set[str] = field(default_factory=set)
    facts: dict[str, Any] = field(default_factory=dict)
    questions: list[str] = field(default_factory=list)
    choice: int | None = None
    when: When | None = None
    correction: bool = False
    source: str = "rules"

    def has(self, intent: str) -> bool:
        return intent in self.intents


def detect_language(text: str, *, previous: str = "pt") -> str:
    words = re.findall(r"[a-zñ']+", fold(text))
    if not words:
        return previous
    scores = {
        "pt": sum(w in PT_WORDS for w in words),
        "en": sum(w in EN_WORDS for w in words),
        "es": sum(w in ES_WORDS for w in words),
    }
    best = max(scores, key=lambda k: scores[k])
    if scores[best] == 0 or scores[best] == scores.get(previous, 0):
        return previous
    return best


def _clean_name(word: str) -> str | None:
    folded = fold(word).strip()
    if not folded or folded in NOT_NAMES or len(folded) < 2 or not word[:1].isalpha():
        return None
    return " ".join(part.capitalize() for part in word.split())


def _names_view(text: str) -> str:
    """`text` with accents kept where possible: name patterns are written without accents, so
    they match on an accent-free copy; spans are the same when the text is NFC."""
    import unicodedata

    from knowledge.normalize import strip_accents

    nfc = unicodedata.normalize("NFC", text)
    return nfc if len(strip_accents(nfc)) == len(nfc) else strip_accents(nfc)


def _name_at(original: str, plain: str, match: re.Match[str], group: int = 1) -> str:
    start, end = match.span(group)
    return original[start:end] if len(original) == len(plain) else plain[start:end]


def extract_facts(text: str, *, step: str = "") -> dict[str, Any]:
    """Lead facts found in `text`. `step` is what the bot asked last, so that a bare answer
    ("Pedro", "7", "mat e ingles") is read as the answer to that question."""
    from knowledge.normalize import strip_accents

    facts: dict[str, Any] = {}
    t = fold(text)
    original = _names_view(text)
    plain = strip_accents(original)
    m = _RELATION.search(plain)
    if m and (name := _clean_name(_name_at(original, plain, m))):
        facts["child_name"] = name
    m = _CHILD_NAME.search(plain)
    if m and (name := _clean_name(_name_at(original, plain, m))):
        facts["child_name"] = name
    m = _PARENT_NAME.search(plain)
    if m:
        found = _name_at(original, plain, m).split()
        name = _clean_name(" ".join(found) if len(found) > 1 and found[1][:1].isupper() else found[0])
        if name and fold(name) != fold(facts.get("child_name", "")):
            facts["parent_name"] = name
    school = _SCHOOL_YEAR.search(t)
    if school:
        if school.group(1):
            facts["school_year"] = f"{int(school.group(1))}º ano"
        elif school.group(2):
            facts["school_year"] = f"{ORDINALS[school.group(2)]}º ano"
        else:
            facts["school_year"] = school.group(3)
    m = _AGE.search(t)
    if m:
        facts["child_age"] = int(m.group(1) or m.group(2))
    elif (m := _AGE_WORD.search(t)):
        facts["child_age"] = NUMBER_WORDS[m.group(1)]
    elif (m := _AGE_TEM.search(t)) and "school_year" not in facts:
        facts["child_age"] = int(m.group(1))
    subjects = [name for name, pattern in SUBJECTS.items() if re.search(pattern, t)]
    if subjects:
        facts["subjects"] = subjects
    m = _HEARD.search(t)
    if m:
        facts["heard_from"] = m.group(1)

    # Bare answers to the question just asked.
    words = re.findall(r"[A-Za-zÀ-ÿ]+", text)
    if step == "ask_parent_name" and "parent_name" not in facts and 1 <= len(words) <= 3:
        if name := _clean_name(" ".join(w for w in words[:2] if w[:1].isupper()) or words[0]):
            facts["parent_name"] = name
    if step == "ask_child_name" and "child_name" not in facts and 1 <= len(words) <= 4:
        if name := _clean_name(words[0]):
            facts["child_name"] = name
    if step == "ask_child_age" and "child_age" not in facts and "school_year" not in facts:
        bare = re.fullmatch(r"\s*(\d{1,2})\s*[.!]?\s*", t) or re.search(r"\b(\d{1,2})\b", t)
        if bare and 1 <= int(bare.group(1)) <= 90:
            facts["child_age"] = int(bare.group(1))
        elif (w := re.search(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", t)):
            facts["child_age"] = NUMBER_WORDS[w.group(1)]
    if step == "ask_subject" and "subjects" not in facts and re.search(r"\b(todas|as quatro|all)\b", t):
        facts["subjects"] = list(SUBJECTS)
    if "child_age" in facts and not 1 <= facts["child_age"] <= 90:
        facts.pop("child_age")
    return facts


def _clauses(text: str) -> list[str]:
    parts = re.split(r"(?<=[?!.])\s+|\n+|(?<=\?)", text)
    return [p.strip(" ,;") for p in parts if p and p.strip(" ,;")]


def _is_question(clause: str) -> bool:
    c = fold(clause)
    c = _GREETING.sub("", c).strip(" ,!.")
    c = re.sub(r"^(tudo bem|tudo bom|bom dia|boa tarde|boa noite)[ ,!?]*", "", c).strip()
    if not c:
        return False
    return "?" in clause or bool(_QUESTION_START.match(c))


def understand(text: str, *, step: str = "", language: str = "pt", today: dt.date) -> Understood:
    t = fold(text)
    u = Understood(language=detect_language(text, previous=language))
    if _OPT_OUT.search(t):
        u.intents.add("opt_out")
    if _HUMAN.search(t):
        u.intents.add("human")
    if _COMPLAINT.search(t):
        u.intents.add("complaint")
    if _INJECTION.search(t):
        u.intents.add("injection")
    if _RESCHEDULE.search(t):
        u.intents.add("reschedule")
    if _CANCEL.search(t):
        u.intents.add("cancel")
    if _BOOK.search(t) and not u.intents & {"reschedule", "cancel"}:
        u.intents.add("book")
    # "quero" is a yes to "Quer agendar?", but "quero remarcar" is not a yes to "Confirmo?".
    strong = u.intents & {"opt_out", "human", "complaint", "injection", "reschedule", "cancel"}
    if _YES.match(t) and not strong:
        u.intents.add("yes")
    elif _NO.match(t) and not strong:
        u.intents.add("no")
    if _THANKS.search(t):
        u.intents.add("thanks")
    if _GREETING.match(t):
        u.intents.add("greeting")
    u.correction = bool(_CORRECTION.search(t))
    u.facts = extract_facts(text, step=step)
    m = _CHOICE.match(t)
    if m and step in {"offer_slots", "confirm_slot"}:
        u.choice = int(m.group(1))
    when = parse_when(text, today=today)
    if u.choice is None and step == "offer_slots" and (m := _CHOICE_WORD.search(t)) and when.time is None and when.window is None:
        u.choice = ORDINALS[m.group(1)]  # "a segunda" after a numbered list is option 2
    if not when.empty:
        u.when = when
    for clause in _clauses(text):
        if not _is_question(clause):
            continue
        c = fold(clause)
        # Clauses the booking flow owns are not knowledge questions.
        if (
            _RESCHEDULE.search(c) or _CANCEL.search(c) or _HUMAN.search(c) or _INJECTION.search(c)
            or (step in {"offer_slots", "confirm_slot"} and not parse_when(clause, today=today).empty)
            or re.search(r"\b(tem|teria|ha) (horario|vaga)s?\b.*\b(para|pra|na|no|dia|amanha|segunda|terca|quarta|quinta|sexta|sabado)\b", c)
            or re.fullmatch(r"(posso|pode|podemos|da pra|da para) (agendar|marcar)\w*( uma visita| o teste| um horario)?\??", c)
        ):
            continue
        u.questions.append(clause)
    return u
