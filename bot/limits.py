"""Limits on what the widget's /api/ routes accept: body size, JSON nesting, and which conversations are new.

A body is refused (413) beyond MAX_API_BODY bytes without reading the rest, and JSON nested more
than MAX_JSON_DEPTH deep is refused (400) before the parser sees it: the depth is counted in one
loop over the brackets outside strings, with no recursion.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict

from aiohttp import web

from bot import redis_client

MAX_API_BODY = 64 * 1024
MAX_JSON_DEPTH = 20
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class BodyTooLarge(ValueError):
    pass


class TooDeep(ValueError):
    pass


async def read_capped(request: web.Request, limit: int = MAX_API_BODY) -> bytes:
    """The request body, refusing (BodyTooLarge) as soon as it is over `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(request.content_length)
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(16 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size)
        chunks.append(chunk)


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (strings, which may hold brackets, are skipped)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json(text: str, max_depth: int = MAX_JSON_DEPTH):
    """JSON, refusing (TooDeep, a ValueError) anything nested deeper than `max_depth`."""
    if json_depth(text) > max_depth:
        raise TooDeep(max_depth)
    return json.loads(text)


async def read_json_body(request: web.Request):
    """The body as JSON: at most MAX_API_BODY bytes, at most MAX_JSON_DEPTH deep (ValueError otherwise)."""
    return parse_json((await read_capped(request)).decode("utf-8"))


class ConversationStarts:
    """Which conversation ids this process has seen, to count new conversations per client address
    (bounded: the oldest are forgotten first). `RedisConversationStarts` is the same, shared by every web
    process; bot/shared_state.py chooses."""

    def __init__(self, max_ids: int = 200_000) -> None:
        self.max_ids = max_ids
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def is_new(self, conversation: str) -> bool:
        """True the first time `conversation` is seen (and from then on it is known)."""
        if conversation in self._seen:
            self._seen.move_to_end(conversation)
            return False
        self._seen[conversation] = None
        while len(self._seen) > self.max_ids:
            self._seen.popitem(last=False)
        return True

    async def forget(self, conversation: str) -> None:
        self._seen.pop(conversation, None)


SEEN_SECONDS = 24 * 3600


class RedisConversationStarts:
    """Conversation ids seen by any web process, in Redis: one key each, kept for a day after its last
    message (one `SET ... GET EX`, atomic: of two processes seeing a new id at once, one is told it is new).

    If Redis fails, a conversation counts as not new (a warning is logged): the limit on new chats is
    there against floods, and parents must not lose the chat because of our own outage.
    """

    def __init__(self, client, prefix: str) -> None:
        self._client = client
        self.prefix = prefix

    async def is_new(self, conversation: str) -> bool:
        try:
            return await self._client.set(self.prefix + conversation, 1, ex=SEEN_SECONDS, get=True) is None
        except redis_client.ERRORS as error:
            redis_client.warn_unavailable("new-chat limit", error, "not counted")
            return False

    async def forget(self, conversation: str) -> None:
        try:
            await self._client.delete(self.prefix + conversation)
        except redis_client.ERRORS as error:
            redis_client.warn_unavailable("new-chat limit", error, "left to expire")
