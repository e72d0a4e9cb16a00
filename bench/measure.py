"""Repeated measurements on a noisy machine: medians, ratios, and one progress line per case."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO


def median(samples: Sequence[float]) -> float:
    if not samples:
        raise ValueError("no samples to take a median of")
    return float(statistics.median(samples))


def spread(samples: Sequence[float], fmt: Callable[[float], str]) -> str:
    """``min / median / max`` of the samples, each written by ``fmt``."""
    return " / ".join(fmt(value) for value in (min(samples), median(samples), max(samples)))


def ratio(ours: float, theirs: float) -> float | None:
    """ours / theirs, or None when the peer's value is zero (no meaningful ratio)."""
    return ours / theirs if theirs else None


@dataclass
class Progress:
    """Prints ``[case] what ... result`` for every measured case, with the time the run has taken."""

    stream: TextIO = field(default_factory=lambda: sys.stdout)
    started: float = field(default_factory=time.monotonic)
    cases: int = 0

    def case(self, case: str, what: str, result: str) -> None:
        self.cases += 1
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:6.1f}s] {case:<12} {what:<44} {result}", file=self.stream, flush=True)
