"""Do a service's age fields and its "who it's for" text agree?

An editor may change the ages and forget the words, or the other way round: ages 0 to 5
with "young people aged 16 to 25", "children under 5" with a maximum age of 18, "Year 7"
on a service for 0 to 5. The text's age statements are read with the project's age parser
(knowledge.ages: number words, months, school years, "nearly 5"); a statement disagrees when
it goes more than a year beyond the age fields, or when every statement in the text stops
well below the maximum age. Wording the parser can't read says nothing, so there are no
alarms on "children and young people with additional needs" or "from birth" on a 0 to 25 service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.ages import NUMBER, parse_age
from knowledge.vocabulary import LOCAL_OFFER_MAX_AGE

TOLERANCE = 1.0
"""Years of slack: "up to 18" on a service whose maximum age is 17 (or 19) is the same intent."""

_Q = rf"(?:{NUMBER})(?:\s*(?:and a half|1/2))?"
_UNIT = r"(?:\s*-?\s*(?:years?|yrs?|months?|mths?)(?:\s*-?\s*olds?)?|\s*-?\s*year\s*-?\s*olds?|'?s\b)?"
_AGE = rf"(?:{_Q}{_UNIT})"
_GROUP = r"(?:children|child|young people|people|adults|teenagers|teens|babies|kids|pupils|students|learners|those|anyone)"
_NOT_AN_AGE_AFTER = re.compile(
    r"^\s*(?:sessions?|hours?|hrs?|minutes?|mins?|days?|weeks?|times?|people|children|families|places|miles?|%|per|a |an |"
    r"years?(?:'|\u2019)|years? of|years? experience|'\s|of\b|experience|am\b|pm\b|:\d|o'clock)"
)
_DURATION_BEFORE = re.compile(r"(?:\bfor|\blast|\blasts|\bwith|\bof|\bin|\bwithin|\btakes?|\bwait|\bhave|\bhas|\bhad)\s+$")

_AGE_OF = r"(?:the\s+)?(?:age\s+(?:of\s+)?)?"
_SCHOOL_YEARS = re.compile(rf"\b(?:school\s+)?years?\s+({NUMBER})(?:\s*(?:-|to|and)\s*(?:years?\s+)?({NUMBER}))?\b")
_SCHOOL_WORDS = {"reception": (4.0, 5.0), "sixth form": (16.0, 18.0), "6th form": (16.0, 18.0)}
_BIRTH_RANGE = re.compile(rf"\b(?:from\s+)?birth\s*(?:-|to|until|till|up to)\s*{_AGE_OF}({_AGE})")
_FROM_BIRTH = re.compile(r"\bfrom\s+birth\b|\bnew\s*borns?\b|\bnew babies\b")
_RANGE = re.compile(rf"(?:\b(aged?|ages|age range|between|from)\s+)?({_AGE})\s*(?:-|to|and|until|till)\s*{_AGE_OF}({_AGE})")
_UPPER_BEFORE = re.compile(
    rf"\b(?:aged\s+)?(?:under|below|younger than|up\s*to|until|till)\s+{_AGE_OF}({_AGE})(?:\s*th birthday)?"
)
_UPPER_AFTER = re.compile(rf"\b({_AGE})\s+(?:and|or)\s+(?:under|younger|below)\b")
_LOWER_BEFORE = re.compile(rf"\b(?:aged\s+)?(?:over|older than|from\s+(?:the\s+)?age(?:\s+of)?)\s+({_AGE})")
_LOWER_AFTER = re.compile(rf"\b({_AGE})\s*(?:\+|(?:and|or)\s+(?:over|older|above|upwards)\b|plus\b|upwards\b)")
_SINGLE = re.compile(rf"\baged?\s+({_AGE})|\b({_Q})\s*-?\s*years?\s*-?\s*olds?\b")


@dataclass(frozen=True)
class AgeStatement:
    """An age (range) the text states: `low`/`high` in years, None where it gives no bound."""

    phrase: str
    low: float | None
    high: float | None
    bounds_range: bool = True
    """False for a single age or school year ("aged 7", "Year 7"): it must fit the range, not set its ends."""


def _normal(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-").replace("½", " 1/2")
    return re.sub(r"\s+", " ", text).strip()


def _years(quantity: str) -> float | None:
    """A quantity as years, by the age parser: "5" 5, "five" 5, "18 months" 1.5, "5s" 5, "16-year-olds" 16."""
    text = re.sub(r"'?s\b", "", quantity.strip()) if re.fullmatch(rf"{_Q}'?s", quantity.strip()) else quantity
    text = re.sub(r"\s*-?\s*(?:year\s*-?\s*)?olds?$", "", text.strip())
    age = parse_age(text, expecting=True)
    if age is None and re.search(r"\byears?$", text):
        age = parse_age(text + " old", expecting=True)
    return age


def _plausible(t: str, start: int, end: int) -> bool:
    """Not a duration or a count: "for up to 6 weeks", "over 20 years' experience", "up to 8 children"."""
    return not _DURATION_BEFORE.search(t[:start]) and not _NOT_AN_AGE_AFTER.match(t[end:])


def _school_year(t: str, match: re.Match) -> AgeStatement | None:
    if re.search(rf"(?:{NUMBER})\s*(?:-|to|and)?\s*$", t[: match.start()]):  # "2 years 6 months", "16 to 25 years 7"
        return None
    first = parse_age(f"year {match.group(1)}")
    last = parse_age(f"year {match.group(2)}") if match.group(2) else first
    if first is None or last is None or last < first:
        return None
    return AgeStatement(match.group(0), first, last + 1, bounds_range=False)


def age_statements(text: str | None) -> list[AgeStatement]:
    """Every age statement in `text` the rule understands, in the order tried (each stretch of text read once)."""
    if not text:
        return []
    t = _normal(text)
    found: list[AgeStatement] = []

    def take(match: re.Match, statement: AgeStatement | None) -> None:
        nonlocal t
        if statement is not None:
            found.append(statement)
        t = t[: match.start()] + " " * (match.end() - match.start()) + t[match.end() :]

    for match in list(_SCHOOL_YEARS.finditer(t)):
        take(match, _school_year(t, match))
    for phrase, (low, high) in _SCHOOL_WORDS.items():
        for match in list(re.finditer(rf"\b{phrase}\b", t)):
            take(match, AgeStatement(phrase, low, high, bounds_range=False))
    for match in list(_BIRTH_RANGE.finditer(t)):
        high = _years(match.group(1))
        take(match, AgeStatement(match.group(0), 0.0, high) if high is not None else None)
    for match in list(_RANGE.finditer(t)):
        low, high = _years(match.group(2)), _years(match.group(3))
        context = match.group(1) or re.search(r"\d\s*-\s*\d", match.group(0)) and re.search(rf"{_GROUP}\s+$", t[: match.start()])
        has_unit = re.search(r"(?:years?|yrs?|months?|olds?|'?s)\s*$", match.group(0))
        if low is None or high is None or low > high or not (context or has_unit):
            continue
        if _plausible(t, match.start(), match.end()):
            take(match, AgeStatement(match.group(0), low, high))
    for pattern, upper in ((_UPPER_BEFORE, True), (_UPPER_AFTER, True), (_LOWER_BEFORE, False), (_LOWER_AFTER, False)):
        for match in list(pattern.finditer(t)):
            age = _years(match.group(1))
            if age is None or not _plausible(t, match.start(), match.end() if upper else match.end(1)):
                continue
            take(match, AgeStatement(match.group(0), None, age) if upper else AgeStatement(match.group(0), age, None))
    for match in list(_FROM_BIRTH.finditer(t)):
        take(match, AgeStatement(match.group(0), 0.0, None))
    for match in list(_SINGLE.finditer(t)):
        age = _years(match.group(1) or match.group(2))
        if age is not None and _plausible(t, match.start(), match.end()):
            take(match, AgeStatement(match.group(0), age, age, bounds_range=False))
    return found


def _years_text(value: float) -> str:
    if value < 2 and value != int(value):
        return f"{round(value * 12):g} months"
    return f"{value:g}"


def _range_text(low: float, high: float) -> str:
    return f"{_years_text(low)} to {_years_text(high)}"


def disagreements(minimum_age: float | None, maximum_age: float | None, who_for: str | None) -> list[str]:
    """Plain warnings where the age fields and the "who it's for" text disagree (none if either is blank)."""
    if minimum_age is None and maximum_age is None:
        return []
    statements = age_statements(who_for)
    if not statements:
        return []
    low = float(minimum_age) if minimum_age is not None else 0.0
    high = float(maximum_age) if maximum_age is not None else float(LOCAL_OFFER_MAX_AGE)
    ages = _range_text(low, high)
    warnings = []
    for s in statements:
        says = f"\u201cWho it\u2019s for\u201d says \u201c{s.phrase.strip()}\u201d"
        if s.low is not None and s.low > high + TOLERANCE:
            warnings.append(f"{says}, but the ages are {ages}")
        elif s.high is not None and s.high < low - TOLERANCE:
            warnings.append(f"{says}, but the ages are {ages}")
        elif s.high is not None and s.high > high + TOLERANCE:
            warnings.append(f"{says}, but the maximum age is {_years_text(high)}")
        elif s.low is not None and s.low < low - TOLERANCE:
            warnings.append(f"{says}, but the minimum age is {_years_text(low)}")
    uppers = [s.high for s in statements if s.bounds_range]
    if not warnings and uppers and all(u is not None for u in uppers) and high > max(uppers) + TOLERANCE:
        phrases = "\u201d, \u201c".join(s.phrase.strip() for s in statements if s.bounds_range)
        warnings.append(f"\u201cWho it\u2019s for\u201d says \u201c{phrases}\u201d, but the maximum age is {_years_text(high)}")
    return warnings
