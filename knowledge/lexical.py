"""The lexical side of the search: what a message's words say, in parents' Portuguese.

Terms are Snowball stems of the normalised text (knowledge/normalize.py) after the domain's
synonyms are folded into one canonical term (knowledge/data/lexicon.json: "quanto sai", "preço"
and "custa" are all `valor`; "desistir" is `cancelar`), stop words left out. A word the
vocabulary does not know is corrected to a known word one edit away (two for long words), so
"calculadra" and "diferensa" still meet their entries. The vocabulary is the catalogue's and the
lexicon's words plus whatever a caller adds (a unit's entries).

`overlap` scores how much of a message's weight a text covers, weighted by inverse document
frequency: a rare word shared ("calculadora") counts far more than a common one ("aula").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer

from knowledge.normalize import _LEXICON, normalize

_STEMMER = snowballstemmer.stemmer("portuguese")
STOPWORDS: frozenset[str] = frozenset(_LEXICON["stopwords"])


def _build_synonyms() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    phrases: dict[str, str] = {}
    words: dict[str, str] = {}
    for canonical, variants in _LEXICON["synonyms"].items():
        target = canonical.replace(" ", "_")
        for variant in [canonical, *variants]:
            variant = normalize(variant, drop_fillers=False)
            if " " in variant:
                phrases[variant] = target
            elif variant:
                words[variant] = target
    pattern = (
        re.compile(r"\b(?:" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)) + r")\b")
        if phrases
        else None
    )
    words.update({p: t for p, t in phrases.items()})
    return pattern, words


_PHRASES, _WORDS = _build_synonyms()
_PHRASE_TARGET = {p: t for p, t in _WORDS.items() if " " in p}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def terms(text: str, *, normalised: bool = False) -> list[str]:
    """The lexical terms of `text` (order kept, duplicates kept)."""
    text = text if normalised else normalize(text)
    if _PHRASES is not None:
        text = _PHRASES.sub(lambda m: " " + _PHRASE_TARGET[m.group(0)] + " ", text)
    out = []
    for word in text.split():
        word = _WORDS.get(word, word)
        if word in STOPWORDS or len(word) < 2:
            continue
        out.append(word if "_" in word else stem(word))
    return out


def _deletes1(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Vocabulary:
    """Known words (normalised, unstemmed) and a typo corrector over them."""

    MIN_LENGTH = 5  # shorter words are too often another valid word one edit away

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self.words: dict[str, int] = {}
        # Symmetric deletes (SymSpell): every known word under itself and each one-letter
        # deletion; a typed word meets it through its own deletions. Covers an added, missing,
        # swapped or wrong letter without generating the ~50·n candidates of every edit.
        self._deletes: dict[str, set[str]] = {}
        self.add(texts)

    def add(self, texts: Iterable[str]) -> None:
        for text in texts:
            for word in normalize(text, drop_fillers=False).split():
                if word not in self.words and word.isalpha() and len(word) >= self.MIN_LENGTH - 1:
                    for key in {word, *_deletes1(word)}:
                        self._deletes.setdefault(key, set()).add(word)
                self.words[word] = self.words.get(word, 0) + 1

    def correct_word(self, word: str) -> str:
        if word in self.words or len(word) < self.MIN_LENGTH or not word.isalpha():
            return word
        candidates: set[str] = set()
        for key in {word, *_deletes1(word)}:
            candidates |= self._deletes.get(key, set())
        candidates = {c for c in candidates if abs(len(c) - len(word)) <= 1 and c[0] == word[0]}
        if not candidates:
            return word
        return max(candidates, key=lambda w: (self.words[w], w))

    def correct(self, normalised: str) -> str:
        return " ".join(self.correct_word(w) for w in normalised.split())


class OverlapIndex:
    """IDF-weighted term overlap between a message and a fixed set of texts."""

    def __init__(self, documents: list[list[str]]) -> None:
        self.documents = [frozenset(d) for d in documents]
        df: dict[str, int] = {}
        for doc in self.documents:
            for term in doc:
                df[term] = df.get(term, 0) + 1
        n = len(self.documents) or 1
        self.unknown_idf = math.log(n + 1)
        self.idf = {t: math.log((n + 1) / (1 + c)) for t, c in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, doc in enumerate(self.documents):
            for term in doc:
                self.postings.setdefault(term, []).append(i)

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unknown_idf)

    def scores(self, query_terms: Iterable[str]) -> dict[int, float]:
        """Document index → share of the message's weight it covers, with a small penalty for
        the document's own words the message lacks (a long text matches everything a little)."""
        query = frozenset(query_terms)
        if not query:
            return {}
        total = sum(self.weight(t) for t in query)
        shared: dict[int, float] = {}
        for term in query:
            for i in self.postings.get(term, ()):
                shared[i] = shared.get(i, 0.0) + self.weight(term)
        out = {}
        for i, weight in shared.items():
            extra = sum(self.weight(t) for t in self.documents[i] - query)
            out[i] = weight / (total + 0.5 * extra)
        return out


def overlap(query_terms: Iterable[str], text_terms: Iterable[str], idf: OverlapIndex) -> float:
    """The same score as OverlapIndex.scores for one text outside the index (a unit's entry),
    with the index's word weights."""
    query, text = frozenset(query_terms), frozenset(text_terms)
    if not query or not text:
        return 0.0
    total = sum(idf.weight(t) for t in query)
    shared = sum(idf.weight(t) for t in query & text)
    extra = sum(idf.weight(t) for t in text - query)
    return shared / (total + 0.5 * extra)


class Query:
    """A message's terms and weight, computed once and scored against many texts: the same score
    as `overlap`, with each text's terms and total weight cached by the caller (`weighed`)."""

    def __init__(self, query_terms: Iterable[str], idf: OverlapIndex) -> None:
        self.terms = frozenset(query_terms)
        self.idf = idf
        self.total = sum(idf.weight(t) for t in self.terms)

    def overlap(self, text: tuple[frozenset[str], float]) -> float:
        terms, text_total = text
        if not self.terms or not terms:
            return 0.0
        shared = sum(self.idf.weight(t) for t in self.terms & terms)
        return shared / (self.total + 0.5 * (text_total - shared))


def weighed(terms: Iterable[str], idf: OverlapIndex) -> tuple[frozenset[str], float]:
    """A text's distinct terms and their total weight (what Query.overlap reads)."""
    distinct = frozenset(terms)
    return distinct, sum(idf.weight(t) for t in distinct)
