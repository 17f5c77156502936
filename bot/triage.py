"""Triage for a phone call: the caller's details, from the form and what they said, to the assistant's answer.

Thin glue: the details are read with the assistant's own readers (knowledge.ages.parse_age,
the knowledge base's gazetteer, conversation.details.read_details for a free-text description),
the answer is KnowledgeBase.find, and every sentence comes from conversation/messages.py, so staff
see the same results and reasons a parent would. Fields typed in the form win over the description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.conversations import age_in_words
from conversation import messages
from conversation.details import read_details
from knowledge.ages import parse_age
from knowledge.catalogue import Catalogue
from knowledge.engine import EligibilityResult
from knowledge.kb import KnowledgeBase
from knowledge.places import ResolvedPlace
from knowledge.vocabulary import NEED_CODES

MAX_DESCRIPTION = 2000
MAX_FIELD = 200
MAX_CARDS = 25

AGE_MISSING = "Enter the child's age, for example 7 or 18 months"
AGE_UNREADABLE = "Enter the age as a number or a school year, for example 7, 18 months or Year 3"
NEEDS_MISSING = "Choose what the child needs help with (or 'not sure yet'), or describe it in what the caller said"
NEEDS_UNKNOWN = "Choose needs from the list"
PLACE_MISSING = "Enter the town, village or postcode where the family lives"
PLACE_COUNTY = "Enter the town or village in {name}, or the first part of the postcode: services there are organised by area"
DESCRIPTION_TOO_LONG = f"What the caller said must be {MAX_DESCRIPTION:,} characters or fewer"
FIELD_TOO_LONG = f"Must be {MAX_FIELD} characters or fewer"


def need_options(catalogue: Catalogue) -> list[tuple[str, str]]:
    """The needs a caller can have, with the knowledge base's plain labels ('not sure yet' last)."""
    return [(code, catalogue.vocabulary.label(code)) for code in NEED_CODES]


@dataclass
class TriageForm:
    age: str = ""
    needs: list[str] = field(default_factory=list)
    place: str = ""
    description: str = ""
    send: list[str] = field(default_factory=list)
    """Services and signposts (ids) ticked to send to the caller."""

    @classmethod
    def from_post(cls, form) -> TriageForm:
        return cls(
            age=str(form.get("age", "")).strip(),
            needs=[str(v) for v in form.getall("needs", [])],
            place=str(form.get("place", "")).strip(),
            description=str(form.get("description", "")).strip(),
            send=[str(v) for v in form.getall("send", [])],
        )


@dataclass
class Caller:
    """The details the search uses, and which of them came from the description."""

    age: float
    needs: list[str]
    place: ResolvedPlace
    from_description: set[str]


def read_caller(form: TriageForm, catalogue: Catalogue) -> tuple[Caller | None, dict[str, str]]:
    """The caller's details, or the problems to show against each field."""
    errors: dict[str, str] = {}
    for name in ("age", "place"):
        if len(getattr(form, name)) > MAX_FIELD:
            errors[name] = FIELD_TOO_LONG
    if len(form.description) > MAX_DESCRIPTION:
        errors["description"] = DESCRIPTION_TOO_LONG
    if errors:
        return None, errors
    said = read_details(form.description, [], catalogue) if form.description else None
    from_description: set[str] = set()

    age = None
    if form.age:
        age = parse_age(form.age, expecting=True)
        if age is None:
            errors["age"] = AGE_UNREADABLE
    elif said is not None and said.age is not None:
        age = said.age
        from_description.add("age")
    else:
        errors["age"] = AGE_MISSING

    needs: list[str] = []
    if form.needs:
        if not set(form.needs) <= set(NEED_CODES):
            errors["needs"] = NEEDS_UNKNOWN
        needs = list(dict.fromkeys(n for n in form.needs if n in NEED_CODES))
        if len(needs) > 1 and "unsure" in needs:
            needs.remove("unsure")  # a named need replaces "not sure", as in the conversation
    elif said is not None and said.needs:
        needs = list(said.needs)
        from_description.add("needs")
    else:
        errors["needs"] = NEEDS_MISSING

    place = None
    if form.place:
        resolved = catalogue.gazetteer.resolve(form.place)
        if isinstance(resolved, ResolvedPlace):
            place = resolved
        else:
            errors["place"] = f"{resolved.message} {PLACE_MISSING}"
    elif said is not None and said.place is not None:
        place = said.place
        from_description.add("place")
    else:
        errors["place"] = PLACE_MISSING
    if place is not None and place.in_coverage and not place.district_name:
        authority = catalogue.gazetteer.authorities.get(place.authority_gss or "")
        if authority is not None and authority.kind == "county":
            errors["place"] = PLACE_COUNTY.format(name=authority.name)  # the assistant asks for the town too
    if errors:
        return None, errors
    return Caller(age, needs, place, from_description), {}


@dataclass
class Outcome:
    result: EligibilityResult
    lead: str
    """The assistant's opening words for this result (found N services / no match / outside the area / over 25)."""
    cards: list[dict]
    more: int
    """Eligible services beyond the cards shown."""
    near_misses: list[tuple[str, str]]
    signposts: list[dict]
    note: str = ""

    @property
    def groups(self) -> list[tuple[str, list[dict]]]:
        """The cards in the assistant's groups (the child's needs, then general help), each with its heading."""
        groups: list[tuple[str, list[dict]]] = []
        for card in self.cards:
            if not groups or card.get("group_heading"):
                groups.append((card.get("group_heading") or "", []))
            groups[-1][1].append(card)
        return groups


def search(kb: KnowledgeBase, caller: Caller) -> Outcome | dict[str, str]:
    """The assistant's answer for this caller, or field errors if the engine could not use a detail."""
    catalogue = kb.catalogue()
    result = kb.find(caller.age, caller.needs, caller.place, record_unmet=True)
    if result.status == "invalid":
        fields = {"age": "age", "needs": "needs", "place": "place"}
        return {fields.get(e.field, "age"): e.message for e in result.errors}
    cards: list[dict] = []
    note = ""
    if result.status == "ok":
        shown = result.eligible[:MAX_CARDS]
        records = kb.details([m.service.id for m in shown])
        said = messages.results_messages(result, records, 0, catalogue.vocabulary)
        lead = said[0]["text"]
        cards = said[-1]["custom"]["cards"]
        if any(card["is_sample"] for card in cards):
            note = "Services marked 'sample data' are examples for this demonstration, not real services."
    elif result.status == "no_match":
        lead = messages.no_match_messages(result, catalogue.vocabulary)[0]["text"]
    elif result.status == "out_of_area":
        lead = messages.out_of_area_messages(result, messages.coverage_text(catalogue.gazetteer))[0]["text"]
    else:
        lead = messages.over_age_messages(result)[0]["text"]
    return Outcome(
        result=result,
        lead=lead,
        cards=cards,
        more=max(0, len(result.eligible) - len(cards)),
        near_misses=[(m.service.name, m.why_not) for m in result.near_misses],
        signposts=[messages.signpost_card(m.signpost, m.reason) for m in result.signposts],
        note=note,
    )


def signpost_contact(card: dict) -> str:
    return ", ".join(
        x for x in (f"phone {card['phone']}" if card.get("phone") else "", card.get("email"), card.get("website")) if x
    )


def place_text(place: ResolvedPlace) -> str:
    """What was named, its district and its authority: "Waterlooville, Havant, Hampshire"."""
    return ", ".join(dict.fromkeys(p for p in (place.matched, place.district_name, place.authority_name) if p))


def send_summary(outcome: Outcome, chosen: list[str]) -> str:
    """A short text of the ticked services and signposts, to read out to the caller or copy into a message."""
    wanted = set(chosen)
    lines = ["Here are the services we talked about:"]
    number = 0
    for card in outcome.cards:
        if str(card.get("id")) in wanted:
            number += 1
            lines.append(f"{number}. {card['name']}: {card['how_to_access']} Contact: {card['contact']}")
    for card in outcome.signposts:
        if str(card.get("id")) in wanted:
            number += 1
            contact = signpost_contact(card)
            lines.append(f"{number}. {card['name']}" + (f": {contact}" if contact else ""))
    if number == 0:
        return ""
    lines.append("If a child is in danger, call 999.")
    return "\n".join(lines)


def case_notes(caller: Caller, outcome: Outcome, catalogue: Catalogue, staff: str, now: datetime) -> str:
    """A plain-text summary to paste into the case notes."""
    lines = [
        f"SEND Local Offer triage, {now.strftime('%-d %B %Y, %H:%M')}, by {staff}",
        f"Age: {age_in_words(caller.age)}",
        f"Needs: {messages.needs_text(caller.needs, catalogue.vocabulary)}",
        f"Place: {place_text(caller.place)}",
        "",
        outcome.lead,
    ]
    if outcome.cards:
        lines += ["", f"Services that fit ({len(outcome.result.eligible)}):"]
        number = 0
        for heading, cards in outcome.groups:
            if heading:
                lines.append(f"{heading}:")
            for card in cards:
                number += 1
                title = card["name"] + (f" {messages.SAMPLE_MARK}" if card["is_sample"] else "")
                title += f" [{messages.EHC_PLAN_MARK}]" if card.get("needs_ehc_plan") else ""
                lines.append(f"{number}. {title}" + (f" ({card['organisation']})" if card.get("organisation") else ""))
                lines.append(f"   Why: {', '.join(card['why'])}")
                lines.append(f"   How to get it: {card['how_to_access']}")
                lines += [f"   When: {'; '.join(card['when'])}"] if card.get("when") else []
                lines += [f"   Where: {'; '.join(card['where'])}"] if card.get("where") else []
                lines.append(f"   Contact: {card['contact']}")
        if outcome.more:
            lines.append(f"and {outcome.more} more")
    if outcome.near_misses:
        lines += ["", "Came close, but don't fit yet:"]
        lines += [f"- {name}: {why_not}" for name, why_not in outcome.near_misses]
    if outcome.signposts:
        lines += ["", "Other help:"]
        for card in outcome.signposts:
            contact = signpost_contact(card)
            lines.append(f"- {card['name']}" + (f": {contact}" if contact else ""))
    return "\n".join(lines)
