"""Scripted multi-turn conversations (tests/conversations/*.yml): what the parent says and what must happen.

Each file has `conversations:`, a list of

    id: unique-name
    category: what kind of case this is (the report groups failures by it)
    turns:                      # what the parent types, in order; a turn is a string or {say, expect}
      - "my boy is 3 and has a handful of words, we're in Andover"
      - say: "no, she's 13 not 3"
        expect: results         # outcome of this turn (optional on any turn)
    expect: results             # outcome of the last turn (the conversation's outcome)
    slots:                      # final slots from the tracker (each optional)
      age_years: 13             # number (tolerance 0.01) or null
      needs: [autism]           # exact set; or needs_include / needs_exclude
      district: Test Valley     # names as in the knowledge base
      local_authority: Hampshire
      requested_slot: null

Outcomes: results, no_match, out_of_area, over_age, urgent, safeguarding, distress, person, more (the next
page of results), why_not, why_this, faq:NAME, question:SLOT (see judge.py for how each is read from the tracker).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SEARCH_STATUS = {"results": "ok", "no_match": "no_match", "out_of_area": "out_of_area", "over_age": "over_age"}
"""Outcome name -> the search_state status (and the engine's result status) it stands for."""
SEARCH_OUTCOMES = tuple(SEARCH_STATUS)
OTHER_OUTCOMES = ("urgent", "safeguarding", "distress", "person", "more", "why_not", "why_this")
OUTCOME = re.compile(rf"^({'|'.join(SEARCH_OUTCOMES + OTHER_OUTCOMES)}|faq:[a-z_]+|question:[a-z_]+)$")
SLOT_KEYS = (
    "age_years",
    "needs",
    "needs_include",
    "needs_exclude",
    "district",
    "local_authority",
    "requested_slot",
    "has_ehc_plan",
)


class SpecError(ValueError):
    pass


@dataclass(frozen=True)
class Turn:
    say: str
    expect: str | None = None


@dataclass(frozen=True)
class Conversation:
    id: str
    category: str
    turns: tuple[Turn, ...]
    slots: dict = field(default_factory=dict)
    source: str = ""

    @property
    def outcome(self) -> str | None:
        return self.turns[-1].expect


def _turn(raw, where: str) -> Turn:
    if isinstance(raw, str):
        return Turn(raw)
    if isinstance(raw, dict) and isinstance(raw.get("say"), str) and set(raw) <= {"say", "expect"}:
        return Turn(raw["say"], _outcome(raw.get("expect"), where))
    raise SpecError(f"{where}: a turn is a string or {{say, expect}}, not {raw!r}")


def _outcome(value, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not OUTCOME.match(value):
        raise SpecError(f"{where}: unknown outcome {value!r}")
    return value


def parse(raw: dict, source: str) -> Conversation:
    where = f"{source}: {raw.get('id', '?')}"
    unknown = set(raw) - {"id", "category", "turns", "expect", "slots"}
    if unknown or not raw.get("id") or not raw.get("category") or not raw.get("turns"):
        raise SpecError(f"{where}: needs id, category and turns (unknown keys: {sorted(unknown)})")
    turns = [_turn(t, where) for t in raw["turns"]]
    last = _outcome(raw.get("expect"), where)
    if last:
        if turns[-1].expect and turns[-1].expect != last:
            raise SpecError(f"{where}: two different outcomes for the last turn")
        turns[-1] = Turn(turns[-1].say, last)
    slots = raw.get("slots") or {}
    if set(slots) - set(SLOT_KEYS):
        raise SpecError(f"{where}: unknown slots {sorted(set(slots) - set(SLOT_KEYS))}")
    if not turns[-1].expect and not slots:
        raise SpecError(f"{where}: expects nothing")
    return Conversation(str(raw["id"]), str(raw["category"]), tuple(turns), dict(slots), source)


def load(folder: Path = HERE) -> list[Conversation]:
    conversations = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        conversations += [parse(raw, path.name) for raw in data.get("conversations") or []]
    ids = [c.id for c in conversations]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise SpecError(f"conversation ids used twice: {repeated}")
    return conversations
