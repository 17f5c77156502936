"""The conversation-level evaluation (issue 9, item 11): scripted multi-turn conversations in
tests/conversations/*.yml, run against the real assistant over the REST channel and judged from the tracker.

The scripts themselves are checked first, without the model: every expected place is a knowledge-base name
that the parent's words resolve to, every need is a need code, and every expected search outcome is what
the eligibility engine gives for the expected final details (so a failure in the run is the assistant's,
not the script's).
"""

from __future__ import annotations

import pytest

from conversation.details import read_details
from knowledge.engine import evaluate
from knowledge.kb import KnowledgeBase
from knowledge.places import ResolvedPlace
from knowledge.vocabulary import NEED_CODES
from tests.conversations.judge import judge, loop_problems, turns_from_tracker
from tests.conversations.runner import TARGET, report, share
from tests.conversations.runner import evaluate as run_conversations
from tests.conversations.spec import SEARCH_STATUS, Conversation, Turn, load

MIN_CONVERSATIONS = 90
CASES_THE_ISSUE_LISTS = (
    "need in words (opening)", "need in words (answer)", "need in words (later)", "unsure",
    "correction after results (age)", "correction after results (place)", "add need", "replace need", "negation",
    "loop (need)", "worry (urgent)", "worry (safeguarding)", "worry (distress)", "out of area", "over 25",
    "second child", "FAQ", "hand-off", "opening is a search", "numbers in markup or code",
)  # fmt: skip

CONVERSATIONS = load()


@pytest.fixture(scope="module")
def kb_catalogue(seeded_sqlite_file):
    kb = KnowledgeBase(f"sqlite:///{seeded_sqlite_file}")
    yield kb.catalogue()
    kb.dispose()


def test_there_are_enough_conversations_covering_every_case_the_issue_lists():
    assert len(CONVERSATIONS) >= MIN_CONVERSATIONS
    categories = {c.category for c in CONVERSATIONS}
    assert not set(CASES_THE_ISSUE_LISTS) - categories
    assert all(any(t.expect for t in c.turns) or c.slots for c in CONVERSATIONS)


def test_expected_needs_are_need_codes():
    for c in CONVERSATIONS:
        for key in ("needs", "needs_include", "needs_exclude"):
            assert set(c.slots.get(key) or []) <= set(NEED_CODES), (c.id, key)


def resolutions(catalogue, conversation: Conversation) -> list[ResolvedPlace]:
    gazetteer = catalogue.gazetteer
    found = []
    for turn in conversation.turns:
        # as the assistant reads the text ("not Winchester, Waterlooville"), or a misspelt name the model picks out
        candidates = [read_details(turn.say, [], catalogue).place, gazetteer.resolve(turn.say)]
        candidates += [gazetteer.resolve(word) for word in turn.say.split() if len(word) > 5]
        found += [place for place in candidates if isinstance(place, ResolvedPlace)][:1]
    return found


WITH_PLACES = [c for c in CONVERSATIONS if {"district", "local_authority"} & set(c.slots)]


@pytest.mark.parametrize("conversation", WITH_PLACES, ids=lambda c: c.id)
def test_expected_places_are_knowledge_base_names_the_parents_words_resolve_to(kb_catalogue, conversation):
    gazetteer = kb_catalogue.gazetteer
    district, authority = conversation.slots.get("district"), conversation.slots.get("local_authority")
    if district:
        assert district in {d.name for d in gazetteer.districts.values()}
    if authority:
        assert authority in {a.name for a in gazetteer.authorities.values()}
    said = resolutions(kb_catalogue, conversation)
    assert any(
        (not district or p.district_name == district) and (not authority or p.authority_name == authority) for p in said
    ), [(p.query, p.district_name, p.authority_name) for p in said]


def final_search(conversation: Conversation):
    slots = conversation.slots
    needs = slots.get("needs") or slots.get("needs_include")
    place = slots.get("district") or slots.get("local_authority")
    if conversation.outcome in SEARCH_STATUS and slots.get("age_years") is not None and needs and place:
        return slots["age_years"], needs, place
    return None


@pytest.mark.parametrize("conversation", [c for c in CONVERSATIONS if final_search(c)], ids=lambda c: c.id)
def test_expected_search_outcome_is_what_the_engine_gives_for_the_final_details(kb_catalogue, conversation):
    age, needs, place = final_search(conversation)
    assert evaluate(kb_catalogue, age, needs, place).status == SEARCH_STATUS[conversation.outcome]


def tracker(*events) -> dict:
    return {"events": list(events), "slots": {}}


def user(text):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "inform"}}}


def test_the_judge_reads_outcomes_per_turn_and_catches_loops_and_silence():
    events = tracker(
        {"event": "action", "name": "action_session_start"},
        user("my son is 7"),
        {"event": "active_loop", "name": "service_search_form"},
        {"event": "slot", "name": "requested_slot", "value": "needs"},
        {"event": "bot", "text": "What would you like help with?"},
        user("stuff"),
        {"event": "bot", "text": "What would you like help with?"},
        user("things"),
        {"event": "bot", "text": "What would you like help with?"},
        user("not sure, autism maybe"),
        {"event": "action", "name": "action_search_services"},
        {"event": "slot", "name": "search_state", "value": {"status": "ok"}},
        {"event": "active_loop", "name": None},
        {"event": "bot", "text": "I found 3 services", "metadata": {"utter_action": "utter_anything_else"}},
    )
    turns = turns_from_tracker(events)
    assert [t.text for t in turns] == ["my son is 7", "stuff", "things", "not sure, autism maybe"]
    assert turns[0].active_loop == "service_search_form" and turns[0].slots["requested_slot"] == "needs"
    assert turns[3].actions == ["action_search_services", "utter_anything_else"] and turns[3].active_loop is None
    script = Conversation("c", "loop", tuple(Turn(t.text) for t in turns[:-1]) + (Turn(turns[-1].text, "results"),))
    asked = [{"text": "What would you like help with?"}]
    verdict = judge(script, [asked, asked, asked, [{"text": "I found 3 services"}]], events)
    assert len(verdict.problems) == 1 and verdict.problems[0].startswith("loop: turns 1 to 3")
    quiet = judge(script, [asked, [], asked, [{"text": "I found 3 services"}]], events)
    assert quiet.problems == ["turn 2 got no reply"]
    wrong = Conversation("c", "x", script.turns[:-1] + (Turn(script.turns[-1].say, "faq:ehcp"),), {"age_years": 8})
    problems = judge(wrong, [asked, [{"text": "a"}], asked, [{"text": "b"}]], {**events, "slots": {"age_years": 7.0}}).problems
    assert problems[0].startswith("turn 4: expected faq:ehcp") and problems[1] == "age_years: expected 8, got 7.0"
    assert loop_problems([["a", "b"], ["b"], ["a"], ["b", "a"]]) == []


@pytest.mark.stack
@pytest.mark.dialogue
def test_scripted_conversations_reach_the_right_outcome(assistant_stack):
    verdicts, seconds = run_conversations(assistant_stack, CONVERSATIONS)
    print("\n" + report(verdicts, seconds))
    assert share(verdicts) >= TARGET, report(verdicts, seconds, transcripts=False)
