"""Hand-off benchmark: how long a staff message takes to reach the parent's widget.

Starts the web app (in this process, on a seeded SQLite knowledge base in a temporary folder) and
simulates 20 parents: 2 ask for a person and are claimed by 2 members of staff, the other 18 keep
chatting (a message every --think seconds). Staff send --messages replies in each live chat; each
parent polls /api/handoff/poll once a second, as the widget does. Prints the delivery latency
(staff "Send" to the parent's poll that returns it) p50/p95/max and the other parents' chat latency.

    .venv/bin/python benchmarks/handoff_bench.py [--messages 30] [--think 1.0] [--rasa-url URL --rasa-token TOKEN]

Without --rasa-url the other parents' messages get the web app's "can't answer just now" reply
(no assistant running), so the load is the web app's own; with it, they reach the real assistant.
Target (issue 12): p95 under 2 s with 20 parents chatting and 2 staff conversations live.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import create_app  # noqa: E402
from bot.auth import create_account  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.security import widget_token  # noqa: E402
from knowledge import helpline  # noqa: E402
from knowledge.db import make_engine, make_session_factory  # noqa: E402
from knowledge.kb import KnowledgeBase  # noqa: E402
from knowledge.schema import migrate  # noqa: E402
from knowledge.seed import load_seed  # noqa: E402
from scripts.stack import free_port  # noqa: E402

POLL_SECONDS = 1.0  # as the widget (HANDOFF_POLL_MS in bot/static/widget/chat.js)
PASSWORD = "benchmark passphrase " + uuid.uuid4().hex[:6]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CHAT_LINES = ["my son is 7, autistic, we live in Havant", "show me more", "why these?", "thanks"]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def seeded_kb(folder: Path) -> KnowledgeBase:
    engine = make_engine(f"sqlite:///{folder / 'kb.db'}")
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        load_seed(session)
        helpline.set_opening_hours(session, {day: ("00:00", "23:59") for day in range(7)})
        for name in ("staff-a", "staff-b"):
            create_account(session, name, PASSWORD, "staff")
    engine.dispose()
    return KnowledgeBase(f"sqlite:///{folder / 'kb.db'}")


class Parent:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.id, self.token = base, uuid.uuid4().hex, token
        self.http = aiohttp.ClientSession(headers={"X-Widget-Token": token})

    async def post(self, path: str, **body) -> dict:
        async with self.http.post(self.base + path, json={"conversation_id": self.id, **body}) as reply:
            return await reply.json()


async def staff_session(base: str, username: str) -> tuple[aiohttp.ClientSession, str]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(base + "/sign-in") as page:
        token = CSRF.search(await page.text()).group(1)
    async with http.post(base + "/sign-in", data={"username": username, "password": PASSWORD, "csrf_token": token}) as reply:
        assert reply.status == 200, reply.status  # followed the redirect to the console
    return http, token


async def chatter(parent: Parent, think: float, stop: asyncio.Event, latencies: list[float]) -> None:
    for line in iter(lambda: CHAT_LINES[len(latencies) % len(CHAT_LINES)], None):
        if stop.is_set():
            return
        started = time.perf_counter()
        await parent.post("/api/chat", message=line)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(think)


async def watch(parent: Parent, sent: dict[str, float], arrived: dict[str, float], stop: asyncio.Event) -> None:
    after = 0
    while not stop.is_set():
        data = await parent.post("/api/handoff/poll", after=after)
        after = data.get("after", after)
        now = time.perf_counter()
        for message in data.get("messages", []):
            if message["text"] in sent and message["text"] not in arrived:
                arrived[message["text"]] = now
        await asyncio.sleep(POLL_SECONDS)


async def run(args) -> None:
    if not args.rasa_url:  # the web app logs every failed call to the (absent) assistant
        logging.getLogger("bot").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        kb = seeded_kb(folder)
        settings = Settings(
            secret_key=uuid.uuid4().hex, cookie_secure=False, tracker_store_url=f"sqlite:///{folder / 'tracker.db'}",
            rasa_url=args.rasa_url or f"http://127.0.0.1:{free_port()}", rasa_token=args.rasa_token,
            widget_burst=1000, widget_per_minute=100_000, handoff_poll_per_minute=100_000,
        )  # fmt: skip
        runner = web.AppRunner(create_app(settings, kb), access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        token = widget_token(settings.secret_key)
        parents = [Parent(base, token) for _ in range(20)]
        live, chatting = parents[:2], parents[2:]
        stop = asyncio.Event()
        chat_latencies: list[float] = []
        tasks = [asyncio.create_task(chatter(p, args.think, stop, chat_latencies)) for p in chatting]
        sent: dict[str, float] = {}
        arrived: dict[str, float] = {}
        staff = []
        for parent, name in zip(live, ("staff-a", "staff-b"), strict=True):
            await parent.post("/api/handoff/request")
            http, csrf = await staff_session(base, name)
            async with http.get(base + "/console/queue") as page:
                chat_id = re.search(r'action="/console/live/(\d+)/claim"', await page.text()).group(1)
            async with http.post(f"{base}/console/live/{chat_id}/claim", data={"csrf_token": csrf}) as reply:
                assert reply.status == 200
            staff.append((http, csrf, chat_id))
            tasks.append(asyncio.create_task(watch(parent, sent, arrived, stop)))

        async def reply_loop(http, csrf, chat_id, who):
            for n in range(args.messages):
                text = f"{who} message {n} {uuid.uuid4().hex[:6]}"
                sent[text] = time.perf_counter()
                async with http.post(
                    f"{base}/console/live/{chat_id}/reply",
                    data={"text": text, "csrf_token": csrf},
                    headers={"Accept": "application/json"},
                ) as reply:
                    assert reply.status == 201, reply.status
                await asyncio.sleep(1.3)  # staff type at a human pace

        await asyncio.gather(*(reply_loop(h, c, i, f"staff{k}") for k, (h, c, i) in enumerate(staff)))
        await asyncio.sleep(POLL_SECONDS * 2)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for parent in parents:
            await parent.http.close()
        for http, _csrf, _id in staff:
            await http.close()
        await runner.cleanup()
        kb.dispose()
    delivered = [arrived[text] - sent[text] for text in sent if text in arrived]
    lost = len(sent) - len(delivered)
    print(f"staff messages: {len(sent)} sent, {len(delivered)} delivered, {lost} not delivered")
    print(
        f"staff message to parent's widget: p50 {statistics.median(delivered):.2f} s, "
        f"p95 {percentile(delivered, 95):.2f} s, max {max(delivered):.2f} s (target p95 < 2 s)"
    )
    print(
        f"other parents' chat turns: {len(chat_latencies)}, p50 {statistics.median(chat_latencies) * 1000:.0f} ms, "
        f"p95 {percentile(chat_latencies, 95) * 1000:.0f} ms ({'real assistant' if args.rasa_url else 'no assistant running'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=30, help="replies each member of staff sends")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between each other parent's messages")
    parser.add_argument("--rasa-url", default="", help="a running assistant (else none: the web app's fallback replies)")
    parser.add_argument("--rasa-token", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
