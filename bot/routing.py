"""Which Rasa server answers a conversation: one by a stable hash of its id, the next when it does not answer.

Rendezvous hashing: every server gets a score for the conversation (SHA-256 of server and sender
id); servers are tried best score first. All web processes agree on the order without talking to
each other, a conversation stays on one server while it is up, and when a server dies only its
own conversations move (each to its own second choice, spreading the load).

A server that failed is tried last for `DOWN_SECONDS`, so parents do not each wait on a dead one.
When a server failed after the message was sent (it died mid-turn), the tracker store is asked
whether the turn was stored: if so its replies are read from there rather than sending the message
again (which would count it twice).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp

logger = logging.getLogger(__name__)
DOWN_SECONDS = 5.0

StoredReplies = Callable[[str, str, float], Awaitable[list | None]]


def server_order(sender_id: str, servers: tuple[str, ...] | list[str]) -> list[str]:
    """The servers in the order to try them for this conversation (the same in every process)."""

    def score(server: str) -> bytes:
        return hashlib.sha256(f"{server}\n{sender_id}".encode()).digest()

    return sorted(servers, key=score, reverse=True)


RETRY_PAUSE = 1.0


class RasaRouter:
    def __init__(self, servers: tuple[str, ...], connect_timeout: float = 2.0, retry_seconds: float = 0.0) -> None:
        if not servers:
            raise ValueError("At least one Rasa server is needed")
        self.servers = tuple(servers)
        self.connect_timeout = connect_timeout
        self.retry_seconds = retry_seconds
        """With several servers: how long to keep trying them all again, a second apart, when none answered
        (a server that died mid-turn holds the conversation's lock until the lock's lifetime runs out)."""
        self._down_until: dict[str, float] = {}

    def order(self, sender_id: str) -> list[str]:
        """Stable order, with servers that failed in the last few seconds moved to the end."""
        now = time.monotonic()
        ranked = server_order(sender_id, self.servers)
        return [s for s in ranked if self._down_until.get(s, 0) <= now] + [s for s in ranked if self._down_until.get(s, 0) > now]

    def mark_down(self, server: str) -> None:
        self._down_until[server] = time.monotonic() + DOWN_SECONDS

    async def send(
        self, http: aiohttp.ClientSession, sender_id: str, message: str, stored_replies: StoredReplies | None = None
    ) -> list | None:
        """The REST channel's replies to one message, or None if no server could answer."""
        sent_at = time.time()
        give_up_at = time.monotonic() + (self.retry_seconds if len(self.servers) > 1 else 0)
        while True:
            replies, final = await self._try_each(http, sender_id, message, stored_replies, sent_at)
            if final or time.monotonic() + RETRY_PAUSE > give_up_at:
                return replies
            await asyncio.sleep(RETRY_PAUSE)

    async def _try_each(
        self, http: aiohttp.ClientSession, sender_id: str, message: str, stored_replies: StoredReplies | None, sent_at: float
    ) -> tuple[list | None, bool]:
        """One round over the servers, the conversation's own first: (replies, whether that is final).

        (None, False) when no server answered, so a later round may; (None, True) when one refused the message.
        """
        timeout = aiohttp.ClientTimeout(total=http.timeout.total, connect=self.connect_timeout)
        for server in self.order(sender_id):
            delivered = True
            try:
                async with http.post(
                    f"{server}/webhooks/rest/webhook", json={"sender": sender_id, "message": message}, timeout=timeout
                ) as reply:
                    if reply.status >= 500:
                        logger.error("the assistant at %s answered %s", server, reply.status)
                        self.mark_down(server)
                        continue
                    if reply.status >= 400:
                        logger.error("the assistant at %s answered %s", server, reply.status)
                        return None, True
                    return await reply.json(content_type=None), True
            except (aiohttp.ClientConnectorError, asyncio.TimeoutError) as error:
                delivered = not isinstance(error, aiohttp.ClientConnectorError) and not _connect_timeout(error)
                logger.error("the assistant at %s could not be reached (%s)", server, type(error).__name__)
            except (aiohttp.ClientError, json.JSONDecodeError, UnicodeDecodeError) as error:
                logger.error("the assistant at %s failed mid-answer (%s)", server, type(error).__name__)
            self.mark_down(server)
            if delivered and stored_replies is not None:
                replies = await stored_replies(sender_id, message, sent_at)
                if replies is not None:
                    return replies, True
        return None, False


def _connect_timeout(error: BaseException) -> bool:
    return isinstance(error, aiohttp.ServerTimeoutError) and "connect" in str(error).lower()
