"""What the reliability suite measured, kept for the end-of-run summary (``conftest.py``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

NOT_APPLICABLE = "n/a"


@dataclass
class FaultMatrix:
    """Operation x fault -> "pass", "FAIL" or "n/a" (the fault cannot arise in that operation)."""

    operations: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], str] = field(default_factory=dict)

    def declare(self, operations: list[str], faults: list[str]) -> None:
        self.operations, self.faults = list(operations), list(faults)

    def record(self, operation: str, fault: str, outcome: str) -> None:
        self.cells[(operation, fault)] = outcome

    def counts(self) -> Counter[str]:
        return Counter(self.cells.values())

    def merge(self, operations: list[str], faults: list[str], cells: list[list[str]]) -> None:
        """Add another process's cells (a pytest-xdist worker's); a FAIL anywhere stays a FAIL."""
        if operations:
            self.declare(operations, faults)
        for operation, fault, outcome in cells:
            if self.cells.get((operation, fault)) != "FAIL":
                self.record(operation, fault, outcome)

    def table(self) -> list[str]:
        if not self.cells:
            return []
        first = max(len(op) for op in self.operations)
        widths = [max(len(fault), 4) for fault in self.faults]
        header = " | ".join([" " * first, *(f.ljust(w) for f, w in zip(self.faults, widths, strict=True))])
        lines = [header, "-" * len(header)]
        for op in self.operations:
            row = [self.cells.get((op, f), "-").ljust(w) for f, w in zip(self.faults, widths, strict=True)]
            lines.append(" | ".join([op.ljust(first), *row]))
        counts = self.counts()
        run = counts["pass"] + counts["FAIL"]
        passed, failed, skipped = counts["pass"], counts["FAIL"], counts[NOT_APPLICABLE]
        lines.append(f"cells run: {run}, passed: {passed}, failed: {failed}, n/a: {skipped}")
        return lines


@dataclass
class BadInputFigures:
    """Hypothesis cases per test: how many ran and how each ended."""

    outcomes: dict[str, Counter[str]] = field(default_factory=dict)

    def record(self, test: str, outcome: str, count: int = 1) -> None:
        self.outcomes.setdefault(test, Counter())[outcome] += count

    def table(self) -> list[str]:
        if not self.outcomes:
            return []
        kinds = sorted({kind for counter in self.outcomes.values() for kind in counter})
        width = max(len(name) for name in self.outcomes)
        lines = [" | ".join(["test".ljust(width), "cases", *kinds])]
        for name, counter in sorted(self.outcomes.items()):
            total = sum(counter.values())
            lines.append(
                " | ".join(
                    [name.ljust(width), str(total).rjust(5), *(str(counter[k]).rjust(len(k)) for k in kinds)]
                )
            )
        return lines


MATRIX = FaultMatrix()
BAD_INPUT = BadInputFigures()
# Secrets the session handed out (presigned signatures, ClientRequestTokens): logs must hold none.
SECRETS: set[str] = set()

# Text that only an event (as a dict or JSON) or a presigned URL carries; plain names such as
# "ResourceProperties" are not enough, as tracebacks quote the handler's source lines.
EVENT_MARKERS = (
    "X-Amz-Signature=",
    "'ResponseURL': '",
    '"ResponseURL": "',
    "'ResourceProperties': {",
    '"ResourceProperties": {',
)


def secrets_in(text: str) -> list[str]:
    """What in ``text`` should never be logged: a known secret or a piece of a raw event."""
    found = [f"secret {secret[:6]}..." for secret in list(SECRETS) if secret in text]
    for marker in EVENT_MARKERS:
        at = text.find(marker)
        if at >= 0:
            found.append(f"event marker {marker!r} in ...{text[max(0, at - 80) : at + 40]!r}")
    return found


def snapshot() -> dict[str, Any]:
    """What this process measured, in plain types: a pytest-xdist worker sends it to the controller."""
    return {
        "operations": MATRIX.operations,
        "faults": MATRIX.faults,
        "cells": [[operation, fault, outcome] for (operation, fault), outcome in MATRIX.cells.items()],
        "bad_input": {test: dict(counter) for test, counter in BAD_INPUT.outcomes.items()},
        "secrets": sorted(SECRETS),
    }


def merge(received: dict[str, Any]) -> None:
    """Add a worker's :func:`snapshot` to this process's figures (the controller's end-of-run report)."""
    MATRIX.merge(received.get("operations", []), received.get("faults", []), received.get("cells", []))
    for test, counts in received.get("bad_input", {}).items():
        for outcome, count in counts.items():
            BAD_INPUT.record(test, outcome, count)
    SECRETS.update(received.get("secrets", []))
