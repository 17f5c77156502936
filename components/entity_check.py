"""NLU component: keeps only the entities the knowledge base can read (see knowledge/entities.py).

Runs after the entity extractor. Reads the vocabulary and places from the knowledge base
(LOCAL_OFFER_DATABASE_URL), reloading when an administrator changes them. If the knowledge
base cannot be reached, the entities pass through unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from sqlalchemy.exc import SQLAlchemyError

from knowledge.entities import check_entities
from knowledge.kb import KnowledgeBase

logger = logging.getLogger(__name__)


class KnowledgeBaseReader:
    """The knowledge base's catalogue for an NLU component ($LOCAL_OFFER_DATABASE_URL); None if unreachable."""

    _kb: KnowledgeBase | None = None

    def _catalogue(self):
        try:
            if self._kb is None:
                self._kb = KnowledgeBase()
            return self._kb.catalogue()
        except (SQLAlchemyError, OSError) as error:
            logger.warning("knowledge base unavailable to %s: %s", type(self).__name__, type(error).__name__)
            return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class KnowledgeBaseEntityCheck(GraphComponent, KnowledgeBaseReader):
    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> KnowledgeBaseEntityCheck:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        catalogue = None
        for message in messages:
            entities = message.get(ENTITIES) or []
            if not entities:
                continue
            catalogue = catalogue or self._catalogue()
            if catalogue is None:
                return messages
            message.set(ENTITIES, check_entities(message.get(TEXT) or "", entities, catalogue), add_to_output=True)
        return messages
