"""Scale-out benchmark: one Rasa server against two, failover, and a large retention purge.

Starts, in one run, the scale-out set-up (tests/test_faults.py has the same): two action servers
and two Rasa servers on the machine's PostgreSQL tracker store (a schema of its own, dropped at
the end) and Redis lock store, and web processes with the rate limit in Redis. Simulated parents
talk through the web app's widget API (scripts/parents.py), so the figures include the routing.

  (a) one Rasa server against two: closed-loop turns/s with --parents parents (no think time), and
      turn latency p50/p95 at --rate turns/s offered (open loop, think time between messages);
      "one" is a web process routing to Rasa server 0 only, "two" one routing over both;
  (b) failover: parents talking while Rasa server 0 is killed: the longest gap between answers
      (any parent) and the turns lost (not answered, or missing from the tracker store);
  (c) purge of --old old conversations (written straight into the tracker store) by the web app's
      scheduled job, in the web process that serves the chat: time taken, chat p95 at --rate turns/s
      while it runs, and p95 of a page that process serves without Rasa (its own delay);
  and the peak memory of each Rasa server.

    .venv/bin/python benchmarks/scale_bench.py [--parents 20] [--rate 10] [--seconds 30] [--old 100000]

Targets (issue 11): two servers >= 1.3 x the throughput of one; failover gap < 2 s and 0 turns lost;
chat p95 < 150 ms at 10 turns/s while the purge runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.conversation_bench import BENCH_DIR, Results, peak_memory_mb  # noqa: E402
from bot.conversations import ConversationStore, events  # noqa: E402
from bot.retention import DAY_SECONDS, SCHEDULED_BATCH, SCHEDULED_PAUSE_SECONDS  # noqa: E402
from knowledge.db import make_engine  # noqa: E402
from scripts.parents import Load, open_loop, parents  # noqa: E402
from scripts.stack import LocalStack  # noqa: E402

PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def latency(load: Load, q: float) -> float:
    return Results(latencies=[t.seconds for t in load.turns]).percentile(q)


def closed(webs: list[str], count: int, seconds: float) -> tuple[Load, float]:
    load = Load()

    async def main() -> float:
        stop = asyncio.Event()
        started = time.monotonic()
        talking = asyncio.create_task(parents(webs, count, stop, load))
        await asyncio.sleep(seconds)
        stop.set()
        await talking
        return time.monotonic() - started

    elapsed = asyncio.run(main())
    return load, len(load.turns) / elapsed


def opened(webs: list[str], rate: float, seconds: float) -> Load:
    load = Load()
    asyncio.run(open_loop(webs, rate, seconds, load))
    return load


def errors(load: Load) -> int:
    return sum(1 for t in load.turns if not t.answered)


def one_against_two(stack: LocalStack, web_env: dict, args) -> dict:
    one = stack.start_web(1, {**web_env, "RASA_URLS": stack.rasa_url(0)})
    two = stack.start_web(1, web_env)
    closed(two, 4, 5)  # warm-up of both servers
    figures = {}
    for name, webs in (("one Rasa server", one), ("two Rasa servers", two)):
        load, throughput = closed(webs, args.parents, args.seconds)
        figures[f"{name}: closed turns/s ({args.parents} parents)"] = throughput
        figures[f"{name}: closed p95 ms"] = latency(load, 95)
        figures[f"{name}: closed errors"] = errors(load)
        load = opened(webs, args.rate, args.seconds)
        figures[f"{name}: open p50 ms at {args.rate:g} turns/s"] = latency(load, 50)
        figures[f"{name}: open p95 ms at {args.rate:g} turns/s"] = latency(load, 95)
        figures[f"{name}: open errors"] = errors(load)
    figures["throughput ratio two/one"] = (
        figures[f"two Rasa servers: closed turns/s ({args.parents} parents)"]
        / figures[f"one Rasa server: closed turns/s ({args.parents} parents)"]
    )
    stack.stop_web()
    return figures


def stored_user_messages(stack: LocalStack) -> dict[str, int]:
    store = ConversationStore(stack.env["RASA_TRACKER_STORE_URL"])
    query = (
        sa.select(events.c.sender_id, sa.func.count())
        .where(events.c.type_name == "user", events.c.sender_id.like("web-%"))
        .group_by(events.c.sender_id)
    )
    counts = {row[0]: row[1] for row in store._rows(query)}
    store.dispose()
    return counts


def failover(stack: LocalStack, web_env: dict, count: int) -> dict:
    webs = stack.start_web(2, web_env)
    load = Load()
    moments = {}

    async def main() -> None:
        stop = asyncio.Event()
        talking = asyncio.create_task(parents(webs, count, stop, load, think=0.1))
        await asyncio.sleep(8)
        moments["killed"] = time.time()
        stack.kill_rasa(0)
        await asyncio.sleep(15)
        stop.set()
        await talking

    asyncio.run(main())
    stored = stored_user_messages(stack)
    missing = sum(max(0, sent - stored.get(sender, 0)) for sender, sent in load.sent.items())
    extra = sum(max(0, stored.get(sender, 0) - sent) for sender, sent in load.sent.items())
    figures = {
        f"failover: turns ({count} parents, 0.1 s think)": len(load.turns),
        "failover: longest gap between answers s": load.longest_gap(moments["killed"] - 1, moments["killed"] + 15),
        "failover: turns not answered": errors(load),
        "failover: user messages missing from the tracker store": missing,
        "failover: user messages stored twice": extra,
        "failover: slowest turn after the kill s": max((t.seconds for t in load.between(moments["killed"] - 2)), default=0),
    }
    stack.stop_web()
    return figures


def write_old_conversations(url: str, schema: str, count: int) -> None:
    """`count` conversations of 4 events each, last message 100 to 200 days ago, written in bulk."""
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    insert = events.insert()
    now = time.time()
    rows = []
    with engine.begin() as conn:
        for n in range(count):
            sender, at = f"old-{n:07d}", now - (100 + n % 100) * DAY_SECONDS
            for step, kind in enumerate(("action", "user", "bot", "action")):
                data = json.dumps({"event": kind, "timestamp": at + step, "text": "old message" if kind != "action" else None})
                rows.append({"sender_id": sender, "type_name": kind, "timestamp": at + step, "data": data})
            if len(rows) >= 20_000:
                conn.execute(insert, rows)
                rows = []
        if rows:
            conn.execute(insert, rows)
    engine.dispose()


async def page_pings(web: str, seconds: list[float], stop: asyncio.Event) -> None:
    """A page the web process serves without Rasa or a database (the widget loader), every 0.1 s: how long the
    process itself keeps requests waiting (a purge holding its event loop would show here first)."""
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            started = time.perf_counter()
            async with session.get(f"{web}/widget.js") as response:
                await response.read()
            seconds.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)


def chat_and_pings(webs: list[str], rate: float, until, min_seconds: float = 0) -> tuple[Load, list[float]]:
    """Open-loop chat at `rate` turns/s, in 5 s rounds until `until()` is true (and at least `min_seconds`),
    with page pings alongside."""
    load, pings = Load(), []

    async def main() -> None:
        stop = asyncio.Event()
        pinging = asyncio.create_task(page_pings(webs[0], pings, stop))
        started = time.monotonic()
        while True:
            await open_loop(webs, rate, 5, load)
            elapsed = time.monotonic() - started
            if (until() and elapsed >= min_seconds) or elapsed > 900:
                break
        stop.set()
        await pinging

    asyncio.run(main())
    return load, pings


def purge_under_load(stack: LocalStack, web_env: dict, schema: str, args) -> dict:
    """The purge as it runs in production: the web app's scheduled job, in the same web process as the chat."""
    print(f"Writing {args.old:,} old conversations...", flush=True)
    write_old_conversations(PG_URL, schema, args.old)
    webs = stack.start_web(1, web_env)
    opened(webs, args.rate, 5)  # warm-up: a Rasa server's first turns are slow
    baseline, baseline_pings = chat_and_pings(webs, args.rate, lambda: True, min_seconds=15)
    stack.stop_web()
    webs = stack.start_web(1, {**web_env, "LOCAL_OFFER_PURGE_INTERVAL_MINUTES": "1440"})  # purges at start-up
    log = stack.work / f"web-{stack.web_ports[-1]}.log"

    def purged() -> str | None:
        return next((line for line in log.read_text().splitlines() if "retention purge:" in line), None)

    load, pings = chat_and_pings(webs, args.rate, purged)
    stack.stop_web()
    done = purged() or "(the purge had not finished after 15 minutes)"
    return {
        "purge (web app's scheduled job, batch / pause s)": f"{SCHEDULED_BATCH} / {SCHEDULED_PAUSE_SECONDS}",
        "purge: result": done.split("retention purge: ")[-1],
        f"chat p95 ms at {args.rate:g} turns/s, before": latency(baseline, 95),
        f"chat p95 ms at {args.rate:g} turns/s, during the purge": latency(load, 95),
        "chat turns / errors during the purge": f"{len(load.turns)} / {errors(load)}",
        "web page p95 ms, before": Results(latencies=baseline_pings).percentile(95),
        "web page p95 ms, during the purge": Results(latencies=pings).percentile(95),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parents", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--failover-parents", type=int, default=8)
    parser.add_argument("--old", type=int, default=100_000)
    parser.add_argument("--only", choices=["compare", "failover", "purge"], action="append")
    args = parser.parse_args()
    parts = args.only or ["compare", "failover", "purge"]

    tag = uuid.uuid4().hex[:8]
    schema = f"bench_scale_{tag}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    work = BENCH_DIR / f"scale-{tag}"
    work.mkdir(parents=True, exist_ok=True)
    web_env = {
        "LOCAL_OFFER_REDIS_URL": "redis://127.0.0.1:6379/2",
        "LOCAL_OFFER_REDIS_PREFIX": f"bench:{tag}:",
        "LOCAL_OFFER_WIDGET_BURST": "1000000",
        "LOCAL_OFFER_WIDGET_PER_MINUTE": "1000000",
        "LOCAL_OFFER_NEW_CONVERSATIONS_PER_HOUR": "1000000",  # every simulated parent comes from 127.0.0.1, and
        "LOCAL_OFFER_MESSAGES_PER_CONVERSATION_PER_MINUTE": "1000000",  # the counts outlive each web process
        "LOCAL_OFFER_PURGE_INTERVAL_MINUTES": "0",
        "LOCAL_OFFER_SECRET_KEY": "bench-" + tag,
    }
    figures: dict = {}
    stack = None
    try:
        print("Starting two action servers and two Rasa servers on PostgreSQL and Redis...", flush=True)
        stack = LocalStack(
            work,
            ROOT / "models" / "local-offer.tar.gz",
            instances=2,
            tracker_url=PG_URL,
            lock_url="redis://127.0.0.1:6379/1",
            extra_env={"POSTGRESQL_SCHEMA": schema, "TICKET_LOCK_LIFETIME": "5"},
            ready_timeout=900,
        )
        import os

        os.environ["POSTGRESQL_SCHEMA"] = schema  # this process's reads of the tracker store
        if "compare" in parts:
            figures.update(one_against_two(stack, web_env, args))
        figures.update({f"peak memory MB, {name}": peak_memory_mb(p.pid) for name, p in stack.processes().items()})
        if "purge" in parts:
            figures.update(purge_under_load(stack, web_env, schema, args))
        if "failover" in parts:
            figures.update(failover(stack, web_env, args.failover_parents))
    finally:
        if stack is not None:
            stack.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
