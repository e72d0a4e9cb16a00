"""Throttled calls are retried for as long as the invocation can afford, not just five times.

botocore's legacy retry mode gives up on a throttled call after five attempts (about 15 s at most
of backoff). When fifty pools are deployed at once, fifty invocations share the account's request
rate (a few calls per second per operation), and five attempts are not enough although the
invocation has minutes left: the pool then fails and the whole stack rolls back.

``install`` puts a retry rule in front of botocore's own on a client: a throttling error is retried
after a random delay (full jitter, so concurrent invocations spread out instead of retrying in
step) that grows with the attempts up to ``MAX_DELAY_SECONDS``, for as long as the delay and one
more attempt's worst case (the client's connect + read timeouts) fit in the invocation's remaining
time (``start_invocation``) less ``margin_seconds`` to report. Any retry, throttled or not, that no
longer fits is stopped; otherwise any other error is left to botocore's rule. Every retried call
is safe to repeat: Create carries a ClientRequestToken, the others are reads or set a state
(Update, Delete, TagResource, UntagResource).
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

# The throttling errors of the services the handler calls (pool API, Kinesis Video Streams, IAM).
THROTTLING_CODES = frozenset(
    {
        "ThrottledClientException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ClientLimitExceededException",
        "RequestLimitExceeded",
    }
)
BASE_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 4.0


class _Invocation:
    """How much time the current invocation has left (one invocation at a time per environment)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining: Callable[[], float] | None = None
        self.margin_seconds = 0.0

    def start(self, remaining_seconds: Callable[[], float], margin_seconds: float) -> None:
        with self._lock:
            self._remaining = remaining_seconds
            self.margin_seconds = margin_seconds

    def affordable(self) -> float | None:
        """Seconds that may still be slept before the margin; None outside an invocation."""
        with self._lock:
            remaining = self._remaining
        if remaining is None:
            return None
        return remaining() - self.margin_seconds


_INVOCATION = _Invocation()
_Client = TypeVar("_Client")


def start_invocation(remaining_seconds: Callable[[], float], margin_seconds: float) -> None:
    """Retry throttled calls until ``margin_seconds`` before this invocation's deadline
    (``remaining_seconds``: how long it may still work)."""
    _INVOCATION.start(remaining_seconds, margin_seconds)


def start_with_deadline(deadline: float, margin_seconds: float = 0.0) -> None:
    """The same with a ``time.monotonic()`` deadline, for code that runs outside Lambda."""
    _INVOCATION.start(lambda: deadline - time.monotonic(), margin_seconds)


def is_throttling(response: Any) -> bool:
    """Whether a (http response, parsed) pair is a throttling answer."""
    if response is None:
        return False
    http, parsed = response
    code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
    return code in THROTTLING_CODES or getattr(http, "status_code", None) == 429


def retry_delay(attempts: int, rng: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform in [0, min(MAX, BASE * 2 ** (attempts - 1))]."""
    ceiling = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** min(attempts - 1, 16))
    return float(ceiling * rng())


def _needs_retry(
    attempts: int, response: Any = None, *, attempt_seconds: float = 0.0, **_: Any
) -> float | bool | None:
    """botocore's ``needs-retry`` event: a delay to retry after, False to stop, None: botocore decides.

    ``attempt_seconds`` is how long one more attempt may take at worst (the client's connect and
    read timeouts): a retry starts only if it can end, after its delay, before the margin. That
    bounds botocore's own retries too (legacy mode's delay is at most 2 ** (attempts - 1) seconds),
    so a slow endpoint cannot carry a call past the invocation's deadline.
    """
    affordable = _INVOCATION.affordable()
    if affordable is None:
        return None  # outside an invocation: botocore's own rule
    if not is_throttling(response):
        if affordable - attempt_seconds < 2.0 ** min(attempts - 1, 16):
            return False  # no time for another attempt, whatever botocore would decide
        return None
    delay = retry_delay(attempts)
    if affordable - delay - attempt_seconds <= 0:
        logger.warning("Throttled %d time(s); no time left to retry", attempts)
        return False  # no retry at all (not botocore's either): the caller sees the throttling error
    if attempts % 10 == 0:
        logger.info("Throttled %d times; retrying", attempts)
    return delay


def install(client: _Client) -> _Client:
    """Register the rule on ``client`` ahead of botocore's retry handler; returns the client."""
    meta: Any = client.meta  # type: ignore[attr-defined]
    service = meta.service_model.service_id.hyphenize()
    config = meta.config
    attempt_seconds = float(config.connect_timeout or 0) + float(config.read_timeout or 0)
    rule = functools.partial(_needs_retry, attempt_seconds=attempt_seconds)
    meta.events.register_first(f"needs-retry.{service}", rule, unique_id=f"throttle-retry-{service}")
    return client
