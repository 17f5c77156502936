"""Is the family telling us about danger, abuse, or their own distress? Three kinds of worry.

The patterns are data (knowledge/seed/safety.yaml) read from the file, not the database,
so the check works even when the knowledge base is unreachable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

SAFETY_FILE = Path(__file__).resolve().parent / "seed" / "safety.yaml"
DANGER, SAFEGUARDING, DISTRESS = "danger", "safeguarding", "distress"
KINDS = (DANGER, SAFEGUARDING, DISTRESS)
"""In order of precedence: the first kind that matches is the answer."""


@lru_cache(maxsize=1)
def _patterns(path: Path = SAFETY_FILE) -> dict[str, tuple[re.Pattern, ...]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {kind: tuple(re.compile(p) for p in data.get(kind) or ()) for kind in KINDS}


def worry_kind(text: str) -> str | None:
    """DANGER, SAFEGUARDING or DISTRESS if the message matches that kind's patterns, else None."""
    lowered = re.sub(r"\s+", " ", (text or "").lower().replace("\u2019", "'"))
    patterns = _patterns()
    return next((kind for kind in KINDS if any(p.search(lowered) for p in patterns[kind])), None)


def suggests_risk(text: str) -> bool:
    """True if a child may be in danger now (the urgent-help reply comes first)."""
    return worry_kind(text) == DANGER
