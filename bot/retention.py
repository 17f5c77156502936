"""How long parents' conversations are kept, and deleting them: old ones in batches, or one at once.

A conversation is kept for `LOCAL_OFFER_RETENTION_DAYS` (default 90) after its last message,
then deleted from Rasa's tracker store (SQLite or PostgreSQL, see bot/conversations.py) and
from every knowledge-base table that copies or links to it. Those tables are listed in one
registry, `CONVERSATION_TABLES`: a module that adds such a table calls
`register_conversation_table` so the purge and "Delete this conversation" reach it too.

Deletion runs in short transactions of `batch` conversations each, so chat turns written to
the same store in the meantime wait milliseconds, not the whole purge.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from bot.conversations import ConversationStore, events
from knowledge import models as m
from knowledge.helpline import CALLBACK_RETENTION_DAYS as DEFAULT_CALLBACK_DAYS
from knowledge.helpline import purge_callback_requests

logger = logging.getLogger(__name__)

RETENTION_DAYS_VARIABLE = "LOCAL_OFFER_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90
CALLBACK_DAYS_VARIABLE = "LOCAL_OFFER_CALLBACK_RETENTION_DAYS"
PURGE_INTERVAL_VARIABLE = "LOCAL_OFFER_PURGE_INTERVAL_MINUTES"
DEFAULT_PURGE_INTERVAL_MINUTES = 60
DAY_SECONDS = 86_400
SCHEDULED_BATCH = 500
SCHEDULED_PAUSE_SECONDS = 0.05
"""The web app's scheduled purge: conversations per transaction, and a rest between transactions that leaves
the tracker store (and this process's interpreter lock) to the chat (benchmarks/scale_bench.py measures it)."""


def _days_from_env(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"{variable} must be a whole number of days, not {raw!r}") from None
    if days < 1:
        raise ValueError(f"{variable} must be at least 1 day")
    return days


def retention_days_from_env() -> int:
    """The retention period in whole days (at least 1), from the environment."""
    return _days_from_env(RETENTION_DAYS_VARIABLE, DEFAULT_RETENTION_DAYS)


def callback_retention_days_from_env(retention_days: int) -> int:
    """Days a call-back request (contact details a parent left) is kept at most: never longer than the
    conversation it came from."""
    return min(_days_from_env(CALLBACK_DAYS_VARIABLE, DEFAULT_CALLBACK_DAYS), retention_days)


def purge_interval_from_env() -> float:
    """Minutes between the web app's purges; 0 turns the scheduled purge off."""
    raw = os.environ.get(PURGE_INTERVAL_VARIABLE, "").strip()
    try:
        return max(0.0, float(raw)) if raw else float(DEFAULT_PURGE_INTERVAL_MINUTES)
    except ValueError:
        raise ValueError(f"{PURGE_INTERVAL_VARIABLE} must be a number of minutes, not {raw!r}") from None


# --- The registry of tables that keep a conversation id ------------------------------------------


@dataclass(frozen=True)
class ConversationTable:
    """A knowledge-base table with a column holding Rasa's sender id (the conversation id).

    `time_column`, when given, is when the row was written: rows older than the retention
    period go even if their conversation has already left the tracker store. `unlink`: the
    row is kept but its link to the conversation is cleared (feedback the council must keep
    and publish, anonymised, under regulation 56).
    """

    table: sa.Table
    sender_column: str
    time_column: str | None = None
    unlink: bool = False

    @property
    def name(self) -> str:
        return self.table.name


CONVERSATION_TABLES: list[ConversationTable] = []


def register_conversation_table(
    table: sa.Table, sender_column: str, time_column: str | None = None, *, unlink: bool = False
) -> None:
    """Add a table whose rows belong to a conversation (idempotent)."""
    entry = ConversationTable(table, sender_column, time_column, unlink)
    if entry not in CONVERSATION_TABLES:
        CONVERSATION_TABLES.append(entry)


register_conversation_table(m.Handoff.__table__, "sender_id", "handled_at")
register_conversation_table(m.LiveChat.__table__, "sender_id", "requested_at")  # its messages go with it (cascade)
register_conversation_table(m.CallbackRequest.__table__, "sender_id", "requested_at")
register_conversation_table(m.Feedback.__table__, "sender_id", "created_at", unlink=True)


# --- Purging ---------------------------------------------------------------------------------------


@dataclass
class PurgeResult:
    conversations: int = 0
    events: int = 0
    linked_rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add_linked(self, name: str, count: int) -> None:
        if count:
            self.linked_rows[name] = self.linked_rows.get(name, 0) + count

    def __str__(self) -> str:
        linked = ", ".join(f"{count} from {name}" for name, count in sorted(self.linked_rows.items()) if count)
        return (
            f"Deleted {self.conversations} conversation{'s' if self.conversations != 1 else ''} "
            f"({self.events} events{'; ' + linked if linked else ''}) in {self.seconds:.1f} s."
        )


class Retention:
    """The retention period applied to one tracker store and the knowledge base's linked tables."""

    def __init__(
        self, store: ConversationStore, kb_engine: Engine, days: int = DEFAULT_RETENTION_DAYS, callback_days: int | None = None
    ) -> None:
        if days < 1:
            raise ValueError("The retention period must be at least 1 day")
        self.store = store
        self.kb_engine = kb_engine
        self.days = days
        self.callback_days = min(callback_days or DEFAULT_CALLBACK_DAYS, days)

    def deletes_on(self, last_at: datetime | None) -> datetime | None:
        """When a conversation whose last message was at `last_at` will be deleted."""
        return None if last_at is None else last_at + timedelta(days=self.days)

    def cutoff(self, now: float | None = None) -> float:
        """The timestamp before which a conversation's last message makes it due for deletion."""
        return (time.time() if now is None else now) - self.days * DAY_SECONDS

    def expired(self, now: float | None = None) -> list[str]:
        """The ids of conversations whose last message is older than the retention period."""
        query = select(events.c.sender_id).group_by(events.c.sender_id).having(func.max(events.c.timestamp) < self.cutoff(now))
        return [row.sender_id for row in self.store._rows(query)]

    def purge(self, now: float | None = None, batch: int = 500, pause: float = 0.0) -> PurgeResult:
        """Delete every conversation past the retention period, and the rows linked to it.

        `pause` seconds between batches leaves the databases to the chat while a large purge runs."""
        started = time.perf_counter()
        cutoff = self.cutoff(now)
        result = PurgeResult()
        senders = self.expired(now)
        for start in range(0, len(senders), batch):
            chunk = senders[start : start + batch]
            deleted, count = self._delete_events(chunk, still_expired_before=cutoff)
            result.conversations += len(deleted)
            result.events += count
            self._delete_linked(result, senders=deleted)
            if pause:
                time.sleep(pause)
        self._delete_linked(result, older_than=datetime.utcfromtimestamp(cutoff))
        with Session(self.kb_engine) as session, session.begin():
            at = None if now is None else datetime.fromtimestamp(now, timezone.utc)
            result.add_linked(m.CallbackRequest.__tablename__, purge_callback_requests(session, at, self.callback_days))
        result.seconds = time.perf_counter() - started
        if result.conversations or any(result.linked_rows.values()):
            logger.info("retention purge: %s", result)
        return result

    def scheduled_purge(self) -> PurgeResult:
        """The purge as the running web app does it, in a worker thread (see SCHEDULED_BATCH)."""
        return self.purge(batch=SCHEDULED_BATCH, pause=SCHEDULED_PAUSE_SECONDS)

    def delete_conversation(self, sender_id: str) -> PurgeResult:
        """Delete one conversation now (a parent's "Delete this conversation")."""
        started = time.perf_counter()
        result = PurgeResult()
        deleted, count = self._delete_events([sender_id])
        result.conversations, result.events = len(deleted), count
        self._delete_linked(result, senders=[sender_id])
        result.seconds = time.perf_counter() - started
        return result

    def _delete_events(self, senders: list[str], still_expired_before: float | None = None) -> tuple[list[str], int]:
        """Delete the events of `senders` in one transaction; with `still_expired_before`, only of those
        with no message since (a parent may have come back since the list was read)."""
        if not senders:
            return [], 0
        try:
            with self.store.engine.begin() as conn:
                if still_expired_before is not None:
                    active = select(events.c.sender_id).where(
                        events.c.sender_id.in_(senders), events.c.timestamp >= still_expired_before
                    )
                    returned = {row.sender_id for row in conn.execute(active.distinct())}
                    senders = [s for s in senders if s not in returned]
                    if not senders:
                        return [], 0
                stored = select(events.c.sender_id).where(events.c.sender_id.in_(senders)).distinct()
                present = {row.sender_id for row in conn.execute(stored)}
                count = conn.execute(delete(events).where(events.c.sender_id.in_(senders))).rowcount
        except (OperationalError, ProgrammingError):
            if not self.store._has_table():
                return [], 0  # Rasa has not stored a conversation yet
            raise
        return [s for s in senders if s in present], count

    def _delete_linked(
        self, result: PurgeResult, *, senders: list[str] | None = None, older_than: datetime | None = None
    ) -> None:
        with self.kb_engine.begin() as conn:
            for entry in CONVERSATION_TABLES:
                column = entry.table.c[entry.sender_column]
                if senders is not None:
                    if not senders:
                        continue
                    chosen = column.in_(senders)
                elif entry.time_column is not None:
                    chosen = entry.table.c[entry.time_column] < older_than
                else:
                    continue
                if entry.unlink:
                    statement = update(entry.table).where(chosen & column.is_not(None)).values({entry.sender_column: None})
                else:
                    statement = delete(entry.table).where(chosen)
                result.add_linked(entry.name, conn.execute(statement).rowcount)
