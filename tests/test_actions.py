"""The Rasa custom actions, run for real (rasa_sdk Tracker and CollectingDispatcher) on the seeded knowledge base."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.form import (
    INTERRUPTIONS,
    ActionChangeDetail,
    ActionValidateSlotMappings,
    AskForAge,
    AskForDistrict,
    AskForLocalAuthority,
    AskForNeeds,
    ValidateServiceSearchForm,
)
from actions.glue import DETAIL_SLOTS, FORM_NAME
from actions.kb_access import use_knowledge_base
from actions.people import ActionLocalAdvice, ActionTalkToPerson
from actions.search import ActionSearchServices, ActionShowMore, ActionWhyNot, ActionWhyThis
from actions.session import ActionNewChild, ActionStartAgain
from actions.small_talk import ActionGreet, ActionOutOfScope
from actions.worry import ActionSafeguarding, ActionSupportParent
from conversation import messages
from conversation.details import OUTSIDE_UNKNOWN_AUTHORITY
from knowledge import models as m
from knowledge.engine import explain_service
from knowledge.kb import KnowledgeBase
from knowledge.seed import DEFAULT_HELPLINE_ID
from tests.conftest import seeded_engine

DOMAIN = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text(encoding="utf-8"))
SLOTS = (*DETAIL_SLOTS, "search_state", "asked_for_person", "requested_slot")
GAP = (7, ["vision"], "Gosport")
"""A search the gap knowledge base below can't answer."""
UNREACHABLE = "postgresql+psycopg2://nobody@127.0.0.1:1/none"


def tracker(slots=None, text="", intent="inform", entities=(), form=False, events=None) -> Tracker:
    values = dict.fromkeys(SLOTS)
    values.update(slots or {})
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": list(entities)}
    if events is None:
        events = [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker("test", values, latest, events, False, None, {"name": FORM_NAME} if form else {}, "action_listen")


def run(action, track):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, DOMAIN))
    return events, dispatcher.messages


def slot_events(events) -> dict:
    assert all(e["event"] == "slot" for e in events), events
    return {e["name"]: e["value"] for e in events}


def texts(sent) -> str:
    return "\n".join(message.get("text") or "" for message in sent)


@pytest.fixture
def kb(seeded_kb):
    use_knowledge_base(seeded_kb)
    yield seeded_kb
    use_knowledge_base(None)


@pytest.fixture(scope="module")
def gap_kb(backend):
    """A seeded knowledge base of its own in which nothing fits GAP (the services that did are closed)."""
    kb = KnowledgeBase(engine=seeded_engine(backend))
    ids = [match.service.id for match in kb.find(*GAP, record_unmet=False).eligible]
    assert ids
    with kb.sessions.begin() as session:
        for service in session.execute(select(m.Service).where(m.Service.id.in_(ids))).scalars():
            service.status = "inactive"
    assert kb.find(*GAP, record_unmet=False).status == "no_match"
    return kb


@pytest.fixture
def on_gap_kb(gap_kb):
    use_knowledge_base(gap_kb)
    yield gap_kb
    use_knowledge_base(None)


@pytest.fixture
def kb_down():
    down = KnowledgeBase(UNREACHABLE)
    use_knowledge_base(down)
    yield down
    use_knowledge_base(None)
    down.dispose()


def unmet_count(kb) -> int:
    with kb.sessions() as session:
        return session.execute(select(func.count()).select_from(m.UnmetSearch)).scalar_one()


def authority_of(catalogue, district_name):
    district = next(d for d in catalogue.gazetteer.districts.values() if d.name == district_name)
    return catalogue.gazetteer.authorities[district.authority_gss]


def family(catalogue, age, needs, district_name):
    return {
        "age_years": age,
        "needs": needs,
        "district": district_name,
        "local_authority": authority_of(catalogue, district_name).name,
        "place": district_name,
    }


def in_coverage(catalogue):
    return sorted((a for a in catalogue.gazetteer.authorities.values() if a.in_coverage), key=lambda a: a.name)


# --- action_validate_slot_mappings -------------------------------------------------------


def test_one_message_fills_age_needs_and_place(kb, catalogue):
    text = "my lad's 12, autistic, won't go to school, we're in Havant"
    events, sent = run(ActionValidateSlotMappings(), tracker(text=text))
    slots = slot_events(events)
    vocabulary = catalogue.vocabulary
    assert slots["age_years"] == 12
    assert {vocabulary.resolve("autistic"), vocabulary.resolve("won't go to school")} == {"autism", "semh"}
    assert set(slots["needs"]) == {"autism", "semh"}
    assert slots["district"] == "Havant"
    assert slots["local_authority"] == authority_of(catalogue, "Havant").name
    assert sent == []


def test_entities_from_the_nlu_are_used(kb):
    entities = [{"entity": "age", "value": "8"}, {"entity": "need", "value": "dyslexia"}, {"entity": "place", "value": "Fleet"}]
    slots = slot_events(run(ActionValidateSlotMappings(), tracker(text="she is 7, Havant", entities=entities))[0])
    assert slots["age_years"] == 8 and slots["needs"] == ["specific_learning"] and slots["place"] == "Fleet"


@pytest.mark.parametrize("intent", sorted(INTERRUPTIONS))
@pytest.mark.parametrize("form", [False, True])
def test_interruptions_change_nothing(kb, catalogue, intent, form):
    current = {**family(catalogue, 7, ["autism"], "Havant"), "requested_slot": None}
    text = "why not the Portsmouth school nursing service, she's 9 and dyslexic"
    events, _ = run(ActionValidateSlotMappings(), tracker(current, text=text, intent=intent, form=form))
    assert events == []


@pytest.mark.parametrize("intent", ["greet", "thank", "affirm", "out_of_scope"])
def test_outside_the_form_only_detail_intents_change_details(kb, intent):
    assert run(ActionValidateSlotMappings(), tracker(text="she's 9, we're in Havant", intent=intent))[0] == []
    assert run(ActionValidateSlotMappings(), tracker(text="she's 9, we're in Havant", intent="find_services"))[0]


@pytest.mark.parametrize(
    "requested, answer, current",
    [
        ("age_years", "purple", {}),
        ("age_years", "PO9 1AB", {"place": "PO9", "district": "Havant", "local_authority": "Hampshire"}),
        ("needs", "7", {"age_years": 7.0}),
        ("local_authority", "Narnia", {"age_years": 7.0, "needs": ["autism"]}),
        ("district", "Hampshire", {"age_years": 7.0, "needs": ["autism"], "local_authority": "Hampshire", "place": "Hampshire"}),
    ],
)
def test_an_unusable_answer_clears_the_requested_slot(kb, requested, answer, current):
    events, _ = run(ActionValidateSlotMappings(), tracker({**current, "requested_slot": requested}, text=answer, form=True))
    assert slot_events(events) == {requested: None}


@pytest.mark.parametrize(
    "requested, answer, slot, value",
    [
        ("age_years", "7", "age_years", 7.0),
        ("needs", "not sure", "needs", ["unsure"]),
        ("local_authority", "fleet", "district", "Hart"),
    ],
)
def test_an_answer_to_the_question_fills_it(kb, requested, answer, slot, value):
    events, _ = run(ActionValidateSlotMappings(), tracker({"requested_slot": requested}, text=answer, form=True))
    assert slot_events(events)[slot] == value


def test_another_detail_instead_of_the_answer_is_kept_and_the_question_stands(kb, catalogue):
    current = {"age_years": 7.0, "requested_slot": "needs", "local_authority": None}
    events, _ = run(ActionValidateSlotMappings(), tracker(current, text="sorry, she's 8 actually", form=True))
    assert slot_events(events) == {"age_years": 8.0}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sorry, she's 8", {"age_years": 8.0}),
        ("we're moving to Fleet", {"district": "Hart", "place": "Fleet"}),
        ("she also has dyslexia", {"needs": ["autism", "specific_learning"]}),
    ],
)
def test_corrections_change_only_what_was_corrected(kb, catalogue, text, expected):
    current = family(catalogue, 7, ["autism"], "Havant")
    for form in (False, True):
        events, _ = run(ActionValidateSlotMappings(), tracker({**current, "requested_slot": None}, text=text, form=form))
        assert slot_events(events) == expected


# --- validate_service_search_form --------------------------------------------------------


def test_required_slots_add_district_for_a_county_without_one(kb, catalogue):
    domain_slots = DOMAIN["forms"][FORM_NAME]["required_slots"]
    form = ValidateServiceSearchForm()

    def required(**slots):
        return asyncio.run(form.required_slots(domain_slots, CollectingDispatcher(), tracker(slots, form=True), DOMAIN))

    counties = [a for a in in_coverage(catalogue) if a.kind == "county"]
    unitaries = [a for a in in_coverage(catalogue) if a.kind != "county"]
    assert counties and unitaries
    for authority in counties:
        assert required(local_authority=authority.name) == [*domain_slots, "district"]
        assert required(local_authority=authority.name, district="Havant") == domain_slots
    for authority in unitaries:
        assert required(local_authority=authority.name) == domain_slots
    for outside in ("Reading", "Wiltshire", OUTSIDE_UNKNOWN_AUTHORITY, None):
        assert required(local_authority=outside) == domain_slots


def test_form_validation_asks_for_the_district_next(kb):
    slots = {
        "age_years": 7.0,
        "needs": ["autism"],
        "local_authority": "Hampshire",
        "place": "Hampshire",
        "requested_slot": "local_authority",
    }
    events, _ = run(ValidateServiceSearchForm(), tracker(slots, text="Hampshire", form=True))
    assert {"event": "slot", "timestamp": None, "name": "requested_slot", "value": "district"} in events
    slots = {**slots, "district": "Havant"}
    events, _ = run(ValidateServiceSearchForm(), tracker(slots, text="Havant", form=True))
    assert not [e for e in events if e.get("name") == "requested_slot"]


# --- action_ask_* ------------------------------------------------------------------------

ASKERS = [AskForAge(), AskForNeeds(), AskForLocalAuthority(), AskForDistrict()]


@pytest.mark.parametrize("asker", ASKERS, ids=lambda a: a.slot)
def test_first_question_is_the_plain_one(asker):
    _, sent = run(asker, tracker({"requested_slot": None}, text="hello", intent="find_services", form=True))
    assert sent[0]["text"] == messages.question(asker.slot)["text"]
    assert asker.name() == f"action_ask_{asker.slot}" and asker.name() in DOMAIN["actions"]


@pytest.mark.parametrize("asker", ASKERS, ids=lambda a: a.slot)
def test_not_understood_gets_the_question_in_other_words(asker):
    latest = {"text": "purple", "intent": {"name": "inform"}, "entities": []}
    events = [
        {"event": "slot", "name": "requested_slot", "value": asker.slot},
        {"event": "user", "text": "purple", "parse_data": latest},
        {"event": "slot", "name": asker.slot, "value": None},
    ]
    track = tracker({"requested_slot": asker.slot}, text="purple", form=True, events=events)
    _, sent = run(asker, track)
    assert sent[0]["text"] == messages.question(asker.slot, rephrase=True)["text"]
    assert sent[0]["text"] != messages.question(asker.slot)["text"]


@pytest.mark.parametrize("asker", ASKERS, ids=lambda a: a.slot)
def test_after_an_interruption_the_question_is_asked_again_plainly(asker):
    events = [{"event": "slot", "name": "requested_slot", "value": asker.slot}, {"event": "user", "text": "what's an EHCP?"}]
    track = tracker({"requested_slot": asker.slot}, text="what's an EHCP?", intent="ask_ehcp", form=True, events=events)
    _, sent = run(asker, track)
    assert sent[0]["text"] == messages.question(asker.slot, resuming=True)["text"]


def test_after_another_detail_the_question_is_not_called_misunderstood():
    events = [{"event": "user", "text": "we're in Havant"}, {"event": "slot", "name": "district", "value": "Havant"}]
    _, sent = run(AskForAge(), tracker({"requested_slot": "age_years"}, text="we're in Havant", form=True, events=events))
    assert not sent[0]["text"].startswith("Sorry")


def _asked_and_missed(slot: str, times: int) -> list[dict]:
    """The events of `times` questions for `slot`, each answered with something not understood."""
    events = []
    for _ in range(times):
        events += [
            {"event": "slot", "name": "requested_slot", "value": slot},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "purple", "parse_data": {"intent": {"name": "nlu_fallback"}}},
            {"event": "slot", "name": slot, "value": None},
        ]
    return events


@pytest.mark.parametrize("asker", ASKERS, ids=lambda a: a.slot)
def test_the_second_miss_offers_buttons_and_a_person(kb, asker):
    """Never the same question a third time: after two misses, the choices as buttons."""
    slots = {"requested_slot": asker.slot, "local_authority": "Hampshire" if asker.slot == "district" else None}
    events = _asked_and_missed(asker.slot, 2)
    _, sent = run(asker, tracker(slots, text="purple", intent="nlu_fallback", form=True, events=events))
    texts_sent = [sent[0]["text"]]
    assert sent[0]["text"] == messages.OFFER_CHOICES[asker.slot]
    assert messages.BUTTON_PERSON in sent[0]["buttons"] and len(sent[0]["buttons"]) >= 3
    _, sent = run(asker, tracker(slots, text="purple", intent="nlu_fallback", form=True, events=events[:4]))
    texts_sent.append(sent[0]["text"])
    assert len(set(texts_sent)) == 2 and messages.question(asker.slot)["text"] not in texts_sent


def test_questions_interrupted_again_and_again_get_buttons_every_other_time(kb):
    """'What do you mean?', 'why do you need to know?'... never the same resumed question three times running."""
    events, replies = [], []
    for _ in range(4):
        events += [
            {"event": "slot", "name": "requested_slot", "value": "needs"},
            {"event": "user", "text": "what do you mean?", "parse_data": {"intent": {"name": "ask_capabilities"}}},
        ]
        track = tracker(
            {"requested_slot": "needs"}, text="what do you mean?", intent="ask_capabilities", form=True, events=events
        )
        replies.append(run(AskForNeeds(), track)[1][0]["text"])
    assert replies[1] == messages.OFFER_CHOICES["needs"] == replies[3] and replies[0] == replies[2] != replies[1]


def test_need_buttons_come_from_the_knowledge_base(kb, catalogue):
    events = _asked_and_missed("needs", 2)
    _, sent = run(AskForNeeds(), tracker({"requested_slot": "needs"}, text="purple", form=True, events=events))
    titles = [b["title"].lower() for b in sent[0]["buttons"]]
    for code in ("autism", "speech_language", "hearing"):
        assert catalogue.vocabulary.label(code).lower() in titles
    assert messages.BUTTON_NOT_SURE in sent[0]["buttons"]


def test_place_buttons_are_the_districts_of_the_county(kb, catalogue):
    events = _asked_and_missed("district", 2)
    slots = {"requested_slot": "district", "local_authority": "Hampshire"}
    _, sent = run(AskForDistrict(), tracker(slots, text="purple", form=True, events=events))
    hampshire = authority_of(catalogue, "Havant")
    districts = {d.name for d in catalogue.gazetteer.districts.values() if d.authority_gss == hampshire.gss_code}
    assert {b["title"] for b in sent[0]["buttons"]} - {messages.BUTTON_PERSON["title"]} == districts


def test_the_third_miss_on_needs_moves_on_as_not_sure(kb):
    events = _asked_and_missed("needs", 3)
    slots = {"age_years": 7.0, "requested_slot": "needs", "needs": None}
    result, sent = run(
        ValidateServiceSearchForm(), tracker(slots, text="purple", intent="nlu_fallback", form=True, events=events)
    )
    assert {"event": "slot", "timestamp": None, "name": "needs", "value": ["unsure"]} in result
    assert sent[0]["text"] == messages.NEEDS_NOTED_UNSURE


@pytest.mark.parametrize("slot", ["age_years", "local_authority"])
def test_the_third_miss_on_age_or_place_ends_the_questions(kb, slot):
    events = _asked_and_missed(slot, 3)
    result, _ = run(ValidateServiceSearchForm(), tracker({"requested_slot": slot}, text="purple", form=True, events=events))
    assert {"event": "slot", "timestamp": None, "name": "requested_slot", "value": None} in result


RATHER_NOT = "I'd rather not say, to be honest"


def _asked(slot: str) -> list[dict]:
    return [
        {"event": "slot", "name": "requested_slot", "value": slot},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": RATHER_NOT, "parse_data": {"intent": {"name": "inform"}}},
    ]


def test_a_parent_who_would_rather_not_name_the_town_gets_the_whole_county(kb, catalogue):
    slots = {"age_years": 9.0, "needs": ["autism"], "local_authority": "Hampshire", "requested_slot": "district"}
    form = ValidateServiceSearchForm()
    result, sent = run(form, tracker(slots, text=RATHER_NOT, form=True, events=_asked("district")))
    assert {"event": "slot", "timestamp": None, "name": "whole_authority", "value": True} in result
    assert result[-1] == {"event": "slot", "timestamp": None, "name": "requested_slot", "value": None}
    assert sent[0]["text"].startswith("That's fine. I'll look across the whole of Hampshire.")
    required = asyncio.run(
        form.required_slots(["age_years", "needs", "local_authority"], CollectingDispatcher(),
                            tracker({**slots, "whole_authority": True}, form=True), DOMAIN)
    )  # fmt: skip
    assert "district" not in required
    events, sent = run(ActionSearchServices(), tracker({**slots, "whole_authority": True, "place": "Hampshire"}))
    assert slot_events(events)["search_state"]["status"] == "ok" and "Hampshire" in sent[0]["text"]


def test_a_parent_who_would_rather_not_say_the_need_gets_help_for_any_need(kb):
    slots = {"age_years": 9.0, "requested_slot": "needs"}
    result, sent = run(ValidateServiceSearchForm(), tracker(slots, text=RATHER_NOT, form=True, events=_asked("needs")))
    assert {"event": "slot", "timestamp": None, "name": "needs", "value": ["unsure"]} in result
    assert sent[0]["text"] == messages.NEEDS_DECLINED


@pytest.mark.parametrize("asker", [AskForAge(), AskForLocalAuthority()], ids=lambda a: a.slot)
def test_the_age_and_the_council_area_are_needed_so_declining_gets_why_and_choices(kb, asker):
    _, sent = run(asker, tracker({"requested_slot": asker.slot}, text=RATHER_NOT, form=True, events=_asked(asker.slot)))
    assert sent[0]["text"] == messages.DECLINED[asker.slot]
    assert messages.BUTTON_PERSON in sent[0]["buttons"] and len(sent[0]["buttons"]) >= 3


def test_two_misses_are_not_yet_enough_to_move_on(kb):
    events = _asked_and_missed("needs", 2)
    result, sent = run(ValidateServiceSearchForm(), tracker({"requested_slot": "needs"}, text="purple", form=True, events=events))
    assert not [e for e in result if e.get("name") == "needs" and e.get("value")] and not sent


def _next_question_after(kb_slots, answer_events, text):
    """Run validate_service_search_form, then the ask action Rasa would run, on the tracker Rasa would build.

    rasa/core/actions/forms.py (FormAction.request_next_slot, _temporary_tracker) asks on a temporary tracker:
    the conversation + SlotSet(requested_slot, <slot asked before>) + ActionExecuted(form) + the validation events.
    """
    track = tracker(kb_slots, text=text, form=True, events=answer_events)
    validation, _ = run(ValidateServiceSearchForm(), track)
    slots = {**kb_slots, **slot_events(validation)}
    asked = slots.get("requested_slot") if "requested_slot" in slot_events(validation) else None
    values = {k: v for k, v in slots.items() if v is not None}
    missing = next(s for s in (*DOMAIN["forms"][FORM_NAME]["required_slots"], "district") if values.get(s) is None)
    asked = asked or missing
    events = [
        *answer_events,
        {"event": "slot", "name": "requested_slot", "value": kb_slots["requested_slot"]},
        {"event": "action", "name": FORM_NAME},
        *validation,
    ]
    asker = next(a for a in ASKERS if a.slot == asked)
    _, sent = run(asker, tracker(slots, text=text, form=True, events=events))
    return asked, sent[0]["text"]


def test_next_question_in_a_unitary_authority_is_plain(kb):
    answer = [{"event": "user", "text": "7"}, {"event": "slot", "name": "age_years", "value": 7.0}]
    slots = {
        "age_years": 7.0,
        "local_authority": "Southampton",
        "district": "Southampton",
        "place": "SO16",
        "requested_slot": "age_years",
    }
    asked, text = _next_question_after(slots, answer, "7")
    assert asked == "needs" and text == messages.question("needs")["text"]


def test_next_question_in_hampshire_without_a_district_is_plain(kb):
    answer = [{"event": "user", "text": "7"}, {"event": "slot", "name": "age_years", "value": 7.0}]
    slots = {"age_years": 7.0, "local_authority": "Hampshire", "place": "Hampshire", "requested_slot": "age_years"}
    asked, text = _next_question_after(slots, answer, "7")
    assert asked == "needs" and text == messages.question("needs")["text"]


# --- action_search_services --------------------------------------------------------------


def searched(state: dict) -> dict:
    return {key: value for key, value in state.items() if key != "details"}


def test_search_ok_shows_the_first_page_and_remembers_the_rest(kb, catalogue):
    slots = family(catalogue, 7, ["autism"], "Havant")
    before = unmet_count(kb)
    events, sent = run(ActionSearchServices(), tracker(slots, intent="find_services"))
    result = kb.find(7, ["autism"], "Havant", record_unmet=False)
    state = slot_events(events)["search_state"]
    expected = {"ids": [x.service.id for x in result.eligible], "shown": messages.PAGE_SIZE, "status": "ok"}
    details = {"age": 7, "needs": ["autism"], "place": "Havant", "district": "Havant", "authority": "Hampshire"}
    assert state == {**expected, "details": {**details, "has_ehc_plan": None}}
    assert sent[0]["text"].startswith("I've noted: 7 years old, autism (including Asperger's), Havant.")
    assert sent[0]["buttons"] == messages.CHANGE_BUTTONS
    assert f"I found {len(result.eligible)} services" in sent[1]["text"]
    shown = [card["id"] for card in sent[-1]["custom"]["cards"]]
    assert shown == state["ids"][: messages.PAGE_SIZE]
    assert messages.BUTTON_MORE in sent[-1]["buttons"]
    assert unmet_count(kb) == before  # a search that found something is not a gap


def test_the_search_uses_what_the_parent_said_about_an_ehc_plan(kb, catalogue):
    slots = family(catalogue, 4, ["speech_language"], "Test Valley")
    found = kb.find(4, ["speech_language"], "Test Valley", record_unmet=False)
    plan_only = {x.service.id for x in found.eligible if x.needs_ehc_plan}
    assert plan_only, "the seed has services that need an EHC plan"
    events, sent = run(ActionSearchServices(), tracker({**slots, "has_ehc_plan": False}, intent="inform"))
    assert not plan_only & set(slot_events(events)["search_state"]["ids"])
    assert "no EHC plan yet" in sent[0]["text"]
    events, sent = run(ActionSearchServices(), tracker({**slots, "has_ehc_plan": True}, intent="inform"))
    assert plan_only <= set(slot_events(events)["search_state"]["ids"]) and "has an EHC plan" in sent[0]["text"]


def test_search_with_only_the_county(kb):
    slots = {"age_years": 7.0, "needs": ["autism"], "local_authority": "Hampshire", "place": "Hampshire"}
    events, sent = run(ActionSearchServices(), tracker(slots))
    assert slot_events(events)["search_state"]["status"] == "ok"
    assert "in Hampshire" in sent[1]["text"]


def test_search_no_match_explains_and_signposts(on_gap_kb):
    catalogue = on_gap_kb.catalogue()
    age, needs, place = GAP
    before = unmet_count(on_gap_kb)
    events, sent = run(ActionSearchServices(), tracker(family(catalogue, age, needs, place)))
    assert searched(slot_events(events)["search_state"]) == {"ids": [], "shown": 0, "status": "no_match"}
    text = texts(sent)
    assert "couldn't find" in text
    authority = authority_of(catalogue, place)
    for kind in ("sendias", "parent_carer_forum"):
        local = [sp for sp in catalogue.signposts if sp.kind == kind and sp.authority_gss == authority.gss_code]
        assert local and all(sp.name in text for sp in local)
    assert unmet_count(on_gap_kb) == before + 1
    with on_gap_kb.sessions() as session:
        row = session.execute(select(m.UnmetSearch).order_by(m.UnmetSearch.id.desc())).scalars().first()
    assert (row.needs, row.reason, row.authority_gss) == ("vision", "no_match", authority.gss_code)


@pytest.mark.parametrize("town", ["Reading", "Salisbury", "Guildford"])
def test_search_out_of_area_names_their_authority(on_gap_kb, town):
    catalogue = on_gap_kb.catalogue()
    place = catalogue.gazetteer.resolve(town)
    slots = {"age_years": 7.0, "needs": ["autism"], "local_authority": place.authority_name, "place": town}
    before = unmet_count(on_gap_kb)
    events, sent = run(ActionSearchServices(), tracker(slots))
    assert slot_events(events)["search_state"]["status"] == "out_of_area"
    said = f"{town} is outside the area" if town == place.authority_name else f"{town} is in {place.authority_name}"
    assert sent[1]["text"].startswith(said) and "Local Offer: " in sent[1]["text"]
    assert unmet_count(on_gap_kb) == before + 1


def test_search_outside_every_known_authority(on_gap_kb):
    slots = {"age_years": 7.0, "needs": ["autism"], "local_authority": OUTSIDE_UNKNOWN_AUTHORITY, "place": "M1"}
    events, sent = run(ActionSearchServices(), tracker(slots))
    assert slot_events(events)["search_state"]["status"] == "out_of_area"
    assert messages.FIND_COUNCIL_URL in sent[1]["text"]


def test_search_over_25(on_gap_kb):
    catalogue = on_gap_kb.catalogue()
    events, sent = run(ActionSearchServices(), tracker(family(catalogue, 30.0, ["autism"], "Havant")))
    assert searched(slot_events(events)["search_state"]) == {"ids": [], "shown": 0, "status": "over_age"}
    assert "up to age 25" in sent[1]["text"]
    adult = [
        sp
        for sp in catalogue.signposts
        if sp.kind == "adult_services" and sp.authority_gss == authority_of(catalogue, "Havant").gss_code
    ]
    assert adult and all(sp.name in texts(sent) for sp in adult)


@pytest.mark.parametrize("missing", ["age_years", "local_authority"])
def test_questions_given_up_hand_over_to_a_person(kb, catalogue, missing):
    """The form ends without an age or a place after three unanswered questions: a person, not a loop."""
    slots = {**family(catalogue, 7, ["autism"], "Havant"), missing: None}
    if missing == "local_authority":
        slots.update(district=None, place=None)
    events, sent = run(ActionSearchServices(), tracker(slots))
    assert slot_events(events) == {"asked_for_person": True}
    assert sent[0]["text"] == messages.GIVE_UP_ASKING
    helpline = next(sp for sp in catalogue.signposts if sp.kind == "helpline" and sp.phone)
    assert helpline.phone in texts(sent)
    assert messages.BUTTON_RESTART in sent[-1]["buttons"]


def test_a_second_search_says_what_changed(kb, catalogue):
    before = family(catalogue, 5, ["autism"], "Havant")
    state = slot_events(run(ActionSearchServices(), tracker(before))[0])["search_state"]
    after = {**family(catalogue, 15, ["autism", "semh"], "Havant"), "search_state": state}
    events, sent = run(ActionSearchServices(), tracker(after))
    assert sent[0]["text"].startswith("Thanks, I've changed the age to 15 years old and the needs to autism")
    assert slot_events(events)["search_state"]["details"]["age"] == 15
    result = kb.find(15, ["autism", "semh"], "Havant", record_unmet=False)
    assert f"I found {len(result.eligible)} services for a 15-year-old" in sent[1]["text"]


# --- show more, why these, why not --------------------------------------------------------


def test_show_more_pages_through_everything(kb, catalogue):
    slots = family(catalogue, 7, ["autism"], "Havant")
    events, _ = run(ActionSearchServices(), tracker(slots))
    state = slot_events(events)["search_state"]
    seen = list(state["ids"][: state["shown"]])
    while state["shown"] < len(state["ids"]):
        events, sent = run(ActionShowMore(), tracker({**slots, "search_state": state}, intent="show_more"))
        new_state = slot_events(events)["search_state"]
        page = [card["id"] for card in sent[-1]["custom"]["cards"]]
        assert page == state["ids"][state["shown"] : new_state["shown"]]
        assert 0 < len(page) <= messages.PAGE_SIZE
        assert (messages.BUTTON_MORE in sent[-1]["buttons"]) == (new_state["shown"] < len(state["ids"]))
        assert "I found" not in texts(sent)
        seen += page
        state = new_state
    assert seen == state["ids"]
    events, sent = run(ActionShowMore(), tracker({**slots, "search_state": state}, intent="show_more"))
    assert events == [] and sent[0]["text"] == messages.ALL_SHOWN


def test_show_more_before_any_search(kb):
    events, sent = run(ActionShowMore(), tracker(intent="show_more"))
    assert events == [] and sent[0]["text"] == messages.NOTHING_TO_SHOW


def test_why_these(kb, catalogue):
    slots = family(catalogue, 7, ["autism"], "Havant")
    _, sent = run(ActionWhyThis(), tracker(slots, intent="why_this"))
    assert sent[0]["text"] == messages.HOW_I_CHOOSE
    state = slot_events(run(ActionSearchServices(), tracker(slots))[0])["search_state"]
    _, sent = run(ActionWhyThis(), tracker({**slots, "search_state": state}, intent="why_this"))
    result = kb.find(7, ["autism"], "Havant", record_unmet=False)
    for match in result.eligible[: state["shown"]]:
        assert f"- {match.service.name}: {', '.join(match.reasons)}." in sent[0]["text"]
    assert result.eligible[state["shown"]].service.name not in sent[0]["text"]


def test_why_not_explains_each_near_miss(kb, catalogue):
    slots = family(catalogue, 7, ["autism"], "Havant")
    result = kb.find(7, ["autism"], "Havant", record_unmet=False)
    assert {miss.kind for miss in result.near_misses} >= {"age", "area"}
    for miss in result.near_misses:
        _, sent = run(ActionWhyNot(), tracker(slots, text=f"why not {miss.service.name}?", intent="why_not"))
        text = sent[0]["text"]
        assert text.startswith(f"{miss.service.name} isn't on your list because "), text
        explanation = explain_service(catalogue, miss.service.id, 7, ["autism"], "Havant")
        assert explanation.not_met and all(reason in text for reason in explanation.not_met)
        if miss.kind == "age":
            assert "your child is 7" in text
        if miss.kind == "area":
            assert "you are in Havant" in text


def test_why_not_with_a_loosely_typed_name(kb, catalogue):
    slots = family(catalogue, 7, ["autism"], "Havant")
    miss = next(x for x in kb.find(7, ["autism"], "Havant", record_unmet=False).near_misses if x.kind == "area")
    _, sent = run(ActionWhyNot(), tracker(slots, text=f"what about {miss.service.name.lower()}", intent="why_not"))
    assert sent[0]["text"].startswith(f"{miss.service.name} isn't on your list")


def test_why_not_for_a_service_on_the_list(kb, catalogue):
    slots = family(catalogue, 7, ["autism"], "Havant")
    match = kb.find(7, ["autism"], "Havant", record_unmet=False).eligible[0]
    _, sent = run(ActionWhyNot(), tracker(slots, text=f"why not {match.service.name}", intent="why_not"))
    assert sent[0]["text"].startswith(f"{match.service.name} does fit: ")


def test_why_not_an_unknown_service(kb, catalogue):
    _, sent = run(ActionWhyNot(), tracker(family(catalogue, 7, ["autism"], "Havant"), text="why not the moon", intent="why_not"))
    assert sent[0]["text"] == messages.WHICH_SERVICE


def test_why_not_before_any_details(kb, catalogue):
    match = kb.find(7, ["autism"], "Havant", record_unmet=False).eligible[0]
    _, sent = run(ActionWhyNot(), tracker(text=f"why not {match.service.name}", intent="why_not"))
    assert "does fit" not in sent[0]["text"]


# --- people ------------------------------------------------------------------------------


def test_talk_to_person_gives_the_local_helpline(kb, catalogue):
    helplines = [sp for sp in catalogue.signposts if sp.kind == "helpline"]
    for authority in in_coverage(catalogue):
        local = [sp for sp in helplines if sp.authority_gss == authority.gss_code]
        assert local, authority.name
        events, sent = run(ActionTalkToPerson(), tracker({"local_authority": authority.name}, intent="talk_to_person"))
        assert slot_events(events) == {"asked_for_person": True}
        text = sent[0]["text"]
        assert all(sp.phone in text for sp in local)
        assert not [sp.phone for sp in helplines if sp not in local and sp.phone in text]
        assert sent[-1]["custom"] == {"type": "handoff_offer"}  # the widget offers a person or a call-back


@pytest.mark.parametrize("authority", [None, "Reading", OUTSIDE_UNKNOWN_AUTHORITY])
def test_talk_to_person_without_a_local_authority_lists_every_helpline(kb, catalogue, authority):
    events, sent = run(ActionTalkToPerson(), tracker({"local_authority": authority}, intent="talk_to_person"))
    assert slot_events(events) == {"asked_for_person": True}
    assert all(sp.phone in sent[0]["text"] for sp in catalogue.signposts if sp.kind == "helpline")


def test_local_advice_gives_sendias_and_the_forum(kb, catalogue):
    for authority in in_coverage(catalogue):
        _, sent = run(ActionLocalAdvice(), tracker({"local_authority": authority.name}, intent="ask_sendias"))
        local = [sp for sp in catalogue.signposts if sp.kind in ("sendias", "parent_carer_forum")]
        mine = [sp for sp in local if sp.authority_gss == authority.gss_code]
        assert {c["id"] for c in sent[0]["custom"]["signposts"]} == {sp.id for sp in mine}


# --- a second child, starting again -------------------------------------------------------


def test_new_child_forgets_age_and_needs_but_keeps_the_home(kb, catalogue):
    slots = {**family(catalogue, 7, ["autism"], "Havant"), "search_state": {"ids": ["x"], "shown": 1, "status": "ok"}}
    events, _ = run(ActionNewChild(), tracker(slots, text="can I ask about my other child too?", intent="new_child"))
    assert slot_events(events) == {"age_years": None, "needs": None, "has_ehc_plan": None, "search_state": None}
    events, _ = run(ActionNewChild(), tracker(slots, text="my daughter is 4 and isn't talking yet", intent="new_child"))
    forgotten = ("age_years", "needs", "has_ehc_plan", "search_state")
    assert events[:4] == [{"event": "slot", "timestamp": None, "name": name, "value": None} for name in forgotten]
    assert slot_events(events[4:]) == {"age_years": 4.0, "needs": ["speech_language"]}


def test_new_child_with_the_same_age_still_sets_it(kb, catalogue):
    slots = family(catalogue, 7, ["autism"], "Havant")
    events, _ = run(ActionNewChild(), tracker(slots, text="her brother is 7 too, and has ADHD", intent="new_child"))
    assert slot_events(events[4:]) == {"age_years": 7.0, "needs": ["adhd"]}


def test_worried_about_my_boy_as_an_opening_is_not_another_child(kb):
    _, sent = run(ActionNewChild(), tracker(text="I'm concerned about my little boy", intent="new_child"))
    assert messages.NEW_CHILD not in texts(sent)
    events, sent = run(
        ActionNewChild(), tracker({"age_years": 7.0, "needs": ["autism"]}, text="and my other son?", intent="new_child")
    )
    assert sent[0]["text"] == messages.NEW_CHILD
    assert slot_events(events)["age_years"] is None


@pytest.mark.parametrize(
    "text, entities, cleared, kept",
    [
        ("/change_detail", [{"entity": "detail", "value": "age"}], ["age_years"], ["needs", "district"]),
        (
            "the area is wrong",
            [{"entity": "detail", "value": "area", "start": 4, "end": 8}],
            ["district", "local_authority"],
            ["age_years"],
        ),
        ("/change_detail", [{"entity": "detail", "value": "needs"}], ["needs"], ["age_years"]),
    ],
)
def test_change_one_detail_forgets_just_that(kb, catalogue, text, entities, cleared, kept):
    slots = family(catalogue, 7, ["autism"], "Havant")
    events, sent = run(ActionChangeDetail(), tracker(slots, text=text, intent="change_detail", entities=entities))
    changed = slot_events(events)
    assert all(changed[name] is None for name in cleared) and not set(kept) & set(changed)
    assert sent[0]["text"].startswith("OK, let's change")


def test_change_the_age_to_a_new_one_in_the_same_message(kb, catalogue):
    slots = family(catalogue, 7, ["autism"], "Havant")
    entities = [{"entity": "detail", "value": "age", "start": 11, "end": 14}]
    events, _ = run(ActionChangeDetail(), tracker(slots, text="change the age to 15", intent="change_detail", entities=entities))
    assert [e["value"] for e in events if e["name"] == "age_years"] == [None, 15.0]


def test_change_without_saying_what_asks_which(kb, catalogue):
    events, sent = run(
        ActionChangeDetail(),
        tracker(family(catalogue, 7, ["autism"], "Havant"), text="some of that is wrong", intent="change_detail"),
    )
    assert events == [] and sent[0]["buttons"] == messages.CHANGE_BUTTONS


def test_distress_gets_kindness_the_helpline_and_sendias_and_keeps_the_details(kb, catalogue):
    text = "I'm at the end of my tether, school keep sending my 9 year old home, we're in Fareham"
    events, sent = run(ActionSupportParent(), tracker(text=text, intent="parent_distress"))
    changed = slot_events(events)
    assert changed["age_years"] == 9.0 and changed["district"] == "Fareham"
    hampshire = authority_of(catalogue, "Fareham").gss_code
    for kind in ("helpline", "sendias"):
        local = [sp for sp in catalogue.signposts if sp.kind == kind and sp.authority_gss == hampshire]
        assert local and all(sp.phone in sent[0]["text"] for sp in local)
    assert "999" not in sent[0]["text"]


def test_safeguarding_gives_999_the_local_front_door_and_the_nspcc(kb, catalogue):
    slots = family(catalogue, 7, ["autism"], "Southampton")
    events, sent = run(ActionSafeguarding(), tracker(slots, text="I think her stepdad hits her", intent="safeguarding_concern"))
    text = sent[0]["text"]
    assert "999" in text
    doors = [sp for sp in catalogue.signposts if sp.kind == "safeguarding"]
    local = [sp for sp in doors if sp.authority_gss == authority_of(catalogue, "Southampton").gss_code]
    national = [sp for sp in doors if sp.scope == "national"]
    assert local and national and all(sp.phone in text for sp in local + national)
    others = [sp for sp in doors if sp.scope == "local" and sp not in local]
    assert others and not any(sp.name in text for sp in others)


def test_the_greeting_names_the_areas_in_the_knowledge_base(kb, catalogue):
    _, sent = run(ActionGreet(), tracker(text="hi", intent="greet"))
    for authority in in_coverage(catalogue):
        assert authority.name in sent[0]["text"]
    _, sent = run(ActionOutOfScope(), tracker(text="what's the weather", intent="out_of_scope"))
    assert all(a.name in sent[0]["text"] for a in in_coverage(catalogue))


def test_start_again_resets_everything():
    events, _ = run(ActionStartAgain(), tracker(intent="start_again"))
    assert [e["event"] for e in events] == ["active_loop", "reset_slots"]
    assert events[0]["name"] is None


# --- knowledge base unavailable -----------------------------------------------------------


def test_unavailable_knowledge_base_gets_a_kind_message(catalogue, kb_down):
    helpline = next(sp for sp in catalogue.signposts if sp.id == DEFAULT_HELPLINE_ID)
    slots = {**family(catalogue, 7, ["autism"], "Havant"), "search_state": {"ids": ["x"], "shown": 1, "status": "ok"}}
    for action in (
        ActionSearchServices(),
        ActionShowMore(),
        ActionWhyThis(),
        ActionWhyNot(),
        ActionTalkToPerson(),
        ActionLocalAdvice(),
    ):
        events, sent = run(action, tracker(slots, text="why not the sensory club, we're in Fleet", intent="inform"))
        assert len(sent) == 1, action.name()
        text = sent[0]["text"]
        assert "sorry" in text.lower() and helpline.phone in text and "999" in text, action.name()
        assert events in ([], [{"event": "slot", "timestamp": None, "name": "asked_for_person", "value": True}])


def test_unavailable_knowledge_base_never_breaks_the_conversation(kb_down):
    slots = {"age_years": 7.0, "local_authority": "Hampshire", "requested_slot": "needs"}
    events, sent = run(ActionValidateSlotMappings(), tracker(slots, text="autistic, in Havant", form=True))
    assert events == [] and sent == []
    events, _ = run(ActionNewChild(), tracker(slots, text="my other son is 4", intent="new_child"))
    assert slot_events(events) == {"age_years": None, "needs": None, "has_ehc_plan": None, "search_state": None}
    domain_slots = DOMAIN["forms"][FORM_NAME]["required_slots"]
    required = asyncio.run(
        ValidateServiceSearchForm().required_slots(domain_slots, CollectingDispatcher(), tracker(slots, form=True), DOMAIN)
    )
    assert required == domain_slots
    _, sent = run(AskForNeeds(), tracker(slots, form=True))
    assert sent[0]["text"]
