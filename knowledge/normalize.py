"""Normalisation of WhatsApp writing, applied the same way to queries and to indexed text.

Parents write "oi boa tarde, qto custa pra 2 materias vcs tem desconto?": greetings glued to the
question, abbreviations, no accents, repeated letters. Both the embedding and the full-text
vector are computed from the normalised text, so "qto" meets "quanto" on both sides.
"""

from __future__ import annotations

import re
import unicodedata

# WhatsApp abbreviations → words. Keys are matched as whole tokens after accents are stripped.
ABBREVIATIONS: dict[str, str] = {
    "vc": "voce",
    "vcs": "voces",
    "voce": "voce",
    "oce": "voce",
    "ce": "voce",
    "qto": "quanto",
    "qnto": "quanto",
    "qt": "quanto",
    "qnt": "quanto",
    "qts": "quantos",
    "qtos": "quantos",
    "qtas": "quantas",
    "qnts": "quantos",
    "q": "que",
    "oq": "o que",
    "pq": "por que",
    "pqe": "porque",
    "porq": "por que",
    "tb": "tambem",
    "tbm": "tambem",
    "tmb": "tambem",
    "hj": "hoje",
    "amanha": "amanha",
    "msg": "mensagem",
    "msgs": "mensagens",
    "pra": "para",
    "pro": "para o",
    "pras": "para as",
    "pros": "para os",
    "p": "para",
    "mto": "muito",
    "mt": "muito",
    "mta": "muita",
    "mtos": "muitos",
    "mtas": "muitas",
    "blz": "beleza",
    "td": "tudo",
    "tds": "todos",
    "tdo": "tudo",
    "n": "nao",
    "ñ": "nao",
    "nao": "nao",
    "naum": "nao",
    "eh": "e",
    "ta": "esta",
    "to": "estou",
    "tou": "estou",
    "tava": "estava",
    "cmg": "comigo",
    "ctg": "contigo",
    "dps": "depois",
    "agr": "agora",
    "hr": "hora",
    "hrs": "horas",
    "h": "horas",
    "min": "minutos",
    "seg": "segunda",
    "sab": "sabado",
    "dom": "domingo",
    "qdo": "quando",
    "qnd": "quando",
    "qndo": "quando",
    "cm": "como",
    "vlw": "valeu",
    "obg": "obrigado",
    "obgd": "obrigado",
    "obgda": "obrigada",
    "bjs": "",
    "att": "",
    "kd": "cade",
    "add": "adicionar",
    "info": "informacao",
    "infos": "informacoes",
    "mat": "matematica",
    "port": "portugues",
    "mes": "mes",
    "r$": "reais",
    "rs": "reais",
    "filha": "filha",
    "fih": "filho",
    "fia": "filha",
    "d": "de",
    "dnv": "de novo",
    "msm": "mesmo",
    "mds": "",
    "aki": "aqui",
    "aq": "aqui",
    "ai": "ai",
    "tbem": "tambem",
    "nd": "nada",
    "ngm": "ninguem",
    "algm": "alguem",
    "vdd": "verdade",
    "sla": "sei la",
    "pfv": "por favor",
    "pf": "por favor",
    "pfvr": "por favor",
    "plz": "please",
    "pls": "please",
    "u": "you",
    "ur": "your",
}

# Greetings and fillers that carry no meaning for retrieval. Multi-word phrases first.
FILLER_PHRASES: tuple[str, ...] = (
    "bom dia",
    "boa tarde",
    "boa noite",
    "tudo bem",
    "tudo bom",
    "tudo certo",
    "como vai",
    "com licenca",
    "por favor",
    "por gentileza",
    "muito obrigado",
    "muito obrigada",
    "gostaria de saber",
    "queria saber",
    "gostaria de perguntar",
    "queria perguntar",
    "uma pergunta",
    "uma duvida",
    "tenho uma duvida",
    "me tira uma duvida",
    "me tira uma duvida",
    "desde ja",
    "desde ja agradeco",
    "good morning",
    "good afternoon",
    "good evening",
    "buenos dias",
    "buenas tardes",
    "buenas noches",
    "hi there",
    "por fa",
)
FILLER_WORDS: frozenset[str] = frozenset(
    "oi oie oii ola ei hey hello hi hola opa ola alo olar eai salve blz beleza obrigado obrigada "
    "valeu grato grata agradeco kkk kkkk kkkkk rs rsrs haha hahaha ne tipo entao assim "
    "moca moco querida querido amiga amigo senhora senhor please thanks gracias ai "
    "ah ahh hmm hum humm aff affs".split()
)

_REPEATS = re.compile(r"(\w)\1{2,}")  # "muuuito" → "muito" (3+ → 1 keeps "ss"/"rr")
_NON_WORD = re.compile(r"[^\w$%]+")
_DIGIT_H = re.compile(r"\b(\d{1,2})h(\d{2})?\b")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(text: str, *, drop_fillers: bool = True) -> str:
    """Lower case, no accents, abbreviations expanded, greetings and fillers removed.

    Documents keep their fillers (drop_fillers=False) only where removing would hurt; the default
    treats queries and documents alike.
    """
    text = strip_accents(text.lower())
    text = text.replace("r$", " reais ")
    text = _DIGIT_H.sub(lambda m: f"{m.group(1)} horas {m.group(2) or ''}", text)
    text = _REPEATS.sub(r"\1", text)
    tokens: list[str] = []
    for token in _NON_WORD.sub(" ", text).split():
        expanded = ABBREVIATIONS.get(token, token)
        if expanded:
            tokens.extend(expanded.split())
    text = " ".join(tokens)
    if drop_fillers:
        for phrase in FILLER_PHRASES:
            text = re.sub(rf"\b{phrase}\b", " ", text)
        tokens = [t for t in text.split() if t not in FILLER_WORDS]
        # A message that is only a greeting stays as it is (there is nothing else to search).
        text = " ".join(tokens) if tokens else text
    return " ".join(text.split())
