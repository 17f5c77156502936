"""Starting again, and a second child in the same conversation."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.glue import current_details, latest_details
from actions.kb_access import KnowledgeBaseUnavailable, catalogue
from conversation import messages
from conversation.details import slot_updates


def child_discussed(tracker: Tracker) -> bool:
    """Whether a child has been talked about yet (an age, needs, or a search)."""
    return any(tracker.get_slot(name) for name in ("age_years", "needs", "search_state")) or tracker.get_slot("age_years") == 0


class ActionNewChild(Action):
    """Forgets the first child's age and needs (the home is the same); keeps any the message gives.

    "I'm worried about my little boy" as an opening is the first child, not another one: then
    nothing is forgotten and the search simply starts.
    """

    def name(self) -> str:
        return "action_new_child"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not child_discussed(tracker):
            try:
                details = latest_details(tracker, catalogue())
            except KnowledgeBaseUnavailable:
                return []
            return [SlotSet(name, value) for name, value in slot_updates(details, current_details(tracker)).items()]
        dispatcher.utter_message(text=messages.NEW_CHILD)
        events: list[EventType] = [SlotSet("age_years", None), SlotSet("needs", None), SlotSet("search_state", None)]
        try:
            details = latest_details(tracker, catalogue())
        except KnowledgeBaseUnavailable:
            return events
        updates = slot_updates(details, {**current_details(tracker), "age_years": None, "needs": None})
        return events + [SlotSet(name, value) for name, value in updates.items()]


class ActionStartAgain(Action):
    def name(self) -> str:
        return "action_start_again"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return [ActiveLoop(None), AllSlotsReset()]
