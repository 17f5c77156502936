"""Shared helpers for the actions: reading the tracker and handing it to the knowledge base."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.kb_access import knowledge_base
from conversation.details import OUTSIDE_UNKNOWN_AUTHORITY, Details, read_details
from knowledge.catalogue import Catalogue
from knowledge.engine import EligibilityResult

DETAIL_SLOTS = ("age_years", "needs", "district", "local_authority", "place")
FORM_NAME = "service_search_form"


def say(dispatcher: CollectingDispatcher, items: list[dict]) -> None:
    """Send messages built by conversation.messages ({"text", "buttons", "custom"})."""
    for item in items:
        dispatcher.utter_message(text=item.get("text"), buttons=item.get("buttons") or [], json_message=item.get("custom"))


def current_details(tracker: Tracker) -> dict:
    return {name: tracker.get_slot(name) for name in (*DETAIL_SLOTS, "has_ehc_plan")}


def latest_details(tracker: Tracker, cat: Catalogue, requested: str | None = None) -> Details:
    message = tracker.latest_message
    return read_details(message.get("text") or "", message.get("entities") or [], cat, requested)


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def search_place(tracker: Tracker) -> str | None:
    """What to hand the engine as the place: the district, else what the family typed, else the authority."""
    if tracker.get_slot("local_authority") == OUTSIDE_UNKNOWN_AUTHORITY:
        return tracker.get_slot("place")
    return tracker.get_slot("district") or tracker.get_slot("place") or tracker.get_slot("local_authority")


def evaluate(tracker: Tracker, record_unmet: bool = False) -> EligibilityResult:
    age, needs = tracker.get_slot("age_years"), tracker.get_slot("needs") or []
    has_plan = tracker.get_slot("has_ehc_plan")
    return knowledge_base().find(age, needs, search_place(tracker), record_unmet=record_unmet, has_ehc_plan=has_plan)
