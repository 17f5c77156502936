"""The whole assistant, as `scripts/run` starts it: the trained model in a real Rasa server (REST
channel, HTTP API with a token) and the real action server, over HTTP, on a seeded knowledge base.

Needs the trained model (models/local-offer.tar.gz), which `scripts/test` trains first.
"""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from knowledge.db import PROJECT_ROOT

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(assistant_stack):
    """The session's running assistant (tests/conftest.py), shared with the web and browser tests."""
    return assistant_stack


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def new_parent() -> str:
    return f"parent-{uuid.uuid4().hex[:10]}"


def test_everything_in_one_message_gives_service_cards(stack):
    sender = new_parent()
    replies = stack.say(sender, "my lad's 12, autistic, won't go to school, we're in Havant")
    slots = stack.tracker(sender)["slots"]
    assert slots["age_years"] == 12
    assert "autism" in slots["needs"]
    assert slots["district"] == "Havant" and slots["local_authority"] == "Hampshire"
    cards = [c for r in replies if (r.get("custom") or {}).get("type") == "service_cards" for c in r["custom"]["cards"]]
    assert cards, texts(replies)
    assert all(c["who_for"] and c["how_to_access"] and c["cost"] and c["contact"] for c in cards)
    assert "sample data" in texts(replies)


def test_only_the_missing_details_are_asked_for(stack):
    sender = new_parent()
    first = texts(stack.say(sender, "hi, my daughter is 4 and we live in Fareham"))
    assert "What would you like help with" in first
    assert "How old" not in first and "Where do you live" not in first
    second = stack.say(sender, "she isn't talking much yet")
    assert stack.tracker(sender)["slots"]["needs"] == ["speech_language"]
    assert "I found" in texts(second) or "couldn't find" in texts(second)


def test_a_correction_changes_only_that_detail(stack):
    sender = new_parent()
    stack.say(sender, "my son is 7, he has adhd, we're in Basingstoke")
    stack.say(sender, "sorry, he's 8")
    slots = stack.tracker(sender)["slots"]
    assert slots["age_years"] == 8 and slots["needs"] == ["adhd"] and slots["district"] == "Basingstoke and Deane"
    stack.say(sender, "actually we're moving to Fleet")
    slots = stack.tracker(sender)["slots"]
    assert slots["district"] == "Hart" and slots["age_years"] == 8


def test_outside_the_area_points_to_that_councils_local_offer(stack):
    sender = new_parent()
    reply = texts(stack.say(sender, "my 9 year old has dyslexia, we live in Reading"))
    assert stack.tracker(sender)["slots"]["local_authority"] == "Reading"
    assert "outside the area" in reply and "Reading" in reply and "Local Offer" in reply


def test_over_25_explains_the_local_offer_age_range(stack):
    sender = new_parent()
    reply = texts(stack.say(sender, "I'm 27 and autistic, I live in Southampton"))
    assert "up to age 25" in reply


def test_urgent_message_mid_form_gets_urgent_help_first(stack):
    sender = new_parent()
    stack.say(sender, "I need help for my son")
    replies = stack.say(sender, "he says he wants to kill himself")
    assert "999" in replies[0]["text"] and "111" in replies[0]["text"] and "Childline" in replies[0]["text"]
    assert stack.tracker(sender)["active_loop"].get("name") == "service_search_form"


def test_conversations_are_kept_in_the_sql_tracker_store(stack):
    import asyncio

    from rasa.shared.core.domain import Domain

    from components.stores import URLTrackerStore

    sender = new_parent()
    stack.say(sender, "my daughter is 6 and deaf, we're in Gosport")
    store = URLTrackerStore(Domain.load(str(PROJECT_ROOT / "domain.yml")), url=stack.env["RASA_TRACKER_STORE_URL"])
    saved = asyncio.run(store.retrieve(sender))
    assert saved is not None and saved.get_slot("needs") == ["hearing"]
    store.engine.dispose()


def test_http_api_needs_the_token(stack):
    with pytest.raises(urllib.error.HTTPError) as refused:
        stack.tracker(new_parent(), token=None)
    assert refused.value.code == 401


def test_action_server_down_gives_a_kind_reply_with_the_helpline(stack):
    stack.stop_actions()
    try:
        reply = texts(stack.say(new_parent(), "my son is 5 with autism, we live in Havant"))
    finally:
        stack.start_actions()
    assert "01632 960903" in reply and "sorry" in reply.lower()


# --- Secrets and private files (issue 11, item 2) ----------------------------------------------------


def test_no_secret_is_on_any_servers_command_line(stack):
    """`ps` shows every user each process's command line: the token and the action secret are never on it."""
    for name, process in stack.processes().items():
        command_line = (Path("/proc") / str(process.pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        assert "scripts/" in command_line, name  # the launchers, not `rasa run --auth-token` or `python -m rasa_sdk`
        assert stack.api_token not in command_line and stack.action_secret not in command_line, name


def test_the_action_server_answers_only_with_the_shared_secret(stack):
    url = f"http://127.0.0.1:{stack.actions_port}"
    call = json.dumps({"next_action": "action_search_services", "sender_id": "intruder", "version": "3.6.21",
                       "tracker": {"sender_id": "intruder", "slots": {"age_years": 7, "needs": ["autism"]},
                                   "latest_message": {}, "events": []}, "domain": {}}).encode()  # fmt: skip
    for headers in ({}, {"X-Action-Secret": "guessed"}, {"X-Action-Secret": stack.action_secret + "x"}):
        request = urllib.request.Request(url + "/webhook", call, {"Content-Type": "application/json", **headers})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "/actions", timeout=30)
    assert refused.value.code == 401
    with urllib.request.urlopen(url + "/health", timeout=30) as health:  # readiness checks need no secret
        assert health.status == 200
    # Rasa sends the secret (endpoints.yml): the conversation tests above get their answers from these actions.


def test_the_stacks_databases_are_private(stack):
    for name in ("kb.db", "tracker.db"):
        path = stack.work / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
