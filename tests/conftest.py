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
            for schema in self._schemas:  # one transaction each: dropping them all at once runs out of lock slots
                with admin.begin() as conn:
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
    """A seeded knowledge base of its own, for tests that write (its connections closed after the test)."""
    kb = KnowledgeBase(engine=seeded_engine(backend))
    yield kb
    kb.dispose()


@pytest.fixture
def empty_engine(backend):
    engine = backend.fresh_engine()
    yield engine
    engine.dispose()  # a test's pooled connections must not outlive it: PostgreSQL allows 100 in all


# --- The web app (bot/) -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seeded_sqlite_file(tmp_path_factory):
    """One seeded SQLite knowledge base, copied for each web test (seeding takes seconds; a copy, milliseconds)."""
    path = tmp_path_factory.mktemp("kb-template") / "local_offer.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        load_seed(session, today=TODAY)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def web_kb(seeded_sqlite_file, tmp_path) -> KnowledgeBase:
    """A seeded SQLite knowledge base of this test's own (tests may write to it)."""
    import shutil

    path = tmp_path / "local_offer.db"
    shutil.copyfile(seeded_sqlite_file, path)
    kb = KnowledgeBase(f"sqlite:///{path}")
    yield kb
    kb.dispose()


@pytest.fixture
def web_settings(tmp_path):
    from bot.config import Settings

    return Settings(
        secret_key="test-secret-" + uuid.uuid4().hex,
        cookie_secure=False,
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        rasa_url="http://127.0.0.1:9",  # nothing listens here: tests that need Rasa start the real stack
    )


@pytest.fixture
async def web(aiohttp_client, web_kb, web_settings):
    """The web app on a seeded knowledge base, with a test client (see tests/web_helpers.py)."""
    from bot.app import create_app
    from tests.web_helpers import WebClient

    client = await aiohttp_client(create_app(web_settings, web_kb))
    return WebClient(client, web_kb)


@pytest.fixture(scope="session")
def assistant_stack(tmp_path_factory):
    """The real assistant for the whole test session: Rasa server (REST channel, HTTP API with a token)
    and action server on a seeded SQLite knowledge base (`stack.env` has its database URLs)."""
    from knowledge.db import PROJECT_ROOT
    from scripts.stack import LocalStack

    model = PROJECT_ROOT / "models" / "local-offer.tar.gz"
    if not model.exists():
        pytest.fail(f"No trained model at {model}: run scripts/train (scripts/test does).")
    stack = LocalStack(tmp_path_factory.mktemp("assistant"), model, api_token="stack-token-" + uuid.uuid4().hex[:8])
    yield stack
    stack.close()


# --- Markers for ./scripts/test --fast ------------------------------------------------------------


def pytest_configure(config):
    config.addinivalue_line("markers", "redis: talks to the real Redis server")


def pytest_collection_modifyitems(config, items):
    """Mark the tests that need the PostgreSQL or Redis server (their names or parameters say so), so that
    `./scripts/test --fast` can leave them out: `-m "not postgres and not redis"`."""
    for item in items:
        words = item.nodeid.lower()
        if "postgres" in words or "pg_schema" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if "redis" in words:
            item.add_marker(pytest.mark.redis)
