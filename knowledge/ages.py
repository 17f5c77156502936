"""How old is the child? Everyday age expressions to years (a float: 1.5 is 18 months).

Understands digits and words ("7", "seven", "twenty-one"), halves ("three and a half",
"4 1/2", "7.5"), months and weeks ("18 months", "6 weeks old"), UK school years
(Nursery 3, Reception 4, Year 1 5 ... Year 13 17: the age at the start of that school
year), "sixth form" (16), "just turned 16" (16), "nearly 5" (4.75), "newborn" (0).

In free text an age must carry context ("7 years old", "aged 7", "she's 7", "18
months"); a bare number counts only when an age is what was asked for (`expecting`),
so "mum of 3" or a postcode's digits are not taken for ages.
"""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
}  # fmt: skip
_NUMBER_WORD = r"(?:twenty|thirty|forty|fifty|sixty)(?:[\s-]+(?:one|two|three|four|five|six|seven|eight|nine))?|" + "|".join(
    sorted((w for w in _UNITS if w not in {"a", "an"}), key=len, reverse=True)
)
NUMBER = rf"(?:\d+(?:\.\d+)?|{_NUMBER_WORD})"
_HALF = r"(?:\s*(?:and\s+a\s+half|&\s*a\s+half|and\s+half|\.5|½|1/2|\s1/2))"
_SCHOOL_YEAR = re.compile(r"\b(?:year|yr|y)\s*(\d{1,2}|" + _NUMBER_WORD + r")\b")
_SCHOOL_WORDS = {
    "reception": 4.0,
    "nursery": 3.0,
    "pre school": 3.0,
    "preschool": 3.0,
    "pre-school": 3.0,
    "sixth form": 16.0,
    "6th form": 16.0,
    "newborn": 0.0,
    "new born": 0.0,
    "new baby": 0.0,
}
_MONTHS = re.compile(rf"\b({NUMBER}){_HALF}?\s*-?\s*(?:months?|mths?|mnths?|mos?|m/o|mo\b)")
_WEEKS = re.compile(rf"\b({NUMBER})\s*-?\s*(?:weeks?|wks?)\b")
_YEARS_UNIT = r"(?:years?|yrs?|yo|y/o|yr\s*old)"
_AGE_CONTEXT = (
    r"aged?|age|turned|turning|is|he'?s|she'?s|hes|shes|they'?re|i'?m|im|i am|he is|she is|they are|now|only|just"
    r"|[a-z]+'s"  # "my lad's 12", "our eldest's 15"
)
_WITH_CONTEXT = [
    re.compile(rf"\b({NUMBER})({_HALF})?\s*(?:-\s*)?{_YEARS_UNIT}"),
    re.compile(
        rf"\b(?:{_AGE_CONTEXT})\s+({NUMBER})({_HALF})?\b(?!\s*-?\s*(?:kids|children|boys|girls|of|%|weeks?|wks?|months?|mths?|mnths?|mos?\b|m/o))"
    ),
]
_YEARS_AND_MONTHS = re.compile(rf"\b({NUMBER})\s*{_YEARS_UNIT}\s*(?:and\s+|,\s*)?({NUMBER})\s*(?:months?|mths?|mnths?)\b")
_NEARLY = re.compile(rf"\b(?:nearly|almost|nearing|coming up to|not quite)\s+({NUMBER})\b")
_BARE = re.compile(rf"(?<![A-Za-z0-9])({NUMBER})({_HALF})?(?![A-Za-z0-9])")
MAX_AGE = 120


def number_value(token: str) -> float | None:
    """ "7" -> 7, "seven" -> 7, "twenty-one" -> 21, "7.5" -> 7.5."""
    token = token.strip().lower()
    try:
        return float(token)
    except ValueError:
        pass
    parts = re.split(r"[\s-]+", token)
    if not parts or any(p not in _UNITS for p in parts):
        return None
    return float(sum(_UNITS[p] for p in parts))


def _normal(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("½", " 1/2")
    return re.sub(r"\s+", " ", text).strip()


def _with_half(number: str, half: str | None) -> float | None:
    value = number_value(number)
    if value is None:
        return None
    return value + 0.5 if half else value


def _plausible(value: float | None) -> float | None:
    return value if value is not None and 0 <= value <= MAX_AGE else None


def parse_age(text: str, expecting: bool = False) -> float | None:
    """The age in years that `text` states, or None. See the module docstring."""
    if not text:
        return None
    t = _normal(text)
    # What the parent says the age is wins over school words and other numbers in the message
    # ("she's 7, her old nursery noticed", "he's 9 and we've waited 2 years").
    match = _YEARS_AND_MONTHS.search(t)
    if match:
        years, months = number_value(match.group(1)), number_value(match.group(2))
        if years is not None and months is not None and months < 12:
            return _plausible(round(years + months / 12, 2))
    for pattern in (_WITH_CONTEXT[1], _WITH_CONTEXT[0]):
        match = pattern.search(t)
        if match:
            value = _plausible(_with_half(match.group(1), match.group(2)))
            if value is not None:
                return value
    year = _SCHOOL_YEAR.search(t)
    if year:
        n = number_value(year.group(1))
        if n is not None and 1 <= n <= 13:
            return n + 4.0
    for phrase, age in _SCHOOL_WORDS.items():
        if re.search(rf"\b{re.escape(phrase)}\b", t):
            return age
    match = _MONTHS.search(t)
    if match:
        months = number_value(match.group(1))
        if months is not None:
            if re.search(r"(and\s+a\s+half|1/2|\.5)\s*-?\s*months?", match.group(0)):
                months += 0.5
            return _plausible(round(months / 12, 2))
    match = _WEEKS.search(t)
    if match:
        weeks = number_value(match.group(1))
        if weeks is not None:
            return _plausible(round(weeks / 52, 2))
    match = _NEARLY.search(t)
    if match:
        value = number_value(match.group(1))
        if value is not None:
            return _plausible(max(0.0, value - 0.25))
    if expecting:
        for match in _BARE.finditer(t):
            # Skip the digits of a postcode (e.g. "PO9 1AB": the 1 is followed by letters).
            value = _plausible(_with_half(match.group(1), match.group(2)))
            if value is not None:
                return value
    return None
