"""Normalisation of WhatsApp writing, applied the same way to queries and to indexed text.

Parents write "oi boa tarde, qto custa pra 2 materias vcs tem desconto?": greetings glued to the
question, abbreviations, no accents, repeated letters. Both the embedding and the full-text
vector are computed from the normalised text, so "qto" meets "quanto" on both sides.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

# The word lists are data (knowledge/data/lexicon.json, reviewed like code): abbreviations are
# whole tokens after accents are stripped; fillers are greetings that carry no meaning.
LEXICON_FILE = Path(__file__).resolve().parent / "data" / "lexicon.json"
_LEXICON = json.loads(LEXICON_FILE.read_text(encoding="utf-8"))
ABBREVIATIONS: dict[str, str] = _LEXICON["abbreviations"]
FILLER_PHRASES: tuple[str, ...] = tuple(_LEXICON["filler_phrases"])
FILLER_WORDS: frozenset[str] = frozenset(_LEXICON["filler_words"])
_FILLER_PHRASE_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(p) for p in sorted(FILLER_PHRASES, key=len, reverse=True)) + r")\b"
)

OPENERS: tuple[str, ...] = tuple(_LEXICON["openers"])
CLOSERS: tuple[str, ...] = tuple(_LEXICON["closers"])
_OPENER_RE = re.compile(
    r"^(?:" + "|".join(re.escape(p) for p in sorted(OPENERS, key=len, reverse=True)) + r")\b\s*"
)
_CLOSER_RE = re.compile(
    r"\s*\b(?:" + "|".join(re.escape(p) for p in sorted(CLOSERS, key=len, reverse=True)) + r")$"
)

_REPEATS = re.compile(r"(\w)\1{2,}")  # "muuuito" → "muito" (3+ → 1 keeps "ss"/"rr")
_NON_WORD = re.compile(r"[^\w$%]+")
_DIGIT_H = re.compile(r"\b(\d{1,2})h(\d{2})?\b")
# English contractions, before the apostrophe splits them: "what's" would become "what s" and
# "s" is "sim" on WhatsApp.
_CONTRACTIONS = (
    (re.compile(r"(?<=[a-z])n['’]t\b"), " not"),
    (re.compile(r"(?<=[a-z])['’]s\b"), " is"),
    (re.compile(r"(?<=[a-z])['’](?:d)\b"), " would"),
    (re.compile(r"(?<=[a-z])['’]re\b"), " are"),
    (re.compile(r"(?<=[a-z])['’]m\b"), " am"),
    (re.compile(r"(?<=[a-z])['’]ll\b"), " will"),
    (re.compile(r"(?<=[a-z])['’]ve\b"), " have"),
)


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
    if "'" in text or "’" in text:
        for pattern, replacement in _CONTRACTIONS:
            text = pattern.sub(replacement, text)
    text = _DIGIT_H.sub(lambda m: f"{m.group(1)} horas {m.group(2) or ''}", text)
    text = _REPEATS.sub(r"\1", text)
    tokens: list[str] = []
    for token in _NON_WORD.sub(" ", text).split():
        expanded = ABBREVIATIONS.get(token, token)
        if expanded:
            tokens.extend(expanded.split())
    text = " ".join(tokens)
    if drop_fillers:
        text = _FILLER_PHRASE_RE.sub(" ", text)
        tokens = [t for t in text.split() if t not in FILLER_WORDS]
        # A message that is only a greeting stays as it is (there is nothing else to search).
        text = " ".join(tokens) if tokens else text
    return " ".join(text.split())


# The Brazilian double negative that sets a topic aside before the real question: "não é X não",
# "não quero X não (uai)", "não é pra X não".
_TAKEN_BACK_RE = re.compile(
    r"^(?:mas |e )?nao (?:e|eh|quero|queria|preciso|vou|to querendo|estou querendo|e pra|eh pra|e para)"
    r"(?: (?!nao\b)\w+){1,4} nao(?: (?:uai|viu|ta|sabe|ne|gente))? (?=\w+ \w+)"
)


def reading(normalised: str) -> str:
    """A normalised query as a person reads the question in it: without what is said before it
    ("e", "also", "além disso", "gostaria de saber", "me tira uma dúvida", "can you tell me") or
    after it ("obrigada", "desde já agradeço"). Queries only: an indexed text keeps its words.

    The engine searches each clause of a message on its own, so "Also, what's the monthly fee?"
    and "what's the monthly fee?" must read the same to the ranker and the decision.
    """
    # "não é cancelar não, é só que ele vai faltar": what is taken back is not the question.
    text = _TAKEN_BACK_RE.sub("", normalised, count=1) or normalised
    while True:
        stripped = _OPENER_RE.sub("", text, count=1)
        stripped = _CLOSER_RE.sub("", stripped, count=1).strip()
        if stripped == text or not stripped:
            break
        text = stripped
    return text
