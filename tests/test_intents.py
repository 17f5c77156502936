"""conversation.intents: a message that gives details is `inform`, whatever detail-free intent the model chose."""

from __future__ import annotations

import pytest

from conversation.intents import INFORM, corrected_intent


@pytest.mark.parametrize(
    "intent, text",
    [
        ("deny", "no, she's 13 not 3"),
        ("why_not", "no idea really, everything's a battle with her"),
        ("goodbye", "oops, I meant she's 15"),
        ("nlu_fallback", "he only has a handful of words"),
        ("out_of_scope", "we've moved to Andover"),
        ("affirm", "yes he's autistic"),
        ("thank", "thanks, she's also dyslexic"),
    ],
)
def test_details_make_it_inform(catalogue, intent, text):
    assert corrected_intent(intent, text, [], catalogue) == INFORM


@pytest.mark.parametrize(
    "intent, text",
    [
        ("why_not", "why isn't the autism group on the list?"),
        ("why_this", "why these for autism"),
        ("deny", "no thanks"),
        ("goodbye", "bye for now"),
        ("nlu_fallback", "purple monkey dishwasher"),
        ("ask_ehcp", "what is an EHC plan for an autistic 7 year old"),
        ("urgent_risk", "my 15 year old autistic son says he wants to die"),
        ("inform", "she's 7"),
        ("out_of_scope", "best fish and chips in Fareham?"),
        ("ask_ehcp", "does an EHC plan carry on until he's 25"),
    ],
)
def test_other_messages_keep_the_models_intent(catalogue, intent, text):
    assert corrected_intent(intent, text, [], catalogue) is None


def test_button_payloads_are_left_alone(catalogue):
    assert corrected_intent("deny", '/deny{"age": "7"}', [{"entity": "age", "value": "7"}], catalogue) is None


@pytest.mark.parametrize(
    "text", ["I'd rather not say where we live", "prefer not to say", "none of your business", "that's private"]
)
def test_declining_to_answer_is_an_answer_to_the_question_not_a_change(catalogue, text):
    assert corrected_intent("change_detail", text, [], catalogue) == "inform"
    assert corrected_intent("out_of_scope", text, [], catalogue) == "inform"
    assert corrected_intent("ask_sendias", text, [], catalogue) is None  # a question keeps its intent


@pytest.mark.parametrize(
    "text", ["I don't know", "not sure", "he doesn't want to go to school", "we live in Havant", "why do you need to know?"]
)
def test_not_knowing_is_not_declining(text):
    from conversation.declines import declines

    assert not declines(text)
