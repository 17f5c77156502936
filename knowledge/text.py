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
