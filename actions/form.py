"""The questions: reading age, needs and place from every message, and asking only for what is missing."""

from __future__ import annotations

import abc

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from conversation import messages
from conversation.details import slot_updates
from actions.glue import DETAIL_SLOTS, FORM_NAME, current_details, latest_details, latest_intent
from actions.kb_access import KnowledgeBaseUnavailable, catalogue

DETAIL_INTENTS = {"inform", "find_services", "new_child"}
"""Outside the form, only these intents may change the family's details."""
INTERRUPTIONS = {
    "urgent_risk",
    "talk_to_person",
    "start_again",
    "new_child",
    "ask_ehcp",
    "ask_ehc_assessment",
    "ask_sen_support",
    "ask_senco",
    "ask_local_offer",
    "ask_sendias",
    "bot_challenge",
    "ask_capabilities",
    "why_this",
    "why_not",
    "show_more",
    "goodbye",
}
"""During the form these are answered first; the form then asks its question again."""


class ActionValidateSlotMappings(Action):
    """Runs after every message: reads age, needs and place from it (corrections included).

    In the form, a message that gives nothing new for the question asked sets that slot to
    None, so the form asks again (in other words) instead of handing over to other policies.
    """

    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent = latest_intent(tracker)
        in_form = tracker.active_loop_name == FORM_NAME
        if intent in INTERRUPTIONS or (not in_form and intent not in DETAIL_INTENTS):
            return []
        try:
            cat = catalogue()
        except KnowledgeBaseUnavailable:
            return []
        requested = tracker.get_slot("requested_slot") if in_form else None
        updates = slot_updates(latest_details(tracker, cat, requested), current_details(tracker))
        if in_form and requested and not updates:
            return [SlotSet(requested, None)]
        return [SlotSet(name, value) for name, value in updates.items()]


class ValidateServiceSearchForm(FormValidationAction):
    """Asks for the town when all we know is 'Hampshire' (services there are organised by district)."""

    def name(self) -> str:
        return "validate_service_search_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        slots = list(domain_slots)
        authority = tracker.get_slot("local_authority")
        if authority and not tracker.get_slot("district"):
            try:
                cat = catalogue()
            except KnowledgeBaseUnavailable:
                return slots
            info = next((a for a in cat.gazetteer.authorities.values() if a.name == authority), None)
            if info and info.in_coverage and info.kind == "county":
                slots.append("district")
        return slots


def details_changed_by_latest_message(tracker: Tracker) -> bool:
    """Whether the parent's latest message filled or corrected any of the details."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") in DETAIL_SLOTS and event.get("value") is not None:
            return True
    return False


def slot_asked_before_latest_message(tracker: Tracker) -> str | None:
    """The question the parent was answering: `requested_slot` as it stood when they wrote."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == "requested_slot":
            return event.get("value")
        elif seen_user and event.get("event") == "active_loop" and event.get("name") is None:
            return None
    return None


class AskFor(Action, abc.ABC):
    """Asks the form's question for one slot, in other words when the last answer wasn't understood."""

    @property
    @abc.abstractmethod
    def slot(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        asked_before = slot_asked_before_latest_message(tracker) == self.slot
        interrupted = latest_intent(tracker) in INTERRUPTIONS
        not_understood = asked_before and not interrupted and not details_changed_by_latest_message(tracker)
        resuming = asked_before and interrupted
        dispatcher.utter_message(**messages.question(self.slot, rephrase=not_understood, resuming=resuming))
        return []


class AskForAge(AskFor):
    slot = "age_years"


class AskForNeeds(AskFor):
    slot = "needs"


class AskForLocalAuthority(AskFor):
    slot = "local_authority"


class AskForDistrict(AskFor):
    slot = "district"
