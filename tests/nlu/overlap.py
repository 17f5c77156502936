"""Overlap between the held-out NLU set and the training data.

Both sides are compared after `normalise` (lower-case, entity markup and punctuation removed). A held-out
example breaks the rules if it equals a training example, or is a near copy of one (difflib ratio of
`NEAR_COPY` or more). Training data is every intent example under data/ (data/nlu/ including what
`python -m knowledge generate-nlu` writes to data/nlu/generated/, and any user text in stories or rules);
lookup tables, regexes and synonyms are not examples.

    .venv/bin/python -m tests.nlu.overlap      # lists the offending held-out examples; exit 1 if any
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import yaml

NEAR_COPY = 0.85
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
HELD_OUT = HERE / "held_out.yml"
ENTITY_MARKUP = re.compile(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})")


def normalise(text: str) -> str:
    text = ENTITY_MARKUP.sub(r"\1", text).lower().replace("\u2019", "'").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text).split())


def _lines(examples) -> list[str]:
    if isinstance(examples, str):
        return [line.strip()[2:] for line in examples.splitlines() if line.strip().startswith("- ")]
    return [e["text"] if isinstance(e, dict) else str(e) for e in examples or []]


def _story_texts(steps) -> list[str]:
    texts = []
    for step in steps or []:
        if isinstance(step, dict):
            if isinstance(step.get("user"), str):
                texts.append(step["user"])
            for branch in step.get("or") or []:
                texts.extend(_story_texts([branch]))
    return texts


def examples_in(path: Path) -> list[tuple[str, str]]:
    """(intent, text) for every intent example in a Rasa YAML file (intent None for user text in stories)."""
    data = yaml.safe_load(path.read_text()) or {}
    found = []
    for item in data.get("nlu") or []:
        if isinstance(item, dict) and "intent" in item:
            found += [(item["intent"], text) for text in _lines(item.get("examples"))]
    for key in ("stories", "rules"):
        for story in data.get(key) or []:
            found += [(None, text) for text in _story_texts(story.get("steps"))]
    return found


def training_examples(root: Path = ROOT) -> list[str]:
    return [text for path in sorted((root / "data").rglob("*.yml")) for _, text in examples_in(path)]


@dataclass(frozen=True)
class Violation:
    intent: str
    held_out: str
    training: str
    ratio: float  # 1.0 for an exact copy after normalisation


def violations(held: list[tuple[str, str]], training: list[str], threshold: float = NEAR_COPY) -> list[Violation]:
    """Held-out examples equal to, or near copies of, a training example (the closest one for each)."""
    train = sorted({normalise(t): t for t in training}.items())
    exact = dict(train)
    found = []
    for intent, text in held:
        norm = normalise(text)
        if norm in exact:
            found.append(Violation(intent, text, exact[norm], 1.0))
            continue
        best = None
        matcher = SequenceMatcher(autojunk=False)
        matcher.set_seq2(norm)
        for other, original in train:
            if 2 * min(len(norm), len(other)) / ((len(norm) + len(other)) or 1) < threshold:
                continue  # the ratio cannot reach the threshold with lengths this different
            matcher.set_seq1(other)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            ratio = matcher.ratio()
            if ratio >= threshold and (best is None or ratio > best.ratio):
                best = Violation(intent, text, original, ratio)
        if best:
            found.append(best)
    return found


def main() -> int:
    held = examples_in(HELD_OUT)
    found = violations(held, training_examples())
    for v in found:
        print(f"{v.ratio:.2f} [{v.intent}] {v.held_out!r} ~ {v.training!r}")
    print(f"held-out examples: {len(held)}; equal to or near copies of training examples: {len(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
