"""Sign-in throttling: after a few wrong passwords, each further try has to wait, longer each time.

Counted separately per account and per client address, so guessing one account's password from
many addresses, and many accounts' passwords from one address, are both slowed. A right password
clears the account's count (the address's count is left: it may be guessing other accounts).

In memory, per web process, with a bounded number of keys; counts are forgotten a day after
their last failure. With several web processes each keeps its own counts.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

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

    def wait_seconds(self, account: str, address: str, now: float | None = None) -> int:
        """How long this sign-in must wait before it may be tried (0: go ahead)."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        for kind, key in (("account", account), ("address", address)):
            failures = self._get((kind, key), now)
            if failures is not None:
                wait = max(wait, failures.last + self._delay(kind, failures) - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, account: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in (("account", account), ("address", address)):
            failures = self._get(key, now) or _Failures(0, now)
            self._failures.pop(key, None)
            self._failures[key] = _Failures(failures.count + 1, now)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, account: str) -> None:
        self._failures.pop(("account", account), None)


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
