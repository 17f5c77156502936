"""The trained assistant's checks (issue 3): training data valid with no warnings, every test story
predicted exactly (--fail-on-prediction-errors), and the held-out NLU set above its targets.

Needs the trained model (models/local-offer.tar.gz), which `scripts/test` trains first.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.db import PROJECT_ROOT
from tests.nlu.evaluate import ENTITY_FLOOR, INTENT_FLOOR

MODEL = PROJECT_ROOT / "models" / "local-offer.tar.gz"
RASA = str(Path(sys.executable).parent / "rasa")
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
pytestmark = pytest.mark.dialogue


def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def model() -> Path:
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run scripts/train (scripts/test does).")
    return MODEL


def test_training_data_validates_with_no_warnings():
    done = run(RASA, "data", "validate", "--fail-on-warnings")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_there_are_at_least_40_test_stories():
    files = (PROJECT_ROOT / "tests" / "stories").glob("*.yml")
    stories = sum(len(re.findall(r"^\s*- story:", p.read_text(), re.MULTILINE)) for p in files)
    assert stories >= 40, f"only {stories} test stories"


def test_every_test_story_is_predicted_exactly(model, tmp_path):
    done = run(RASA, "test", "core", "--model", str(model), "--stories", "tests/stories",
               "--fail-on-prediction-errors", "--out", str(tmp_path))  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    correct = re.search(r"Correct:\s+(\d+) / (\d+)", output)
    assert correct and correct.group(1) == correct.group(2), output[-3000:]


def test_held_out_nlu_set_stays_above_its_floor(model):
    done = run(sys.executable, "-m", "tests.nlu.evaluate", "--model", str(model), "--show-errors", "0")
    report = done.stdout
    intent = float(re.search(r"Intent macro-F1: ([0-9.]+)", report).group(1))
    entity = float(re.search(r"Entity F1 \(exact type and span, micro\): ([0-9.]+)", report).group(1))
    assert intent >= INTENT_FLOOR and entity >= ENTITY_FLOOR, report
