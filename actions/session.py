"""Starting again, and a second child in the same conversation."""

from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.glue import current_details, latest_details
from actions.kb_access import KnowledgeBaseUnavailable, catalogue
from conversation import messages
from conversation.details import slot_updates


def another_child_meant(tracker: Tracker) -> bool:
    """Whether the parent means a different child from the one discussed.

    Only once a child has been discussed; and then only if the message says so ("my other
    son", "her sister"), or names a child after a search ("and my daughter, she's 17").
    "He's also hard to understand" or "we're in Fareham now" is the same child.
    """
    discussed = tracker.get_slot("age_years") is not None or tracker.get_slot("needs") or tracker.get_slot("search_state")
    if not discussed:
        return False
    text = tracker.latest_message.get("text") or ""
    return bool(OTHER_CHILD.search(text) or (tracker.get_slot("search_state") and A_CHILD.search(text)))


OTHER_CHILD = re.compile(
    r"\b(other|another|second|third|eldest|oldest|youngest|middle|older|younger|twins?|brother|sister|sibling"
    r"|step-?(son|daughter|child|kids?)|next (one|child|kid))\b",
    re.I,
)
A_CHILD = re.compile(r"\b(son|daughter|boy|girl|lad|lass|child|kid|baby|toddler|teenager|grandson|granddaughter)\b", re.I)


class ActionNewChild(Action):
    """Forgets the first child's age and needs (the home is the same); keeps any the message gives.

    "I'm worried about my little boy" as an opening is the first child, not another one: then
    nothing is forgotten, and what the message says is added as for any other detail.
    """

    def name(self) -> str:
        return "action_new_child"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not another_child_meant(tracker):
            try:
                details = latest_details(tracker, catalogue())
            except KnowledgeBaseUnavailable:
                return []
            return [SlotSet(name, value) for name, value in slot_updates(details, current_details(tracker)).items()]
        dispatcher.utter_message(text=messages.NEW_CHILD)
        forgotten = {"age_years": None, "needs": None, "has_ehc_plan": None}  # the first child's, not this one's
        events: list[EventType] = [SlotSet(name, None) for name in (*forgotten, "search_state")]
        try:
            details = latest_details(tracker, catalogue())
        except KnowledgeBaseUnavailable:
            return events
        updates = slot_updates(details, {**current_details(tracker), **forgotten})
        return events + [SlotSet(name, value) for name, value in updates.items()]


class ActionStartAgain(Action):
    def name(self) -> str:
        return "action_start_again"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return [ActiveLoop(None), AllSlotsReset()]
