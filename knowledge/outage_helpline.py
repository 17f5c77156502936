"""The helpline a parent is given when the assistant cannot answer (knowledge base or action server down).

One place builds that kind reply, for the action server, the Rasa REST channel and the web app.
The helpline's contact is read from the knowledge base, so an editor's change reaches it: re-read
when `data_version` moves, the last one read kept for when the database cannot be reached, and the
seed file only if the database has never answered.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import case, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from knowledge import models as m
from knowledge.seed import DEFAULT_HELPLINE_ID, seed_helpline

logger = logging.getLogger(__name__)

_VERSION = select(m.DataVersion.version).where(m.DataVersion.id == 1)
_HELPLINE = (
    select(m.Signpost.name, m.Signpost.phone, m.Signpost.opening_hours)
    .where(m.Signpost.kind == "helpline", m.Signpost.phone.is_not(None), m.Signpost.phone != "")
    .order_by(case((m.Signpost.id == DEFAULT_HELPLINE_ID, 0), else_=1), m.Signpost.authority_gss.is_not(None), m.Signpost.id)
    .limit(1)
)


def _contact(name: str, phone: str, opening_hours: str | None) -> dict:
    return {"name": name, "phone": phone, "opening_hours": (opening_hours or "").strip()}


def seed_contact() -> dict:
    found = seed_helpline()
    return _contact(found["name"], found["phone"], found.get("opening_hours"))


class OutageHelpline:
    """The helpline's contact for outage replies, from the knowledge base behind `engine` (see the module docstring)."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self._version: int | None = None
        self._contact: dict | None = None
        self._lock = threading.Lock()

    def contact(self) -> dict:
        if self.engine is not None:
            try:
                self._refresh()
            except (SQLAlchemyError, OSError) as error:
                logger.warning("helpline: knowledge base unavailable (%s); using the last known contact", type(error).__name__)
        return self._contact or seed_contact()

    def _refresh(self) -> None:
        with self.engine.connect() as conn:
            version = conn.execute(_VERSION).scalar_one_or_none() or 0
            if version == self._version and self._contact is not None:
                return
            row = conn.execute(_HELPLINE).first()
        with self._lock:
            self._contact = _contact(row.name, row.phone, row.opening_hours) if row else None
            self._version = version


def helpline_text(contact: dict) -> str:
    hours = f" ({contact['opening_hours']})" if contact.get("opening_hours") else ""
    return f"the {contact['name']} on {contact['phone']}{hours}"


def outage_reply(contact: dict) -> str:
    """The kind reply when the assistant cannot answer, with the helpline to call instead."""
    return (
        "I'm sorry, I can't answer properly just now. Please try again in a few minutes, or call "
        f"{helpline_text(contact)}. If a child is in danger, call 999."
    )
