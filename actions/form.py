"""The questions: reading age, needs and place from every message, and asking only for what is missing."""

from __future__ import annotations

import abc

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.glue import DETAIL_SLOTS, FORM_NAME, current_details, latest_details, latest_intent
from actions.kb_access import KnowledgeBaseUnavailable, catalogue
from conversation import messages
from conversation.declines import declines
from conversation.details import slot_updates
from conversation.intents import FAQ_INTENTS

DETAIL_INTENTS = {"inform", "find_services", "new_child"}
"""Outside the form, only these intents may change the family's details."""
INTERRUPTIONS = {
    "urgent_risk",
    "safeguarding_concern",
    "parent_distress",
    "change_detail",
    "talk_to_person",
    "start_again",
    "new_child",
    *FAQ_INTENTS,
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


MISSES_BEFORE_MOVING_ON = 3
"""After this many questions for one detail without an answer, the conversation moves on (never a loop)."""


class ValidateServiceSearchForm(FormValidationAction):
    """Asks for the town when all we know is 'Hampshire' (services there are organised by district), and moves
    on after the third unanswered question: needs become 'not sure yet'; without an age or a place the form ends
    and the search action hands over to a person."""

    def name(self) -> str:
        return "validate_service_search_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        requested = tracker.get_slot("requested_slot")
        unanswered = (
            requested
            and tracker.get_slot(requested) is None
            and latest_intent(tracker) not in INTERRUPTIONS
            and not details_changed_by_latest_message(tracker)
            and consecutive_asks(tracker, requested) >= MISSES_BEFORE_MOVING_ON
        )
        if requested and latest_intent(tracker) not in INTERRUPTIONS and declines(tracker.latest_message.get("text")):
            declined = self.declined(dispatcher, tracker, requested)
            if declined is not None:
                return events + declined
        if not unanswered:
            return events
        if requested == "needs":
            dispatcher.utter_message(text=messages.NEEDS_NOTED_UNSURE)
            return events + [SlotSet("needs", ["unsure"])]
        return events + [SlotSet("requested_slot", None)]

    @staticmethod
    def declined(dispatcher: CollectingDispatcher, tracker: Tracker, requested: str) -> list[EventType] | None:
        """The parent would rather not say: search the whole council area without the town, or any need without
        one. The age and the council area are needed: the question comes back as choices (see AskFor)."""
        if requested == "district":
            dispatcher.utter_message(text=messages.WHOLE_AUTHORITY.format(authority=tracker.get_slot("local_authority")))
            return [SlotSet("whole_authority", True), SlotSet("requested_slot", None)]
        if requested == "needs":
            dispatcher.utter_message(text=messages.NEEDS_DECLINED)
            return [SlotSet("needs", ["unsure"])]
        return None

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        slots = list(domain_slots)
        authority = tracker.get_slot("local_authority")
        if authority and not tracker.get_slot("district") and not tracker.get_slot("whole_authority"):
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


def consecutive_asks(tracker: Tracker, slot: str) -> int:
    """How many of the parent's messages in a row have not answered the question for `slot`.

    Counts the messages since the form first asked for `slot` (its `requested_slot` events) in
    this run of questions, stopping at any detail given, another question, or the form's end.
    """
    messages_seen = 0
    misses = 0
    for event in reversed(tracker.events):
        kind, name, value = event.get("event"), event.get("name"), event.get("value")
        if kind == "user":
            messages_seen += 1
        elif kind == "slot" and name == "requested_slot":
            if value == slot:
                misses = messages_seen
            elif value is not None:
                break
        elif kind == "slot" and name in DETAIL_SLOTS and value is not None:
            break
        elif kind == "active_loop" and name is None:
            break
    return misses


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
        misses = consecutive_asks(tracker, self.slot) if asked_before else 0
        if asked_before and not interrupted and declines(tracker.latest_message.get("text")):
            choices = self.choices(tracker)
            dispatcher.utter_message(**messages.declined_message(self.slot, choices["buttons"]))
            return []
        if misses >= 2 and misses % 2 == 0 and not details_changed_by_latest_message(tracker):
            # The second miss (and every other one after it, so no reply repeats three times running).
            dispatcher.utter_message(**self.choices(tracker))
            return []
        question = messages.question(
            self.slot, rephrase=not_understood, resuming=resuming, authority=tracker.get_slot("local_authority")
        )
        dispatcher.utter_message(**question)
        return []

    def choices(self, tracker: Tracker) -> dict:
        """The second time an answer isn't understood: the question as buttons, and a person."""
        return messages.choices_message(self.slot, messages.AGE_BUTTONS + [messages.BUTTON_PERSON])


class AskForAge(AskFor):
    slot = "age_years"


class AskForNeeds(AskFor):
    slot = "needs"

    def choices(self, tracker: Tracker) -> dict:
        try:
            return messages.choices_message(self.slot, messages.need_buttons(catalogue().vocabulary))
        except KnowledgeBaseUnavailable:
            return messages.choices_message(self.slot, [messages.BUTTON_NOT_SURE, messages.BUTTON_PERSON])


class AskForPlace(AskFor, abc.ABC):
    def choices(self, tracker: Tracker) -> dict:
        try:
            gazetteer = catalogue().gazetteer
        except KnowledgeBaseUnavailable:
            return messages.choices_message(self.slot, [messages.BUTTON_PERSON])
        return messages.choices_message(self.slot, messages.place_buttons(gazetteer, tracker.get_slot("local_authority")))


class AskForLocalAuthority(AskForPlace):
    slot = "local_authority"


class AskForDistrict(AskForPlace):
    slot = "district"


DETAIL_SLOTS_TO_CLEAR = {
    "age": ("age_years",), "needs": ("needs",), "place": ("district", "local_authority", "place", "whole_authority")
}  # fmt: skip
ASKED_AS = {"age": "age_years", "needs": "needs", "place": "local_authority"}
DETAIL_WORDS = {
    "age": "age", "ages": "age", "old": "age", "year": "age",
    "needs": "needs", "need": "needs", "help": "needs", "diagnosis": "needs", "condition": "needs",
    "place": "place", "area": "place", "town": "place", "location": "place", "where we live": "place",
    "postcode": "place", "village": "place", "address": "place",
}  # fmt: skip
"""The words parents use for each detail ("the area is wrong" -> place)."""


class ActionChangeDetail(Action):
    """'Change the age' (a button or in words): forget that detail and ask for it again; the search then re-runs."""

    def name(self) -> str:
        return "action_change_detail"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        named = next(tracker.get_latest_entity_values("detail"), None) or ""
        detail = DETAIL_WORDS.get(named.strip().lower())
        if detail is None:
            dispatcher.utter_message(text=messages.WHICH_DETAIL, buttons=messages.CHANGE_BUTTONS)
            return []
        dispatcher.utter_message(text=messages.CHANGE_PROMPTS[detail])
        cleared = {slot: None for slot in DETAIL_SLOTS_TO_CLEAR[detail]}
        events: list[EventType] = [SlotSet(slot, None) for slot in cleared]
        try:
            details = latest_details(tracker, catalogue(), ASKED_AS[detail])  # "change the age to 15"
        except KnowledgeBaseUnavailable:
            return events
        return events + [SlotSet(n, v) for n, v in slot_updates(details, {**current_details(tracker), **cleared}).items()]
