"""Reading the family's details (age, needs, place) from one message: entities first, then the text.

Uses the knowledge base's own vocabulary and gazetteer, so a need synonym or a village an
administrator adds is understood without retraining the NLU model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.ages import parse_age
from knowledge.catalogue import Catalogue
from knowledge.ehc_plan import plan_status
from knowledge.places import PlaceError, ResolvedPlace
from knowledge.text import without_markup
from knowledge.vocabulary import ANY_NEED, NEED_CODES

OUTSIDE_UNKNOWN_AUTHORITY = "outside our area"
"""`local_authority` for a postcode outside every area we hold postcodes for (e.g. M1)."""

_ADDING = re.compile(
    r"\b(also|too|as well|and also|plus|another thing|on top of|could it be|might it be|might (also )?be|may (also )?be"
    r"|maybe|what about|how about|and (she|he|they)|wondering if|i think (she|he|they)|possibly|perhaps)\b"
)
"""A need added to the ones already given ("she's also anxious", "could it be dyslexia?")."""
_REPLACING = re.compile(
    r"(^\s*no\b|\b(i meant|meant to say|i mean|actually|instead|rather than|sorry|oops|whoops|wrong|typo|mistake"
    r"|correction|not what i said|change (it|that) to|i said the wrong)\b)"
)
"""A correction: the needs given replace the ones noted ("sorry, I meant dyslexia")."""


@dataclass
class Details:
    age: float | None = None
    needs: list[str] = field(default_factory=list)
    negated_needs: list[str] = field(default_factory=list)
    adds_needs: bool = False
    replaces_needs: bool = False
    place: ResolvedPlace | None = None
    place_error: PlaceError | None = None
    has_ehc_plan: bool | None = None


def _entity_values(entities: list[dict], name: str) -> list[str]:
    return [str(e.get("value") or "") for e in entities or [] if e.get("entity") == name and e.get("value")]


def _outside_markup(entities: list[dict], plain: str) -> list[dict]:
    """Entities that are not inside pasted markup or code (where `plain` was blanked out)."""
    kept = []
    for entity in entities or []:
        start, end = entity.get("start"), entity.get("end")
        if isinstance(start, int) and isinstance(end, int) and end > start and not plain[start:end].strip():
            continue
        kept.append(entity)
    return kept


def read_needs(text: str, entities: list[dict], catalogue: Catalogue, requested_slot: str | None = None) -> Details:
    """The needs a message names or describes, and the ones it says the child does not have."""
    vocabulary = catalogue.vocabulary
    mentions = vocabulary.mentions(text)
    found: list[str] = []
    for value in _entity_values(entities, "need"):
        in_value = vocabulary.codes_in_text(value) or [c for c in [vocabulary.resolve(value)] if c]
        found.extend(c for c in in_value if c not in mentions.negated)
    found.extend(mentions.codes)
    needs = [c for c in dict.fromkeys(found) if c in NEED_CODES]
    if not needs:
        needs = [c for c in vocabulary.codes_from_cues(text, need_context=requested_slot == "needs") if c not in mentions.negated]
    if not needs and ANY_NEED in found:
        needs = ["unsure"]  # "special needs", "SEND": nothing specific yet
    if needs == ["unsure"] and requested_slot not in (None, "needs"):
        needs = []  # "not sure" answers the question asked (the age, the place), not the needs
    lowered = text.lower().replace("\u2019", "'")
    return Details(
        needs=needs,
        negated_needs=[c for c in mentions.negated if c in NEED_CODES],
        adds_needs=bool(_ADDING.search(lowered)),
        replaces_needs=bool(_REPLACING.search(lowered)),
    )


_NOT_AN_AGE_AFTER = re.compile(
    r"\s*(mins?|minutes?|secs?|seconds?|hours?|hrs?|times|words|sentences|pages|goes|tries|steps|metres|miles|pounds|quid|kg|p\b|%)",
    re.I,
)
"""A number the model took for an age but that counts something else ("can't sit still for 5 mins")."""


_UNIT_AFTER_TENS = re.compile(r"[\s-]+(one|two|three|four|five|six|seven|eight|nine)\b", re.I)
_SELF_CORRECTION = re.compile(
    r"\b(no wait|wait(?=\s*[,.!:-])|sorry|i mean|i meant|oops|whoops|correction|scratch that)\b[,.!:]*", re.I
)
"""Where a message corrects itself ("she's 8. no wait, 9"); "we wait 2 years" is not a correction."""


def _counts_something_else(plain: str, entity: dict) -> bool:
    end = entity.get("end")
    return isinstance(end, int) and bool(_NOT_AN_AGE_AFTER.match(plain, end))


def _whole_number(plain: str, entity: dict) -> str:
    """The entity's value, with the unit the model left off a number in words ("twenty" of "twenty six")."""
    value, end = str(entity.get("value") or ""), entity.get("end")
    unit = _UNIT_AFTER_TENS.match(plain, end) if isinstance(end, int) and value.strip().lower().endswith("ty") else None
    return f"{value} {unit.group(1)}" if unit else value


def _corrected_in_message(plain: str) -> float | None:
    """ "she's 8. no wait, 9": an age given and corrected in the same message is the corrected one."""
    marks = list(_SELF_CORRECTION.finditer(plain))
    if not marks or parse_age(plain[: marks[-1].start()]) is None:
        return None
    right_after = " ".join(plain[marks[-1].end() :].split()[:5])  # "sorry for the long message..." corrects nothing
    return parse_age(right_after, expecting=True)


def read_age(plain: str, entities: list[dict], expecting: bool) -> float | None:
    """The age: the model's entity, unless the text says it more precisely ("nearly 5", "5 and a half").

    A bare number counts when an age was asked for, or in a correction ("sorry, I mean two and a half").
    Within one message, the age after a correction wins ("she's 8. no wait, 9").
    """
    corrected = _corrected_in_message(plain)
    if corrected is not None:
        return corrected
    from_text = parse_age(plain, expecting=expecting)
    ages = [e for e in entities or [] if e.get("entity") == "age" and e.get("value") and not _counts_something_else(plain, e)]
    for value in (_whole_number(plain, e) for e in ages):
        from_entity = parse_age(value, expecting=True)
        if from_entity is not None:
            precise = from_text is not None and from_text != from_entity and abs(from_text - from_entity) < 1
            return from_text if precise else from_entity
    return from_text


_NOT_HERE = re.compile(
    r"(?:\bnot|n't|\bno longer|\bnever|\bused to live|\bmoved from|\bmoving from|\bmove from|\baway from|\bleft)"
    r"(?:\s+(?!to\b)[\w']+){0,3}\s*$",
    re.I,
)
"""Just before a place: the family is not there ("not Winchester", "we don't live in Alton any more")."""


def _not_home(plain: str, start: int) -> bool:
    clause_start = max(plain.rfind(mark, 0, start) for mark in ",.;!?\n")
    return bool(_NOT_HERE.search(plain[clause_start + 1 : start]))


def _mentioned_home(plain: str, gazetteer) -> ResolvedPlace | None:
    """The first place in the text that the family does not say they are not in."""
    searched = plain
    for _ in range(3):
        found = gazetteer.find_in_text(searched)
        if found is None:
            return None
        at = searched.lower().find(found.matched.lower())
        if at < 0 or not _not_home(searched, at):
            return found
        searched = searched[:at] + " " * len(found.matched) + searched[at + len(found.matched) :]
    return None


def read_details(text: str, entities: list[dict], catalogue: Catalogue, requested_slot: str | None = None) -> Details:
    """Everything the message says about age, needs and place."""
    text = text or ""
    plain = without_markup(text)
    entities = _outside_markup(entities, plain)
    details = read_needs(plain, entities, catalogue, requested_slot)
    details.age = read_age(plain, entities, requested_slot == "age_years" or bool(_REPLACING.search(plain.lower())))
    details.has_ehc_plan = plan_status(plain)

    gazetteer = catalogue.gazetteer
    places = [e for e in entities if e.get("entity") == "place" and not _not_home(plain, e.get("start") or 0)]
    for value in _entity_values(places, "place"):
        resolved = gazetteer.resolve(value)
        if isinstance(resolved, ResolvedPlace):
            details.place = resolved
            break
        details.place_error = resolved
    if details.place is None:
        details.place = _mentioned_home(plain, gazetteer)
    answering_place = requested_slot in ("local_authority", "district") and details.age is None and not details.needs
    if details.place is None and answering_place:
        resolved = gazetteer.resolve(plain)
        if isinstance(resolved, ResolvedPlace):
            details.place = resolved
        else:
            details.place_error = resolved
    if details.place is not None:
        details.place_error = None
    return details


def merged_needs(existing: list[str], details: Details) -> list[str]:
    """The needs after this message: they accumulate, unless the parent corrects them.

    "also", "could it be..." add; a negated need is removed ("it's not ADHD, it's anxiety");
    a correction with no negation ("sorry, I meant dyslexia") replaces the list; otherwise a
    new need is added to the ones already given. A named need replaces "not sure yet".
    """
    kept = [n for n in existing if n not in details.negated_needs]
    if not details.needs:
        return kept
    if details.replaces_needs and not details.adds_needs and not details.negated_needs:
        kept = []
    merged = list(dict.fromkeys(kept + details.needs))
    if len(merged) > 1 and "unsure" in merged:
        merged = [n for n in merged if n != "unsure"]
    return merged


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
    existing = list(current.get("needs") or [])
    merged = merged_needs(existing, details)
    if merged != existing:
        updates["needs"] = merged or None
    if details.place is not None:
        for name, value in place_slots(details.place).items():
            if value != current.get(name):
                updates[name] = value
    if details.has_ehc_plan is not None and details.has_ehc_plan != current.get("has_ehc_plan"):
        updates["has_ehc_plan"] = details.has_ehc_plan
    return updates
