"""Rasa stores configured by one URL each, so the same endpoints.yml runs embedded and at scale.

- Tracker store: `RASA_TRACKER_STORE_URL` (any SQLAlchemy URL, e.g.
  postgresql://user@host/db); default SQLite file var/rasa_tracker.db.
- Lock store: `RASA_LOCK_STORE_URL` (redis://host:port/db) for several Rasa processes;
  default in memory (one process). In Redis, a waiting turn is not stranded by a server that died
  holding the conversation's lock (see `FailoverRedisLockStore`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import sqlalchemy as sa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from sqlalchemy.pool import QueuePool

from knowledge.db import TRACKER_URL_VARIABLE, tracker_store_url  # noqa: F401 (TRACKER_URL_VARIABLE re-exported)

LOCK_URL_VARIABLE = "RASA_LOCK_STORE_URL"
logger = logging.getLogger(__name__)


class URLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, from a URL (see the module docstring)."""

    def __init__(self, domain=None, url: str | None = None, event_broker=None, **kwargs) -> None:
        kwargs.pop("host", None)
        # SQLTrackerStore uses a `host` that contains "://" as the whole database URL.
        super().__init__(domain=domain, host=tracker_store_url(url), event_broker=event_broker, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._use_pooled_sqlite()
        elif self.engine.dialect.name == "postgresql":
            self._check_connections_before_use()

    async def save(self, tracker) -> None:
        await _once_more_on_a_lost_connection(super().save, tracker)

    async def retrieve(self, sender_id):
        return await _once_more_on_a_lost_connection(super().retrieve, sender_id)

    async def retrieve_full_tracker(self, conversation_id):
        return await _once_more_on_a_lost_connection(super().retrieve_full_tracker, conversation_id)

    def _check_connections_before_use(self) -> None:
        """Test each pooled PostgreSQL connection as it is taken (a `SELECT 1`), and replace a dead one:
        after a database restart or a terminated backend the next turn works, rather than failing once
        per pooled connection (tests/test_faults.py)."""
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url.render_as_string(hide_password=False)))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _use_pooled_sqlite(self) -> None:
        """Keep SQLite connections open, in WAL mode: Rasa's default reopens the file and waits for a
        full disk sync on every turn (measured: tracker save and load were 17% of a turn's CPU)."""
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=QueuePool, connect_args={"check_same_thread": False})
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)


async def _once_more_on_a_lost_connection(operation, *args):
    """Run a tracker store operation again, on a new connection, when the database dropped the one it used
    (a restart or a terminated backend mid-turn). Each operation is one transaction, which the database
    rolls back when its connection goes, so running it again loses no events (only a connection lost at
    the very instant of the commit could leave them stored before the second try)."""
    try:
        return await operation(*args)
    except sa.exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        logger.warning("tracker store connection lost (%s); trying again on a new one", type(error.orig).__name__)
        return await operation(*args)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


WAIT_SECONDS = 0.2
"""How often a turn waiting for its conversation's lock looks again (Rasa's default: once a second)."""


class FailoverRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store, with a waiting turn that cannot be stranded by a dead server.

    Rasa's ticket lock serves the oldest unexpired ticket. A turn waits for the tickets before its own
    to finish or expire, looking once a second. When a Rasa server dies mid-turn, its ticket stays in
    Redis until it expires (TICKET_LOCK_LIFETIME), and the turn the web app sends again to another
    server waits behind it. Rasa then only hands over the lock if it looks in the moment between the
    dead ticket expiring and its own expiring (both have the same lifetime, so that moment is as long as
    the gap between the two turns being sent, often under a second on a busy machine); once its own
    ticket has expired too, `now_serving` is 0 and the turn waits forever (measured: 30 s, then the web
    app gave up and the parent got the kind reply). Here a turn goes ahead as soon as no unexpired
    ticket is ahead of its own, whether or not its own has expired, and looks five times a second.
    """

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = WAIT_SECONDS):
        async with super().lock(conversation_id, lock_lifetime, min(wait_time_in_seconds, WAIT_SECONDS)) as lock:
            yield lock

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if lock is None:  # every ticket expired and another turn's clean-up removed the lock
                return self.create_lock(conversation_id)
            if not any(t.number < ticket and not t.has_expired() for t in lock.tickets):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)


class URLLockStore(LockStore):
    """Redis lock store when RASA_LOCK_STORE_URL is set, else Rasa's in-memory one."""

    def __new__(cls, endpoint_config=None, url: str | None = None) -> LockStore:  # type: ignore[misc]
        url = url or os.environ.get(LOCK_URL_VARIABLE)
        if not url:
            return InMemoryLockStore()
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"{LOCK_URL_VARIABLE} must be a redis:// URL")
        return FailoverRedisLockStore(
            host=parts.hostname or "localhost",
            port=parts.port or 6379,
            db=int(parts.path.strip("/") or 1),
            username=parts.username,
            password=parts.password,
            use_ssl=parts.scheme == "rediss",
            key_prefix="localoffer",  # letters and digits only, or Rasa ignores it
        )
