"""knowledge.safety: three kinds of worry (danger, safeguarding, distress) from the patterns in the seed file."""

from __future__ import annotations

import pytest

from knowledge.safety import DANGER, DISTRESS, SAFEGUARDING, suggests_risk, worry_kind


@pytest.mark.parametrize(
    "text",
    ["she says she wants to kill herself", "he's been self-harming again", "my son is in danger", "he's taken an overdose"],
)
def test_danger(text):
    assert worry_kind(text) == DANGER and suggests_risk(text)


@pytest.mark.parametrize(
    "text",
    [
        "I think her stepdad hits her",
        "my daughter said her uncle touched her",
        "I'm worried my son is being abused at his dad's",
        "she has bruises all over her and won't say how",
        "I think he's being groomed online",
    ],
)
def test_safeguarding(text):
    assert worry_kind(text) == SAFEGUARDING and not suggests_risk(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm at the end of my tether, school keep sending him home",
        "honestly I can't cope any more",
        "we're at breaking point",
        "I'm exhausted and nobody is listening",
        "I don't know where to turn",
    ],
)
def test_parent_distress_is_not_danger(text):
    assert worry_kind(text) == DISTRESS and not suggests_risk(text)


def test_danger_wins_over_distress():
    assert worry_kind("I can't cope, she's talking about suicide") == DANGER


@pytest.mark.parametrize(
    "text",
    ["he's crying all the time", "my son is 7 and autistic", "she hits her head when frustrated", "school is killing me lol"],
)
def test_everyday_words_are_no_worry(text):
    assert worry_kind(text) is None
