"""The web app's one connection to Redis (LOCAL_OFFER_REDIS_URL), shared by the counts every web process must
agree on (bot/shared_state.py chooses them), and how each of them reports that Redis is unreachable."""

from __future__ import annotations

import logging
import time

import redis
import redis.asyncio as redis_asyncio

logger = logging.getLogger(__name__)

ERRORS = (redis.RedisError, OSError)
"""What a Redis call raises when the server is down, slow (over the 1 s timeout) or refuses."""
WARN_EVERY_SECONDS = 60.0
_last_warned: dict[str, float] = {}


def connect(url: str) -> redis_asyncio.Redis:
    """A client (a pool of connections, opened on first use) that gives up on a call after a second."""
    return redis_asyncio.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def warn_unavailable(store: str, error: BaseException, consequence: str) -> None:
    """Log that `store` could not reach Redis and what was done instead: at most once a minute per store,
    so an outage under load does not flood the log."""
    now = time.monotonic()
    if now - _last_warned.get(store, -WARN_EVERY_SECONDS) >= WARN_EVERY_SECONDS:
        _last_warned[store] = now
        logger.warning("%s: Redis unavailable (%s): %s", store, type(error).__name__, consequence)
