"""Fault injection: make chosen requests fail the way a real, busy or flaky service does.

A fault rule targets one operation (or ``"*"`` for all) and hits the next ``count`` matching
requests (``None``: every one until cleared). Apart from ``slow`` and ``drop_after``, a faulted
request never reaches the pool state, as when a real front end refuses it.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

# kind -> the modeled error it answers with (None: no error response at all)
FAULT_ERRORS: dict[str, str | None] = {
    "throttle": "ThrottledClientException",  # HTTP 429
    "unavailable": "ServiceUnavailableException",  # HTTP 503
    "service_failure": "ServiceFailureException",  # HTTP 500
    "drop": None,  # the connection closes before any change and without a response
    "drop_after": None,  # the change is applied, then the connection closes without a response
    "slow": None,  # the response comes after ``delay`` seconds; the request is otherwise served
}
FAULT_KINDS = frozenset(FAULT_ERRORS)
ANY_OPERATION = "*"


@dataclass
class Fault:
    """One rule; ``remaining`` counts down as requests hit it."""

    operation: str
    kind: str
    remaining: int | None = 1
    delay: float = 0.0
    message: str | None = None

    @property
    def error_code(self) -> str | None:
        return FAULT_ERRORS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """The active fault rules, consulted once per request (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def add(
        self,
        operation: str,
        kind: str,
        count: int | None = 1,
        delay: float = 0.0,
        message: str | None = None,
    ) -> Fault:
        """Make the next ``count`` requests of ``operation`` (``"*"``: any) fail with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if count is not None and count < 1:
            raise ValueError(f"count must be at least 1 (or None for every request); got {count}")
        if delay < 0:
            raise ValueError(f"delay must not be negative; got {delay}")
        fault = Fault(operation, kind, count, float(delay), message)
        with self._lock:
            self._rules.append(fault)
        return fault

    def take(self, operation: str) -> Fault | None:
        """The first rule that hits this request, counting it; rules are used in the order added."""
        with self._lock:
            for fault in self._rules:
                if fault.operation in (operation, ANY_OPERATION):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._rules.remove(fault)
                    return Fault(fault.operation, fault.kind, fault.remaining, fault.delay, fault.message)
        return None

    def clear(self, operation: str | None = None) -> None:
        """Remove every rule, or those of one operation."""
        with self._lock:
            self._rules = [f for f in self._rules if operation is not None and f.operation != operation]

    def pending(self) -> list[Fault]:
        """The rules still armed (copies)."""
        with self._lock:
            return [Fault(**f.to_dict()) for f in self._rules]
