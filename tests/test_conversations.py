"""Reading Rasa's tracker store (bot/conversations.py), on conversations written by Rasa's own SQLTrackerStore,
on SQLite and on the real PostgreSQL (a schema of its own, dropped afterwards)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event, text

from bot.conversations import LOCAL_TIME, ConversationStore, age_in_words, bold_segments
from conversation import messages
from knowledge.db import PROJECT_ROOT, make_engine
from tests.conftest import PG_URL

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))


def at(day: int, hour: int, minute: int = 0) -> float:
    """A moment in November 2026, England's time, as a Rasa timestamp."""
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TIME).timestamp()


class Chat:
    """A conversation as Rasa records it, one event a second from `start`."""

    def __init__(self, sender: str, start: float) -> None:
        self.tracker = DialogueStateTracker(sender, DOMAIN.slots)
        self.clock = start

    def _tick(self) -> float:
        self.clock += 1
        return self.clock

    def add(self, event_type, *args, **kwargs) -> Chat:
        self.tracker.update(event_type(*args, timestamp=self._tick(), **kwargs))
        return self

    def user(self, text: str, intent: str = "inform") -> Chat:
        self.add(ActionExecuted, "action_listen")
        return self.add(UserUttered, text, {"name": intent, "confidence": 0.99})

    def bot(self, text: str, buttons: list | None = None, custom: dict | None = None) -> Chat:
        data = {"elements": None, "quick_replies": None, "buttons": buttons or None, "attachment": None, "image": None}
        data["custom"] = custom
        return self.add(BotUttered, text, data)

    def say(self, items: list[dict]) -> Chat:
        """What actions.glue.say sends: the messages built by conversation/messages.py."""
        for item in items:
            self.bot(item.get("text"), item.get("buttons"), item.get("custom"))
        return self

    def slots(self, **values) -> Chat:
        for name, value in values.items():
            self.add(SlotSet, name, value)
        return self

    def search(self, kb, age, needs, place) -> Chat:
        """The assistant's answer, as action_search_services gives it, from the real knowledge base."""
        result = kb.find(age, needs, place, record_unmet=False)
        catalogue = kb.catalogue()
        if result.status == "ok":
            records = kb.details([m.service.id for m in result.eligible[: messages.PAGE_SIZE]])
            return self.say(messages.results_messages(result, records, 0, catalogue.vocabulary))
        if result.status == "no_match":
            return self.say(messages.no_match_messages(result, catalogue.vocabulary))
        if result.status == "out_of_area":
            return self.say(messages.out_of_area_messages(result, "Hampshire, Portsmouth and Southampton"))
        return self.say(messages.over_age_messages(result))

    def ask_for_person(self, kb) -> Chat:
        helplines = [sp for sp in kb.catalogue().signposts if sp.kind == "helpline"]
        self.user("/talk_to_person", intent="talk_to_person")
        self.say([messages.helpline_message(helplines)])
        return self.slots(asked_for_person=True)


async def save(url: str, *chats: Chat) -> None:
    store = SQLTrackerStore(domain=DOMAIN, host=url)
    for chat in chats:
        await store.save(chat.tracker)
    store.engine.dispose()


def expected_cards(kb, age, needs, place) -> list[tuple[str, tuple[str, ...]]]:
    result = kb.find(age, needs, place, record_unmet=False)
    return [(m.service.name, m.reasons) for m in result.eligible[: messages.PAGE_SIZE]]


@pytest.fixture(params=("sqlite", "postgresql"))
def tracker_url(request, tmp_path, monkeypatch):
    """An empty tracker store: a SQLite file, or a PostgreSQL schema of its own (Rasa's POSTGRESQL_SCHEMA)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    schema = f"rasa_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("POSTGRESQL_SCHEMA", schema)
    yield PG_URL
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def store(tracker_url):
    s = ConversationStore(tracker_url)
    yield s
    s.dispose()


def test_before_rasa_has_stored_anything_there_are_no_conversations(store):
    page = store.recent()
    assert page.conversations == [] and page.total == 0 and page.pages == 1
    assert store.conversation("anyone") is None
    assert store.asked_for_person() == []


def test_the_list_is_newest_first_with_the_gathered_details_and_what_was_offered(store, tracker_url, web_kb):
    older = (
        Chat("older", at(20, 9))
        .user("my son is 7, autistic, we live in Havant")
        .slots(age_years=7.0, needs=["autism"], district="Havant", local_authority="Hampshire", place="Havant")
    )
    older.search(web_kb, 7.0, ["autism"], "Havant")
    older.user("actually he is 8").slots(age_years=8.0)  # the last SlotSet wins
    newer = (
        Chat("newer", at(21, 15))
        .user("my daughter is 16 and deaf, Reading")
        .slots(age_years=16.0, needs=["hearing"], local_authority="Reading", place="Reading")
    )
    newer.search(web_kb, 16.0, ["hearing"], "Reading")
    asyncio.run(save(tracker_url, older, newer))

    page = store.recent()
    assert [c.sender_id for c in page.conversations] == ["newer", "older"]
    assert page.total == 2
    first, second = page.conversations
    assert second.slots == {
        "age_years": 8.0, "needs": ["autism"], "district": "Havant", "local_authority": "Hampshire", "place": "Havant"
    }  # fmt: skip
    assert second.age_text == "8 years" and second.place_text == "Havant, Hampshire"
    assert second.first_at == datetime.fromtimestamp(at(20, 9) + 1, LOCAL_TIME)
    assert second.last_at == datetime.fromtimestamp(older.clock, LOCAL_TIME)
    assert second.messages == 2
    assert [(s.name, s.why) for s in second.services] == expected_cards(web_kb, 7.0, ["autism"], "Havant")
    assert second.services and not second.asked_for_person
    # Outside the area: no services, the national signposts the engine chose, with their reasons.
    reading = web_kb.find(16.0, ["hearing"], "Reading", record_unmet=False)
    assert first.services == []
    assert [(s.name, s.why) for s in first.signposts] == [(m.signpost.name, m.reason) for m in reading.signposts[:5]]


def test_starting_again_and_a_new_session_forget_the_details(store, tracker_url):
    restarted = Chat("restarted", at(20, 9)).user("she is 5").slots(age_years=5.0, needs=["adhd"])
    restarted.user("start again", intent="start_again").bot("OK, let's start again.")
    restarted.add(ActionExecuted, "action_start_again").add(ActiveLoop, None).add(AllSlotsReset)
    restarted.user("he's 12").slots(age_years=12.0)
    new_session = Chat("new-session", at(20, 10)).user("she is 5, Fareham").slots(age_years=5.0, district="Fareham")
    new_session.add(SessionStarted).add(ActionExecuted, "action_listen").user("hello", intent="greet")
    hard_restart = Chat("hard-restart", at(20, 11)).user("she is 5").slots(age_years=5.0).add(Restarted)
    asyncio.run(save(tracker_url, restarted, new_session, hard_restart))

    by_id = {c.sender_id: c for c in store.recent().conversations}
    assert by_id["restarted"].slots == {"age_years": 12.0}
    assert by_id["new-session"].slots == {}
    assert by_id["hard-restart"].slots == {}
    turns = store.conversation("restarted").turns
    assert [t.text for t in turns if t.kind == "marker"] == ["Started again"]
    assert store.conversation("restarted").summary.slots == {"age_years": 12.0}


def test_asked_for_a_person_by_the_slot_or_the_intent_and_the_filter(store, tracker_url, web_kb):
    by_button = Chat("by-button", at(20, 9)).user("my son is 7").ask_for_person(web_kb)
    by_intent = Chat("by-intent", at(20, 10)).user("can I speak to someone", intent="talk_to_person")
    not_asked = Chat("not-asked", at(20, 11)).user("what is an EHC plan", intent="ask_ehcp").slots(asked_for_person=False)
    asyncio.run(save(tracker_url, by_button, by_intent, not_asked))

    everything = store.recent()
    assert {c.sender_id: c.asked_for_person for c in everything.conversations} == {
        "by-button": True, "by-intent": True, "not-asked": False
    }  # fmt: skip
    asked = store.recent(asked_only=True)
    assert [c.sender_id for c in asked.conversations] == ["by-intent", "by-button"] and asked.total == 2
    button = next(c for c in asked.conversations if c.sender_id == "by-button")
    assert button.asked_at == datetime.fromtimestamp(at(20, 9) + 4, LOCAL_TIME)  # the talk_to_person message
    assert [s.name for s in button.signposts] == [sp.name for sp in web_kb.catalogue().signposts if sp.kind == "helpline"]
    assert {c.sender_id for c in store.asked_for_person()} == {"by-button", "by-intent"}


def test_date_filters_take_whole_days_in_england(store, tracker_url):
    chats = [Chat(f"day-{day}", at(day, 23, 30)).user("hello", intent="greet") for day in (18, 19, 20)]
    spanning = Chat("spanning", at(17, 12)).user("hello", intent="greet")
    spanning.clock = at(21, 8)
    spanning.user("still there?", intent="greet")
    asyncio.run(save(tracker_url, *chats, spanning))

    def ids(**filters):
        return [c.sender_id for c in store.recent(**filters).conversations]

    assert ids() == ["spanning", "day-20", "day-19", "day-18"]
    assert ids(since=date(2026, 11, 19), until=date(2026, 11, 19)) == ["spanning", "day-19"]
    assert ids(since=date(2026, 11, 20)) == ["spanning", "day-20"]
    assert ids(until=date(2026, 11, 18)) == ["spanning", "day-18"]
    assert ids(since=date(2026, 11, 22)) == []
    assert ids(until=date(2026, 11, 16)) == []


def test_the_list_is_paginated_and_read_with_one_query(store, tracker_url, web_kb):
    chats = []
    for number in range(7):
        chat = Chat(f"parent-{number}", at(20, 8 + number)).user("7, autism, Havant").slots(age_years=7.0, needs=["autism"])
        chats.append(chat.search(web_kb, 7.0, ["autism"], "Havant"))
    asyncio.run(save(tracker_url, *chats))

    statements = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    first = store.recent(size=3)
    assert len(statements) == 1
    assert [c.sender_id for c in first.conversations] == ["parent-6", "parent-5", "parent-4"]
    assert first.total == 7 and first.pages == 3
    assert all(c.services and c.slots["needs"] == ["autism"] for c in first.conversations)
    last = store.recent(size=3, page=3)
    assert [c.sender_id for c in last.conversations] == ["parent-0"] and last.number == 3
    assert store.recent(size=3, page=9).conversations == []


def test_a_transcript_has_the_messages_buttons_cards_and_times_in_order(store, tracker_url, web_kb):
    chat = Chat("parent <b>1</b>", at(20, 9)).user("<script>alert('x')</script> my son is 7")
    chat.bot(messages.question("needs")["text"], messages.question("needs")["buttons"])
    chat.user('/inform{"need": "not sure"}').slots(
        needs=["unsure"], age_years=7.0, district="Havant", local_authority="Hampshire"
    )
    chat.search(web_kb, 7.0, ["unsure"], "Havant")
    asyncio.run(save(tracker_url, chat))

    found = store.conversation("parent <b>1</b>")
    turns = found.turns
    assert turns[0].kind == "user" and turns[0].text == "<script>alert('x')</script> my son is 7"
    assert turns[0].at == datetime.fromtimestamp(at(20, 9) + 2, LOCAL_TIME)
    assert turns[1].kind == "bot" and turns[1].buttons == ("Not sure yet",)
    assert turns[2].button_title == "Not sure yet"
    shown = [t for t in turns if t.services]
    assert len(shown) == 1
    assert [(s.name, s.why) for s in shown[0].services] == expected_cards(web_kb, 7.0, ["unsure"], "Havant")
    assert [t.at for t in turns] == sorted(t.at for t in turns)
    assert found.summary.messages == 2 and found.summary.slots["needs"] == ["unsure"]
    assert store.conversation("parent") is None


def test_ages_in_words_and_the_assistants_bold_names():
    assert [age_in_words(a) for a in (7, 1, 1.5, 3.5, 0.1, 16)] == [
        "7 years", "1 year", "18 months", "3 and a half years", "5 weeks", "16 years"
    ]  # fmt: skip
    assert bold_segments("**Portage** (sample data): home visits") == [("Portage", True), (" (sample data): home visits", False)]
    assert bold_segments("2 ** 3") == [("2 ** 3", False)]
