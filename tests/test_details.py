"""conversation.details: age, needs and place from one message, against the real catalogue (SQLite and PostgreSQL)."""

from __future__ import annotations

from functools import lru_cache

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conversation.details import OUTSIDE_UNKNOWN_AUTHORITY, Details, place_slots, read_details, slot_updates
from knowledge.places import ResolvedPlace
from knowledge.seed import SEED_DIR
from knowledge.vocabulary import ANY_NEED


@lru_cache(maxsize=1)
def _seed_needs() -> dict[str, str]:
    """Every phrase in knowledge/seed/needs.yaml -> its need code."""
    data = yaml.safe_load((SEED_DIR / "needs.yaml").read_text(encoding="utf-8"))
    phrases = {}
    for need in data["needs"]:
        for kind in ("synonyms", "abbreviations", "misspellings", "descriptions"):
            for phrase in need.get(kind) or ():
                phrases[phrase] = need["code"]
    return phrases


def code_of(phrase: str) -> str:
    return _seed_needs()[phrase]


def _place_named(catalogue, name: str):
    """The gazetteer's own entry for a name: (district name or None, authority name)."""
    gaz = catalogue.gazetteer
    resolved = gaz.resolve(name)
    assert isinstance(resolved, ResolvedPlace), f"{name} should be in the seed gazetteer"
    return resolved


def _district(catalogue, name: str):
    return next(d for d in catalogue.gazetteer.districts.values() if d.name == name)


def _authority_of_district(catalogue, district_name: str) -> str:
    district = _district(catalogue, district_name)
    return catalogue.gazetteer.authorities[district.authority_gss].name


CURRENT = {"age_years": 7.0, "needs": ["autism"], "district": "Havant", "local_authority": "Hampshire", "place": "Havant"}


# --- needs ------------------------------------------------------------------------------


def test_several_needs_in_one_message(catalogue):
    details = read_details("autism and ADHD", [], catalogue)
    assert details.needs == [code_of("autistic"), "adhd"]
    assert details.age is None and details.place is None


@pytest.mark.parametrize("phrase", ["isn't talking yet", "can't sit still", "won't go to school", "struggles with reading"])
def test_everyday_descriptions(catalogue, phrase):
    assert read_details(f"my son {phrase}", [], catalogue).needs == [code_of(phrase)]


@pytest.mark.parametrize("typo", ["autisum", "dyslexsia", "austistic", "epilepsey", "speach delay"])
def test_listed_misspellings(catalogue, typo):
    assert read_details(f"he has {typo}", [], catalogue).needs == [code_of(typo)]


@pytest.mark.parametrize("typo, like", [("autisumm", "autisum"), ("dyslexiaa", "dyslexsia"), ("dyspracksia", "dyspraxia")])
def test_unlisted_small_typos_are_forgiven(catalogue, typo, like):
    assert typo not in _seed_needs()
    assert read_details(f"she has {typo}", [], catalogue).needs == [code_of(like)]


@pytest.mark.parametrize("text", ["not sure", "no idea", "dunno", "waiting for an assessment"])
def test_not_sure_is_unsure(catalogue, text):
    assert read_details(text, [], catalogue).needs == ["unsure"]


@pytest.mark.parametrize("text", ["special needs", "he has SEND", "additional needs"])
def test_general_send_words_mean_nothing_specific_yet(catalogue, text):
    assert catalogue.vocabulary.resolve(text) == ANY_NEED
    assert read_details(text, [], catalogue).needs == ["unsure"]


def test_a_negated_need_is_not_a_need(catalogue):
    assert read_details("he's not autistic", [], catalogue).needs == []


def test_every_seed_phrase_is_understood_alone(catalogue):
    """Every phrase an administrator put in needs.yaml reaches its code (any_need counts as unsure)."""
    wrong = {}
    for phrase, code in _seed_needs().items():
        expected = ["unsure"] if code == ANY_NEED else [code]
        found = read_details(phrase, [], catalogue).needs
        if found != expected:
            wrong[phrase] = found
    assert not wrong


# --- places -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, outward", [("PO9 1AB", "PO9"), ("po91ab", "PO9"), ("SO16", "SO16"), ("we're in SO16 3XY", "SO16")]
)
def test_postcodes_full_and_outward(catalogue, text, outward):
    details = read_details(text, [], catalogue)
    district_gss, authority_gss = catalogue.gazetteer.postcodes[outward]
    gaz = catalogue.gazetteer
    assert details.place.matched == outward
    assert details.place.district_name == gaz.districts[district_gss].name
    assert details.place.authority_name == gaz.authorities[authority_gss].name
    assert details.age is None


@pytest.mark.parametrize("text, name", [("we live in Fleet", "Fleet"), ("near Emsworth", "Emsworth"), ("Hook", "Hook")])
def test_towns_and_villages(catalogue, text, name):
    expected = _place_named(catalogue, name)
    details = read_details(text, [], catalogue)
    assert details.place.matched == name
    assert (details.place.district_name, details.place.authority_name) == (expected.district_name, expected.authority_name)
    assert expected.district_name is not None and expected.in_coverage


def test_every_district_by_name(catalogue):
    for district in catalogue.gazetteer.districts.values():
        details = read_details(f"we're in {district.name}", [], catalogue)
        assert details.place.district_name == district.name
        assert details.place.authority_name == catalogue.gazetteer.authorities[district.authority_gss].name


def test_every_place_name_in_the_gazetteer(catalogue):
    """Each town, village, alias, district and authority we hold resolves to itself, with no age or need."""
    gaz = catalogue.gazetteer
    wrong = []
    for key in gaz.names:
        entry = gaz.resolve(key)
        details = read_details(f"we live in {key}", [], catalogue)
        place = details.place
        if (
            details.needs
            or details.age is not None
            or place is None
            or (place.authority_gss, place.district_gss) != (entry.authority_gss, entry.district_gss)
        ):
            wrong.append(key)
    assert not wrong


@pytest.mark.parametrize("town", ["Reading", "Salisbury", "Guildford"])
def test_out_of_area_places_fill_their_own_authority(catalogue, town):
    expected = _place_named(catalogue, town)
    assert not expected.in_coverage and expected.authority_name
    details = read_details(f"we live in {town}", [], catalogue)
    slots = place_slots(details.place)
    assert slots == {"district": None, "local_authority": expected.authority_name, "place": town}
    assert slots["local_authority"] not in {a.name for a in catalogue.gazetteer.authorities.values() if a.in_coverage}


def test_reading_the_skill_is_not_reading_the_town(catalogue):
    assert read_details("he struggles with reading", [], catalogue).place is None
    assert read_details("we live in Reading", [], catalogue).place.matched == "Reading"


def test_unknown_postcode_area_is_outside_with_no_authority(catalogue):
    details = read_details("M1 1AA", [], catalogue)
    assert not details.place.in_coverage
    assert place_slots(details.place)["local_authority"] == OUTSIDE_UNKNOWN_AUTHORITY


def test_a_bare_place_answer_is_resolved_only_when_a_place_was_asked(catalogue):
    # "fleet" in lower case is an everyday word: only an answer to "where do you live?" makes it a town.
    assert read_details("fleet", [], catalogue).place is None
    details = read_details("fleet", [], catalogue, requested_slot="local_authority")
    assert details.place.matched == "Fleet"
    assert (
        read_details("Basingstok", [], catalogue, requested_slot="local_authority").place.district_name == "Basingstoke and Deane"
    )


def test_an_unknown_place_answer_gives_a_place_error(catalogue):
    details = read_details("Narnia", [], catalogue, requested_slot="local_authority")
    assert details.place is None
    assert details.place_error.code == "unknown_place"
    assert read_details("SO99", [], catalogue, requested_slot="local_authority").place_error.code == "unknown_postcode"


# --- everything at once ------------------------------------------------------------------


def test_age_needs_and_place_in_one_message(catalogue):
    details = read_details("my lad's 12, autistic, won't go to school, we're in Havant", [], catalogue)
    assert details.age == 12
    assert details.needs == [code_of("autistic"), code_of("won't go to school")]
    assert details.place.district_name == "Havant"
    assert details.place.authority_name == _authority_of_district(catalogue, "Havant")


def test_a_bare_number_is_an_age_only_when_asked(catalogue):
    assert read_details("7", [], catalogue).age is None
    assert read_details("7", [], catalogue, requested_slot="needs").age is None
    assert read_details("7", [], catalogue, requested_slot="age_years").age == 7
    # and a postcode answer to the age question is a place, not an age
    details = read_details("PO9 1AB", [], catalogue, requested_slot="age_years")
    assert details.age is None and details.place.matched == "PO9"


@settings(derandomize=True, database=None, max_examples=150, deadline=None)
@given(data=st.data())
def test_any_age_need_and_place_together(catalogue, data):
    gaz = catalogue.gazetteer
    key = data.draw(st.sampled_from(gaz.names), label="place")
    term = data.draw(
        st.sampled_from(sorted((t for t in catalogue.vocabulary.terms.values() if t.code != ANY_NEED), key=lambda t: t.code))
    )
    age = data.draw(st.integers(0, 25), label="age")
    template = data.draw(
        st.sampled_from(
            [
                "my child is {age}, {need}, we live in {place}",
                "{need}; aged {age}; from {place}",
                "we are in {place} and my son is {age} years old with {need}",
            ]
        )
    )
    entry = gaz.resolve(key)
    details = read_details(template.format(age=age, need=term.name, place=key), [], catalogue)
    assert details.age == age
    assert term.code in details.needs
    assert (details.place.authority_gss, details.place.district_gss) == (entry.authority_gss, entry.district_gss)


# --- entities from the NLU model ---------------------------------------------------------


def test_entity_values_are_preferred_to_the_text(catalogue):
    entities = [
        {"entity": "age", "value": "8"},
        {"entity": "need", "value": "dyslexia"},
        {"entity": "place", "value": "Fleet"},
    ]
    details = read_details("she is 7 and we live in Havant", entities, catalogue)
    assert details.age == 8
    assert details.needs[0] == code_of("dyslexic")
    assert details.place.matched == "Fleet"


def test_an_unusable_entity_falls_back_to_the_text(catalogue):
    entities = [{"entity": "age", "value": "lots"}, {"entity": "place", "value": "Narnia"}]
    details = read_details("she's 6, we're in Havant", entities, catalogue)
    assert details.age == 6
    assert details.place.district_name == "Havant"
    assert details.place_error is None


def test_entities_of_other_kinds_and_empty_values_are_ignored(catalogue):
    entities = [{"entity": "age", "value": None}, {"entity": "colour", "value": "7"}, {"entity": "need", "value": ""}]
    assert read_details("hello", entities, catalogue) == Details()


# --- slot updates: new information and corrections ---------------------------------------


def test_slot_updates_from_nothing(catalogue):
    details = read_details("my lad's 12, autistic, won't go to school, we're in Havant", [], catalogue)
    empty = dict.fromkeys(CURRENT)
    assert slot_updates(details, empty) == {
        "age_years": 12.0,
        "needs": [code_of("autistic"), code_of("won't go to school")],
        "district": "Havant",
        "local_authority": _authority_of_district(catalogue, "Havant"),
        "place": "Havant",
    }


def test_age_correction_changes_only_the_age(catalogue):
    assert slot_updates(read_details("sorry, she's 8", [], catalogue), CURRENT) == {"age_years": 8.0}


def test_moving_changes_only_the_place(catalogue):
    fleet = _place_named(catalogue, "Fleet")
    updates = slot_updates(read_details("we're moving to Fleet", [], catalogue), CURRENT)
    assert updates == {"district": fleet.district_name, "place": "Fleet"}  # same authority, so not repeated
    assert fleet.authority_name == CURRENT["local_authority"]


def test_moving_to_another_authority_changes_it_too(catalogue):
    updates = slot_updates(read_details("actually we live in Southampton", [], catalogue), CURRENT)
    assert updates == {
        "district": "Southampton",
        "local_authority": _authority_of_district(catalogue, "Southampton"),
        "place": "Southampton",
    }


def test_moving_out_of_area(catalogue):
    salisbury = _place_named(catalogue, "Salisbury")
    updates = slot_updates(read_details("we've moved to Salisbury", [], catalogue), CURRENT)
    assert updates == {"district": None, "local_authority": salisbury.authority_name, "place": "Salisbury"}


def test_also_adds_a_need(catalogue):
    details = read_details("she also has dyslexia", [], catalogue)
    assert details.adds_needs
    assert slot_updates(details, CURRENT) == {"needs": ["autism", code_of("dyslexia")]}


def test_a_correction_replaces_the_needs(catalogue):
    assert slot_updates(read_details("sorry, I meant ADHD", [], catalogue), CURRENT) == {"needs": ["adhd"]}


@pytest.mark.parametrize("text", ["could it be dyslexia?", "and she struggles with dyslexia", "what about ADHD", "dyslexic"])
def test_a_new_need_is_added_to_the_ones_given(catalogue, text):
    needs = slot_updates(read_details(text, [], catalogue), CURRENT)["needs"]
    assert needs[0] == "autism" and len(needs) == 2


@pytest.mark.parametrize(
    "text, before, after",
    [
        ("she doesn't have ADHD, it's anxiety", ["adhd"], ["semh"]),
        ("it's not ADHD it's anxiety", ["adhd", "hearing"], ["hearing", "semh"]),
        ("I meant dyslexia, not ADHD", ["adhd", "autism"], ["autism", "specific_learning"]),
        ("she's not dyslexic", ["specific_learning", "autism"], ["autism"]),
        ("no diagnosis of ADHD yet", ["adhd"], ["unsure"]),
    ],
)
def test_negation_removes_and_replaces(catalogue, text, before, after):
    assert slot_updates(read_details(text, [], catalogue), {**CURRENT, "needs": before})["needs"] == after


@pytest.mark.parametrize("text", ["she doesn't have ADHD", "he isn't autistic", "no diagnosis of autism", "not dyslexic"])
def test_a_negated_need_is_never_added(catalogue, text):
    details = read_details(text, [], catalogue)
    assert details.needs in ([], ["unsure"]) and details.negated_needs


@pytest.mark.parametrize(
    "text, code",
    [
        ("he only has a handful of words", "speech_language"),
        ("she finds reading and spelling really hard", "specific_learning"),
        ("keeps getting sent out of class for lashing out", "semh"),
        ("he struggles to walk far and gets tired", "physical"),
        ("she can't hear the teacher properly at the back", "hearing"),
    ],
)
def test_a_need_described_without_a_label(catalogue, text, code):
    assert read_details(text, [], catalogue).needs == [code]


@pytest.mark.parametrize("text", ["he loves reading", "she talks about trains", "we walk to school"])
def test_cue_words_alone_are_not_a_need(catalogue, text):
    assert read_details(text, [], catalogue).needs == []


def test_cue_words_answer_the_question_about_needs(catalogue):
    assert read_details("his words", [], catalogue, requested_slot="needs").needs == ["speech_language"]


@pytest.mark.parametrize("text", ["f(2) my son is 7", "<b>1</b> my son is 7", "`x = 3` my son is 7", "[4] my son is 7"])
def test_numbers_in_markup_or_code_are_not_ages(catalogue, text):
    assert read_details(text, [], catalogue).age == 7


def test_an_age_entity_inside_markup_is_ignored(catalogue):
    entities = [{"entity": "age", "value": "2", "start": 2, "end": 3}]
    assert read_details("f(2) my son is 7", entities, catalogue).age == 7


@pytest.mark.parametrize(
    ("text", "number", "age"),
    [
        ("my lad is in yr 3 and cant sit still for 5 mins", "5", 7),
        ("she's 4 and only says about 10 words", "10", 4),
        ("he is 12, gets sent out 3 times a day", "3", 12),
    ],
)
def test_a_number_that_counts_something_else_is_not_the_age(catalogue, text, number, age):
    start = text.index(f" {number} ") + 1
    entities = [{"entity": "age", "value": number, "start": start, "end": start + len(number)}]  # the model's mistake
    assert read_details(text, entities, catalogue).age == age


@pytest.mark.parametrize(
    ("text", "entities", "age"),
    [
        ("she's 8. no wait, 9", [], 9),
        ("he is 5, sorry I mean 6", [], 6),
        ("my son is 7, sorry for the long message, he is 3 years behind", [], 7),
        ("she's 8 and we wait 2 years for anything", [], 8),
        ("he's 5, wait, 6 now", [], 6),
        ("my daughter is twenty six with autism", [{"entity": "age", "value": "twenty", "start": 15, "end": 21}], 26),
    ],
)
def test_an_age_corrected_or_in_words_within_one_message(catalogue, text, entities, age):
    assert read_details(text, entities, catalogue).age == age


@pytest.mark.parametrize(
    ("text", "home"),
    [
        ("not Winchester, Waterlooville", "Waterlooville"),
        ("we don't live in Alton any more, we're in Petersfield", "Petersfield"),
        ("we moved from Andover to Romsey", "Romsey"),
        ("we left Fleet last year, now in Hook", "Hook"),
        ("she won't go to school in Fareham", "Fareham"),
        ("we are not in Winchester", None),
    ],
)
def test_a_place_the_family_says_they_are_not_in_is_not_home(catalogue, text, home):
    place = read_details(text, [], catalogue).place
    assert (place.matched if place else None) == home
    at = text.find("Winchester")
    if at >= 0:  # the model's entity for the place they left is not taken either
        entities = [{"entity": "place", "value": "Winchester", "start": at, "end": at + len("Winchester")}]
        place = read_details(text, entities, catalogue).place
        assert (place.matched if place else None) == home


def test_a_named_need_replaces_not_sure(catalogue):
    current = {**CURRENT, "needs": ["unsure"]}
    assert slot_updates(read_details("they said it's autism", [], catalogue), current) == {"needs": ["autism"]}
    assert slot_updates(read_details("also ADHD", [], catalogue), current) == {"needs": ["adhd"]}


def test_repeating_what_we_know_changes_nothing(catalogue):
    details = read_details("she's 7, autistic, we're in Havant", [], catalogue)
    assert slot_updates(details, CURRENT) == {}
    assert slot_updates(read_details("she also has autism", [], catalogue), CURRENT) == {}


@pytest.mark.parametrize("answer", ["I don't know", "not sure"])
def test_not_knowing_the_place_does_not_change_the_needs(catalogue, answer):
    details = read_details(answer, [], catalogue, requested_slot="local_authority")
    current = {**CURRENT, "district": None, "local_authority": None, "place": None}
    assert "needs" not in slot_updates(details, current)
