"""Retention and deletion (bot/retention.py): conversations written by Rasa's own SQLTrackerStore, on SQLite
and on the real PostgreSQL, purged after the retention period with every linked row; a parent's
"Delete this conversation"; the scheduled purge in the running web app; `python -m bot purge`."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from bot.__main__ import main as bot_main
from bot.conversations import LOCAL_TIME, ConversationStore, events
from bot.retention import CONVERSATION_TABLES, DAY_SECONDS, Retention, register_conversation_table
from knowledge import models as m
from knowledge.db import make_engine
from knowledge.schema import migrate
from tests import test_conversations
from tests.conftest import PG_URL
from tests.test_conversations import Chat, save
from tests.test_web_widget import new_conversation, token_for

NOW = time.time()
tracker_url = test_conversations.tracker_url  # the fixture: an empty tracker store on SQLite, and on PostgreSQL


def days_ago(days: float) -> float:
    return NOW - days * DAY_SECONDS


@pytest.fixture
def kb_engine(tracker_url, tmp_path):
    """The knowledge base beside the tracker store: on PostgreSQL in the same schema (one database), else a file."""
    import os

    schema = os.environ.get("POSTGRESQL_SCHEMA")
    if tracker_url.startswith("postgresql") and schema:
        engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(tracker_url):
    s = ConversationStore(tracker_url)
    yield s
    s.dispose()


def conversation(sender: str, last_message_days_ago: float, messages: int = 2) -> Chat:
    chat_ = Chat(sender, days_ago(last_message_days_ago) - messages * 2 - 1)
    for n in range(messages):
        chat_.user(f"message {n}")
        chat_.bot(f"answer {n}")
    return chat_


def handoff(engine, sender: str, handled_days_ago: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(m.Handoff.__table__).values(
                sender_id=sender, handled_by="staff", handled_at=datetime.utcfromtimestamp(days_ago(handled_days_ago))
            )
        )


def senders(store: ConversationStore) -> set[str]:
    return {row.sender_id for row in store._rows(select(events.c.sender_id).distinct())}


def handoff_senders(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(m.Handoff.sender_id)).scalars())


def test_the_purge_deletes_only_conversations_quiet_for_longer_than_the_period_and_their_linked_rows(
    store, tracker_url, kb_engine
):
    old = conversation("old", 91)
    returned = Chat("came-back", days_ago(200)).user("long ago")  # started long ago, but the parent came back
    returned.clock = days_ago(3)
    returned.user("and again today")
    recent = conversation("recent", 89)
    asyncio.run(save(tracker_url, old, returned, recent))
    handoff(kb_engine, "old", 95)  # goes with its conversation
    handoff(kb_engine, "recent", 89.5)  # stays with its conversation
    handoff(kb_engine, "gone-long-ago", 120)  # its conversation already left the store: goes by its own date
    retention = Retention(store, kb_engine, days=90)

    assert retention.expired(now=NOW) == ["old"]
    result = retention.purge(now=NOW, batch=1)

    assert senders(store) == {"came-back", "recent"}
    assert result.conversations == 1 and result.events == len(old.tracker.events)
    assert result.linked_rows == {"handoff": 2}
    assert handoff_senders(kb_engine) == {"recent"}
    assert store.conversation("came-back").summary.messages == 2  # nothing of a kept conversation is touched
    again = retention.purge(now=NOW)
    assert again.conversations == 0 and senders(store) == {"came-back", "recent"}
    assert "Deleted 0 conversations" in str(again)


def test_a_shorter_period_takes_more_and_a_purge_in_many_batches_takes_them_all(store, tracker_url, kb_engine):
    chats = [conversation(f"c{n:02d}", 10 + n) for n in range(12)]
    asyncio.run(save(tracker_url, *chats))
    result = Retention(store, kb_engine, days=15).purge(now=NOW, batch=5)
    assert result.conversations == 6  # 16 to 21 days quiet; c05's last message is just inside 15 days
    assert senders(store) == {f"c{n:02d}" for n in range(6)}


def test_deleting_one_conversation_removes_it_at_once_and_nothing_else(store, tracker_url, kb_engine):
    mine, other = conversation("mine", 0.01), conversation("other", 0.01)
    asyncio.run(save(tracker_url, mine, other))
    handoff(kb_engine, "mine", 0)
    handoff(kb_engine, "other", 0)
    result = Retention(store, kb_engine).delete_conversation("mine")
    assert result.conversations == 1 and result.events == len(mine.tracker.events)
    assert store.conversation("mine") is None
    assert senders(store) == {"other"} and handoff_senders(kb_engine) == {"other"}
    assert Retention(store, kb_engine).delete_conversation("never-stored").conversations == 0


def test_live_chats_call_backs_and_feedback_links_go_with_the_conversation(store, tracker_url, kb_engine):
    """The hand-off's tables (with the parent's words and contact details) are deleted; feedback is kept unlinked."""
    from knowledge import helpline

    asyncio.run(save(tracker_url, conversation("mine", 0.01), conversation("other", 0.01)))
    sessions = sa.orm.sessionmaker(kb_engine, future=True)
    with sessions.begin() as session:
        for sender in ("mine", "other"):
            chat = helpline.request_chat(session, sender)
            helpline.add_message(session, chat, "parent", f"my phone is 07700 900{len(sender)}")
            helpline.request_callback(session, sender, helpline.read_callback("07700 900123", "", "mornings"))
            session.add(m.Feedback(kind="missing", comment="more for teenagers", sender_id=sender))
    Retention(store, kb_engine).delete_conversation("mine")
    with kb_engine.connect() as conn:
        assert set(conn.execute(select(m.LiveChat.sender_id)).scalars()) == {"other"}
        assert set(conn.execute(select(m.CallbackRequest.sender_id)).scalars()) == {"other"}
        assert conn.execute(select(sa.func.count()).select_from(m.LiveMessage)).scalar() == 1
        assert sorted(conn.execute(select(m.Feedback.sender_id)).scalars(), key=str) == [None, "other"]


def test_a_table_added_to_the_registry_is_purged_too(store, tracker_url, kb_engine):
    linked = sa.Table(
        f"linked_{uuid.uuid4().hex[:8]}",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation", sa.String(255)),
    )
    linked.create(kb_engine)
    register_conversation_table(linked, "conversation")
    try:
        asyncio.run(save(tracker_url, conversation("old", 100), conversation("new", 1)))
        with kb_engine.begin() as conn:
            conn.execute(sa.insert(linked), [{"conversation": "old"}, {"conversation": "new"}])
        result = Retention(store, kb_engine, days=90).purge(now=NOW)
        with kb_engine.connect() as conn:
            assert list(conn.execute(select(linked.c.conversation)).scalars()) == ["new"]
        assert result.linked_rows[linked.name] == 1
    finally:
        CONVERSATION_TABLES[:] = [entry for entry in CONVERSATION_TABLES if entry.table is not linked]
        linked.drop(kb_engine)


def test_an_empty_tracker_store_purges_nothing(store, kb_engine):
    result = Retention(store, kb_engine).purge()
    assert result.conversations == 0 and result.events == 0


def test_the_period_must_be_at_least_a_day(store, kb_engine, monkeypatch):
    with pytest.raises(ValueError):
        Retention(store, kb_engine, days=0)
    from bot.retention import retention_days_from_env

    monkeypatch.setenv("LOCAL_OFFER_RETENTION_DAYS", "ninety")
    with pytest.raises(ValueError, match="whole number of days"):
        retention_days_from_env()
    monkeypatch.setenv("LOCAL_OFFER_RETENTION_DAYS", "30")
    assert retention_days_from_env() == 30


def test_the_purge_command(store, tracker_url, kb_engine, monkeypatch, capsys, tmp_path):
    asyncio.run(save(tracker_url, conversation("old", 40), conversation("new", 5)))
    monkeypatch.setenv("RASA_TRACKER_STORE_URL", tracker_url)
    monkeypatch.setenv("LOCAL_OFFER_DATABASE_URL", str(kb_engine.url) if kb_engine.dialect.name == "sqlite" else PG_URL)
    monkeypatch.setenv("LOCAL_OFFER_SECRET_KEY", "purge-test")
    monkeypatch.setenv("LOCAL_OFFER_RETENTION_DAYS", "30")
    if kb_engine.dialect.name == "postgresql":  # the command's knowledge base in this test's schema
        monkeypatch.setattr("bot.__main__.KnowledgeBase", lambda url: _KB(kb_engine))
    assert bot_main(["purge", "--dry-run"]) == 0
    assert "1 conversation older than 30 days would be deleted" in capsys.readouterr().out
    assert senders(store) == {"old", "new"}
    assert bot_main(["purge"]) == 0
    assert "Deleted 1 conversation " in capsys.readouterr().out
    assert senders(store) == {"new"}
    with pytest.raises(SystemExit):
        bot_main(["purge", "--days", "0"])


class _KB:
    def __init__(self, engine) -> None:
        self.engine = engine

    def dispose(self) -> None:
        pass


# --- The web app -----------------------------------------------------------------------------------


@pytest.fixture
def web_settings_with_store(web_settings, tracker_url):
    web_settings.tracker_store_url = tracker_url
    return web_settings


async def test_a_parent_deletes_the_conversation_from_the_widget(aiohttp_client, web_kb, web_settings_with_store, tracker_url):
    from bot.app import create_app

    conversation_id = new_conversation()
    sender = "web-" + uuid.UUID(conversation_id).hex
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: asyncio.run(save(tracker_url, conversation(sender, 0.001), conversation("someone-else", 0.001)))
    )
    client = await aiohttp_client(create_app(web_settings_with_store, web_kb))
    token = await token_for(client)
    store = client.app["console_conversations"]
    assert store.conversation(sender) is not None

    response = await client.post(
        "/api/conversation/delete", json={"conversation_id": conversation_id}, headers={"X-Widget-Token": token}
    )
    assert response.status == 200
    body = await response.json()
    assert body["ok"] is True and "has been deleted" in body["message"]
    assert store.conversation(sender) is None
    assert store.conversation("someone-else") is not None

    refused = await client.post("/api/conversation/delete", json={"conversation_id": conversation_id})
    assert refused.status == 403  # the same checks as the chat: the page's token
    bad = await client.post("/api/conversation/delete", json={"conversation_id": "x"}, headers={"X-Widget-Token": token})
    assert bad.status == 400 and "could not be recognised" in (await bad.json())["error"]


async def test_the_privacy_notice_and_the_widget_say_how_long_and_offer_deletion(web, web_settings):
    page = await (await web.get("/chat")).text()
    assert f"We delete each conversation {web_settings.retention_days} days after its last message" in page
    assert 'id="chat-delete"' in page and "Delete this conversation" in page and 'id="chat-delete-yes"' in page
    privacy = await (await web.get("/privacy")).text()
    assert "90 days after its last message" in privacy


async def test_the_notice_follows_the_setting(aiohttp_client, web_kb, web_settings):
    from bot.app import create_app

    web_settings.retention_days = 30
    client = await aiohttp_client(create_app(web_settings, web_kb))
    assert "30 days after its last message" in await (await client.get("/privacy")).text()


async def test_staff_see_when_each_conversation_will_be_deleted(aiohttp_client, web_kb, web_settings_with_store, tracker_url):
    from bot.app import create_app
    from tests.web_helpers import WebClient

    chat_ = conversation("to-be-deleted", 10)
    await asyncio.get_running_loop().run_in_executor(None, lambda: asyncio.run(save(tracker_url, chat_)))
    web_settings_with_store.retention_days = 30
    client = WebClient(await aiohttp_client(create_app(web_settings_with_store, web_kb)), web_kb)
    await client.sign_in("staff")
    page = await (await client.get("/console")).text()
    deletes_on = datetime.fromtimestamp(chat_.clock, LOCAL_TIME) + timedelta(days=30)
    assert "Deleted on" in page and "deleted 30 days after its last message" in page
    assert deletes_on.strftime("%-d %B %Y") in page


async def test_the_running_app_purges_on_a_schedule(aiohttp_client, web_kb, web_settings_with_store, tracker_url):
    from bot.app import create_app

    await asyncio.get_running_loop().run_in_executor(
        None, lambda: asyncio.run(save(tracker_url, conversation("stale", 91), conversation("fresh", 1)))
    )
    web_settings_with_store.purge_interval_minutes = 60
    client = await aiohttp_client(create_app(web_settings_with_store, web_kb))
    store = client.app["console_conversations"]
    for _ in range(100):
        if store.conversation("stale") is None:
            break
        await asyncio.sleep(0.05)
    assert store.conversation("stale") is None and store.conversation("fresh") is not None
