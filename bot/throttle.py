"""Sign-in throttling: after a few wrong passwords, each further try has to wait, longer each time.

Counted separately per account and per client address, so guessing one account's password from
many addresses, and many accounts' passwords from one address, are both slowed. A right password
clears the account's count (the address's count is left: it may be guessing other accounts).

Counts are forgotten a day after their last failure. Two stores, one interface (async
`wait_seconds`, `failed`, `succeeded`), chosen in bot/shared_state.py: `SignInThrottle` in this
process's memory (a bounded number of keys), and `RedisSignInThrottle`, shared by every web process.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from bot import redis_client

MAX_DELAY_SECONDS = 15 * 60
FORGET_AFTER_SECONDS = 24 * 3600


@dataclass
class _Failures:
    count: int
    last: float


class SignInThrottle:
    def __init__(self, free_per_account: int, free_per_address: int, max_keys: int = 100_000) -> None:
        self.free = {"account": free_per_account, "address": free_per_address}
        self.max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    def _delay(self, kind: str, failures: _Failures | None) -> float:
        if failures is None or failures.count < self.free[kind]:
            return 0.0
        return min(2.0 ** (failures.count - self.free[kind]), MAX_DELAY_SECONDS)

    def _get(self, key: tuple[str, str], now: float) -> _Failures | None:
        failures = self._failures.get(key)
        if failures is not None and now - failures.last > FORGET_AFTER_SECONDS:
            del self._failures[key]
            return None
        return failures

    async def wait_seconds(self, account: str, address: str, now: float | None = None) -> int:
        """How long this sign-in must wait before it may be tried (0: go ahead)."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        for kind, key in (("account", account), ("address", address)):
            failures = self._get((kind, key), now)
            if failures is not None:
                wait = max(wait, failures.last + self._delay(kind, failures) - now)
        return math.ceil(wait) if wait > 0 else 0

    async def failed(self, account: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in (("account", account), ("address", address)):
            failures = self._get(key, now) or _Failures(0, now)
            self._failures.pop(key, None)
            self._failures[key] = _Failures(failures.count + 1, now)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    async def succeeded(self, account: str) -> None:
        self._failures.pop(("account", account), None)


_WAIT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local wait = 0
for i, key in ipairs(KEYS) do
  local saved = redis.call('HMGET', key, 'count', 'last')
  local count, last, free = tonumber(saved[1]), tonumber(saved[2]), tonumber(ARGV[i])
  if count and last and count >= free then
    wait = math.max(wait, last + math.min(2 ^ (count - free), tonumber(ARGV[3])) - now)
  end
end
return math.ceil(wait)
"""
_FAILED = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'count', 1)
  redis.call('HSET', key, 'last', tostring(now))
  redis.call('EXPIRE', key, ARGV[1])
end
"""


class RedisSignInThrottle:
    """The same counts and delays as `SignInThrottle`, kept in Redis so that every web process sees every
    wrong password. Each check and each failure is one Lua script (atomic, on Redis's clock); a key expires
    a day after its last failure.

    If Redis fails, sign-in stays throttled ("closed-ish"), unlike the chat limits, which let messages
    through: a guessed password is worth far more to an attacker than a flood of chat messages, and an
    attacker could take Redis down (or wait for an outage) to get unlimited guesses. So every failure is
    also counted in this process's memory, all the time, and while Redis cannot be reached those counts
    decide the wait: each process still holds back what it has seen (with N processes, at most N times the
    free tries). Refusing every sign-in instead would lock helpline staff out of the console for the length
    of the outage, for no gain over that.
    """

    def __init__(self, client, free_per_account: int, free_per_address: int, prefix: str) -> None:
        self.free = {"account": free_per_account, "address": free_per_address}
        self.prefix = prefix
        self.local = SignInThrottle(free_per_account, free_per_address)
        self._client = client
        self._wait = client.register_script(_WAIT)
        self._failed = client.register_script(_FAILED)

    def _keys(self, account: str, address: str) -> list[str]:
        return [f"{self.prefix}account:{account}", f"{self.prefix}address:{address}"]

    async def wait_seconds(self, account: str, address: str) -> int:
        try:
            wait = await self._wait(keys=self._keys(account, address), args=[*self.free.values(), MAX_DELAY_SECONDS])
        except redis_client.ERRORS as error:
            redis_client.warn_unavailable("sign-in throttle", error, "using this process's own counts")
            return await self.local.wait_seconds(account, address)
        return max(0, int(wait))

    async def failed(self, account: str, address: str) -> None:
        await self.local.failed(account, address)
        try:
            await self._failed(keys=self._keys(account, address), args=[FORGET_AFTER_SECONDS])
        except redis_client.ERRORS as error:
            redis_client.warn_unavailable("sign-in throttle", error, "failure counted in this process only")

    async def succeeded(self, account: str) -> None:
        await self.local.succeeded(account)
        try:
            await self._client.delete(self._keys(account, "")[0])
        except redis_client.ERRORS as error:
            redis_client.warn_unavailable("sign-in throttle", error, "the account's shared count is left to expire")


def wait_message(seconds: int) -> str:
    """In plain words, for the sign-in page."""
    if seconds < 60:
        amount = f"{seconds} second{'s' if seconds != 1 else ''}"
    else:
        minutes = math.ceil(seconds / 60)
        amount = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return (
        f"There have been too many wrong passwords. Wait {amount}, then try again. "
        "If you have forgotten your password, ask an administrator to reset it."
    )
