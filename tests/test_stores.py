"""Rasa's conversation stores as configured in endpoints.yml: the SQL tracker store from a URL
(SQLite and the real PostgreSQL), and the Redis lock store (the real Redis on 127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

from components.stores import (
    LOCK_URL_VARIABLE,
    TRACKER_URL_VARIABLE,
    FailoverRedisLockStore,
    URLLockStore,
    URLTrackerStore,
    tracker_store_url,
)
from knowledge.db import PROJECT_ROOT, make_engine
from tests.conftest import PG_URL

REDIS_URL = "redis://127.0.0.1:6379/3"
DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture
def pg_schema(monkeypatch):
    """A schema of its own on the test PostgreSQL server, used through Rasa's POSTGRESQL_SCHEMA."""
    schema = f"rasa_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("POSTGRESQL_SCHEMA", schema)
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def conversation(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("my son is 7 and autistic", {"name": "inform", "confidence": 0.99}))
    tracker.update(SlotSet("age_years", 7.0))
    tracker.update(SlotSet("needs", ["autism"]))
    return tracker


def check_survives_restart(url: str) -> None:
    sender = f"parent-{uuid.uuid4().hex[:8]}"
    first = URLTrackerStore(domain=DOMAIN, url=url)
    asyncio.run(first.save(conversation(sender)))
    first.engine.dispose()
    second = URLTrackerStore(domain=DOMAIN, url=url)  # as after a restart
    restored = asyncio.run(second.retrieve(sender))
    assert restored is not None
    assert restored.get_slot("age_years") == 7.0
    assert restored.get_slot("needs") == ["autism"]
    assert restored.latest_message.text == "my son is 7 and autistic"
    assert sender in asyncio.run(second.keys())
    second.engine.dispose()


def test_sqlite_tracker_store_keeps_conversations_across_restarts(tmp_path):
    check_survives_restart(f"sqlite:///{tmp_path / 'tracker.db'}")


def test_postgresql_tracker_store_keeps_conversations_across_restarts(pg_schema):
    check_survives_restart(PG_URL)


def test_postgresql_tracker_store_replaces_terminated_connections(pg_schema):
    """A database restart or a terminated backend: the next read and write work, with no error and no restart."""
    name = f"lo_store_{uuid.uuid4().hex[:8]}"
    store = URLTrackerStore(domain=DOMAIN, url=f"{PG_URL}?application_name={name}")
    first, second = f"parent-{uuid.uuid4().hex[:8]}", f"parent-{uuid.uuid4().hex[:8]}"
    asyncio.run(store.save(conversation(first)))
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        terminated = conn.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"), {"name": name}
        ).scalar()
    admin.dispose()
    assert terminated >= 1
    assert asyncio.run(store.retrieve(first)).get_slot("age_years") == 7.0
    asyncio.run(store.save(conversation(second)))
    assert asyncio.run(store.retrieve(second)) is not None
    store.engine.dispose()


def test_tracker_store_url_defaults_to_sqlite_under_var(monkeypatch):
    monkeypatch.delenv(TRACKER_URL_VARIABLE, raising=False)
    assert tracker_store_url() == f"sqlite:///{PROJECT_ROOT / 'var' / 'rasa_tracker.db'}"
    monkeypatch.setenv(TRACKER_URL_VARIABLE, "postgres://u@h/db")
    assert tracker_store_url() == "postgresql://u@h/db"


def test_lock_store_is_in_memory_without_a_url(monkeypatch):
    monkeypatch.delenv(LOCK_URL_VARIABLE, raising=False)
    assert isinstance(URLLockStore(), InMemoryLockStore)


def test_redis_lock_store_from_url_serialises_a_conversation(monkeypatch):
    monkeypatch.setenv(LOCK_URL_VARIABLE, REDIS_URL)
    store = URLLockStore()
    assert isinstance(store, RedisLockStore)
    assert store.key_prefix == "localoffer:lock:"  # our own keys, not Rasa's shared default
    sender = f"parent-{uuid.uuid4().hex[:8]}"
    first = store.issue_ticket(sender)
    second = store.issue_ticket(sender)
    lock = store.get_lock(sender)
    assert lock is not None and lock.is_someone_waiting()
    assert lock.now_serving == first and second == first + 1
    store.finish_serving(sender, first)
    assert store.get_lock(sender).now_serving == second
    store.cleanup(sender, second)
    assert store.get_lock(sender) is None


async def test_redis_lock_goes_to_a_waiting_turn_when_a_dead_servers_ticket_expires_just_before_its_own(monkeypatch):
    """A server died holding a conversation's ticket; a turn sent again to another server waits behind it, looks
    only after both tickets have expired, and must still get the lock (Rasa's own store waits forever)."""
    monkeypatch.setenv(LOCK_URL_VARIABLE, REDIS_URL)
    store = URLLockStore()
    assert isinstance(store, FailoverRedisLockStore)
    sender = f"parent-{uuid.uuid4().hex[:8]}"
    stock = RedisLockStore(host="127.0.0.1", port=6379, db=3, key_prefix=store.key_prefix.split(":")[0])

    async def turn(lock_store) -> None:
        async with lock_store.lock(sender, lock_lifetime=0.5, wait_time_in_seconds=0.8):
            pass

    try:
        for lock_store, gets_it in ((stock, False), (store, True)):
            lock_store.issue_ticket(sender, 0.5)  # the dead server's ticket, never cleaned up
            started = time.monotonic()
            try:
                await asyncio.wait_for(turn(lock_store), timeout=3)
            except asyncio.TimeoutError:
                assert not gets_it, "the waiting turn never got the lock"
            else:
                assert gets_it and time.monotonic() - started < 1.5
            store.delete_lock(sender)
    finally:
        store.delete_lock(sender)


def test_lock_store_rejects_a_non_redis_url():
    with pytest.raises(ValueError, match="redis://"):
        URLLockStore(url="http://127.0.0.1:6379")
