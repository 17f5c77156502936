"""Faults under load, on the scale-out set-up: two Rasa servers and two action servers on the machine's
PostgreSQL tracker store (a schema of this module's own) and Redis lock store, two web processes routing
conversations over both Rasa servers with the rate limit in Redis. Simulated parents talk through the
web app's widget API (scripts/parents.py) while a fault is made.

Needs the trained model (models/local-offer.tar.gz). Starting the servers takes a minute or two.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import select, text

from bot.conversations import ConversationStore, events
from knowledge.db import PROJECT_ROOT, make_engine
from knowledge.seed import seed_helpline
from scripts.parents import Load, parents
from tests.conftest import PG_URL

pytestmark = [pytest.mark.stack, pytest.mark.faults]
LOCK_LIFETIME_SECONDS = "5"


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    """Two of everything, on PostgreSQL and Redis (see the module docstring)."""
    from scripts.stack import LocalStack

    model = PROJECT_ROOT / "models" / "local-offer.tar.gz"
    if not model.exists():
        pytest.fail(f"No trained model at {model}: run scripts/train (scripts/test does).")
    tag = uuid.uuid4().hex[:10]
    schema, application = f"faults_{tag}", f"lo_faults_{tag}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        stack = LocalStack(
            tmp_path_factory.mktemp("scaled"),
            model,
            api_token="faults-" + tag,
            instances=2,
            tracker_url=f"{PG_URL}?application_name={application}",
            lock_url="redis://127.0.0.1:6379/1",
            extra_env={"POSTGRESQL_SCHEMA": schema, "TICKET_LOCK_LIFETIME": LOCK_LIFETIME_SECONDS},
            ready_timeout=900,  # two servers loading the model at once on a busy 2-core machine
        )
    except BaseException:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        raise
    stack.application_name = application
    stack.schema = schema
    try:
        stack.webs = stack.start_web(
            2,
            {
                "LOCAL_OFFER_REDIS_URL": "redis://127.0.0.1:6379/2",
                "LOCAL_OFFER_REDIS_PREFIX": f"faults:{tag}:",
                "LOCAL_OFFER_WIDGET_BURST": "100000",  # every simulated parent comes from 127.0.0.1
                "LOCAL_OFFER_WIDGET_PER_MINUTE": "100000",
                "LOCAL_OFFER_NEW_CONVERSATIONS_PER_HOUR": "100000",
                "LOCAL_OFFER_MESSAGES_PER_CONVERSATION_PER_MINUTE": "100000",
                "LOCAL_OFFER_PURGE_INTERVAL_MINUTES": "0",
            },
        )
        yield stack
    finally:
        stack.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_load(stack, count: int, timeline) -> Load:
    """`count` parents over both web processes while `timeline(load)` (a coroutine) makes the fault."""
    load = Load()

    async def main() -> None:
        stop = asyncio.Event()
        talking = asyncio.create_task(parents(stack.webs, count, stop, load, think=0.1))
        try:
            await timeline(load)
        finally:
            stop.set()
            await talking

    asyncio.run(main())
    return load


async def until_answered(load: Load, since: float, count: int = 6, limit: float = 180) -> None:
    """Wait until `count` turns sent after `since` have been answered (turns take seconds on a busy machine)."""
    deadline = time.time() + limit
    while time.time() < deadline and sum(1 for t in load.between(since) if t.answered) < count:
        await asyncio.sleep(0.2)


def stopped(stack) -> list[str]:
    return [name for name, process in {**stack.processes(), "web": stack.web[0], "web 2": stack.web[1]}.items()
            if process is not None and process.poll() is not None]  # fmt: skip


def stored_user_messages(stack) -> dict[str, list[tuple[int, float, str]]]:
    """Each conversation's events as (id, timestamp, type) in the order they were stored."""
    import os

    os.environ["POSTGRESQL_SCHEMA"] = stack.schema
    try:
        store = ConversationStore(stack.env["RASA_TRACKER_STORE_URL"])
    finally:
        del os.environ["POSTGRESQL_SCHEMA"]
    found: dict[str, list] = {}
    query = select(events.c.id, events.c.sender_id, events.c.timestamp, events.c.type_name).order_by(events.c.id)
    for row in store._rows(query):
        found.setdefault(row.sender_id, []).append((row.id, row.timestamp, row.type_name))
    store.dispose()
    return found


def assert_nothing_lost_and_in_order(stack, load: Load) -> None:
    """Every message sent is stored exactly once, and each conversation's events are in order."""
    stored = stored_user_messages(stack)
    for sender, sent in load.sent.items():
        rows = stored.get(sender, [])
        assert sum(1 for r in rows if r[2] == "user") == sent, (sender, rows)
        timestamps = [r[1] for r in rows]
        assert timestamps == sorted(timestamps), f"events out of order in {sender}"


def test_two_web_processes_share_the_rate_limit(scaled):
    """Burst of 6 for one address, shared: the 7th request is refused whichever process gets it."""
    import aiohttp

    webs = scaled.start_web(
        2,
        {
            "LOCAL_OFFER_REDIS_URL": "redis://127.0.0.1:6379/2",
            "LOCAL_OFFER_REDIS_PREFIX": f"faults-limit:{uuid.uuid4().hex}:",
            "LOCAL_OFFER_WIDGET_BURST": "6",
            "LOCAL_OFFER_WIDGET_PER_MINUTE": "1",
            "LOCAL_OFFER_PURGE_INTERVAL_MINUTES": "0",
        },
    )

    async def main() -> list[int]:
        statuses = []
        async with aiohttp.ClientSession() as session:
            for n in range(8):  # no widget token: refused (403) after the limit is counted, without a turn
                async with session.post(f"{webs[n % 2]}/api/chat", json={}) as response:
                    statuses.append(response.status)
        return statuses

    try:
        assert asyncio.run(main()) == [403] * 6 + [429, 429]
    finally:
        for process in scaled.web[2:]:
            process.terminate()
            process.wait(timeout=30)
        del scaled.web[2:], scaled.web_ports[2:]


def test_the_action_server_stopped_for_10_seconds_gives_the_kind_reply_then_answers_return(scaled):
    helpline = seed_helpline()
    moments = {}

    async def timeline(load: Load) -> None:
        await until_answered(load, 0)
        moments["stopped"] = time.time()
        await asyncio.get_running_loop().run_in_executor(None, scaled.stop_actions)
        await asyncio.sleep(10)
        await asyncio.get_running_loop().run_in_executor(None, scaled.restart_actions)
        moments["back"] = time.time()
        await until_answered(load, moments["back"] + 1)

    load = run_load(scaled, 6, timeline)
    before = [t for t in load.turns if t.answered_at < moments["stopped"]]
    during = [t for t in load.between(moments["stopped"]) if t.answered_at <= moments["back"]]
    after = load.between(moments["back"] + 1)
    assert before and all(t.answered for t in before)
    assert during and all(t.status == 200 for t in during)
    kind = [t for t in during if t.kind_reply]
    assert kind, "no kind reply while the action server was down"
    assert all(helpline["phone"] in t.text and "999" in t.text for t in kind)
    assert after and all(t.answered for t in after), [t.text for t in after if not t.answered][:3]
    assert stopped(scaled) == []


def test_terminated_postgresql_connections_are_replaced_without_a_restart(scaled):
    moments = {}
    admin = make_engine(PG_URL)

    async def timeline(load: Load) -> None:
        await asyncio.sleep(3)
        with admin.begin() as conn:
            moments["terminated"] = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": scaled.application_name},
            ).scalar()
        moments["at"] = time.time()
        await asyncio.sleep(6)

    pids = {name: process.pid for name, process in scaled.processes().items()}
    load = run_load(scaled, 6, timeline)
    admin.dispose()
    assert moments["terminated"] >= 2  # both Rasa servers had connections open
    after = load.between(moments["at"])
    assert after and all(t.answered for t in after), [t.text for t in after if not t.answered][:3]
    assert {name: process.pid for name, process in scaled.processes().items()} == pids
    assert stopped(scaled) == []
    assert_nothing_lost_and_in_order(scaled, load)


def test_killing_one_of_two_rasa_servers_loses_no_turn(scaled):
    """Run last: it leaves one Rasa server. Every turn is answered, also one in flight on the killed server
    (the other server takes it over), and every message is stored exactly once, in order."""
    from benchmarks.conversation_bench import peak_memory_mb

    moments = {}

    async def timeline(load: Load) -> None:
        await asyncio.sleep(5)
        moments["memory"] = [peak_memory_mb(p.pid) for p in scaled.rasa_servers]
        moments["killed"] = time.time()
        scaled.kill_rasa(0)
        await asyncio.sleep(10)

    load = run_load(scaled, 8, timeline)
    assert all(0 < mb < 1300 for mb in moments["memory"]), moments["memory"]
    after = load.between(moments["killed"])
    assert len(after) > 20
    assert all(t.answered for t in load.turns), [
        (round(t.sent_at - moments["killed"], 1), round(t.seconds, 1), t.status, t.text[:80])
        for t in load.turns
        if not t.answered
    ]
    assert_nothing_lost_and_in_order(scaled, load)
