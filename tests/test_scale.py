"""Scale-out pieces on their own: the counts web processes share in the machine's Redis (bot/shared_state.py:
rate limits, new chats, sign-in throttle), also with two web apps on one Redis, and with Redis going away; and
the choice of Rasa server for a conversation (bot/routing.py). The whole set-up under faults is in
tests/test_faults.py. Tests named "redis" are marked as needing the Redis server (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web as aioweb

from bot import redis_client, shared_state
from bot.limits import ConversationStarts, RedisConversationStarts
from bot.routing import RasaRouter, server_order
from bot.security import RateLimiter, RedisRateLimiter
from bot.throttle import RedisSignInThrottle, SignInThrottle
from scripts.stack import free_port
from tests.test_hardening import sign_in_as
from tests.test_web_widget import chat, new_conversation, token_for

REDIS_URL = "redis://127.0.0.1:6379/2"
UNREACHABLE = "redis://127.0.0.1:9/0"


@pytest.fixture
async def redis_prefix():
    """A key prefix of this test's own on the machine's Redis; every key under it is deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis_client.connect(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.close()


@pytest.fixture
async def redis():
    client = redis_client.connect(REDIS_URL)
    yield client
    await client.close()


async def test_two_limiters_on_one_redis_share_each_address_bucket(redis, redis_prefix):
    first, second = RedisRateLimiter(redis, 4, 1, redis_prefix), RedisRateLimiter(redis, 4, 1, redis_prefix)
    results = [await (first if n % 2 else second).check("203.0.113.7") for n in range(6)]
    assert results == [True] * 4 + [False, False]
    assert await first.check("198.51.100.1")  # another address has its own bucket


async def test_the_memory_limiter_is_per_process():
    first, second = RateLimiter(4, 1), RateLimiter(4, 1)
    results = [await (first if n % 2 else second).check("203.0.113.7") for n in range(6)]
    assert results == [True] * 6  # each process counts alone: why several processes need Redis


async def test_an_unreachable_redis_lets_messages_through():
    client = redis_client.connect(UNREACHABLE)
    limiter, starts = RedisRateLimiter(client, 1, 1, "x:"), RedisConversationStarts(client, "x:")
    try:
        assert await limiter.check("203.0.113.7") and await limiter.check("203.0.113.7")
        assert not await starts.is_new(uuid.uuid4().hex)  # not counted against the address's new chats
    finally:
        await client.close()


def test_the_setting_chooses_the_store(web_settings):
    app = aioweb.Application()
    shared_state.install(app, web_settings)
    kinds = {name: type(app[name]) for name in SHARED}
    assert kinds == {**dict.fromkeys(SHARED[:4], RateLimiter), SHARED[4]: ConversationStarts, SHARED[5]: SignInThrottle}
    app = aioweb.Application()
    shared_state.install(app, replace(web_settings, redis_url=REDIS_URL))
    kinds = {name: type(app[name]) for name in SHARED}
    assert kinds == {
        **dict.fromkeys(SHARED[:4], RedisRateLimiter),
        SHARED[4]: RedisConversationStarts,
        SHARED[5]: RedisSignInThrottle,
    }


SHARED = ("widget_limiter", "new_conversation_limiter", "conversation_limiter", "handoff_limiter",
          "conversation_starts", "sign_in_throttle")  # fmt: skip


# --- Two web apps on one Redis (as two web processes behind a load balancer) ---------------------


@pytest.fixture
async def two_webs(aiohttp_client, web_kb, web_settings, redis_prefix):
    """Two instances of the web app on one knowledge base, sharing the machine's Redis under this test's prefix."""
    from bot.app import create_app
    from tests.web_helpers import WebClient

    settings = replace(
        web_settings, redis_url=REDIS_URL, redis_prefix=redis_prefix, sign_in_free_failures=3,
        messages_per_conversation_per_minute=2, new_conversations_per_hour=3,
    )  # fmt: skip
    return [WebClient(await aiohttp_client(create_app(settings, web_kb)), web_kb) for _ in range(2)]


async def test_two_apps_on_one_redis_share_the_sign_in_throttle(two_webs):
    first, second = two_webs
    first.make_account("staff1", "staff")
    statuses = [(await sign_in_as(web, "staff1", "wrong")).status for web in (first, second, first)]
    refused = await sign_in_as(second, "staff1")  # the right password, on the other process: must wait
    assert statuses == [400, 400, 400]
    assert refused.status == 429 and "Wait 1 second" in await refused.text()
    await asyncio.sleep(1.1)
    assert (await sign_in_as(second, "staff1")).status == 303
    assert (await sign_in_as(first, "staff1")).status == 303  # the right password cleared the count everywhere


async def test_two_apps_on_one_redis_let_three_of_ten_tries_at_once_through(two_webs):
    """Check and count are one script in Redis: tries sent at once to both processes get three goes between them."""
    two_webs[0].make_account("staff1", "staff")
    responses = await asyncio.gather(*(sign_in_as(two_webs[n % 2], "staff1", f"guess {n}") for n in range(10)))
    assert sorted(r.status for r in responses) == [400] * 3 + [429] * 7


async def test_two_apps_on_one_redis_share_the_per_conversation_and_new_chat_limits(two_webs):
    first, second = two_webs
    tokens = [await token_for(web) for web in two_webs]
    conversation = new_conversation()
    statuses = [(await chat(web, "hi", token=tokens[n % 2], conversation=conversation)).status
                for n, web in enumerate((first, second, first))]  # fmt: skip
    assert statuses == [200, 200, 429]  # two messages a minute per conversation, counted across both
    others = [(await chat(web, "hi", token=tokens[n % 2])).status for n, web in enumerate((second, first, second))]
    assert others == [200, 200, 429]  # three new chats an hour per address, the first one included


async def test_every_key_kept_in_redis_expires(two_webs, redis, redis_prefix):
    first, second = two_webs
    await sign_in_as(first, "nobody", "wrong")
    await chat(second, "hi")
    keys = [key async for key in redis.scan_iter(match=redis_prefix + "*")]
    kinds = {key.decode()[len(redis_prefix) :].split(":")[0] for key in keys}
    assert kinds == {"sign-in", "chat", "new-chats", "seen", "conversation"}
    lifetimes = [await redis.ttl(key) for key in keys]
    assert all(0 < seconds <= 24 * 3600 for seconds in lifetimes), lifetimes


# --- Redis going away mid-run ----------------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own (the shared one must not be stopped): its URL and process."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)], stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
        assert time.monotonic() < deadline and process.poll() is None, "the test's Redis server did not start"
        time.sleep(0.1)
    yield url, process
    process.kill()
    process.wait()


async def test_when_redis_goes_down_mid_run_sign_in_stays_throttled_and_the_chat_carries_on(private_redis):
    url, server = private_redis
    client = redis_client.connect(url)
    throttle = RedisSignInThrottle(client, free_per_account=3, free_per_address=100, prefix="t:sign-in:")
    limiter = RedisRateLimiter(client, 1, 1, "t:chat:")
    try:
        for _ in range(2):
            assert await throttle.attempt("ann", "192.0.2.1") == 0  # two wrong passwords
        assert await limiter.check("192.0.2.1") and not await limiter.check("192.0.2.1")
        server.kill()
        server.wait()
        assert await throttle.attempt("ann", "192.0.2.1") == 0  # the third, while Redis is down
        assert await throttle.attempt("ann", "192.0.2.1") == 1  # counted here since the start
        assert await throttle.attempt("bob", "192.0.2.2") == 0
        assert await limiter.check("192.0.2.1")  # the chat's limit lets the message through
    finally:
        await client.close()


def test_each_conversation_has_one_server_the_same_everywhere_and_the_load_is_spread():
    servers = ("http://a:5005", "http://b:5005")
    senders = [f"web-{n:032x}" for n in range(2000)]
    first_choice = [server_order(s, servers)[0] for s in senders]
    assert first_choice == [server_order(s, tuple(reversed(servers)))[0] for s in senders]  # order of the list does not matter
    share = first_choice.count(servers[0]) / len(senders)
    assert 0.45 < share < 0.55
    three = (*servers, "http://c:5005")
    moved = [s for s, before in zip(senders, first_choice, strict=True) if server_order(s, three)[0] not in (before, three[2])]
    assert moved == []  # adding a server moves conversations only to the new one


@pytest.fixture
async def live_rasa(aiohttp_server):
    """A stand-in for a Rasa REST channel that answers with who it is."""

    async def webhook(request):
        body = await request.json()
        return aioweb.json_response([{"recipient_id": body["sender"], "text": f"answered {body['message']}"}])

    app = aioweb.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def test_a_server_that_does_not_answer_is_passed_over_and_tried_last_for_a_while(live_rasa):
    dead = "http://127.0.0.1:9"
    router = RasaRouter((dead, live_rasa), connect_timeout=1)
    sender = next(f"web-{n:032x}" for n in range(100) if server_order(f"web-{n:032x}", (dead, live_rasa))[0] == dead)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        replies = await router.send(http, sender, "hello")
        assert replies == [{"recipient_id": sender, "text": "answered hello"}]
        assert router.order(sender) == [live_rasa, dead]
        assert await RasaRouter((dead,)).send(http, sender, "hello") is None
