"""Locks that every process using the same knowledge base respects (for jobs that must not run twice at once)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine

_IN_PROCESS: dict[tuple[str, str], threading.Lock] = {}


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def held_if_free(engine: Engine, name: str) -> Iterator[bool]:
    """Take the lock called `name` if no process holds it; yields whether this one got it.

    PostgreSQL: a session advisory lock for this schema (let go when the connection closes, should the process die).
    A SQLite file: an exclusive lock on a file beside it. An in-memory database: a lock in this process.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            key = _advisory_key(f"{connection.execute(text('SELECT current_schema()')).scalar()}:{name}")
            got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
            connection.commit()
            try:
                yield got
            finally:
                if got:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
        return
    path = engine.url.database
    if path and path != ":memory:":
        descriptor = os.open(f"{path}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)
        return
    lock = _IN_PROCESS.setdefault((str(engine.url), name), threading.Lock())
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
