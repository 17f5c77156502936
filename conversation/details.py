"""Reading the family's details (age, needs, place) from one message: entities first, then the text.

Uses the knowledge base's own vocabulary and gazetteer, so a need synonym or a village an
administrator adds is understood without retraining the NLU model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.ages import parse_age
from knowledge.catalogue import Catalogue
from knowledge.places import PlaceError, ResolvedPlace
from knowledge.vocabulary import ANY_NEED, NEED_CODES

OUTSIDE_UNKNOWN_AUTHORITY = "outside our area"
"""`local_authority` for a postcode outside every area we hold postcodes for (e.g. M1)."""

_ADDING = re.compile(r"\b(also|too|as well|and also|plus|another thing)\b")


@dataclass
class Details:
    age: float | None = None
    needs: list[str] = field(default_factory=list)
    adds_needs: bool = False
    place: ResolvedPlace | None = None
    place_error: PlaceError | None = None


def _entity_values(entities: list[dict], name: str) -> list[str]:
    return [str(e.get("value") or "") for e in entities or [] if e.get("entity") == name and e.get("value")]


def read_details(text: str, entities: list[dict], catalogue: Catalogue, requested_slot: str | None = None) -> Details:
    """Everything the message says about age, needs and place."""
    details = Details()
    text = text or ""
    for value in _entity_values(entities, "age"):
        details.age = parse_age(value, expecting=True)
        if details.age is not None:
            break
    if details.age is None:
        details.age = parse_age(text, expecting=requested_slot == "age_years")

    vocabulary = catalogue.vocabulary
    found: list[str] = []
    for value in _entity_values(entities, "need"):
        found.extend(vocabulary.codes_in_text(value) or [c for c in [vocabulary.resolve(value)] if c])
    found.extend(vocabulary.codes_in_text(text))
    needs = [c for c in dict.fromkeys(found) if c in NEED_CODES]
    if not needs and ANY_NEED in found:
        needs = ["unsure"]  # "special needs", "SEND": nothing specific yet
    if needs == ["unsure"] and requested_slot not in (None, "needs"):
        needs = []  # "not sure" answers the question asked (the age, the place), not the needs
    details.needs = needs
    details.adds_needs = bool(_ADDING.search(text.lower()))

    gazetteer = catalogue.gazetteer
    for value in _entity_values(entities, "place"):
        resolved = gazetteer.resolve(value)
        if isinstance(resolved, ResolvedPlace):
            details.place = resolved
            break
        details.place_error = resolved
    if details.place is None:
        details.place = gazetteer.find_in_text(text)
    if details.place is None and requested_slot in ("local_authority", "district") and details.age is None and not needs:
        resolved = gazetteer.resolve(text)
        if isinstance(resolved, ResolvedPlace):
            details.place = resolved
        else:
            details.place_error = resolved
    if details.place is not None:
        details.place_error = None
    return details


def place_slots(place: ResolvedPlace) -> dict:
    return {
        "district": place.district_name,
        "local_authority": place.authority_name or OUTSIDE_UNKNOWN_AUTHORITY,
        "place": place.matched,
    }


def slot_updates(details: Details, current: dict) -> dict:
    """The slot values that change: new information or corrections."""
    updates: dict = {}
    if details.age is not None and details.age != current.get("age_years"):
        updates["age_years"] = details.age
    if details.needs:
        existing = list(current.get("needs") or [])
        merged = list(dict.fromkeys(existing + details.needs)) if details.adds_needs and existing else details.needs
        if len(merged) > 1 and "unsure" in merged:
            merged = [n for n in merged if n != "unsure"]  # a named need replaces "not sure"
        if merged != existing:
            updates["needs"] = merged
    if details.place is not None:
        for name, value in place_slots(details.place).items():
            if value != current.get(name):
                updates[name] = value
    return updates
