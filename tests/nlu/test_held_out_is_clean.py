"""The held-out NLU set shares nothing with the training data, so the scores it gives are honest.

Fast (no model): every held-out example is compared with every intent example under data/ (hand-written and
generated), after lower-casing and removing punctuation and entity markup.
"""

from __future__ import annotations

from collections import Counter

import yaml

from tests.nlu.overlap import HELD_OUT, NEAR_COPY, ROOT, Violation, examples_in, normalise, training_examples, violations

MIN_PER_INTENT = 15


def held_out() -> list[tuple[str, str]]:
    return examples_in(HELD_OUT)


def describe(found: list[Violation]) -> str:
    return "\n".join(f"{v.ratio:.2f} [{v.intent}] {v.held_out!r} ~ training {v.training!r}" for v in found[:40])


def test_no_held_out_example_equals_or_nearly_copies_a_training_example():
    training = training_examples()
    assert len(training) > 500, "the training examples were not found under data/"
    found = violations(held_out(), training)
    assert not found, f"{len(found)} held-out examples overlap the training data:\n{describe(found)}"


def test_the_check_catches_copies_near_copies_and_markup_only_differences():
    training = ["my son is [7](age) and [autistic](need)", "What's an EHCP?"]
    held = [
        ("inform", "My son is 7, and autistic!"),  # equal once normalised
        ("inform", "my son is [8](age) and [autistic](need)"),  # one character changed: a near copy
        ("ask_ehcp", "whats an ehcp"),
        ("ask_ehcp", "could you explain education health and care plans to me"),
    ]
    found = {v.held_out: v.ratio for v in violations(held, training)}
    assert found.keys() == {held[0][1], held[1][1], held[2][1]}
    assert found[held[0][1]] == 1.0 and NEAR_COPY <= found[held[1][1]] < 1.0


def test_generated_examples_and_story_text_count_as_training_data(tmp_path):
    generated = tmp_path / "data" / "nlu" / "generated"
    generated.mkdir(parents=True)
    (generated / "examples.yml").write_text(
        yaml.safe_dump(
            {"nlu": [{"intent": "inform", "examples": "- he is [9](age)\n"}, {"lookup": "place", "examples": "- Alton\n"}]}
        )
    )
    (tmp_path / "data" / "stories.yml").write_text(
        yaml.safe_dump({"stories": [{"story": "s", "steps": [{"user": "hello there"}]}]})
    )
    assert sorted(training_examples(tmp_path)) == ["he is [9](age)", "hello there"]


def test_the_set_keeps_its_size_and_covers_every_intent_in_the_domain():
    held = held_out()
    assert 550 <= len(held) <= 700
    counts = Counter(intent for intent, _ in held)
    domain_intents = set(yaml.safe_load((ROOT / "domain.yml").read_text())["intents"])
    assert set(counts) <= domain_intents, set(counts) - domain_intents
    assert min(counts.values()) >= MIN_PER_INTENT, counts.most_common()[-5:]
    normalised = Counter(normalise(text) for _, text in held)
    assert not [t for t, n in normalised.items() if n > 1], "examples repeated within the held-out set"
