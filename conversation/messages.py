"""What the assistant says about services and signposts: plain words, a few at a time.

Pure functions from knowledge-base results to messages ({"text", "buttons", "custom"}),
so they can be tested without Rasa. The `custom` payload carries the same content as
structured cards for the web widget.
"""

from __future__ import annotations

import re
from datetime import date

from knowledge.catalogue import EHC_PLAN_ROUTE, SignpostEntry
from knowledge.engine import GENERAL_GROUP, EligibilityResult, format_age
from knowledge.text import loose
from knowledge.vocabulary import ACCESS_ROUTES, NEED_CODES

PAGE_SIZE = 3
SAMPLE_MARK = "(sample data)"
FIND_COUNCIL_URL = "https://www.gov.uk/find-local-council"
GENERAL_HEADING = "General help and advice"
EHC_PLAN_MARK = "Needs an EHC plan"
PLACES_WITH_THE = frozenset({"New Forest", "Isle of Wight", "Wirral"})

BUTTON_MORE = {"title": "Show more", "payload": "/show_more"}
BUTTON_WHY = {"title": "Why these?", "payload": "/why_this"}
BUTTON_PERSON = {"title": "Talk to a person", "payload": "/talk_to_person"}
BUTTON_RESTART = {"title": "Start again", "payload": "/start_again"}


def needs_text(needs, vocabulary) -> str:
    labels = [vocabulary.label(n) for n in needs if n != "unsure"]
    if not labels:
        return "needs you're not sure about yet"
    return " and ".join(labels) if len(labels) < 3 else ", ".join(labels[:-1]) + " and " + labels[-1]


def who_text(age: float) -> str:
    if age == 0:
        return "a newborn baby"
    if age < 2 and not float(age).is_integer():
        return f"a baby of {format_age(age)}"
    return f"a {format_age(age)}-year-old" if age < 18 else f"a young person aged {format_age(age)}"


def money(amount: float) -> str:
    """12 -> "£12", 12.5 -> "£12.50", 2500000 -> "£2,500,000"."""
    return f"\u00a3{amount:,.0f}" if float(amount).is_integer() else f"\u00a3{amount:,.2f}"


def cost_text(record: dict) -> str:
    options = record.get("cost_options") or []
    if not options:
        return "Ask the service"
    parts = []
    for option in options:
        if option.get("amount_description"):
            parts.append(option["amount_description"])
        elif option.get("amount") in (0, 0.0):
            parts.append("Free")
        elif option.get("amount") is not None:
            parts.append(money(option["amount"]) + (f" ({option['option']})" if option.get("option") else ""))
        elif option.get("option"):
            parts.append(option["option"])
    return "; ".join(dict.fromkeys(parts)) or "Ask the service"


def access_text(record: dict) -> str:
    how = record.get("how_to_access") or record.get("application_process") or ""
    route = record.get("access_route")
    extra = ""
    if route == "professional_referral" and record.get("referrers"):
        extra = " Who can refer: " + ", ".join(record["referrers"]) + "."
    elif route == EHC_PLAN_ROUTE:
        extra = " You need an EHC plan (a legal plan for your child's education, health and care) for this."
    label = ACCESS_ROUTES.get(route, "")
    return " ".join(p for p in (f"{label}." if label else "", how, extra.strip()) if p)


def short_access_text(record: dict) -> str:
    """How to get it, in a line: the first sentence of the service's own words (the rest, and who can
    refer, are under "More details"; the card marks services that need an EHC plan)."""
    how = record.get("how_to_access") or record.get("application_process") or ""
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", how.strip(), maxsplit=1)[0]
    if first:
        return first
    label = ACCESS_ROUTES.get(record.get("access_route"), "")
    return f"{label}." if label else "Contact the service."


def contact_text(record: dict) -> str:
    bits = []
    for contact in record.get("contacts") or []:
        if contact.get("phone"):
            bits.append(f"phone {contact['phone']}")
        if contact.get("email"):
            bits.append(contact["email"])
        if bits:
            break
    if record.get("email") and record["email"] not in bits:
        bits.append(record["email"])
    if record.get("url"):
        bits.append(record["url"])
    return ", ".join(bits) or "see the organisation's details"


def first_phone(record: dict) -> str | None:
    return next((c["phone"] for c in record.get("contacts") or [] if c.get("phone")), None)


def first_email(record: dict) -> str | None:
    return next((c["email"] for c in record.get("contacts") or [] if c.get("email")), None) or record.get("email")


def reviewed_text(record: dict) -> str:
    reviewed = record.get("last_reviewed") or record.get("assured_date")
    if not reviewed:
        return "Not yet checked: please confirm the details with the service."
    when = date.fromisoformat(reviewed).strftime("%-d %B %Y")
    if record.get("review_due"):
        return f"Last checked {when}. This is due for a check, so please confirm the details with the service."
    return f"Last checked {when}."


DAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
ORDINALS = {"1": "First", "2": "Second", "3": "Third", "4": "Fourth", "-1": "Last"}


def clock(value: str | None) -> str:
    """ "13:00" -> "1pm", "09:30" -> "9:30am", "12:00" -> "12 noon"."""
    if not value or ":" not in value:
        return value or ""
    hours, minutes = (int(part) for part in value.split(":")[:2])
    if (hours, minutes) == (12, 0):
        return "12 noon"
    suffix = "am" if hours < 12 else "pm"
    hours = hours % 12 or 12
    return f"{hours}{suffix}" if minutes == 0 else f"{hours}:{minutes:02d}{suffix}"


def schedule_text(schedule: dict) -> str:
    """One stored schedule in words: its own description where it has one, else built from its fields."""
    if schedule.get("description"):
        return schedule["description"]
    codes = [code for code in (schedule.get("byday") or "").split(",") if code]
    days = []
    for code in codes:
        ordinal, day = code[:-2], code[-2:]
        name = DAY_NAMES.get(day, day)
        days.append(f"{ORDINALS.get(ordinal, ordinal)} {name} of the month" if ordinal else name + "s")
    if codes == ["MO", "TU", "WE", "TH", "FR"]:
        days = ["Monday to Friday"]
    when = " and ".join(days)
    if schedule.get("opens_at") and schedule.get("closes_at"):
        when += f", {clock(schedule['opens_at'])} to {clock(schedule['closes_at'])}"
    if schedule.get("interval") == 2 and schedule.get("freq") == "WEEKLY":
        when = "Every other week: " + when
    return when.strip(", ")


def when_lines(record: dict) -> list[str]:
    return list(dict.fromkeys(text for text in (schedule_text(s) for s in record.get("schedules") or []) if text))


def location_text(location: dict) -> str:
    town = " ".join(p for p in (location.get("city"), location.get("postcode")) if p)
    return ", ".join(p for p in (location.get("name"), location.get("address_1"), town) if p)


MAX_LOCATIONS = 2
REMOTE_WAYS = (("phone", "by phone"), ("online", "online"), ("video", "online"), ("home visit", "at home (home visits)"))
"""Words in how a service is reached that say where it happens when it has no venue."""


def where_lines(record: dict) -> list[str]:
    """Venue and postcode for each stored location; with no venue, "By phone" / "Online" where the service says so."""
    places = [location_text(loc) for loc in record.get("locations") or []]
    places = [p for p in dict.fromkeys(places) if p]
    if places:
        shown = places[:MAX_LOCATIONS]
        if len(places) > MAX_LOCATIONS:
            shown.append(f"and {len(places) - MAX_LOCATIONS} more places")
        return shown
    said = " ".join(
        [record.get("how_to_access") or ""] + [s.get("description") or "" for s in record.get("schedules") or []]
    ).lower()
    ways = list(dict.fromkeys(way for word, way in REMOTE_WAYS if word in said))
    return [" or ".join(ways)[0].upper() + " or ".join(ways)[1:]] if ways else []


def why_line(reasons, group: str | None = None) -> str:
    """One line on why a service fits this child, from the engine's reasons (ages, need, area)."""
    if len(reasons) != 3:
        return "; ".join(reasons)
    ages, need, area = reasons
    if group == GENERAL_GROUP:
        need = "open to any need"
    text = f"{need}, {ages.removeprefix('for ')}, {area.removeprefix('available ')}."
    return text[0].upper() + text[1:]


def service_card(record: dict, reasons: tuple[str, ...] = (), group: str | None = None) -> dict:
    """One service as a structured card (also used to build the text).

    The short card is name, why it fits, how to get it, when, where, phone and e-mail; the
    rest (who it is for, what to expect, cost, full contact) is under "More details".
    """
    needs_plan = record.get("access_route") == EHC_PLAN_ROUTE
    return {
        "id": record["id"],
        "name": record["name"],
        "organisation": record.get("organization_name"),
        "group": group,
        "needs_ehc_plan": needs_plan,
        "why": list(reasons),
        "why_line": why_line(reasons, group) if reasons else "",
        "how": short_access_text(record),
        "when": when_lines(record),
        "where": where_lines(record),
        "phone": first_phone(record),
        "email": first_email(record),
        "website": record.get("url"),
        "who_for": record.get("who_for") or record.get("eligibility_description") or "",
        "how_to_access": access_text(record),
        "what_to_expect": record.get("what_to_expect") or record.get("description") or "",
        "cost": cost_text(record),
        "contact": contact_text(record),
        "last_reviewed": record.get("last_reviewed") or record.get("assured_date"),
        "review_due": bool(record.get("review_due")),
        "reviewed_text": reviewed_text(record),
        "is_sample": bool(record.get("is_sample")),
        "tier": record.get("tier"),
    }


def card_text(card: dict) -> str:
    """The card as plain text, for channels without the widget: the same content, short part first."""
    title = card["name"] + (f" {SAMPLE_MARK}" if card["is_sample"] else "")
    reach = " | ".join(x for x in (f"Phone {card['phone']}" if card.get("phone") else "", card.get("email") or "") if x)
    lines = [
        f"**{title}**",
        f"{EHC_PLAN_MARK}." if card.get("needs_ehc_plan") else "",
        f"Why it fits: {card['why_line']}" if card.get("why_line") else "",
        f"How to get it: {card['how']}",
        "When: " + "; ".join(card["when"]) if card.get("when") else "",
        "Where: " + "; ".join(card["where"]) if card.get("where") else "",
        reach,
        "More details:",
        f"- Who it's for: {card['who_for']}" if card["who_for"] else "",
        f"- What to expect: {card['what_to_expect']}" if card["what_to_expect"] else "",
        f"- Cost: {card['cost']}",
        f"- Contact: {card['contact']}",
        card["reviewed_text"],
    ]
    return "\n".join(line for line in lines if line.strip())


def group_heading(key: str, needs, vocabulary) -> str:
    """The heading over a group of results: the child's need(s), or general help."""
    if key == GENERAL_GROUP:
        return GENERAL_HEADING
    return "For " + needs_text(needs, vocabulary)


def district_words(name: str) -> str:
    """ "New Forest" -> "the New Forest" (the few area names said with "the")."""
    return f"the {name}" if name in PLACES_WITH_THE else name


def results_intro(result: EligibilityResult, vocabulary) -> str:
    """The first words of an answer: how many fit, the child's need first, general help after, plan-only last."""
    total = len(result.eligible)
    where = district_words(result.place.district_name or result.place.authority_name)
    who, needs = who_text(result.age), needs_text(result.needs, vocabulary)
    groups = {group.key: group for group in result.groups}
    general = len(groups[GENERAL_GROUP].matches) if GENERAL_GROUP in groups else 0
    if result.only_general:
        text = (
            f"I couldn't find anything specifically for {needs} for {who} in {where}; here is general help and advice: "
            f"{general} service{'s' if general != 1 else ''} open to children and young people with any need."
        )
    else:
        text = f"I found {total} service{'s' if total != 1 else ''} for {who} with {needs} in {where}"
        specific = total - general
        if general and specific:
            text += f": {specific} specifically for that first, then {general} giving general help and advice."
        else:
            text += "."
    return text


def results_messages(result: EligibilityResult, records: list[dict], start: int, vocabulary) -> list[dict]:
    """A page of eligible services (records are the details of that page, in order).

    One message carries the page: its text is the cards as plain text (for the terminal and other
    text channels) and its `custom` payload the same cards for the widget, marked with
    `text_repeats_cards` so the widget shows the cards and `summary` instead of the text.
    """
    total = len(result.eligible)
    page = result.eligible[start : start + len(records)]
    group_starts = {group.start: group.key for group in result.groups}
    cards = []
    for offset, (record, match) in enumerate(zip(records, page, strict=True)):
        card = service_card(record, match.reasons, match.group)
        key = group_starts.get(start + offset)
        card["group_heading"] = group_heading(key, result.needs, vocabulary) if key else None
        cards.append(card)
    messages = []
    if start == 0:
        messages.append({"text": results_intro(result, vocabulary)})
    end = start + len(cards)
    buttons = [BUTTON_WHY, BUTTON_PERSON, BUTTON_RESTART]
    if end < total:
        tail = f"That's {end} of {total}. Would you like to see more?"
        buttons = [BUTTON_MORE, *buttons]
    else:
        tail = "That's all of them. You can ask why any service is or isn't on the list."
    if any(card["is_sample"] for card in cards):
        tail += " Services marked 'sample data' are made-up examples."
    parts = []
    for card in cards:
        if card["group_heading"]:
            parts.append(f"**{card['group_heading']}**")
        parts.append(card_text(card))
    # Sent with buttons, so Rasa's REST channel keeps the text as one item (it splits plain text at blank lines).
    messages.append(
        {
            "text": "\n\n".join([*parts, tail]),
            "buttons": buttons,
            "custom": {
                "type": "service_cards",
                "cards": cards,
                "shown": end,
                "total": total,
                "text_repeats_cards": True,
                "summary": tail,
            },
        }
    )
    return messages


def signpost_text(sp: SignpostEntry) -> str:
    title = sp.name + (f" {SAMPLE_MARK}" if sp.is_sample and SAMPLE_MARK not in sp.name and "(sample)" not in sp.name else "")
    bits = [f"**{title}**: {sp.description}"]
    contact = ", ".join(x for x in (f"phone {sp.phone}" if sp.phone else "", sp.email or "", sp.website or "") if x)
    if contact:
        bits.append(f"Contact: {contact}.")
    if sp.opening_hours:
        bits.append(f"Open: {sp.opening_hours}.")
    return " ".join(bits)


def signpost_card(sp: SignpostEntry, reason: str = "") -> dict:
    return {
        "id": sp.id,
        "name": sp.name,
        "kind": sp.kind,
        "description": sp.description,
        "how_to_access": sp.how_to_access,
        "phone": sp.phone,
        "email": sp.email,
        "website": sp.website,
        "opening_hours": sp.opening_hours,
        "is_sample": sp.is_sample,
        "why": reason,
    }


def signpost_messages(result: EligibilityResult, heading: str, limit: int = 5) -> list[dict]:
    chosen = result.signposts[:limit]
    if not chosen:
        return []
    text = heading + "\n" + "\n".join("- " + signpost_text(m.signpost) for m in chosen)
    return [{"text": text, "custom": signposts_payload([signpost_card(m.signpost, m.reason) for m in chosen], heading)}]


def signposts_payload(cards: list[dict], summary: str) -> dict:
    """Signposts for the widget; the message's text lists them too, so the widget shows `summary` instead."""
    return {"type": "signposts", "signposts": cards, "text_repeats_cards": True, "summary": summary}


def no_match_messages(result: EligibilityResult, vocabulary) -> list[dict]:
    where = result.place.district_name or result.place.authority_name
    text = (
        f"I'm sorry: I couldn't find a local service in our directory that fits {who_text(result.age)} with "
        f"{needs_text(result.needs, vocabulary)} in {where}. That doesn't mean there's no help."
    )
    messages = [{"text": text}]
    if result.near_misses:
        lines = [f"- {m.service.name}: {m.why_not}." for m in result.near_misses[:4]]
        messages.append({"text": "These came close, but don't fit yet:\n" + "\n".join(lines)})
    messages += signpost_messages(result, "These people can help you find the right support:")
    messages.append({"text": "You can also talk to a person, or start again.", "buttons": [BUTTON_PERSON, BUTTON_RESTART]})
    return messages


def local_offer_text(place) -> str:
    """Where that authority's Local Offer is: its address where the knowledge base has it, else its council's
    website, marked as such, else a search to try."""
    council = place.authority_council_name or f"{place.authority_name} council"
    if place.authority_local_offer_url:
        return f"{council}'s Local Offer: {place.authority_local_offer_url}"
    if place.authority_website:
        return f"{council}'s Local Offer: search for 'Local Offer' on the council website, {place.authority_website}"
    return f"{council}'s Local Offer: search online for '{place.authority_name} Local Offer'."


def out_of_area_messages(result: EligibilityResult, coverage: str) -> list[dict]:
    """`coverage` names the areas we cover (coverage_text, from the knowledge base)."""
    place = result.place
    if place.authority_name:
        if loose(place.matched) == loose(place.authority_name):
            text = f"{place.matched} is outside the area we cover ({coverage}). "
        else:
            text = f"{place.matched} is in {place.authority_name}, which is outside the area we cover ({coverage}). "
        text += local_offer_text(place)
    else:
        text = (
            f"{place.matched} is outside the area we cover ({coverage}). "
            f"Every council in England has a Local Offer of SEND services: find your council at {FIND_COUNCIL_URL}."
        )
    messages = [{"text": text}]
    messages += signpost_messages(result, "These national organisations can help wherever you live:")
    messages.append({"text": "If I got your area wrong, just tell me where you live.", "buttons": [BUTTON_RESTART]})
    return messages


def over_age_messages(result: EligibilityResult) -> list[dict]:
    text = (
        f"The Local Offer covers children and young people from birth up to age 25, so at {format_age(result.age)} "
        "these services won't be open to you. Adult social care and adult health services can help instead."
    )
    messages = [{"text": text}]
    messages += signpost_messages(result, "Places to start:")
    messages.append({"text": "You can also talk to a person.", "buttons": [BUTTON_PERSON, BUTTON_RESTART]})
    return messages


QUESTIONS = {
    "age_years": "How old is your child? (Or you, if you're a young person.) A number like 7, '18 months', or a school "
    "year like 'Year 6' is fine.",
    "needs": "What would you like help with? Tell me in your own words, for example 'autism', 'not talking yet', "
    "'won't go to school', 'dyslexia', or 'not sure yet'. You can mention more than one thing.",
    "local_authority": "Where do you live? Your town or village, or the first part of your postcode (like PO9 or SO16), "
    "is enough.",
    "district": "Which town or village in {authority}? Services are organised by area, so this helps me find the nearest ones.",
}
REPHRASED = {
    "age_years": "Sorry, I didn't catch the age. You can write a number like 7, '18 months', '3 and a half', or a school "
    "year like 'Year 6' or 'Reception'.",
    "needs": "Sorry, I didn't quite understand. Could you describe it another way? For example: 'autism', 'speech', "
    "'anxiety', 'dyslexia', 'hearing', 'epilepsy', or 'not sure yet'.",
    "local_authority": "Sorry, I don't recognise that place. Could you give your town or village, or the first part of "
    "your postcode (like PO9 or SO16)?",
    "district": "Sorry, I don't recognise that place in {authority}. Which town or village do you live in, or what's the "
    "first part of your postcode?",
}
QUESTION_BUTTONS = {"needs": [{"title": "Not sure yet", "payload": '/inform{"need": "not sure"}'}]}
NO_SERVICES_TO_SHOW = (
    "There are no services from our directory to show for this search, but the people I listed can help. "
    "You can also talk to a person, tell me different details, or start again."
)
NOTHING_TO_SHOW = "I haven't looked anything up yet. Tell me your child's age, what you're worried about and where you live."
HOW_I_CHOOSE = (
    "I only show services that fit your child's age, needs and where you live. Services for your child's own needs "
    "come first, then general help and advice open to any need; services that need an EHC plan come last and are "
    "marked. Within each, services anyone can use come before ones for some extra needs and specialist help, and the "
    "ones in your own area before county-wide and national ones."
)


def question(slot: str, rephrase: bool = False, resuming: bool = False, authority: str | None = None) -> dict:
    """The form's question for a slot: in other words if the last answer wasn't understood."""
    if rephrase:
        text = REPHRASED[slot]
    else:
        text = ("Back to finding services. " if resuming else "") + QUESTIONS[slot]
    text = text.replace("{authority}", authority or "your county")
    return {"text": text, "buttons": QUESTION_BUTTONS.get(slot, [])}


ALL_SHOWN = "That's everything I found. You can ask why a service is or isn't on the list."
WHICH_SERVICE = "Which service do you mean? Tell me its name and I'll check it against your child's age, needs and area."


def invalid_messages(result: EligibilityResult) -> list[dict]:
    """The engine couldn't use an answer (an age over 120, say): say which, and ask again."""
    problems = " ".join(error.message for error in result.errors)
    return [{"text": f"{problems} Could you tell me again?", "buttons": [BUTTON_RESTART]}]


def why_these_message(shown) -> dict:
    lines = [f"- {match.service.name}: {', '.join(match.reasons)}." for match in shown]
    return {"text": "I only show services that fit your child's age, needs and where you live:\n" + "\n".join(lines)}


def why_not_message(explanation, missing: list[str] | tuple[str, ...] = ()) -> dict:
    """'Why not X?' answered criterion by criterion; `missing` names the details not known yet."""
    name = explanation.service.name
    if explanation.not_met:
        text = f"{name} isn't on your list because " + "; and ".join(explanation.not_met) + "."
        if explanation.met:
            text += " It does match on this: " + "; ".join(explanation.met) + "."
    elif missing:
        text = f"I can check {name} properly once I know {' and '.join(missing)}."
        if explanation.met:
            text += " So far it matches: " + "; ".join(explanation.met) + "."
    else:
        text = f"{name} does fit: " + "; ".join(explanation.met) + "."
    return {"text": text, "buttons": [BUTTON_PERSON]}


def helpline_message(helplines: list[SignpostEntry]) -> dict:
    lines = [
        f"**{sp.name}**: phone {sp.phone}"
        + (f", {sp.email}" if sp.email else "")
        + (f". Open {sp.opening_hours}." if sp.opening_hours else ".")
        + (f" {sp.how_to_access}" if sp.how_to_access else "")
        for sp in helplines
    ]
    heading = "You can talk to someone at the SEND helpline:"
    return {
        "text": heading + "\n" + "\n".join("- " + line for line in lines),
        "custom": signposts_payload([signpost_card(sp) for sp in helplines], heading),
    }


def local_advice_message(signposts: list[SignpostEntry]) -> dict:
    heading = "Free, impartial local help:"
    return {
        "text": heading + "\n" + "\n".join("- " + signpost_text(sp) for sp in signposts),
        "custom": signposts_payload([signpost_card(sp) for sp in signposts], heading),
    }


# --- the areas covered (data: the knowledge base's authorities in coverage) ----------------------


def coverage_text(gazetteer) -> str:
    """ "Hampshire, Southampton and Portsmouth": the authorities this assistant covers, largest area first."""
    authorities = gazetteer.authorities.values() if gazetteer is not None else ()
    names = [a.name for a in sorted(authorities, key=lambda a: (a.kind != "county", a.name)) if a.in_coverage]
    if not names:
        return "this council's area"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def greeting(coverage: str) -> dict:
    return {
        "text": f"Hello. I can help you find support for a child or young person (up to 25) with special educational "
        f"needs or a disability in {coverage}. Tell me their age, what you're worried about, and where you live, in "
        "any order. I won't ask for names or addresses.",
        "buttons": [BUTTON_FIND, BUTTON_EHCP, BUTTON_PERSON],
    }


def out_of_scope(coverage: str) -> dict:
    return {
        "text": f"Sorry, I can't help with that. I can help you find SEND services for a child or young person up to 25 "
        f"in {coverage}, answer questions about EHC plans and SEN support, or put you in touch with a person.",
        "buttons": [BUTTON_FIND, BUTTON_PERSON],
    }


BUTTON_FIND = {"title": "Find help", "payload": "/find_services"}
BUTTON_EHCP = {"title": "What's an EHC plan?", "payload": "/ask_ehcp"}


# --- what I understood, and what changed ---------------------------------------------------------

DETAIL_LABELS = {"age": "age", "needs": "needs", "place": "place"}
PLAN_WORDS = {True: "has an EHC plan", False: "no EHC plan yet"}
CHANGE_BUTTONS = [
    {"title": "Change the age", "payload": '/change_detail{"detail": "age"}'},
    {"title": "Change the needs", "payload": '/change_detail{"detail": "needs"}'},
    {"title": "Change the place", "payload": '/change_detail{"detail": "place"}'},
]


def age_words(age: float) -> str:
    """7 -> "7 years old", 1.5 -> "18 months old", 0 -> "a newborn"."""
    if age == 0:
        return "a newborn"
    if age < 2:
        months = round(age * 12)
        return f"{months} month{'s' if months != 1 else ''} old"
    return f"{format_age(age)} year{'s' if age != 1 else ''} old"


def place_words(place: str | None, district: str | None, authority: str | None) -> str:
    """ "Andover (Test Valley)", "Southampton", "Reading"."""
    named = place or district or authority or "somewhere I don't know yet"
    area = district if district and district.casefold() != named.casefold() else None
    if area is None and authority and authority.casefold() != named.casefold() and not district:
        area = authority
    return f"{named} ({area})" if area else named


def noted_message(details: dict, vocabulary, changed: list[str] = ()) -> dict:
    """ "I've noted: 4 years old, speech and language, Andover (Test Valley)." with buttons to change any part.

    `details` holds age, needs, place, district, authority and has_ehc_plan (said only when known);
    `changed` names the parts this message changed ("age", "needs", "place", "plan").
    """
    parts = {
        "age": age_words(details["age"]) if details.get("age") is not None else "age not known",
        "needs": needs_text(details.get("needs") or [], vocabulary),
        "place": place_words(details.get("place"), details.get("district"), details.get("authority")),
    }
    plan = details.get("has_ehc_plan")
    if plan is not None:
        parts["plan"] = PLAN_WORDS[plan]
    noted = ", ".join(parts.values())
    if changed:
        new_values = [f"the {DETAIL_LABELS[c]} to {parts[c]}" for c in changed if c != "plan"]
        done = [f"changed {' and '.join(new_values)}"] if new_values else []
        if "plan" in changed:
            done.append(f"noted that there is {'an' if plan else 'no'} EHC plan")
        text = f"Thanks, I've {' and '.join(done)}. Now looking for: {noted}."
    else:
        text = f"I've noted: {noted}. If anything's wrong, just tell me or use a button."
    return {"text": text, "buttons": CHANGE_BUTTONS}


WHICH_DETAIL = "What would you like to change?"
CHANGE_PROMPTS = {
    "age": "OK, let's change the age.",
    "needs": "OK, let's change what you'd like help with.",
    "place": "OK, let's change the place.",
}


# --- never a loop: the second miss offers buttons, the third moves on ---------------------------

AGE_BUTTONS = [
    {"title": "Under 2", "payload": '/inform{"age": "1"}'},
    {"title": "2 to 4", "payload": '/inform{"age": "3"}'},
    {"title": "5 to 10", "payload": '/inform{"age": "8"}'},
    {"title": "11 to 15", "payload": '/inform{"age": "13"}'},
    {"title": "16 to 18", "payload": '/inform{"age": "17"}'},
    {"title": "19 to 25", "payload": '/inform{"age": "21"}'},
]
BUTTON_NOT_SURE = {"title": "Not sure yet", "payload": '/inform{"need": "not sure"}'}


def need_buttons(vocabulary) -> list[dict]:
    """One button per need the knowledge base knows (its plain name), then "Not sure yet" and a person."""
    buttons = [
        {"title": term.label[:1].upper() + term.label[1:], "payload": f'/inform{{"need": "{term.code}"}}'}
        for code, term in sorted(vocabulary.terms.items())
        if code in NEED_CODES and code != "unsure"
    ]
    return buttons + [BUTTON_NOT_SURE, BUTTON_PERSON]


def place_buttons(gazetteer, authority: str | None = None) -> list[dict]:
    """The districts of the family's authority, or the authorities covered, as buttons."""
    info = next((a for a in gazetteer.authorities.values() if a.name == authority), None)
    if info is not None:
        names = sorted(d.name for d in gazetteer.districts.values() if d.authority_gss == info.gss_code)
    else:
        names = sorted(a.name for a in gazetteer.authorities.values() if a.in_coverage)
    return [{"title": name, "payload": f'/inform{{"place": "{name}"}}'} for name in names] + [BUTTON_PERSON]


OFFER_CHOICES = {
    "age_years": "Let's try it another way. Pick the closest age, or type a number like 7:",
    "needs": "Let's try it another way. Pick what fits best (you can pick more than one, one at a time), or "
    "choose 'Not sure yet':",
    "local_authority": "Let's try it another way. Pick your area, or type your town or the first part of your postcode:",
    "district": "Let's try it another way. Pick your district, or type your town or the first part of your postcode:",
}
START_AGAIN_ANY_TIME = "Whenever you're ready, you can tell me your child's age, needs and where you live again, or start again."
NEEDS_NOTED_UNSURE = (
    "That's fine: I'll note 'not sure yet' and look for help that doesn't need a diagnosis. You can tell me more at any time."
)
GIVE_UP_ASKING = (
    "I'm sorry, I'm still not getting it, and I don't want to keep asking you the same thing. A person at the "
    "helpline can help you instead:"
)


def choices_message(slot: str, buttons: list[dict]) -> dict:
    return {"text": OFFER_CHOICES[slot], "buttons": buttons}


DECLINED = {
    "age_years": "That's fine. I only use the age to check which services your child can use, and I never ask for a "
    "name or date of birth. A rough idea is enough: pick an age band, or talk to a person.",
    "local_authority": "That's fine: I don't need your address. Services depend on the council area you live in, so "
    "choosing your area is enough. Or talk to a person.",
}
"""Said when a parent would rather not answer (conversation/declines.py), with the choices as buttons."""
WHOLE_AUTHORITY = (
    "That's fine. I'll look across the whole of {authority}. Tell me your town at any time to see the services nearest you."
)
NEEDS_DECLINED = (
    "That's fine. I'll look for help open to any need that doesn't need a diagnosis. You can tell me more at any time."
)


def declined_message(slot: str, buttons: list[dict]) -> dict:
    return {"text": DECLINED[slot], "buttons": buttons}


# --- three kinds of worry ----------------------------------------------------------------------


def _contact_line(sp: SignpostEntry) -> str:
    line = f"{sp.name}: {sp.phone}" if sp.phone else sp.name
    if sp.opening_hours:
        line += f" ({sp.opening_hours})"
    return line


def _people_message(intro: str, people: list[SignpostEntry], outro: str) -> dict:
    """Words, a list of people to contact, more words; the widget shows the people as cards between them."""
    lines = "\n".join("- " + _contact_line(sp) for sp in people)
    return {
        "text": f"{intro}\n{lines}\n{outro}",
        "custom": signposts_payload([signpost_card(sp) for sp in people], f"{intro} {outro}"),
    }


def safeguarding_message(signposts: list[SignpostEntry]) -> dict:
    """Someone may be harming the child: 999 if in danger now; otherwise the council's front door and the NSPCC."""
    return _people_message(
        "Thank you for telling me. That must be very worrying. If the child is in danger right now, call 999. "
        "Otherwise, please tell people whose job is to keep children safe. They will listen and can act:",
        signposts,
        "You don't need proof, and you can talk it through with them first.",
    )


def support_parent_message(helplines: list[SignpostEntry], advice: list[SignpostEntry]) -> dict:
    """The parent is at the end of their tether (no danger): kindness, a person to talk to, and local support."""
    people = helplines + [sp for sp in advice if sp not in helplines]
    return _people_message(
        "I'm so sorry, that sounds exhausting, and you don't have to sort it all out on your own. "
        "These people can talk it through with you:",
        people,
        "If it's about school (being sent home, left out or excluded), the SENDIAS service can advise you on your "
        "child's rights, free. If you ever feel you can't keep going, Samaritans are there any time on 116 123. "
        "I'll keep helping you find services too.",
    )


NEW_CHILD = "Of course. Let's look at your other child."
