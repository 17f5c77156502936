"""What does the family say their child needs? Everyday words to need codes.

The vocabulary (names, synonyms, abbreviations, misspellings, everyday
descriptions) is data in the knowledge base, so an administrator's new synonym
is understood without retraining.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from knowledge.text import clauses, loose, ngrams

FUZZY_CUTOFF = 0.86
MIN_FUZZY_LENGTH = 5
NEGATIONS = frozenset({"not", "no", "isnt", "without", "doesnt", "dont", "hasnt", "havent", "never", "arent", "wasnt", "nt"})
NEGATION_REACH = 5
"""A need phrase up to this many words after a negation, in the same clause, is negated ("doesn't have ADHD")."""
_NEGATION_STOPS = frozenset({"and", "or", "so", "because", "cos", "who", "which", "that", "has", "is", "also"})
"""Words that end a negation's reach: "doesn't sleep and has ADHD" names ADHD."""
CUE_KIND = "cue"
"""The kind of need word that is a cue (see NeedVocabulary.codes_from_cues), not a phrase for the need itself."""
DIFFICULTY_WORDS = frozenset(
    {"hard", "harder", "difficult", "difficulty", "difficulties", "struggle", "struggles", "struggling", "struggled",
     "cant", "cannot", "wont", "doesnt", "isnt", "hasnt", "not", "no", "only", "problem", "problems", "trouble",
     "issue", "issues", "keeps", "keep", "behind", "delayed", "poor", "never", "battle", "barely", "hardly", "unable",
     "finds"}
)  # fmt: skip
"""Words that show a clause is about a difficulty, so a cue word in it can point to a need."""


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


@dataclass(frozen=True)
class NeedMentions:
    """What a message says about needs: codes mentioned (in order) and codes negated ("not dyslexic")."""

    codes: tuple[str, ...] = ()
    negated: tuple[str, ...] = ()


def cue_key(word: str) -> str:
    """A rough stem, so a cue word matches its forms: "talking", "talks", "talked" -> "talk"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@dataclass
class NeedVocabulary:
    terms: dict[str, NeedTerm]
    phrases: dict[str, str] = field(default_factory=dict)  # loose phrase -> code
    cues: dict[str, str] = field(default_factory=dict)  # stemmed cue word -> code

    def __post_init__(self) -> None:
        for term in self.terms.values():
            for phrase in (term.code.replace("_", " "), term.name, term.plain_name or ""):
                self.phrases.setdefault(loose(phrase), term.code)
        self.phrases.pop("", None)
        self._keys = sorted(self.phrases)
        self._single_words = [k for k in self._keys if " " not in k and len(k) >= MIN_FUZZY_LENGTH]
        self._max_words = max((len(k.split()) for k in self._keys), default=1)

    @classmethod
    def build(cls, terms: list[NeedTerm], synonyms: list[tuple[str, str]], cues: list[tuple[str, str]] = ()) -> NeedVocabulary:
        """From terms, (phrase, code) pairs and (cue word, code) pairs."""
        phrases = {}
        for phrase, code in synonyms:
            key = loose(phrase)
            if key:
                phrases[key] = code
        cue_map = {cue_key(loose(word)): code for word, code in cues if loose(word)}
        return cls({t.code: t for t in terms}, phrases, cue_map)

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
        """Every need mentioned (and not negated) in free text, in order of first mention."""
        return list(self.mentions(text).codes)

    def mentions(self, text: str) -> NeedMentions:
        """The needs a message names, and the ones it negates, clause by clause.

        Exact phrases are matched first, longest first; then single words of five letters or
        more are matched to a known word within a small typo distance ("austistic", "dyslexsia").
        A phrase up to three words after a negation in the same clause is negated ("not
        autistic", "she doesn't have ADHD, it's anxiety", "no diagnosis of ADHD").
        """
        words, clause_of = _words_by_clause(text or "")
        found: list[tuple[int, str]] = []
        negated: list[tuple[int, str]] = []
        for position, code in self._phrases_in(words):
            (negated if _negated(words, clause_of, position) else found).append((position, code))
        codes = _in_order(found)
        return NeedMentions(codes, tuple(c for c in _in_order(negated) if c not in codes))

    def _phrases_in(self, words: list[str]):
        taken = [False] * len(words)
        for start, end, phrase in ngrams(words, self._max_words):
            if any(taken[start:end]) or phrase not in self.phrases:
                continue
            for i in range(start, end):
                taken[i] = True
            yield start, self.phrases[phrase]
        for i, word in enumerate(words):
            if taken[i] or len(word) < MIN_FUZZY_LENGTH:
                continue
            close = difflib.get_close_matches(word, self._single_words, n=1, cutoff=FUZZY_CUTOFF)
            if close:
                yield i, self.phrases[close[0]]

    def codes_from_cues(self, text: str, need_context: bool = False) -> list[str]:
        """Needs suggested by everyday cue words ("only has a handful of words" -> speech and language).

        A cue counts in a clause that is about a difficulty ("finds reading hard", "keeps lashing
        out"), or in any clause when the parent is answering the question about needs
        (`need_context`). The codes with most cues come first.
        """
        hits: dict[str, list[int]] = {}
        position = 0
        for clause in clauses(text or ""):
            words = loose(clause).split()
            about_difficulty = need_context or any(w in DIFFICULTY_WORDS for w in words)
            for word in words:
                position += 1
                code = self.cues.get(cue_key(word))
                if code and about_difficulty:
                    hits.setdefault(code, []).append(position)
        return sorted(hits, key=lambda c: (-len(hits[c]), hits[c][0]))


def _words_by_clause(text: str) -> tuple[list[str], list[int]]:
    """The message's words (loose) and, for each, the number of the clause it is in."""
    words: list[str] = []
    clause_of: list[int] = []
    for number, clause in enumerate(clauses(text)):
        for word in loose(clause).split():
            words.append(word)
            clause_of.append(number)
    return words, clause_of


def _negated(words: list[str], clause_of: list[int], start: int) -> bool:
    for i in range(start - 1, max(-1, start - 1 - NEGATION_REACH), -1):
        if clause_of[i] != clause_of[start] or words[i] in _NEGATION_STOPS:
            return False
        if words[i] in NEGATIONS:
            return True
    return False


def _in_order(found: list[tuple[int, str]]) -> tuple[str, ...]:
    ordered: list[str] = []
    for *_position, code in sorted(found):
        if code not in ordered:
            ordered.append(code)
    return tuple(ordered)
