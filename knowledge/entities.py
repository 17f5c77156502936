"""Checking the NLU model's entities against the knowledge base.

The statistical model proposes spans for `age`, `need` and `place`; this keeps the ones
the knowledge base can read, so a half word ("n't talking"), a stray token ("s" of
"shes") or an everyday word ("park") is not taken for a need or a place:

1. spans are widened to whole words and stripped of surrounding punctuation;
2. neighbouring spans of the same kind are joined when the whole is understood but a
   part is not ("profoundly" + "deaf", "oppositional" + "defiant disorder");
3. spans the knowledge base cannot read are dropped.

Entities without a position (from buttons) pass through untouched.
"""

from __future__ import annotations

import re

from knowledge.ages import parse_age
from knowledge.catalogue import Catalogue
from knowledge.places import COMMON_WORD_PLACES, LOCATION_WORDS, ResolvedPlace

_WORD_CHAR = re.compile(r"[\w'\u2019]")
_EDGE_PUNCTUATION = "()[]{},.;:!?\"'\u2019-/"
_JOINABLE_GAP = re.compile(r"^[\s-]*$")


def understood(entity: dict, text: str, catalogue: Catalogue) -> bool:
    value = str(entity.get("value") or "")
    kind = entity.get("entity")
    if kind == "need":
        return bool(catalogue.vocabulary.codes_in_text(value) or catalogue.vocabulary.resolve(value))
    if kind == "place":
        if not isinstance(catalogue.gazetteer.resolve(value), ResolvedPlace):
            return False
        if value.lower() in COMMON_WORD_PLACES and not value[:1].isupper():
            before = text[: entity["start"]].lower().split()
            return bool(before) and before[-1] in LOCATION_WORDS
        return True
    if kind == "age":
        return parse_age(value, expecting=True) is not None
    return True


def _snapped(text: str, entity: dict) -> dict:
    start, end = entity["start"], entity["end"]
    while start > 0 and _WORD_CHAR.match(text[start - 1]):
        start -= 1
    while end < len(text) and _WORD_CHAR.match(text[end]):
        end += 1
    while start < end and text[start] in _EDGE_PUNCTUATION + " ":
        start += 1
    while end > start and text[end - 1] in _EDGE_PUNCTUATION + " ":
        end -= 1
    return {**entity, "start": start, "end": end, "value": text[start:end]}


def _joined(text: str, first: dict, second: dict) -> dict:
    return {**first, "end": second["end"], "value": text[first["start"] : second["end"]]}


def check_entities(text: str, entities: list[dict], catalogue: Catalogue) -> list[dict]:
    """The entities, tidied and checked as the module docstring says."""
    positioned = sorted(
        (_snapped(text, e) for e in entities if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)),
        key=lambda e: (e["start"], e["end"]),
    )
    others = [e for e in entities if not (isinstance(e.get("start"), int) and isinstance(e.get("end"), int))]
    merged: list[dict] = []
    for entity in positioned:
        if entity["end"] <= entity["start"]:
            continue
        if merged and merged[-1]["end"] > entity["start"]:
            continue  # overlaps the previous one after widening
        previous = merged[-1] if merged else None
        if previous and previous["entity"] == entity["entity"] and _JOINABLE_GAP.match(text[previous["end"] : entity["start"]]):
            whole = _joined(text, previous, entity)
            parts_ok = understood(previous, text, catalogue) and understood(entity, text, catalogue)
            if not parts_ok and understood(whole, text, catalogue):
                merged[-1] = whole
                continue
        merged.append(entity)
    return [e for e in merged if understood(e, text, catalogue)] + others
