"""Text normalisation shared by place and need matching."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_NON_WORD = re.compile(r"[^a-z0-9' ]+")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case, strip accents, turn punctuation (but apostrophes) into spaces, fold spaces.

    "St. Mary's,  Southampton" -> "st mary's southampton"; "Hamble-le-Rice" -> "hamble le rice".
    """
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = text.translate(_APOSTROPHES).casefold().replace("&", " and ")
    text = _NON_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def loose(text: str) -> str:
    """A looser key: also drops apostrophes ("bishop's waltham" == "bishops waltham")."""
    return normalise(text).replace("'", "")


def ngrams(words: list[str], max_len: int) -> list[tuple[int, int, str]]:
    """Every run of 1..max_len words as (start, end, phrase), longest runs first."""
    runs = []
    for size in range(min(max_len, len(words)), 0, -1):
        for start in range(0, len(words) - size + 1):
            runs.append((start, start + size, " ".join(words[start : start + size])))
    return runs


_CLAUSE_BREAK = re.compile(
    r"[,;:!?()\n]+|\.(?=\s|$)|\s[-\u2013\u2014]\s|\b(?:but|though|although|however|just|it'?s|its|it is)\b", re.I
)


def clauses(text: str) -> list[str]:
    """A message cut at punctuation and before words that start a new thought ("but", "it's").

    "she doesn't have ADHD, it's anxiety" -> ["she doesn't have ADHD", " it's anxiety"].
    """
    text = text.translate(_APOSTROPHES)
    parts, start = [], 0
    for match in _CLAUSE_BREAK.finditer(text):
        parts.append(text[start : match.start()])
        start = match.start() if match.group(0)[:1].isalpha() else match.end()  # a word starts the next clause
    parts.append(text[start:])
    return [part for part in parts if part.strip()]


_MARKUP = re.compile(
    r"<[^<>]{0,200}>[^<>]{0,200}</[^<>]{1,40}>"  # <b>1</b>: an element and its content
    r"|<[^<>]{1,200}>"  # a lone tag
    r"|`[^`]{0,400}`"  # `code`
    r"|\b[A-Za-z_][\w.]*\([^()]{0,200}\)"  # f(2), print(x)
    r"|[\[{][^\[\]{}]{0,200}[\]}]"  # [1], {"a": 2}
    r"|&#?\w{1,10};"  # &nbsp; &#49;
    r"|(\*\*|__)[^*_\n]{1,100}\1"  # **2**, __3__ (Markdown bold)
)


def without_markup(text: str) -> str:
    """The message with pasted markup and code blanked out (same length, so positions still line up).

    Numbers inside them ("f(2)", "<b>1</b>") are not the parent talking about an age.
    """
    return _MARKUP.sub(lambda m: " " * len(m.group(0)), text or "")
