"""What the reliability suite measured, kept for the end-of-run summary (``conftest.py``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

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

    def record(self, test: str, outcome: str) -> None:
        self.outcomes.setdefault(test, Counter())[outcome] += 1

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
