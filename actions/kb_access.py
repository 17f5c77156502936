"""The action server's connection to the knowledge base, and what to say when it is unreachable."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from knowledge.kb import KnowledgeBase
from knowledge.outage_helpline import OutageHelpline, outage_reply

logger = logging.getLogger(__name__)
UNAVAILABLE_ERRORS = (SQLAlchemyError, OSError)


class KnowledgeBaseUnavailable(RuntimeError):
    pass


_kb: KnowledgeBase | None = None
_helpline: OutageHelpline | None = None


def knowledge_base() -> KnowledgeBase:
    """One KnowledgeBase per process ($LOCAL_OFFER_DATABASE_URL, else the SQLite default)."""
    global _kb
    if _kb is None:
        _kb = KnowledgeBase()
    return _kb


def use_knowledge_base(kb: KnowledgeBase | None) -> None:
    """Point the actions at another knowledge base (tests; None goes back to the default)."""
    global _kb, _helpline
    _kb, _helpline = kb, None


def catalogue():
    try:
        return knowledge_base().catalogue()
    except UNAVAILABLE_ERRORS as error:
        logger.error("knowledge base unavailable: %s", type(error).__name__)
        raise KnowledgeBaseUnavailable from error


def unavailable_message() -> dict:
    """The kind reply with the helpline (from the knowledge base while it answers; see knowledge/outage_helpline.py)."""
    global _helpline
    if _helpline is None:
        _helpline = OutageHelpline(knowledge_base().engine)
    return {"text": outage_reply(_helpline.contact())}
