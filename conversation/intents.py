"""Second opinion on the NLU model's intent, from what the message plainly says.

The model sometimes takes a message full of details for something else: "no, she's 13 not 3"
for `deny`, "no idea really, everything's a battle with her" for `why_not`, "oops, I meant
she's 15" for a goodbye, "he only has a handful of words" for nothing at all. A message that
gives an age, a need, a place or whether there is an EHC plan, and that the model read as one of the intents that carry no
details, is the parent giving details (`inform`). Questions ("why isn't X on the list?") keep
the model's reading.
"""

from __future__ import annotations

import re

from conversation.declines import declines
from conversation.details import read_details
from knowledge.catalogue import Catalogue

INFORM = "inform"
DETAIL_FREE_INTENTS = frozenset(
    {"nlu_fallback", "out_of_scope", "deny", "affirm", "goodbye", "thank", "greet", "why_not", "why_this", "show_more",
     "bot_challenge", "ask_capabilities"}
)  # fmt: skip
"""Intents that never carry the family's details: a message with details is not one of them."""
_QUESTION = re.compile(
    r"\?|\b(why|what|which|how|where|who|when|isn'?t|aren'?t|wasn'?t|can i|can we|do i|do we|should i|should we|explain"
    r"|tell me about)\b|^\s*(does|do|is|are|can|could|will|would|has|have|should)\b",
    re.I,
)
_PLACE_ONLY_NEEDS_HOME = frozenset({"out_of_scope", "greet", "thank", "goodbye"})
"""Intents where a place alone is not the family's details ("best pizza in Fareham?") unless it is home."""
_HOME = re.compile(r"\b(live|living|lives|moved|moving|we'?re in|we are in|based|from|postcode|home)\b", re.I)
FAQ_INTENTS = frozenset(
    {"ask_ehcp", "ask_ehc_assessment", "ask_sen_support", "ask_senco", "ask_local_offer", "ask_sendias", "ask_privacy",
     "ask_benefits"}
)  # fmt: skip
"""Questions answered from the domain's responses (and, during the form, before its question is asked again)."""
_QUESTION_INTENTS = frozenset({"why_not", "why_this"}) | FAQ_INTENTS
"""Questions: a message with details is `inform` only if it is not put as a question
("keeps getting sent out of class" is not a question about the SENCO)."""


def gives_details(text: str, entities: list[dict], catalogue: Catalogue, place_must_be_home: bool = False) -> bool:
    details = read_details(text, entities, catalogue)
    home = details.place is not None and (not place_must_be_home or bool(_HOME.search(text)))
    return bool(details.age is not None or details.needs or details.negated_needs or home or details.has_ehc_plan is not None)


def corrected_intent(intent: str | None, text: str, entities: list[dict], catalogue: Catalogue) -> str | None:
    """`inform` when the message gives details but the model chose a detail-free intent; else None.

    Declining to answer ("I'd rather not say where we live") is also an answer to the question asked
    (the form says what it can do without it), not a request to change a detail."""
    if (text or "").startswith("/"):
        return None
    if intent in DETAIL_FREE_INTENTS | {"change_detail"} and declines(text):
        return INFORM
    if intent not in DETAIL_FREE_INTENTS | _QUESTION_INTENTS:
        return None
    if intent in _QUESTION_INTENTS and _QUESTION.search(text or ""):
        return None
    return INFORM if gives_details(text, entities, catalogue, intent in _PLACE_ONLY_NEEDS_HOME) else None
