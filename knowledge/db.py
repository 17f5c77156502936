"""Database connection: one URL from the environment, SQLite under var/ by default."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL_ENV = "LOCAL_OFFER_DATABASE_URL"
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "local_offer.db"
TRACKER_URL_VARIABLE = "RASA_TRACKER_STORE_URL"

# Ages and amounts have at most two decimal places, which SQLite's floats hold exactly enough.
warnings.filterwarnings("ignore", message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal objects natively")


def database_url() -> str:
    """The knowledge base URL: $LOCAL_OFFER_DATABASE_URL, else a SQLite file under var/."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def tracker_store_url(url: str | None = None) -> str:
    """Rasa's tracker store: $RASA_TRACKER_STORE_URL, else a SQLite file under var/.

    Here (not in components/) so the web side can read conversations without importing Rasa.
    """
    url = url or os.environ.get(TRACKER_URL_VARIABLE)
    if url:
        url = url.replace("postgres://", "postgresql://", 1)
    else:
        (PROJECT_ROOT / "var").mkdir(exist_ok=True)
        url = f"sqlite:///{PROJECT_ROOT / 'var' / 'rasa_tracker.db'}"
    private_sqlite_file(url)
    return url


def private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only (0600), or make an existing one so.

    SQLite gives its -wal and -shm files the database file's permissions, so they stay private too.
    """
    if not url.startswith("sqlite:///"):
        return
    path = url[len("sqlite:///") :].split("?", 1)[0]
    if not path or path == ":memory:":
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))
    if os.stat(path).st_mode & 0o077:
        try:
            os.chmod(path, 0o600)
        except PermissionError:  # someone else's file: leave it as its owner set it
            pass


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create an engine (SQLAlchemy 1.4, 2.0-style) for the knowledge base."""
    url = url or database_url()
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            private_sqlite_file(url)
            # Keep connections open (SQLAlchemy 1.4 would reopen the file for every query).
            kwargs.setdefault("poolclass", QueuePool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
    engine = create_engine(url, future=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False, class_=Session)
