"""Hello and 'I can't help with that', naming the areas covered from the knowledge base (coverage is data)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.kb_access import KnowledgeBaseUnavailable, catalogue
from conversation import messages


def coverage() -> str:
    try:
        return messages.coverage_text(catalogue().gazetteer)
    except KnowledgeBaseUnavailable:
        return messages.coverage_text(None)


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(**messages.greeting(coverage()))
        return []


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(**messages.out_of_scope(coverage()))
        return []
