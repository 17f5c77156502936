"""What does the family say their child needs? Everyday words to need codes.

The vocabulary (names, synonyms, abbreviations, misspellings, everyday
descriptions) is data in the knowledge base, so an administrator's new synonym
is understood without retraining.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from knowledge.text import loose, ngrams

FUZZY_CUTOFF = 0.86
MIN_FUZZY_LENGTH = 5
_NEGATIONS = {"not", "no", "isnt", "isn't", "without"}


@dataclass(frozen=True)
class NeedTerm:
    code: str
    name: str
    plain_name: str | None = None
    broad_area: str | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        return self.plain_name or self.name


@dataclass
class NeedVocabulary:
    terms: dict[str, NeedTerm]
    phrases: dict[str, str] = field(default_factory=dict)  # loose phrase -> code

    def __post_init__(self) -> None:
        for term in self.terms.values():
            for phrase in (term.code.replace("_", " "), term.name, term.plain_name or ""):
                self.phrases.setdefault(loose(phrase), term.code)
        self.phrases.pop("", None)
        self._keys = sorted(self.phrases)
        self._single_words = [k for k in self._keys if " " not in k and len(k) >= MIN_FUZZY_LENGTH]
        self._max_words = max((len(k.split()) for k in self._keys), default=1)

    @classmethod
    def build(cls, terms: list[NeedTerm], synonyms: list[tuple[str, str]]) -> NeedVocabulary:
        """From terms and (phrase, code) pairs."""
        phrases = {}
        for phrase, code in synonyms:
            key = loose(phrase)
            if key:
                phrases[key] = code
        return cls({t.code: t for t in terms}, phrases)

    def is_code(self, code: str) -> bool:
        return code in self.terms

    def label(self, code: str) -> str:
        term = self.terms.get(code)
        return term.label if term else code

    def resolve(self, text: str) -> str | None:
        """One phrase ("autistic", "ADHD", "dislexia") to its code, tolerating typos; None if unknown."""
        key = loose(text or "")
        if not key:
            return None
        if key in self.terms:
            return key
        if key in self.phrases:
            return self.phrases[key]
        found = self.codes_in_text(text)
        if len(found) == 1:
            return found[0]
        close = difflib.get_close_matches(key, self._keys, n=1, cutoff=FUZZY_CUTOFF)
        return self.phrases[close[0]] if close else None

    def codes_in_text(self, text: str) -> list[str]:
        """Every need mentioned in free text, in order of first mention, longest phrases first.

        Exact phrases are matched first; then single words of five letters or more are
        matched to a known word within a small typo distance ("austistic", "dyslexsia").
        A phrase directly after "not" or "no" is ignored ("not autistic").
        """
        words = loose(text or "").split()
        taken = [False] * len(words)
        found: list[tuple[int, str]] = []
        for start, end, phrase in ngrams(words, self._max_words):
            if any(taken[start:end]) or phrase not in self.phrases:
                continue
            for i in range(start, end):
                taken[i] = True
            if start > 0 and words[start - 1] in _NEGATIONS:
                continue
            found.append((start, self.phrases[phrase]))
        for i, word in enumerate(words):
            if taken[i] or len(word) < MIN_FUZZY_LENGTH:
                continue
            close = difflib.get_close_matches(word, self._single_words, n=1, cutoff=FUZZY_CUTOFF)
            if close and not (i > 0 and words[i - 1] in _NEGATIONS):
                found.append((i, self.phrases[close[0]]))
        ordered: list[str] = []
        for _pos, code in sorted(found):
            if code not in ordered:
                ordered.append(code)
        return ordered
