"""Finding services: the results (a page at a time), 'why these?' and 'why not X?'."""

from __future__ import annotations

import difflib

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.glue import evaluate, say, search_place
from actions.kb_access import UNAVAILABLE_ERRORS, KnowledgeBaseUnavailable, catalogue, knowledge_base, unavailable_message
from actions.people import local_or_all
from conversation import messages
from knowledge.catalogue import ServiceEntry
from knowledge.engine import explain_service
from knowledge.text import loose

KB_DOWN = UNAVAILABLE_ERRORS + (KnowledgeBaseUnavailable,)


class ActionSearchServices(Action):
    def name(self) -> str:
        return "action_search_services"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        searched = searched_details(tracker)
        if searched["age"] is None or not searched["needs"] or not (searched["authority"] or searched["place"]):
            return await self.hand_over(dispatcher, tracker)
        try:
            cat = catalogue()
            result = evaluate(tracker, record_unmet=True)
            records = knowledge_base().details([m.service.id for m in result.eligible[: messages.PAGE_SIZE]])
        except KB_DOWN:
            say(dispatcher, [unavailable_message()])
            return []
        before = (tracker.get_slot("search_state") or {}).get("details")
        say(dispatcher, [messages.noted_message(searched, cat.vocabulary, changed_details(before, searched))])
        if result.status == "ok":
            say(dispatcher, messages.results_messages(result, records, 0, cat.vocabulary))
        elif result.status == "no_match":
            say(dispatcher, messages.no_match_messages(result, cat.vocabulary))
        elif result.status == "out_of_area":
            say(dispatcher, messages.out_of_area_messages(result, messages.coverage_text(cat.gazetteer)))
        elif result.status == "over_age":
            say(dispatcher, messages.over_age_messages(result))
        else:
            say(dispatcher, messages.invalid_messages(result))
        state = {"ids": [m.service.id for m in result.eligible], "shown": len(records), "status": result.status}
        return [SlotSet("search_state", {**state, "details": searched})]

    async def hand_over(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """The questions ended without an age or a place (never a loop): offer a person instead."""
        dispatcher.utter_message(text=messages.GIVE_UP_ASKING)
        try:
            helplines = local_or_all(catalogue(), ("helpline",), tracker.get_slot("local_authority"))
        except KnowledgeBaseUnavailable:
            say(dispatcher, [unavailable_message()])
            return []
        say(dispatcher, [messages.helpline_message(helplines)])
        dispatcher.utter_message(text=messages.START_AGAIN_ANY_TIME, buttons=[messages.BUTTON_RESTART])
        return [SlotSet("asked_for_person", True)]


def searched_details(tracker: Tracker) -> dict:
    """The details a search uses, as the parent would read them back."""
    return {
        "age": tracker.get_slot("age_years"),
        "needs": list(tracker.get_slot("needs") or []),
        "place": tracker.get_slot("place"),
        "district": tracker.get_slot("district"),
        "authority": tracker.get_slot("local_authority"),
        "has_ehc_plan": tracker.get_slot("has_ehc_plan"),
    }


def changed_details(before: dict | None, now: dict) -> list[str]:
    """Which of age, needs, place and EHC plan differ from the last search ([] for a first search)."""
    if not before:
        return []
    place_keys = ("place", "district", "authority")
    changed = []
    if before.get("age") != now["age"]:
        changed.append("age")
    if sorted(before.get("needs") or []) != sorted(now["needs"]):
        changed.append("needs")
    if any(before.get(k) != now[k] for k in place_keys):
        changed.append("place")
    if before.get("has_ehc_plan") != now.get("has_ehc_plan"):
        changed.append("plan")
    return changed


class ActionShowMore(Action):
    def name(self) -> str:
        return "action_show_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        state = tracker.get_slot("search_state") or {}
        if not state:
            dispatcher.utter_message(text=messages.NOTHING_TO_SHOW)
            return []
        if not state.get("ids"):
            dispatcher.utter_message(text=messages.NO_SERVICES_TO_SHOW, buttons=[messages.BUTTON_PERSON, messages.BUTTON_RESTART])
            return []
        try:
            cat = catalogue()
            result = evaluate(tracker)
            start = state.get("shown", 0)
            page = [m.service.id for m in result.eligible[start : start + messages.PAGE_SIZE]]
            records = knowledge_base().details(page)
        except KB_DOWN:
            say(dispatcher, [unavailable_message()])
            return []
        if not records:
            dispatcher.utter_message(text=messages.ALL_SHOWN, buttons=[messages.BUTTON_PERSON, messages.BUTTON_RESTART])
            return []
        say(dispatcher, messages.results_messages(result, records, start, cat.vocabulary))
        return [SlotSet("search_state", {**state, "shown": start + len(records)})]


class ActionWhyThis(Action):
    def name(self) -> str:
        return "action_why_this"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        state = tracker.get_slot("search_state") or {}
        if not state.get("shown"):
            dispatcher.utter_message(text=messages.HOW_I_CHOOSE)
            return []
        try:
            result = evaluate(tracker)
        except KB_DOWN:
            say(dispatcher, [unavailable_message()])
            return []
        say(dispatcher, [messages.why_these_message(result.eligible[: state["shown"]])])
        return []


class ActionWhyNot(Action):
    """'Why not X?': finds the service the parent means and checks it against each criterion."""

    def name(self) -> str:
        return "action_why_not"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            cat = catalogue()
        except KnowledgeBaseUnavailable:
            say(dispatcher, [unavailable_message()])
            return []
        service = best_service_match(tracker.latest_message.get("text") or "", cat.services)
        if service is None:
            dispatcher.utter_message(text=messages.WHICH_SERVICE)
            return []
        age, needs, place = tracker.get_slot("age_years"), tracker.get_slot("needs") or [], search_place(tracker)
        explanation = explain_service(cat, service.id, age, needs, place)
        missing = [
            label
            for label, value in (("their age", age), ("their needs", needs), ("where you live", place))
            if not value and value != 0
        ]
        say(dispatcher, [messages.why_not_message(explanation, missing)])
        return []


STOP_WORDS = {"why", "not", "the", "a", "an", "can't", "cant", "we", "i", "my", "isn't", "isnt", "on", "list", "what", "about"}


def best_service_match(text: str, services: list[ServiceEntry]) -> ServiceEntry | None:
    """The service whose name best matches the words of the message (None if nothing is close)."""
    words = set(loose(text).split()) - STOP_WORDS
    best, best_score = None, 0.0
    for service in services:
        name_words = set(loose(service.name).split()) - STOP_WORDS
        overlap = len(words & name_words) / max(len(name_words), 1)
        ratio = difflib.SequenceMatcher(None, loose(text), loose(service.name)).ratio()
        score = max(overlap, ratio)
        if score > best_score:
            best, best_score = service, score
    return best if best_score >= 0.5 else None
