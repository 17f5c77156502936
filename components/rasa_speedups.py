"""A measured speed-up for Rasa 3.6's remote actions (see the README's benchmark notes).

Rasa checks every action server reply with `jsonschema.validate(reply, schema)`. That call
first re-validates the constant schema itself against the JSON Schema 2020-12 meta-schema,
every time: in our profile (py-spy on the Rasa server under load) it was over 40% of the
server's CPU, as a form turn makes three or four action calls. This builds the validator
once and validates each reply against the same schema, with the same errors.
"""

from __future__ import annotations

from functools import lru_cache

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _reply_validator():
    schema = RemoteAction.action_response_format_spec()
    return validator_for(schema)(schema)


def validate_action_result(self: RemoteAction, result: dict) -> bool:
    try:
        _reply_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error


def apply() -> None:
    RemoteAction._validate_action_result = validate_action_result
