"""Fixtures: a migrated, seeded knowledge base on SQLite and on the real PostgreSQL.

PostgreSQL tests use the server on 127.0.0.1:5432 (database `test`, trust auth),
each test session in a schema of its own that is dropped afterwards.
Set LOCAL_OFFER_TEST_PG_URL to use another server.
"""

from __future__ import annotations

import os
import uuid
from datetime import date

import pytest
from sqlalchemy import text

from knowledge.db import make_engine, make_session_factory
from knowledge.kb import KnowledgeBase
from knowledge.schema import migrate
from knowledge.seed import load_seed

PG_URL = os.environ.get("LOCAL_OFFER_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")
TODAY = date(2026, 11, 23)


class Backend:
    """One empty, migrated database; `fresh()` gives another, for tests that change data."""

    def __init__(self, name: str, tmp_path_factory) -> None:
        self.name = name
        self._tmp = tmp_path_factory
        self._schemas: list[str] = []
        self._engines = []

    def fresh_engine(self):
        if self.name == "sqlite":
            path = self._tmp.mktemp("kb") / "local_offer.db"
            engine = make_engine(f"sqlite:///{path}")
        else:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
            self._schemas.append(schema)
            engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        migrate(engine)
        self._engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        if self._schemas:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                for schema in self._schemas:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def seeded_engine(backend: Backend):
    engine = backend.fresh_engine()
    with make_session_factory(engine).begin() as session:
        load_seed(session, today=TODAY)
    return engine


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory):
    b = Backend(request.param, tmp_path_factory)
    yield b
    b.close()


@pytest.fixture(scope="session")
def seeded_kb(backend) -> KnowledgeBase:
    """The seeded knowledge base, shared by tests that only read."""
    return KnowledgeBase(engine=seeded_engine(backend))


@pytest.fixture(scope="session")
def catalogue(seeded_kb):
    return seeded_kb.catalogue()


@pytest.fixture
def fresh_kb(backend) -> KnowledgeBase:
    """A seeded knowledge base of its own, for tests that write."""
    return KnowledgeBase(engine=seeded_engine(backend))


@pytest.fixture
def empty_engine(backend):
    return backend.fresh_engine()
