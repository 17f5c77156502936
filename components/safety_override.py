"""NLU component: messages that match the safety patterns get the matching worry intent.

Runs after the intent classifier. The statistical model learns these messages from
examples; this makes the right reply certain for the patterns in knowledge/seed/safety.yaml,
whatever the model predicted:
- danger to a child now -> `urgent_risk` (999, NHS 111, Childline first);
- someone may be harming the child -> `safeguarding_concern`;
- the parent's own distress, no danger -> `parent_distress`.
A model prediction of `urgent_risk` that no danger pattern backs is kept (better safe), but
a distress pattern with no danger pattern turns it into `parent_distress`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from knowledge.safety import DANGER, DISTRESS, SAFEGUARDING, worry_kind

URGENT_INTENT = "urgent_risk"
INTENT_FOR = {DANGER: URGENT_INTENT, SAFEGUARDING: "safeguarding_concern", DISTRESS: "parent_distress"}


def set_intent(message: Message, name: str) -> None:
    """Make `name` the message's intent, at the top of the ranking."""
    intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, intent, add_to_output=True)
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
    message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyOverride(GraphComponent):
    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> SafetyOverride:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            kind = worry_kind(message.get(TEXT) or "")
            if kind is not None:
                set_intent(message, INTENT_FOR[kind])
        return messages
