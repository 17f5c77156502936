"""Does a message suggest a child is in danger or at risk of harming themselves?

The patterns are data (knowledge/seed/safety.yaml) read from the file, not the
database, so the check works even when the knowledge base is unreachable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

SAFETY_FILE = Path(__file__).resolve().parent / "seed" / "safety.yaml"


@lru_cache(maxsize=1)
def _patterns(path: Path = SAFETY_FILE) -> tuple[re.Pattern, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(re.compile(p) for p in data["patterns"])


def suggests_risk(text: str) -> bool:
    """True if the message matches any urgent-help pattern."""
    lowered = re.sub(r"\s+", " ", (text or "").lower().replace("\u2019", "'"))
    return any(p.search(lowered) for p in _patterns())
