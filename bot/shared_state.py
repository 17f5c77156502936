"""The counts every web process must agree on, and the one place that chooses where they live.

With LOCAL_OFFER_REDIS_URL set they are kept in Redis, through one connection, under
LOCAL_OFFER_REDIS_PREFIX (one prefix per deployment sharing a Redis), every key with a lifetime:
so N web processes behind a load balancer count together. Otherwise each process keeps its own
in memory (right for one web process). Same interface either way:

| app key | what it counts | keys under the prefix |
| --- | --- | --- |
| `widget_limiter` | the chat's messages per client address (token bucket) | `chat:` |
| `new_conversation_limiter` | new chats per client address an hour | `new-chats:` |
| `conversation_starts` | which conversation ids have been seen (to tell a new chat) | `seen:` |
| `conversation_limiter` | messages per conversation a minute | `conversation:` |
| `handoff_limiter` | polls per client address while waiting for or talking to a person | `handoff:` |
| `sign_in_throttle` | wrong passwords per account and per address (bot/throttle.py) | `sign-in:` |

When Redis fails mid-run the chat limits let messages through; sign-in stays throttled on each
process's own counts (the reasons are in `RedisSignInThrottle`'s docstring).
"""

from __future__ import annotations

from aiohttp import web

from bot import redis_client
from bot.config import Settings
from bot.limits import ConversationStarts, RedisConversationStarts
from bot.security import make_rate_limiter
from bot.throttle import RedisSignInThrottle, SignInThrottle


def install(app: web.Application, settings: Settings) -> None:
    """Put the limits, the conversation starts and the sign-in throttle on `app` (see the module docstring)."""
    client = redis_client.connect(settings.redis_url) if settings.redis_url else None
    prefix = settings.redis_prefix
    new_per_hour, per_conversation = settings.new_conversations_per_hour, settings.messages_per_conversation_per_minute
    polls = settings.handoff_poll_per_minute
    app["widget_limiter"] = make_rate_limiter(client, settings.widget_burst, settings.widget_per_minute, prefix + "chat:")
    app["new_conversation_limiter"] = make_rate_limiter(client, new_per_hour, new_per_hour / 60, prefix + "new-chats:")
    app["conversation_limiter"] = make_rate_limiter(client, per_conversation, per_conversation, prefix + "conversation:")
    app["handoff_limiter"] = make_rate_limiter(client, max(polls // 4, 10), polls, prefix + "handoff:")
    free_account, free_address = settings.sign_in_free_failures, settings.sign_in_free_failures_per_address
    if client is None:
        app["conversation_starts"] = ConversationStarts()
        app["sign_in_throttle"] = SignInThrottle(free_account, free_address)
        return
    app["conversation_starts"] = RedisConversationStarts(client, prefix + "seen:")
    app["sign_in_throttle"] = RedisSignInThrottle(client, free_account, free_address, prefix + "sign-in:")

    async def close(_app: web.Application) -> None:
        await client.close()

    app.on_cleanup.append(close)
