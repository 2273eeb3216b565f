"""How parents write on WhatsApp, made readable for the rules and the intent model.

`fold`: lower case without accents (same length as the text for composed characters, so a span
found in the folded text is the same span in the original). `prepare`: folded, letters repeated
for emphasis collapsed ("oiii"), WhatsApp abbreviations expanded ("vc", "qto", "pd") and typos of
the words the receptionist relies on corrected ("vizita", "fiho", "matematca") — by edit distance
to a small lexicon, only for words that are rare in Portuguese (wordfreq), never for words that
are words themselves ("minha", "vista", "fase").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from wordfreq import zipf_frequency

from knowledge.normalize import ABBREVIATIONS, strip_accents

# Numbers as parents spell them (ages, counts, hours, ordinals).
NUMBER_WORDS = {
    "um": 1,
    "uma": 1,
    "dois": 2,
    "duas": 2,
    "tres": 3,
    "quatro": 4,
    "cinco": 5,
    "seis": 6,
    "sete": 7,
    "oito": 8,
    "nove": 9,
    "dez": 10,
    "onze": 11,
    "doze": 12,
    "treze": 13,
    "catorze": 14,
    "quatorze": 14,
    "quinze": 15,
    "dezesseis": 16,
    "dezessete": 17,
    "dezoito": 18,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "uno": 1,
    "dos": 2,
    "cuatro": 4,
    "seis ": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
}

# Engine-side spellings on top of the knowledge normaliser's table (kept as they are there).
EXTRA_ABBREVIATIONS = {
    "pd": "pode",
    "pdc": "pode",
    "qria": "queria",
    "qro": "quero",
    "qr": "quer",
    "qer": "quer",
    "vlw": "valeu",
    "brigado": "obrigado",
    "brigada": "obrigada",
    "obgda": "obrigada",
    "noit": "noite",
    "dia": "dia",
    "hrs": "horas",
    "hs": "horas",
    "hr": "hora",
    "tbm": "tambem",
    "tb": "tambem",
    "ñ": "nao",
    "naum": "nao",
    "nn": "nao",
    "s": "sim",
    "ss": "sim",
    "sim": "sim",
    "blz": "beleza",
    "fds": "fim de semana",
    "prof": "professora",
    "mae": "mae",
    "sesta": "sexta",
    "cesta": "sexta",
    "secta": "sexta",
    "pod": "pode",
    "tô": "estou",
    "tou": "estou",
    "ctz": "certeza",
    "dmais": "demais",
}
# The knowledge table expands a few tokens the engine must keep ("ta" → "esta" is fine; "h" → "horas" is not:
# "16h" is a time).
_KEEP = {"mes", "rs", "r$", "ai"}
LEXICON = (
    "visita visitar agendar agendamento marcar remarcar desmarcar cancelar conhecer matricula "
    "matricular filho filha filhos filhas crianca menino menina quero queria gostaria "
    "matematica portugues ingles japones anos idade semana manha tarde noite amanha "
    "segunda terca quarta quinta sexta sabado domingo horario horarios disponivel "
    "mensalidade valor quanto obrigado obrigada atendente pessoa orientadora falar "
    "estacionamento pagamento desconto boleto cartao escola diagnostico teste"
).split()
# Real words one edit away from a lexicon word: never "corrected".
PROTECTED = set(
    "vista visto fase fases agenda agendas tardo tardei quarto quinto sexto sexo cancela marca marcas "
    "falta faltar falou fala falam filme pessoas valo valer valeu quant quanta quantos quantas "
    "horarios menina meninas meninos criancas sabia saber sabe manhas hoje horas noites semanas "
    "escolas testes teses visitas conheci cartas carta idades ano anos filhos filhas".split()
)
_REPEATS = re.compile(r"([a-z])\1{2,}")
_TOKEN = re.compile(r"[a-z0-9ºª°$%]+|[^\sa-z0-9]")


def fold(text: str) -> str:
    """Lower case, accents removed, NFC first so spans keep their length."""
    return strip_accents(unicodedata.normalize("NFC", text).lower())


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance, stopping early above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


RARE = 2.5  # Zipf frequency (log10 per billion words) under which a Portuguese word is a likely typo


@lru_cache(maxsize=8192)
def correct(token: str) -> str:
    """The lexicon word a misspelt token stands for, or the token. Only rare words are corrected:
    "vizita" and "fiho" are (Zipf < 1.5 in Portuguese), "minha", "quando" and "folha" — one letter
    from "manha", "quanto" and "filha" — never are."""
    if len(token) < 4 or token in PROTECTED or token.isdigit() or token in LEXICON:
        return token
    if zipf_frequency(token, "pt") >= RARE:
        return token
    limit = 2 if len(token) >= 8 else 1
    best, best_distance = token, limit + 1
    for word in LEXICON:
        if abs(len(word) - len(token)) > limit or word[0] != token[0] and len(token) < 6:
            continue
        d = edit_distance(token, word, limit)
        if d < best_distance:
            best, best_distance = word, d
    return best if best_distance <= limit else token


def spelt_as(alternation: str) -> str:
    """A regex alternation of words ("qual|quanto|o que|…") that also matches the WhatsApp
    spellings of its plain words ("qto", "qnto", "o q", "vcs"): for rules that must read the
    parent's own text rather than `prepare`'s."""
    spellings: dict[str, list[str]] = {}
    for table in (ABBREVIATIONS, EXTRA_ABBREVIATIONS):
        for short, plain in table.items():
            if plain and short != plain and short.isalpha() and len(short) >= 2 and short not in _KEEP:
                spellings.setdefault(plain, []).append(short)

    def word(token: str) -> str:
        variants = spellings.get(token, [])
        return f"(?:{'|'.join([token, *variants])})" if variants else token

    out = []
    for alternative in alternation.split("|"):
        if re.fullmatch(r"[a-z ]+", alternative):
            alternative = " ".join(word(token) for token in alternative.split())
        out.append(alternative)
    return "|".join(out)


def prepare(text: str) -> str:
    """Folded, abbreviations expanded and typos corrected: what the rules and the model read."""
    t = _REPEATS.sub(r"\1", fold(text))
    out: list[str] = []
    for token in _TOKEN.findall(t):
        if token in EXTRA_ABBREVIATIONS:
            out.append(EXTRA_ABBREVIATIONS[token])
        elif token in ABBREVIATIONS and token not in _KEEP and ABBREVIATIONS[token]:
            out.append(ABBREVIATIONS[token])
        elif token.isalpha():
            out.append(correct(token))
        else:
            out.append(token)
    return re.sub(r"\s+([?!.,;:])", r"\1", " ".join(out)).strip()
