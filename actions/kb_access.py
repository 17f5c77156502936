"""The action server's connection to the knowledge base, and what to say when it is unreachable."""

from __future__ import annotations

import logging
from functools import lru_cache

from sqlalchemy.exc import SQLAlchemyError

from knowledge.kb import KnowledgeBase
from knowledge.seed import seed_helpline

logger = logging.getLogger(__name__)
UNAVAILABLE_ERRORS = (SQLAlchemyError, OSError)


class KnowledgeBaseUnavailable(RuntimeError):
    pass


_kb: KnowledgeBase | None = None


def knowledge_base() -> KnowledgeBase:
    """One KnowledgeBase per process ($LOCAL_OFFER_DATABASE_URL, else the SQLite default)."""
    global _kb
    if _kb is None:
        _kb = KnowledgeBase()
    return _kb


def use_knowledge_base(kb: KnowledgeBase | None) -> None:
    """Point the actions at another knowledge base (tests; None goes back to the default)."""
    global _kb
    _kb = kb


def catalogue():
    try:
        return knowledge_base().catalogue()
    except UNAVAILABLE_ERRORS as error:
        logger.error("knowledge base unavailable: %s", type(error).__name__)
        raise KnowledgeBaseUnavailable from error


@lru_cache(maxsize=1)
def fallback_helpline() -> dict:
    return seed_helpline()


def unavailable_message() -> dict:
    helpline = fallback_helpline()
    return {
        "text": (
            "I'm sorry, I can't look up services right now. Please try again in a few minutes, or call the "
            f"{helpline['name']} on {helpline['phone']} ({helpline['opening_hours']}). "
            "If a child is in danger, call 999."
        )
    }
