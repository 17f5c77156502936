"""Scale-out pieces on their own: the rate limit in the machine's Redis (bot/security.py) and the choice of
Rasa server for a conversation (bot/routing.py). The whole set-up under faults is in tests/test_faults.py."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
from aiohttp import web as aioweb

from bot.routing import RasaRouter, server_order
from bot.security import RateLimiter, RedisRateLimiter, make_rate_limiter

REDIS_URL = "redis://127.0.0.1:6379/2"


async def test_two_limiters_on_one_redis_share_each_address_bucket():
    prefix = f"test:{uuid.uuid4().hex}:"
    first, second = RedisRateLimiter(REDIS_URL, 4, 1, prefix), RedisRateLimiter(REDIS_URL, 4, 1, prefix)
    try:
        results = [await (first if n % 2 else second).check("203.0.113.7") for n in range(6)]
        assert results == [True] * 4 + [False, False]
        assert await first.check("198.51.100.1")  # another address has its own bucket
    finally:
        await first.close()
        await second.close()


async def test_the_memory_limiter_is_per_process():
    first, second = RateLimiter(4, 1), RateLimiter(4, 1)
    results = [await (first if n % 2 else second).check("203.0.113.7") for n in range(6)]
    assert results == [True] * 6  # each process counts alone: why several processes need Redis


async def test_an_unreachable_redis_lets_messages_through():
    limiter = RedisRateLimiter("redis://127.0.0.1:9/0", 1, 1)
    try:
        assert await limiter.check("203.0.113.7") and await limiter.check("203.0.113.7")
    finally:
        await limiter.close()


def test_the_setting_chooses_the_store():
    assert isinstance(make_rate_limiter(None, 5, 5), RateLimiter)
    assert isinstance(make_rate_limiter(REDIS_URL, 5, 5), RedisRateLimiter)


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
