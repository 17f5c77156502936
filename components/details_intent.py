"""NLU component: a message that gives the family's details is `inform` (see conversation/intents.py).

Runs after the entity check and the fallback classifier, before the safety override. Reads
the vocabulary and places from the knowledge base; if it cannot be reached, the model's
intent stands.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.entity_check import KnowledgeBaseReader
from components.safety_override import set_intent
from conversation.intents import corrected_intent


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class DetailsIntent(GraphComponent, KnowledgeBaseReader):
    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> DetailsIntent:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            catalogue = self._catalogue()
            if catalogue is None:
                return messages
            better = corrected_intent(intent, message.get(TEXT) or "", message.get(ENTITIES) or [], catalogue)
            if better:
                set_intent(message, better)
        return messages
