"""Whether a parent says the child has an EHC plan (knowledge/ehc_plan.py), and what the conversation does with it."""

from __future__ import annotations

import pytest

from conversation.details import read_details, slot_updates
from conversation.intents import corrected_intent
from conversation.messages import noted_message
from knowledge.ehc_plan import plan_status


@pytest.mark.parametrize(
    "text",
    [
        "he has an EHCP",
        "She\u2019s got an EHC plan",
        "my son is 9 and has an ehcp for autism",
        "we finally got an EHCP last month",
        "his EHCP says he should have 1:1",
        "she is on an EHCP at her school",
        "statemented years ago, now it's an ehcp",
        "EHCP in place since year 2",
        "no, he has an EHCP",
        "we have an education, health and care plan",
        "his annual review of the ehcp is next week",
        "we were refused an EHCP but got one at tribunal",
        "my daughter is 12 with an EHCP",
        "yes she has an E.H.C plan",
    ],
)
def test_a_plan_the_child_has(text):
    assert plan_status(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "no EHCP",
        "he doesn't have an EHCP",
        "hasn\u2019t got an ehc plan yet",
        "we are waiting for an EHCP",
        "applied for an ehcp in march",
        "the EHCP was refused",
        "the council refused an EHCP",
        "she needs an EHCP really",
        "going through the EHC needs assessment at the moment",
        "he does not have a statement of SEN or an EHCP",
        "not got an EHC plan, just SEN support",
    ],
)
def test_no_plan_yet(text):
    assert plan_status(text) is False


@pytest.mark.parametrize(
    "text",
    [
        "what is an EHCP?",
        "how do I get an EHCP",
        "does she need an EHCP?",
        "my son is 7 and autistic",
        "how do I ask for an EHC needs assessment?",
        "I need help with an EHCP application",
        "his EHCP assessment starts soon",
        "bank statement",
        "",
    ],
)
def test_nothing_said_about_a_plan(text):
    assert plan_status(text) is None


def test_the_plan_is_a_detail_that_changes_the_search(catalogue):
    details = read_details("sorry I should have said he's got an EHCP", [], catalogue)
    assert details.has_ehc_plan is True
    assert slot_updates(details, {"age_years": 9, "needs": ["autism"], "has_ehc_plan": None}) == {"has_ehc_plan": True}
    assert slot_updates(details, {"has_ehc_plan": True}) == {}  # said again: nothing new
    no_plan = read_details("he is 9, autistic, no EHCP", [], catalogue)
    assert (no_plan.age, no_plan.needs, no_plan.has_ehc_plan) == (9, ["autism"], False)


def test_a_statement_about_the_plan_is_details_but_a_question_about_plans_is_not(catalogue):
    assert corrected_intent("ask_ehcp", "she has an EHCP", [], catalogue) == "inform"
    assert corrected_intent("ask_ehcp", "what is an EHCP?", [], catalogue) is None
    assert corrected_intent("deny", "no, he doesn't have an ehcp", [], catalogue) == "inform"


def test_what_was_noted_says_the_plan_only_when_known(catalogue):
    details = {"age": 9, "needs": ["autism"], "place": "Havant", "district": "Havant", "authority": "Hampshire"}
    assert "EHC plan" not in noted_message(details, catalogue.vocabulary)["text"]
    with_plan = noted_message({**details, "has_ehc_plan": True}, catalogue.vocabulary, ["plan"])["text"]
    assert with_plan.startswith("Thanks, I've noted that there is an EHC plan. Now looking for:")
    assert "has an EHC plan" in with_plan
    both = noted_message({**details, "has_ehc_plan": False}, catalogue.vocabulary, ["age", "plan"])["text"]
    assert both.startswith("Thanks, I've changed the age to 9 years old and noted that there is no EHC plan.")
