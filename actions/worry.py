"""Two of the three kinds of worry (danger has its fixed reply in domain.yml): someone may be harming
the child (safeguarding), and the parent's own distress. Both read the message's details too, so a
parent who says "I'm at the end of my tether, school keep sending him home" is not asked again."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.glue import current_details, latest_details, say
from actions.kb_access import KnowledgeBaseUnavailable, catalogue, unavailable_message
from actions.people import local_or_all
from conversation import messages
from conversation.details import slot_updates


def details_events(tracker: Tracker, cat) -> list[EventType]:
    """Slot events for whatever age, needs and place the latest message gives."""
    updates = slot_updates(latest_details(tracker, cat), current_details(tracker))
    return [SlotSet(name, value) for name, value in updates.items()]


def details_and_authority(tracker: Tracker, cat) -> tuple[list[EventType], str | None]:
    """The latest message's details as slot events, and the family's authority (as given now, or before)."""
    events = details_events(tracker, cat)
    given = next((e.get("value") for e in events if e.get("name") == "local_authority"), None)
    return events, given or tracker.get_slot("local_authority")


class ActionSafeguarding(Action):
    """Someone may be harming the child: 999 if in danger now; the council's front door and the NSPCC."""

    def name(self) -> str:
        return "action_safeguarding"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            cat = catalogue()
        except KnowledgeBaseUnavailable:
            dispatcher.utter_message(response="utter_urgent_help")
            return []
        events, authority = details_and_authority(tracker, cat)
        chosen = local_or_all(cat, ("safeguarding",), authority)
        national = [sp for sp in cat.signposts if sp.kind == "safeguarding" and sp.scope == "national" and sp not in chosen]
        say(dispatcher, [messages.safeguarding_message(chosen + national)])
        return events


class ActionSupportParent(Action):
    """The parent is at the end of their tether, with no danger: kindness, the helpline and local advice."""

    def name(self) -> str:
        return "action_support_parent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            cat = catalogue()
        except KnowledgeBaseUnavailable:
            say(dispatcher, [unavailable_message()])
            return []
        events, authority = details_and_authority(tracker, cat)
        helplines = local_or_all(cat, ("helpline",), authority)
        advice = local_or_all(cat, ("sendias",), authority) if authority else []
        say(dispatcher, [messages.support_parent_message(helplines, advice)])
        return events


class ActionNoteDetails(Action):
    """After the urgent-help reply: keep any age, needs or place the message gave, for the search that follows."""

    def name(self) -> str:
        return "action_note_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            return details_events(tracker, catalogue())
        except KnowledgeBaseUnavailable:
            return []
