"""Passwords, CSRF tokens, the widget's request token and its rate limit.

Passwords: scrypt (memory-hard, in the standard library), with a random salt and the
parameters stored in the hash so they can be raised later without breaking old hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict

from bot import redis_client

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD_LENGTH = 12
WIDGET_TOKEN_SECONDS = 12 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=2**26, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=2**26, dklen=len(_unb64(digest))
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, _unb64(digest))


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is not acceptable, in plain words (None if it is)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Enter a password of at least {MIN_PASSWORD_LENGTH} characters"
    if username and username.lower() in password.lower():
        return "Enter a password that does not contain your username"
    if len(set(password)) < 5:
        return "Enter a password with more different characters"
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _mac(secret: str, message: str) -> str:
    return _b64(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest())


def csrf_token(secret: str, browser_token: str) -> str:
    """The form token for a browser's CSRF cookie (double submit, bound by HMAC to our secret)."""
    return _mac(secret, "csrf:" + browser_token)


def csrf_valid(secret: str, browser_token: str | None, submitted: str | None) -> bool:
    if not browser_token or not submitted:
        return False
    return hmac.compare_digest(csrf_token(secret, browser_token), submitted)


def widget_token(secret: str, now: float | None = None) -> str:
    """A token the widget page carries and sends with each message (no cookies: it runs in other sites' pages)."""
    issued = str(int(now if now is not None else time.time()))
    return f"{issued}.{_mac(secret, 'widget:' + issued)}"


def widget_token_valid(secret: str, token: str | None, now: float | None = None) -> bool:
    if not token or "." not in token:
        return False
    issued, mac = token.split(".", 1)
    if not issued.isdigit() or not hmac.compare_digest(_mac(secret, "widget:" + issued), mac):
        return False
    age = (now if now is not None else time.time()) - int(issued)
    return -60 <= age <= WIDGET_TOKEN_SECONDS


class RateLimiter:
    """Token buckets per key (a client address): `burst` at once, refilled at `per_minute`.

    In memory, per process, with a bounded number of keys (oldest forgotten first).
    """

    def __init__(self, burst: int, per_minute: int, max_keys: int = 50_000) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed

    async def check(self, key: str) -> bool:
        """The same as `allow`, with the interface the Redis limiter has (one web process only)."""
        return self.allow(key)


_TOKEN_BUCKET = """
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or burst
local last = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return allowed
"""


class RedisRateLimiter:
    """The same token buckets as `RateLimiter`, kept in Redis so every web process shares them.

    One Lua script reads, refills and takes a token atomically, on Redis's clock; each bucket expires
    once it would be full again. If Redis cannot be reached the message is let through (a warning is
    logged): parents are never locked out of the chat because of our own outage.
    """

    def __init__(self, client, burst: int, per_minute: float, prefix: str) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.prefix = prefix
        self._script = client.register_script(_TOKEN_BUCKET)

    async def check(self, key: str) -> bool:
        try:
            return bool(await self._script(keys=[self.prefix + key], args=[self.burst, self.rate]))
        except redis_client.ERRORS as error:
            redis_client.warn_unavailable(f"rate limit {self.prefix}", error, "message let through")
            return True


def make_rate_limiter(client, burst: int, per_minute: float, prefix: str):
    """In Redis when given a client (several web processes, keys under `prefix`), else in this process's memory."""
    if client is not None:
        return RedisRateLimiter(client, burst, per_minute, prefix)
    return RateLimiter(burst, per_minute)
