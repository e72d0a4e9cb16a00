"""Case 1: cold start, from starting the function's process to its first CloudFormation response.

Ours against the straightforward crhelper handler (``peers/naive_handler``): both run under the
real ``awslambdaric`` in a new process per measurement, with the same settings, and answer the same
Create request against the emulator. The naive one builds crhelper's three polling clients at
import; ours does not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from bench.config import PEERS_DIR, BenchConfig
from bench.harness import HandlerBench, pool_properties
from bench.measure import Progress, median, ratio
from bench.results import Row, fmt_ratio, fmt_seconds
from local.lambda_runtime import FunctionConfig

TARGET_RATIO = 0.7


def naive_function(ours: FunctionConfig) -> FunctionConfig:
    """The naive handler with our function's settings, so only the code differs."""
    return dataclasses.replace(
        ours, function_name="naive-handler", handler="index.handler", code_dir=PEERS_DIR / "naive_handler"
    )


def first_response_seconds(function: FunctionConfig, pool_name: str) -> float:
    with HandlerBench(function) as bench:
        answer = bench.request("Create", pool_properties(pool_name))
        if not answer.succeeded:
            raise RuntimeError(
                f"{function.function_name} failed its first request: {answer.body.get('Reason')}"
            )
        return answer.arrived - answer.sent


def run(config: BenchConfig, ours: FunctionConfig, progress: Progress) -> list[Row]:
    variants: dict[str, Callable[[], FunctionConfig]] = {
        "ours": lambda: ours,
        "naive crhelper": lambda: naive_function(ours),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for repetition in range(config.cold_start_repeats):
        for name, function in variants.items():  # alternate, so load bursts hit both
            seconds = first_response_seconds(function(), f"cold-{repetition}")
            samples[name].append(seconds)
            progress.case(
                "cold start", f"{name} run {repetition + 1}/{config.cold_start_repeats}", fmt_seconds(seconds)
            )
    ours_median, naive_median = median(samples["ours"]), median(samples["naive crhelper"])
    factor = ratio(ours_median, naive_median)
    return [
        Row(
            "cold start",
            f"process start to first response (median of {config.cold_start_repeats})",
            fmt_seconds(ours_median),
            "naive crhelper handler",
            fmt_seconds(naive_median),
            fmt_ratio(factor),
            f"<= {TARGET_RATIO}x",
            factor is not None and factor <= TARGET_RATIO,
        )
    ]
