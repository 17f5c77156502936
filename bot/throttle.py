"""Sign-in throttling: after a few wrong passwords, each further try has to wait, longer each time.

Counted separately per account and per client address, so guessing one account's password from
many addresses, and many accounts' passwords from one address, are both slowed. A right password
clears the account's count (the address's count is left: it may be guessing other accounts).

A try is counted as a failure when it is let through (`attempt`), before the password is checked,
and given back if the password was right (`succeeded`): so many tries sent at once cannot all slip
through while the first are still being checked. Counts are forgotten a day after the last try.

Two stores, one interface (async `attempt`, `succeeded`), chosen in bot/shared_state.py:
`SignInThrottle` in this process's memory (a bounded number of keys), and `RedisSignInThrottle`,
shared by every web process.
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

    def wait_seconds(self, account: str, address: str, now: float) -> int:
        """How long a sign-in must wait before it may be tried (0: go ahead)."""
        wait = 0.0
        for kind, key in (("account", account), ("address", address)):
            failures = self._get((kind, key), now)
            if failures is not None:
                wait = max(wait, failures.last + self._delay(kind, failures) - now)
        return math.ceil(wait) if wait > 0 else 0

    def count(self, account: str, address: str, now: float) -> None:
        """One more failure for the account and for the address."""
        for key in (("account", account), ("address", address)):
            failures = self._get(key, now) or _Failures(0, now)
            self._failures.pop(key, None)
            self._failures[key] = _Failures(failures.count + 1, now)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    async def attempt(self, account: str, address: str, now: float | None = None) -> int:
        """0: go ahead (the try is counted as a failure until `succeeded`); else seconds to wait (not counted)."""
        now = time.monotonic() if now is None else now
        wait = self.wait_seconds(account, address, now)
        if not wait:
            self.count(account, address, now)
        return wait

    async def succeeded(self, account: str, address: str) -> None:
        """The password was right: the account's count is cleared and the address's try given back."""
        self._failures.pop(("account", account), None)
        failures = self._failures.get(("address", address))
        if failures is not None and failures.count > 0:
            failures.count -= 1


_ATTEMPT = """
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
if wait > 0 then
  return math.ceil(wait)
end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'count', 1)
  redis.call('HSET', key, 'last', tostring(now))
  redis.call('EXPIRE', key, ARGV[4])
end
return 0
"""
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
local count = tonumber(redis.call('HGET', KEYS[2], 'count'))
if count and count > 0 then
  redis.call('HINCRBY', KEYS[2], 'count', -1)
end
"""


class RedisSignInThrottle:
    """The same counts and delays as `SignInThrottle`, kept in Redis so that every web process sees every
    try. Each `attempt` (check, then count) and each `succeeded` is one Lua script: atomic, on Redis's
    clock; a key expires a day after its last try.

    If Redis fails, sign-in stays throttled ("closed-ish"), unlike the chat limits, which let messages
    through: a guessed password is worth far more to an attacker than a flood of chat messages, and an
    attacker could take Redis down (or wait for an outage) to get unlimited guesses. So every try is
    also counted in this process's memory, all the time, and while Redis cannot be reached those counts
    decide the wait: each process still holds back what it has seen (with N processes, at most N times the
    free tries). Refusing every sign-in instead would lock helpline staff out of the console for the length
    of the outage, for no gain over that.
    """

    def __init__(self, client, free_per_account: int, free_per_address: int, prefix: str) -> None:
        self.free = (free_per_account, free_per_address)
        self.prefix = prefix
        self.local = SignInThrottle(free_per_account, free_per_address)
        self._attempt = client.register_script(_ATTEMPT)
        self._succeeded = client.register_script(_SUCCEEDED)

    def _keys(self, account: str, address: str) -> list[str]:
        return [f"{self.prefix}account:{account}", f"{self.prefix}address:{address}"]

    async def attempt(self, account: str, address: str) -> int:
        limits = [*self.free, MAX_DELAY_SECONDS, FORGET_AFTER_SECONDS]
        try:
            wait = int(await self._attempt(keys=self._keys(account, address), args=limits))
        except redis_client.ERRORS as error:
            redis_client.warn_unavailable("sign-in throttle", error, "using this process's own counts")
            return await self.local.attempt(account, address)
        if not wait:
            self.local.count(account, address, time.monotonic())
        return wait

    async def succeeded(self, account: str, address: str) -> None:
        await self.local.succeeded(account, address)
        try:
            await self._succeeded(keys=self._keys(account, address))
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
