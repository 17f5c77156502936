"""conversation.messages: what the assistant says, built from real engine results on the seeded catalogue."""

from __future__ import annotations

import re

import pytest

from conversation import messages
from conversation.messages import (
    BUTTON_MORE,
    BUTTON_PERSON,
    BUTTON_RESTART,
    PAGE_SIZE,
    SAMPLE_MARK,
    card_text,
    cost_text,
    helpline_message,
    local_advice_message,
    location_text,
    no_match_messages,
    out_of_area_messages,
    over_age_messages,
    question,
    results_messages,
    reviewed_text,
    schedule_text,
    service_card,
    short_access_text,
    who_text,
    why_not_message,
)
from knowledge.ages import parse_age
from knowledge.catalogue import Catalogue
from knowledge.engine import evaluate, explain_service
from knowledge.vocabulary import LOCAL_OFFER_MAX_AGE

SEARCHES = [(7, ["autism"], "Havant"), (2, ["speech_language"], "SO16"), (16, ["physical", "medical"], "Portsmouth")]


def _pages(kb, result):
    """Every page of the results, as results_messages would be called for it: (start, records, messages)."""
    vocabulary = kb.catalogue().vocabulary
    for start in range(0, len(result.eligible), PAGE_SIZE):
        ids = [m.service.id for m in result.eligible[start : start + PAGE_SIZE]]
        records = kb.details(ids)
        assert [r["id"] for r in records] == ids
        yield start, records, results_messages(result, records, start, vocabulary)


def _without(catalogue: Catalogue, ids) -> Catalogue:
    """The real catalogue less some services (to reach a gap the seed data doesn't have)."""
    ids = set(ids)
    kept = [s for s in catalogue.services if s.id not in ids]
    return Catalogue.build(catalogue.version, kept, catalogue.signposts, catalogue.gazetteer, catalogue.vocabulary)


def _no_match(catalogue, age, needs, place):
    found = evaluate(catalogue, age, needs, place)
    assert found.status == "ok"
    result = evaluate(_without(catalogue, [m.service.id for m in found.eligible]), age, needs, place)
    assert result.status == "no_match"
    return result


def _local(catalogue, kind, authority_gss):
    return [sp for sp in catalogue.signposts if sp.kind == kind and sp.scope == "local" and sp.authority_gss == authority_gss]


def _all_text(items) -> str:
    return "\n".join(item.get("text") or "" for item in items)


# --- results ---------------------------------------------------------------------------


@pytest.mark.parametrize("age, needs, place", SEARCHES)
def test_results_intro_gives_the_count_and_the_family(seeded_kb, age, needs, place):
    result = seeded_kb.find(age, needs, place, record_unmet=False)
    assert result.status == "ok"
    vocabulary = seeded_kb.catalogue().vocabulary
    _start, _records, first = next(_pages(seeded_kb, result))
    intro = first[0]["text"]
    assert f"I found {len(result.eligible)} services" in intro
    assert who_text(age) in intro
    for need in needs:
        assert vocabulary.label(need) in intro
    assert (result.place.district_name or result.place.authority_name) in intro


@pytest.mark.parametrize("age, needs, place", SEARCHES)
def test_every_card_says_why_how_when_where_and_the_details_as_text_too(seeded_kb, age, needs, place):
    result = seeded_kb.find(age, needs, place, record_unmet=False)
    for start, records, page in _pages(seeded_kb, result):
        message = page[-1]
        cards = message["custom"]["cards"]
        assert len(cards) == len(records)
        for card, record, match in zip(cards, records, result.eligible[start:], strict=False):
            assert card_text(card) in message["text"]  # text channels get the same content
            text = card_text(card)
            assert text.startswith(f"**{record['name']}")
            assert card["why_line"] and f"Why it fits: {card['why_line']}" in text
            assert card["why"] == list(match.reasons)
            assert f"How to get it: {short_access_text(record)}" in text
            assert f"Who it's for: {record['who_for']}" in text
            assert f"What to expect: {record['what_to_expect']}" in text
            assert f"Cost: {cost_text(record)}" in text
            assert reviewed_text(record) in text
            if record["review_due"]:
                assert "due for a check" in text
            phones = [c["phone"] for c in record["contacts"] if c.get("phone")]
            assert card["phone"] == (phones[0] if phones else None)
            if card["phone"]:
                assert f"Phone {card['phone']}" in text
            for schedule in record["schedules"]:
                assert schedule_text(schedule) in card["when"]
            if record["schedules"]:
                assert "When: " in text
            for location in record["locations"][:2]:
                assert location["postcode"] in " ".join(card["where"])
                assert location_text(location) in text


def test_when_and_where_come_from_the_stored_schedules_and_locations(seeded_kb):
    result = seeded_kb.find(4, ["speech_language"], "Andover", record_unmet=False)
    records = seeded_kb.details([m.service.id for m in result.eligible])
    with_venue = next(r for r in records if r["locations"] and r["schedules"])
    card = service_card(with_venue)
    venue = with_venue["locations"][0]
    assert card["where"][0] == f"{venue['name']}, {venue['address_1']}, {venue['city']} {venue['postcode']}"
    assert card["when"] == [s["description"] for s in with_venue["schedules"]]
    by_phone = next(r for r in records if not r["locations"] and "phone" in (r["how_to_access"] or "").lower())
    assert service_card(by_phone)["where"][0].startswith("By phone")
    described = {**with_venue["schedules"][0], "description": None, "byday": "TU,TH", "opens_at": "13:00", "closes_at": "16:30"}
    assert schedule_text(described) == "Tuesdays and Thursdays, 1pm to 4:30pm"
    assert schedule_text({**described, "byday": "1FR", "opens_at": "09:30", "closes_at": "12:00"}) == (
        "First Friday of the month, 9:30am to 12 noon"
    )


def test_the_childs_need_first_under_its_own_heading_then_general_help(seeded_kb):
    result = seeded_kb.find(4, ["speech_language"], "Andover", record_unmet=False)
    vocabulary = seeded_kb.catalogue().vocabulary
    label = vocabulary.label("speech_language")
    pages = list(_pages(seeded_kb, result))
    intro = pages[0][2][0]["text"]
    specific = len(result.groups[0].matches)
    assert intro.startswith(f"I found {len(result.eligible)} services for a 4-year-old with {label} in Test Valley")
    assert f"{specific} specifically for that first" in intro
    cards = [card for _s, _r, page in pages for card in page[-1]["custom"]["cards"]]
    headings = [(i, card["group_heading"]) for i, card in enumerate(cards) if card["group_heading"]]
    assert headings == [(0, f"For {label}"), (specific, messages.GENERAL_HEADING)]
    assert [card["group"] for card in cards] == [m.group for m in result.eligible]
    first_text = pages[0][2][-1]["text"]
    assert first_text.startswith(f"**For {label}**\n\n**{cards[0]['name']}")
    plan_cards = [card for card in cards if card["needs_ehc_plan"]]
    assert plan_cards and cards[-len(plan_cards) :] == plan_cards  # plan-only services last
    assert all(messages.EHC_PLAN_MARK in card_text(card) for card in plan_cards)


def test_only_general_help_is_said_plainly(seeded_kb):
    result = seeded_kb.find(23, ["hearing"], "New Forest", record_unmet=False)
    vocabulary = seeded_kb.catalogue().vocabulary
    _start, _records, page = next(_pages(seeded_kb, result))
    intro = page[0]["text"]
    label = vocabulary.label("hearing")
    assert intro.startswith(f"I couldn't find anything specifically for {label} for a young person aged 23 in the New Forest")
    assert "here is general help" in intro and f"{len(result.eligible)} services" in intro
    assert "I found" not in intro
    assert page[-1]["custom"]["cards"][0]["group_heading"] == messages.GENERAL_HEADING


def test_the_text_that_repeats_the_cards_is_marked_for_the_widget(seeded_kb):
    result = seeded_kb.find(7, ["autism"], "Havant", record_unmet=False)
    _start, _records, page = next(_pages(seeded_kb, result))
    custom = page[-1]["custom"]
    assert custom["text_repeats_cards"] is True
    assert custom["summary"].startswith("That's 3 of") and page[-1]["text"].endswith(custom["summary"])
    assert page[-1]["buttons"]  # sent with buttons, so Rasa's REST channel keeps the text as one item
    assert "\n\n" not in page[0]["text"]


@pytest.mark.parametrize("age, needs, place", SEARCHES)
def test_cards_payload_matches_the_page(seeded_kb, age, needs, place):
    result = seeded_kb.find(age, needs, place, record_unmet=False)
    total = len(result.eligible)
    for start, records, page in _pages(seeded_kb, result):
        custom = page[-1]["custom"]
        assert custom["type"] == "service_cards"
        assert [c["id"] for c in custom["cards"]] == [r["id"] for r in records]
        assert custom["shown"] == start + len(records) and custom["total"] == total
        for card, match in zip(custom["cards"], result.eligible[start:], strict=False):
            assert card["why"] == list(match.reasons)
            assert card["tier"] == match.service.tier
            assert card["group"] == match.group
            assert card["needs_ehc_plan"] == match.needs_ehc_plan


def test_paging_text_and_show_more_only_while_more_remain(seeded_kb):
    result = seeded_kb.find(7, ["autism"], "Havant", record_unmet=False)
    total = len(result.eligible)
    assert total > PAGE_SIZE
    pages = list(_pages(seeded_kb, result))
    for start, records, page in pages:
        tail = page[-1]
        end = start + len(records)
        if end < total:
            assert f"That's {end} of {total}" in tail["text"]
            assert tail["buttons"][0] == BUTTON_MORE
        else:
            assert "That's all of them" in tail["text"]
            assert BUTTON_MORE not in tail["buttons"]
        assert BUTTON_PERSON in tail["buttons"] and BUTTON_RESTART in tail["buttons"]
    assert sum(len(records) for _s, records, _p in pages) == total
    # only the first page has the introduction
    assert all("I found" not in page[0]["text"] for start, _r, page in pages if start)


def test_one_service_is_singular_and_has_no_show_more(seeded_kb, catalogue):
    found = evaluate(catalogue, 7, ["autism"], "Havant")
    one = _without(catalogue, [m.service.id for m in found.eligible[1:]])
    result = evaluate(one, 7, ["autism"], "Havant")
    assert len(result.eligible) == 1
    records = seeded_kb.details([result.eligible[0].service.id])
    page = results_messages(result, records, 0, catalogue.vocabulary)
    assert "I found 1 service for" in page[0]["text"]
    assert BUTTON_MORE not in page[-1]["buttons"]


def test_sample_data_is_marked(seeded_kb):
    result = seeded_kb.find(7, ["autism"], "Havant", record_unmet=False)
    records = seeded_kb.details([m.service.id for m in result.eligible[:PAGE_SIZE]])
    vocabulary = seeded_kb.catalogue().vocabulary
    assert any(r["is_sample"] for r in records), "the seed services are sample data"
    page = results_messages(result, records, 0, vocabulary)
    for card, record in zip(page[-1]["custom"]["cards"], records, strict=True):
        assert (SAMPLE_MARK in card_text(card).splitlines()[0]) == record["is_sample"] == card["is_sample"]
    assert "sample data" in page[-1]["custom"]["summary"]

    real = [{**r, "is_sample": False} for r in records]
    page = results_messages(result, real, 0, vocabulary)
    assert SAMPLE_MARK not in _all_text(page)
    assert "sample data" not in page[-1]["text"]


def test_card_for_a_record_with_gaps(seeded_kb, catalogue):
    record = seeded_kb.details([catalogue.services[0].id])[0]
    bare = {**record, "cost_options": [], "contacts": [], "url": None, "email": None, "last_reviewed": None, "assured_date": None}
    text = card_text(service_card(bare))
    assert "Cost: Ask the service" in text
    assert "Contact: see the organisation's details" in text
    assert "Not yet checked" in text


def test_cost_text_on_real_records(seeded_kb, catalogue):
    records = seeded_kb.details([s.id for s in catalogue.services])
    for record in records:
        options = record["cost_options"]
        if options and all(o.get("amount_description") for o in options):
            assert cost_text(record) == "; ".join(dict.fromkeys(o["amount_description"] for o in options))
    record = records[0]
    assert cost_text({**record, "cost_options": [{"option": "Free", "amount": 0.0}]}) == "Free"
    assert cost_text({**record, "cost_options": [{"option": "Per session", "amount": 3.0}]}) == "\u00a33 (Per session)"
    assert cost_text({**record, "cost_options": [{"option": "Donation welcome"}]}) == "Donation welcome"
    assert cost_text({**record, "cost_options": []}) == "Ask the service"


def test_pence_are_shown_in_full(seeded_kb, catalogue):
    record = seeded_kb.details([catalogue.services[0].id])[0]
    assert cost_text({**record, "cost_options": [{"option": "Per session", "amount": 12.5}]}) == "\u00a312.50 (Per session)"


def test_access_text_names_who_can_refer_and_ehc_plans(seeded_kb, catalogue):
    records = seeded_kb.details([s.id for s in catalogue.services])
    referral = next(r for r in records if r["access_route"] == "professional_referral" and r["referrers"])
    plan = next(r for r in records if r["access_route"] == "ehc_plan")
    assert "Who can refer: " + ", ".join(referral["referrers"]) in service_card(referral)["how_to_access"]
    assert "EHC plan" in service_card(plan)["how_to_access"]


# --- nothing fits ------------------------------------------------------------------------


@pytest.mark.parametrize("place", ["Gosport", "Southampton", "Portsmouth"])
def test_no_match_gives_the_reason_and_local_signposts(catalogue, place):
    result = _no_match(catalogue, 7, ["vision"], place)
    items = no_match_messages(result, catalogue.vocabulary)
    text = _all_text(items)
    assert "couldn't find" in items[0]["text"]
    assert who_text(7) in items[0]["text"] and catalogue.vocabulary.label("vision") in items[0]["text"]
    assert place in items[0]["text"]
    assert result.near_misses, "something should come close"
    for miss in result.near_misses[:4]:
        assert f"{miss.service.name}: {miss.why_not}." in text
    authority = result.place.authority_gss
    sendias, forum = _local(catalogue, "sendias", authority), _local(catalogue, "parent_carer_forum", authority)
    assert sendias and forum
    for signpost in sendias + forum:
        assert signpost.name in text
        assert signpost.phone is None or signpost.phone in text
    other = [sp for sp in catalogue.signposts if sp.scope == "local" and sp.authority_gss != authority]
    assert not [sp.name for sp in other if sp.name in text]
    assert items[-1]["buttons"] == [BUTTON_PERSON, BUTTON_RESTART]
    signposts = next(i["custom"] for i in items if i.get("custom"))
    assert signposts["signposts"][0]["id"] == sendias[0].id


def test_no_match_without_near_misses_still_signposts(catalogue):
    found = evaluate(catalogue, 7, ["vision"], "Gosport")
    gone = {m.service.id for m in found.eligible} | {m.service.id for m in found.near_misses}
    # remove the near misses too, until nothing is left close
    cat = _without(catalogue, gone)
    for _ in range(10):
        result = evaluate(cat, 7, ["vision"], "Gosport")
        if not result.near_misses:
            break
        gone |= {m.service.id for m in result.near_misses}
        cat = _without(catalogue, gone)
    assert result.status == "no_match" and not result.near_misses
    text = _all_text(no_match_messages(result, cat.vocabulary))
    assert "came close" not in text
    assert _local(catalogue, "sendias", result.place.authority_gss)[0].name in text


# --- outside the area, over 25 ---------------------------------------------------------------


@pytest.mark.parametrize("town", ["Reading", "Salisbury", "Guildford", "RG1"])
def test_out_of_area_names_that_authority_and_its_local_offer(catalogue, town):
    result = evaluate(catalogue, 7, ["autism"], town)
    assert result.status == "out_of_area"
    authority = catalogue.gazetteer.authorities[result.place.authority_gss]
    items = out_of_area_messages(result, messages.coverage_text(catalogue.gazetteer))
    first = items[0]["text"]
    if town == authority.name:
        assert first.startswith(f"{town} is outside the area we cover")
        assert f"is in {authority.name}" not in first
    else:
        assert first.startswith(f"{result.place.matched} is in {authority.name}, which is outside the area we cover")
    assert all(a.name in first for a in catalogue.gazetteer.authorities.values() if a.in_coverage)
    assert authority.council_name and f"{authority.council_name}'s Local Offer: " in first
    if authority.local_offer_url:
        assert first.endswith(authority.local_offer_url)
    else:  # the council's own website, marked as such
        assert first.endswith(f"search for 'Local Offer' on the council website, {authority.website}")
    text = _all_text(items)
    assert not [sp.name for sp in catalogue.signposts if sp.scope == "local" and sp.name in text]
    assert any(sp.signpost.scope == "national" and sp.signpost.name in text for sp in result.signposts)
    assert "tell me where you live" in items[-1]["text"]


def test_every_english_authority_has_a_local_offer_address_or_its_council_website(catalogue):
    authorities = catalogue.gazetteer.authorities.values()
    assert len(authorities) > 150
    for authority in authorities:
        assert authority.council_name, authority
        address = authority.local_offer_url or authority.website
        assert address and address.startswith("https://"), authority
    assert any(a.local_offer_url for a in authorities)


def test_reading_is_sent_to_reading_borough_councils_local_offer(catalogue):
    first = out_of_area_messages(evaluate(catalogue, 9, ["autism"], "Reading"), "our area")[0]["text"]
    assert first.startswith("Reading is outside the area we cover")
    assert "Reading Borough Council's Local Offer: " in first
    assert "Reading is in Reading" not in first


def test_out_of_area_without_a_known_authority_points_to_the_council_finder(catalogue):
    result = evaluate(catalogue, 7, ["autism"], "M1 1AA")
    assert result.status == "out_of_area" and result.place.authority_name is None
    first = out_of_area_messages(result, "our area")[0]["text"]
    assert first.startswith("M1 is outside the area")
    assert messages.FIND_COUNCIL_URL in first


@pytest.mark.parametrize("age, place", [(30, "Havant"), (26, "Southampton"), (40, "Portsmouth")])
def test_over_25_explains_the_age_limit_and_signposts_adult_services(catalogue, age, place):
    result = evaluate(catalogue, age, ["autism"], place)
    assert result.status == "over_age"
    items = over_age_messages(result)
    first = items[0]["text"]
    assert "from birth up to age 25" in first
    assert f"at {age}" in first
    assert "Adult social care" in first
    text = _all_text(items)
    adult = _local(catalogue, "adult_services", result.place.authority_gss)
    assert adult and all(sp.name in text for sp in adult)
    shown = [m.signpost for m in result.signposts]
    assert all(sp.kind == "adult_services" or (sp.maximum_age or 0) > LOCAL_OFFER_MAX_AGE for sp in shown)
    assert BUTTON_PERSON in items[-1]["buttons"]


def test_over_age_boundary(catalogue):
    assert evaluate(catalogue, 25.9, ["autism"], "Havant").status == "ok"
    assert evaluate(catalogue, 26, ["autism"], "Havant").status == "over_age"


# --- questions ----------------------------------------------------------------------------


@pytest.mark.parametrize("slot", ["age_years", "needs", "local_authority", "district"])
def test_rephrased_question_differs(slot):
    plain, again, resumed = question(slot), question(slot, rephrase=True), question(slot, resuming=True)
    assert plain["text"] and again["text"] and plain["text"] != again["text"]
    assert again["text"].startswith("Sorry")
    assert resumed["text"] == "Back to finding services. " + plain["text"]
    assert question(slot, rephrase=True, resuming=True) == again


def test_needs_question_offers_not_sure():
    for kwargs in ({}, {"rephrase": True}):
        buttons = question("needs", **kwargs)["buttons"]
        assert any("not sure" in b["payload"] for b in buttons)
    assert question("age_years")["buttons"] == []


def test_every_question_example_is_understood(catalogue):
    """The examples the questions give must themselves be understood."""
    assert parse_age("Year 6", expecting=True) == 10
    assert parse_age("18 months", expecting=True) == 1.5
    assert parse_age("3 and a half", expecting=True) == 3.5
    assert parse_age("Reception", expecting=True) == 4
    quoted = re.compile(r"(?<!\w)'(.+?)'(?=[,.\s]|$)")
    examples = quoted.findall(question("needs")["text"]) + quoted.findall(question("needs", rephrase=True)["text"])
    assert len(examples) >= 8
    for example in examples:
        assert catalogue.vocabulary.codes_in_text(example), example
    for code in ("PO9", "SO16"):
        assert code in question("local_authority")["text"]
        assert code in catalogue.gazetteer.postcodes


# --- why not, helplines, local advice ------------------------------------------------------


def test_why_not_lists_what_is_not_met(catalogue):
    result = evaluate(catalogue, 7, ["autism"], "Havant")
    for miss in result.near_misses:
        explanation = explain_service(catalogue, miss.service.id, 7, ["autism"], "Havant")
        text = why_not_message(explanation)["text"]
        assert text.startswith(f"{miss.service.name} isn't on your list because ")
        for reason in explanation.not_met:
            assert reason in text
    kinds = {m.kind for m in result.near_misses}
    assert {"age", "area"} <= kinds


def test_why_not_for_a_service_that_fits(catalogue):
    match = evaluate(catalogue, 7, ["autism"], "Havant").eligible[0]
    explanation = explain_service(catalogue, match.service.id, 7, ["autism"], "Havant")
    assert why_not_message(explanation)["text"].startswith(f"{match.service.name} does fit: ")


def test_why_not_before_we_know_anything(catalogue):
    explanation = explain_service(catalogue, catalogue.services[0].id, None, [], None)
    text = why_not_message(explanation, ["their age", "their needs", "where you live"])["text"]
    assert "once I know their age and their needs and where you live" in text
    assert "does fit" not in text


def test_helpline_and_local_advice_messages(catalogue):
    helplines = [sp for sp in catalogue.signposts if sp.kind == "helpline"]
    text = helpline_message(helplines)["text"]
    assert all(sp.name in text and sp.phone in text for sp in helplines)
    advice = [sp for sp in catalogue.signposts if sp.kind in ("sendias", "parent_carer_forum")]
    message = local_advice_message(advice)
    assert all(sp.name in message["text"] for sp in advice)
    assert [c["id"] for c in message["custom"]["signposts"]] == [sp.id for sp in advice]


# --- ages in words ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "age, words", [(7, "a 7-year-old"), (16, "a 16-year-old"), (19, "a young person aged 19"), (3.5, "a 3 and a half-year-old")]
)
def test_who_text(age, words):
    assert who_text(age) == words


@pytest.mark.parametrize("said", ["6 weeks old", "1 month", "2 weeks old", "newborn"])
def test_babies_ages_read_naturally(said):
    words = who_text(parse_age(said))
    assert not re.search(r"\b(0|1) months\b|\b0-year-old\b", words), words
