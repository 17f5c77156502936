"""Starting again, and a second child in the same conversation."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from conversation.details import slot_updates
from actions.glue import current_details, latest_details
from actions.kb_access import KnowledgeBaseUnavailable, catalogue


class ActionNewChild(Action):
    """Forgets the first child's age and needs (the home is the same); keeps any the message gives."""

    def name(self) -> str:
        return "action_new_child"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
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
