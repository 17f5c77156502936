"""Simulated parents chatting through the web app's widget API (`POST /api/chat`), for fault tests and benchmarks.

Each parent gets the widget token from the chat page, as the widget does, and talks in a conversation of
its own; every turn is recorded with when it was sent and answered and what kind of answer it got.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

TOKEN_META = re.compile(r'<meta name="widget-token" content="([^"]+)"')
SCRIPTS = [
    ["hello", "I need help for my son", "he's 7", "he's autistic", "we live in Havant", "show me more", "thanks, bye"],
    ["my daughter is 4 and not talking much yet, we're in PO16", "show more", "why these?", "thank you"],
    ["hi", "my lad's in year 9, adhd and really anxious", "Basingstoke", "what is an EHCP?", "bye"],
    ["looking for support", "she's 15", "she won't go to school", "SO16 3AB", "ta"],
]
KIND_REPLY_WORDS = ("can't answer just now", "can't answer properly just now")
"""The kind replies: the web app's when no Rasa server answers, and Rasa's when the action server is down."""


@dataclass(frozen=True)
class Turn:
    sender: str
    web: str
    sent_at: float
    answered_at: float
    status: int
    text: str

    @property
    def answered(self) -> bool:
        """A real answer from the assistant (not an error, not the kind "can't answer" reply)."""
        return self.status == 200 and bool(self.text) and not self.kind_reply

    @property
    def kind_reply(self) -> bool:
        return self.status == 200 and any(words in self.text for words in KIND_REPLY_WORDS)

    @property
    def seconds(self) -> float:
        return self.answered_at - self.sent_at


@dataclass
class Load:
    """Turns so far, and how many messages each conversation sent."""

    turns: list[Turn] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)

    def between(self, start: float, end: float = float("inf")) -> list[Turn]:
        return [t for t in self.turns if start <= t.sent_at < end]

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time between consecutive real answers (any parent) from `start` to `end`."""
        moments = sorted([start, *(t.answered_at for t in self.turns if t.answered and start <= t.answered_at <= end), end])
        return max(b - a for a, b in itertools.pairwise(moments))


async def widget_token(session: aiohttp.ClientSession, web: str) -> str:
    async with session.get(f"{web}/widget/frame") as response:
        match = TOKEN_META.search(await response.text())
    if not match:
        raise RuntimeError(f"no widget token on {web}/widget/frame")
    return match.group(1)


async def parents(webs: list[str], count: int, stop: asyncio.Event, load: Load, think: float = 0.0, timeout: float = 60) -> None:
    """`count` parents, spread over the web processes, each going through the scripts until `stop` is set."""
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout), connector=aiohttp.TCPConnector(limit=0)
    ) as session:
        tokens = {web: await widget_token(session, web) for web in webs}

        async def parent(number: int) -> None:
            web = webs[number % len(webs)]
            for script in itertools.islice(itertools.cycle(SCRIPTS), number, None):
                conversation = uuid.uuid4().hex
                for text in script:
                    if stop.is_set():
                        return
                    await _talk(session, web, tokens[web], conversation, text, load)
                    if think:
                        await asyncio.sleep(think)

        await asyncio.gather(*(parent(n) for n in range(count)))


async def _talk(session: aiohttp.ClientSession, web: str, token: str, conversation: str, text: str, load: Load) -> None:
    """One turn through the widget API, recorded in `load`."""
    sender = "web-" + conversation
    load.sent[sender] = load.sent.get(sender, 0) + 1
    sent_at = time.time()
    status, words = 0, ""
    try:
        async with session.post(
            f"{web}/api/chat", json={"conversation_id": conversation, "message": text}, headers={"X-Widget-Token": token}
        ) as response:
            status = response.status
            body = await response.json(content_type=None)
            messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
            words = "\n".join(str(m.get("text") or "[cards]") for m in messages)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        pass
    load.turns.append(Turn(sender, web, sent_at, time.time(), status, words))


async def open_loop(webs: list[str], rate: float, seconds: float, load: Load, think: float = 2.0, timeout: float = 60) -> None:
    """Conversations arrive at a steady pace so that `rate` turns per second are offered (as
    benchmarks/conversation_bench.py does against Rasa directly), spread over the web processes."""
    mean_turns = sum(len(s) for s in SCRIPTS) / len(SCRIPTS)
    interval = mean_turns / rate
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout), connector=aiohttp.TCPConnector(limit=0)
    ) as session:
        tokens = {web: await widget_token(session, web) for web in webs}

        async def parent(number: int, script: list[str]) -> None:
            web, conversation = webs[number % len(webs)], uuid.uuid4().hex
            for index, text in enumerate(script):
                if index:
                    await asyncio.sleep(think)
                await _talk(session, web, tokens[web], conversation, text, load)

        tasks = []
        start = time.monotonic()
        for number, script in enumerate(itertools.cycle(SCRIPTS)):
            when = start + number * interval
            if when - start >= seconds:
                break
            await asyncio.sleep(max(0.0, when - time.monotonic()))
            tasks.append(asyncio.create_task(parent(number, script)))
        await asyncio.gather(*tasks)
