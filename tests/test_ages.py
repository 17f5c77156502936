"""knowledge.ages.parse_age: everyday ways of giving a child's age, to years."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.ages import MAX_AGE, parse_age

WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three twenty-four twenty-five"
).split()
"""Number words for 0 to 25, by position."""


def fixed(**kwargs):
    """Hypothesis settings for a repeatable suite: the same examples every run, no example database."""
    return settings(derandomize=True, database=None, **kwargs)


PHRASINGS_WITH_CONTEXT = (
    "she's {n}",
    "he's {n}",
    "he is {n}",
    "they're {n}",
    "{n} years old",
    "{n} year old",
    "{n} yr old",
    "{n} yrs",
    "{n}yo",
    "aged {n}",
    "age {n}",
    "my son is {n}",
    "my daughter is {n} years old",
    "my lad's {n}",
    "I'm {n}",
)


# --- numbers as digits and words ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("7", 7),
        ("seven", 7),
        ("twenty-one", 21),
        ("twenty one", 21),
        ("Twenty One", 21),
        ("0", 0),
        ("25", 25),
    ],
)
def test_bare_numbers_and_number_words_when_an_age_was_asked_for(text, expected):
    assert parse_age(text, expecting=True) == expected


@pytest.mark.parametrize("text", ["7", "seven", "twenty-one", "2.5", "4 1/2", "three and a half"])
def test_bare_numbers_need_the_question_to_count(text):
    assert parse_age(text) is None
    assert parse_age(text, expecting=True) is not None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("three and a half", 3.5),
        ("4 1/2", 4.5),
        ("4½", 4.5),
        ("2.5", 2.5),
        ("3 & a half", 3.5),
        ("fifteen and a half", 15.5),
    ],
)
def test_halves(text, expected):
    assert parse_age(text, expecting=True) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("she's 3 and a half", 3.5),
        ("he's 4 1/2", 4.5),
        ("9 1/2 years old", 9.5),
        ("three and a half years old", 3.5),
        ("she's 3.5", 3.5),
    ],
)
def test_halves_in_a_sentence(text, expected):
    assert parse_age(text) == expected


# --- months, weeks, babies ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("18 months", 1.5),
        ("18 months old", 1.5),
        ("he is 18 months", 1.5),
        ("12 months", 1.0),
        ("9 months old", 0.75),
        ("three months", 0.25),
        ("3 mths", 0.25),
        ("twenty-one months", 1.75),
        ("4 and a half months", round(4.5 / 12, 2)),
    ],
)
def test_months(text, expected):
    assert parse_age(text) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize("text, weeks", [("6 weeks", 6), ("6 weeks old", 6), ("13 weeks old", 13), ("52 weeks", 52)])
def test_weeks(text, weeks):
    assert parse_age(text) == pytest.approx(weeks / 52, abs=0.005)


@pytest.mark.parametrize("text", ["newborn", "a new born", "we have a new baby with Down syndrome"])
def test_newborn_is_zero(text):
    assert parse_age(text) == 0


# --- UK school years ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Reception", 4),
        ("she's in reception class", 4),
        ("Year 1", 5),
        ("year 6", 10),
        ("Year 11", 15),
        ("year 13", 17),
        ("yr 9", 13),
        ("yr11", 15),
        ("Y3", 7),
        ("y 11", 15),
        ("year eleven", 15),
        ("nursery", 3),
        ("pre-school", 3),
        ("preschool", 3),
        ("sixth form", 16),
        ("6th form", 16),
    ],
)
def test_school_years(text, expected):
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["year 0", "year 14", "year 2019"])
def test_years_outside_1_to_13_are_not_school_years(text):
    assert parse_age(text) is None


# --- turned, nearly -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("just turned 16", 16),
        ("turned 16", 16),
        ("nearly 5", 4.75),
        ("she is nearly 5", 4.75),
        ("almost 2", 1.75),
        ("not quite 3", 2.75),
        ("coming up to 4", 3.75),
        ("nearly 18 months", 1.5),
    ],
)
def test_turned_and_nearly(text, expected):
    assert parse_age(text) == expected


def test_nearly_is_a_little_less_than_the_number():
    for n in range(1, 26):
        value = parse_age(f"nearly {n}")
        assert n - 1 < value < n


# --- context rules: numbers that are not ages -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "mum of 3",
        "dad of 2 boys",
        "I have 3 kids",
        "we live at 24 Acacia Avenue",
        "PO9 1AB",
        "SO16",
        "we're in SO16 2AB",
        "autism and ADHD",
        "",
    ],
)
def test_numbers_without_age_context_are_not_ages(text):
    assert parse_age(text) is None


@pytest.mark.parametrize("text", ["PO9 1AB", "SO16", "in SO16", "GU51 3XY", "RG1"])
def test_postcode_digits_are_never_an_age_even_when_one_was_asked_for(text):
    assert parse_age(text, expecting=True) is None


@pytest.mark.parametrize("text, expected", [("she's 7, PO9 1AB", 7), ("PO9 1AB, she's 7", 7), ("we're in SO16 and he is 12", 12)])
def test_age_next_to_a_postcode(text, expected):
    assert parse_age(text) == expected
    assert parse_age(text, expecting=True) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sorry, she's 8", 8),
        ("Sorry she is 8", 8),
        ("she is 8 not 7", 8),
        ("my lad's 12, autistic, won't go to school, we're in Havant", 12),
        ("he's 7 and has 2 sisters", 7),
    ],
)
def test_age_in_a_longer_message(text, expected):
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["aged 121", "121 years old", "he's 500"])
def test_implausible_ages_are_rejected(text):
    assert parse_age(text) is None
    assert parse_age(text, expecting=True) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("he's 4 and failed his newborn hearing screening", 4),  # "newborn" -> 0
        ("my son is 12 and we have a new baby", 12),  # "new baby" -> 0
        ("she is 7, her old nursery first noticed", 7),  # "nursery" -> 3
        ("2 years 6 months", 2.5),  # "6 months" -> 0.5
        ("she's 9 and we've waited 2 years for an assessment", 9),  # "2 years" -> 2
    ],
)
def test_the_stated_age_wins_over_other_numbers(text, expected):
    assert parse_age(text) == expected


def test_hyphenated_months():
    assert parse_age("18-month-old", expecting=True) == pytest.approx(1.5)


# --- properties -----------------------------------------------------------------------


@fixed()
@given(n=st.integers(0, 25), phrasing=st.sampled_from(PHRASINGS_WITH_CONTEXT))
def test_any_age_with_context_is_read(n, phrasing):
    assert parse_age(phrasing.format(n=n)) == n


@fixed()
@given(n=st.integers(0, 25))
def test_any_bare_number_is_read_when_expected(n):
    assert parse_age(str(n), expecting=True) == n
    assert parse_age(str(n)) is None


@fixed()
@given(n=st.integers(0, 25), phrasing=st.sampled_from(("{n}", "she's {n}", "{n} years old", "aged {n}")))
def test_any_number_word_is_read(n, phrasing):
    assert parse_age(phrasing.format(n=WORDS[n]), expecting=True) == n


@fixed()
@given(n=st.integers(0, 24), phrasing=st.sampled_from(("{n} and a half", "{n} 1/2", "{n}.5", "{n}½", "she's {n} and a half")))
def test_any_half(n, phrasing):
    assert parse_age(phrasing.format(n=n), expecting=True) == n + 0.5


@fixed()
@given(
    m=st.integers(1, 47),
    phrasing=st.sampled_from(("{m} months", "{m} months old", "{m} month old", "he's {m} months", "aged {m} months", "{m} mths")),
)
def test_any_months(m, phrasing):
    assert parse_age(phrasing.format(m=m)) == pytest.approx(m / 12, abs=0.005)


@fixed()
@given(w=st.integers(1, 104), phrasing=st.sampled_from(("{w} weeks", "{w} weeks old", "{w} wks")))
def test_any_weeks(w, phrasing):
    assert parse_age(phrasing.format(w=w)) == pytest.approx(w / 52, abs=0.005)


@fixed()
@given(
    y=st.integers(1, 13),
    phrasing=st.sampled_from(("Year {y}", "year {y}", "yr {y}", "Y{y}", "yr{y}", "in year {y}", "she's in Year {y}")),
)
def test_any_school_year(y, phrasing):
    assert parse_age(phrasing.format(y=y)) == y + 4


@fixed()
@given(y=st.integers(1, 13))
def test_school_year_in_words(y):
    assert parse_age(f"year {WORDS[y]}") == y + 4


@fixed(max_examples=300)
@given(text=st.text(), expecting=st.booleans())
def test_never_raises_and_stays_plausible(text, expecting):
    value = parse_age(text, expecting=expecting)
    assert value is None or 0 <= value <= MAX_AGE


_PIECES = st.sampled_from(
    ["she", "is", "7", "years", "old", "months", "year", "y", "nearly", "and a half", "1/2", "twenty", "-", "one", ".5"]
    + ["weeks", "9" * 400, "0", "aged", "½", "PO9", "1AB", "reception", "of", "kids", "turned", "'s", "x"]
)


@fixed(max_examples=300)
@given(pieces=st.lists(_PIECES, max_size=8), sep=st.sampled_from([" ", ""]), expecting=st.booleans())
def test_never_raises_on_age_like_fragments(pieces, sep, expecting):
    value = parse_age(sep.join(pieces), expecting=expecting)
    assert value is None or 0 <= value <= MAX_AGE
