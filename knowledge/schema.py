"""Schema migrations (Alembic), run from code so the CLI and tests share one path."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from knowledge.models import DataVersion

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config() -> Config:
    return Config(str(ALEMBIC_INI))


def migrate(engine: Engine) -> None:
    """Bring the database at `engine` up to the newest schema, and make sure the version row exists."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with Session(engine, future=True) as session, session.begin():
        if session.execute(select(DataVersion).where(DataVersion.id == 1)).scalar_one_or_none() is None:
            session.add(DataVersion(id=1, version=0))
