"""API rate limits: per-account, per-Region, per-operation token buckets, off unless switched on.

A real service answers calls beyond its request rate with HTTP 429 ``ThrottledClientException``
(the pool API's modeled throttling error). Without that, fifty pools deployed at once look fine
offline and fail in the cloud. ``RateLimiter`` plays it: each (account, Region, operation) has a
bucket that refills at ``rate`` tokens per second up to ``burst``; a call takes one token, and a
call that finds none is throttled (it does not reach the model and does not take a token).

No request rate for the Kinesis Video Stream pool operations could be found in AWS's published
quotas (the Amazon Chime SDK endpoints and quotas page lists meeting and messaging API rates), so
``DEFAULT_QUOTAS`` are conservative assumptions, written down in docs/emulator.md: 5 requests per
second for each mutating pool operation, 10 for each Get and List, a burst of one second's worth.
Kinesis Video Streams' DeleteStream is limited to 50 per second per account (its quotas page).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from local.chime_emulator import service_model as sm


@dataclass(frozen=True)
class Quota:
    """A token bucket's shape: ``rate`` requests per second on average, ``burst`` at once."""

    rate: float
    burst: float

    def scaled(self, factor: float) -> Quota:
        return Quota(self.rate * factor, self.burst * factor)


MUTATING_RATE = 5.0
READ_RATE = 10.0

# operation -> its bucket's shape; an operation not listed here is not limited.
DEFAULT_QUOTAS: Mapping[str, Quota] = {
    **{
        operation: Quota(READ_RATE, READ_RATE)
        if operation.startswith(sm.READ_ONLY_PREFIXES)
        else Quota(MUTATING_RATE, MUTATING_RATE)
        for operation in sm.POOL_OPERATIONS
    },
    "DeleteStream": Quota(50.0, 50.0),
}

# The error each service throttles with (the pool API's is HTTP 429).
THROTTLING_ERRORS: Mapping[str, str] = {
    sm.CHIME.name: "ThrottledClientException",
    sm.KINESIS_VIDEO.name: "ClientLimitExceededException",
    sm.IAM.name: "Throttling",
}
THROTTLING_MESSAGE = "Rate exceeded"


class _Bucket:
    def __init__(self, quota: Quota, now: float) -> None:
        self.quota = quota
        self.tokens = quota.burst
        self.updated = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.quota.burst, self.tokens + (now - self.updated) * self.quota.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    """The buckets of every (account, Region, operation) seen, and counts of what they allowed."""

    def __init__(
        self,
        quotas: Mapping[str, Quota] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quotas = dict(DEFAULT_QUOTAS if quotas is None else quotas)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self.allowed: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()

    @classmethod
    def scaled(cls, factor: float, *, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        """The default quotas times ``factor`` (e.g. 2 for 10 mutating and 20 read calls per second)."""
        return cls({name: quota.scaled(factor) for name, quota in DEFAULT_QUOTAS.items()}, clock=clock)

    def allow(self, account: str, region: str, operation: str) -> bool:
        """Take a token for one call; False when the call is over the rate and must be throttled."""
        quota = self.quotas.get(operation)
        if quota is None:
            return True
        key = (account, region, operation)
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(quota, now)
            allowed = bucket.take(now)
            (self.allowed if allowed else self.throttled)[operation] += 1
        return allowed

    def reset(self) -> None:
        """Full buckets and zero counts, as after a quiet minute."""
        with self._lock:
            self._buckets.clear()
            self.allowed.clear()
            self.throttled.clear()

    @staticmethod
    def error_code(service_name: str) -> str:
        return THROTTLING_ERRORS.get(service_name, "ThrottledClientException")
