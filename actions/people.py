"""People who can help: the SEND helpline, and the local SENDIAS service and parent carer forum."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.glue import say
from actions.kb_access import KnowledgeBaseUnavailable, catalogue, unavailable_message
from conversation import messages
from knowledge.catalogue import Catalogue, SignpostEntry

HANDOFF_OFFER = {"type": "handoff_offer"}


def in_authority(cat: Catalogue, signpost: SignpostEntry, authority_name: str | None) -> bool:
    authority = cat.gazetteer.authorities.get(signpost.authority_gss or "")
    return authority is not None and authority.name == authority_name


def local_or_all(cat: Catalogue, kinds: tuple[str, ...], authority_name: str | None) -> list[SignpostEntry]:
    """Signposts of these kinds for the family's authority; all of them if we don't know it (or it's outside)."""
    chosen = [sp for sp in cat.signposts if sp.kind in kinds]
    local = [sp for sp in chosen if in_authority(cat, sp, authority_name)]
    return local or chosen


class ActionTalkToPerson(Action):
    def name(self) -> str:
        return "action_talk_to_person"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            chosen = local_or_all(catalogue(), ("helpline",), tracker.get_slot("local_authority"))
        except KnowledgeBaseUnavailable:
            say(dispatcher, [unavailable_message()])
            return [SlotSet("asked_for_person", True)]
        say(dispatcher, [messages.helpline_message(chosen)])
        # The web widget offers a live chat with staff (in opening hours) or a call-back form on this;
        # text-only channels ignore it and keep the helpline's details above.
        dispatcher.utter_message(json_message=HANDOFF_OFFER)
        return [SlotSet("asked_for_person", True)]


class ActionLocalAdvice(Action):
    def name(self) -> str:
        return "action_local_advice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            chosen = local_or_all(catalogue(), ("sendias", "parent_carer_forum"), tracker.get_slot("local_authority"))
        except KnowledgeBaseUnavailable:
            say(dispatcher, [unavailable_message()])
            return []
        say(dispatcher, [messages.local_advice_message(chosen)])
        return []
