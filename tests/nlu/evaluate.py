"""Score a trained model on the held-out NLU test set (tests/nlu/held_out.yml, never used in training).

Prints intent macro-F1 and entity F1 (exact type and span, micro-averaged), per intent
and per entity type, and the misclassified examples. Exit status 1 if below the targets.

    .venv/bin/python -m tests.nlu.evaluate [--model models/] [--data tests/nlu/held_out.yml]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

INTENT_TARGET = 0.93  # issue 9: on the clean set (no copies or near copies of training examples)
ENTITY_TARGET = 0.90
INTENT_FLOOR = 0.87
ENTITY_FLOOR = 0.80
"""What the suite requires: a little under the figures measured on the clean set (0.897 and 0.824 on
2026-12-02), so a change that makes understanding worse fails. The targets above are not met yet; the
README says where the model falls short (described needs' spans, the newer intents)."""
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def f1(tp: int, fp: int, fn: int) -> float:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclass
class Report:
    examples: int = 0
    intent_pairs: list[tuple[str, str, str]] = field(default_factory=list)  # (text, expected, predicted)
    entity_counts: dict[str, Counter] = field(default_factory=dict)  # type -> tp/fp/fn
    entity_errors: list[tuple[str, set, set]] = field(default_factory=list)

    def intent_f1(self) -> dict[str, float]:
        intents = sorted({expected for _, expected, _ in self.intent_pairs})
        scores = {}
        for intent in intents:
            tp = sum(1 for _, e, p in self.intent_pairs if e == intent and p == intent)
            fp = sum(1 for _, e, p in self.intent_pairs if e != intent and p == intent)
            fn = sum(1 for _, e, p in self.intent_pairs if e == intent and p != intent)
            scores[intent] = f1(tp, fp, fn)
        return scores

    def intent_macro_f1(self) -> float:
        scores = self.intent_f1()
        return sum(scores.values()) / len(scores) if scores else 0.0

    def entity_f1(self, entity: str | None = None) -> float:
        counts = Counter()
        for name, c in self.entity_counts.items():
            if entity is None or name == entity:
                counts.update(c)
        return f1(counts["tp"], counts["fp"], counts["fn"])


def spans(entities) -> set[tuple[str, int, int]]:
    return {(e["entity"], e["start"], e["end"]) for e in entities or [] if "start" in e}


async def score(model: Path, data: Path) -> Report:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(str(model))
    report = Report()
    for message in load_data(str(data)).intent_examples:
        text = message.get("text")
        parsed = await agent.parse_message(text)
        expected_intent = message.get("intent")
        predicted_intent = (parsed.get("intent") or {}).get("name")
        report.examples += 1
        report.intent_pairs.append((text, expected_intent, predicted_intent))
        expected, predicted = spans(message.get("entities")), spans(parsed.get("entities"))
        for name in {e[0] for e in expected | predicted}:
            counts = report.entity_counts.setdefault(name, Counter())
            exp = {e for e in expected if e[0] == name}
            pred = {e for e in predicted if e[0] == name}
            counts["tp"] += len(exp & pred)
            counts["fp"] += len(pred - exp)
            counts["fn"] += len(exp - pred)
        if expected != predicted:
            report.entity_errors.append((text, expected, predicted))
    return report


def latest_model(path: Path) -> Path:
    if path.is_file():
        return path
    models = sorted(path.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit(f"No trained model in {path}: run scripts/train first.")
    return models[-1]


def print_report(report: Report, show_errors: int) -> None:
    print(f"Held-out examples: {report.examples}")
    print(f"Intent macro-F1: {report.intent_macro_f1():.3f} (target {INTENT_TARGET})")
    for intent, value in sorted(report.intent_f1().items(), key=lambda kv: kv[1]):
        print(f"  {intent:<20} {value:.3f}")
    print(f"Entity F1 (exact type and span, micro): {report.entity_f1():.3f} (target {ENTITY_TARGET})")
    for name in sorted(report.entity_counts):
        c = report.entity_counts[name]
        print(f"  {name:<8} F1 {report.entity_f1(name):.3f}  (tp {c['tp']}, fp {c['fp']}, fn {c['fn']})")
    wrong = [(t, e, p) for t, e, p in report.intent_pairs if e != p]
    if wrong and show_errors:
        print(f"Intent errors ({len(wrong)}):")
        for text, expected, predicted in wrong[:show_errors]:
            print(f"  {expected} -> {predicted}: {text}")
    if report.entity_errors and show_errors:
        print(f"Examples with entity differences ({len(report.entity_errors)}):")
        for text, expected, predicted in report.entity_errors[:show_errors]:
            missing = sorted(f"{n}:{text[s:e]}" for n, s, e in expected - predicted)
            extra = sorted(f"{n}:{text[s:e]}" for n, s, e in predicted - expected)
            print(f"  {text}\n    missed {missing} extra {extra}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models")
    parser.add_argument("--data", type=Path, default=HERE / "held_out.yml")
    parser.add_argument("--show-errors", type=int, default=40)
    args = parser.parse_args(argv)
    report = asyncio.run(score(latest_model(args.model), args.data))
    print_report(report, args.show_errors)
    ok = report.intent_macro_f1() >= INTENT_TARGET and report.entity_f1() >= ENTITY_TARGET
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
