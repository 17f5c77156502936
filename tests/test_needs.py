"""Everyday words to need codes, from the seeded vocabulary."""

from __future__ import annotations

import pytest

from knowledge.vocabulary import NEED_CODES


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("he's autistic", ["autism"]),
        ("autism and ADHD", ["autism", "adhd"]),
        ("ASD", ["autism"]),
        ("she has dyslexia", ["specific_learning"]),
        ("dislexia", ["specific_learning"]),
        ("isn't talking yet", ["speech_language"]),
        ("can't sit still", ["adhd"]),
        ("won't go to school", ["semh"]),
        ("glue ear", ["hearing"]),
        ("epilepsy", ["medical"]),
        ("cerebral palsy and epilepsy", ["physical", "medical"]),
        ("not sure, no diagnosis", ["unsure"]),
        ("austistic", ["autism"]),
    ],
)
def test_codes_in_text(catalogue, text, codes):
    assert catalogue.vocabulary.codes_in_text(text) == codes


def test_every_need_code_has_a_vocabulary(catalogue):
    vocab = catalogue.vocabulary
    for code in NEED_CODES:
        phrases = [p for p, c in vocab.phrases.items() if c == code]
        assert len(phrases) >= 8, code
        assert vocab.resolve(code) == code


def test_negated_need_is_not_taken(catalogue):
    assert "autism" not in catalogue.vocabulary.codes_in_text("he's not autistic, it's ADHD")
    assert catalogue.vocabulary.codes_in_text("he's not autistic, it's ADHD") == ["adhd"]


def test_unknown_words_are_not_needs(catalogue):
    assert catalogue.vocabulary.resolve("purple elephant") is None
    assert catalogue.vocabulary.codes_in_text("we live in Havant and she is 7") == []
