"""Case 1: cold start, from starting the function's process to its first CloudFormation response.

Ours against the straightforward crhelper handler (``peers/naive_handler``): both run under the
real ``awslambdaric`` in a new process per measurement and answer the same request: a Delete of a
pool the emulator does not have (one API call, NotFound, SUCCESS). A Delete rather than a Create,
because our Create also waits for ACTIVE (a first poll after 0.25 s), which is wait latency (case
2), not start-up. The naive one builds crhelper's three polling clients at import; ours does not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from bench.config import PEERS_DIR, BenchConfig
from bench.harness import HandlerBench, pool_properties
from bench.measure import Progress, median, ratio, spread
from bench.results import Row, fmt_ratio, fmt_seconds
from local.lambda_runtime import FunctionConfig

# Never slower than the naive crhelper handler: tens of milliseconds once per deployment matter less
# than a whole stack's wall time (the scale case), so the target is parity, with the spread shown.
TARGET_RATIO = 1.0
NAIVE_TIMEOUT_SECONDS = 120
MISSING_POOL_ARN = (
    "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/bench-missing-pool"
)


def naive_function(ours: FunctionConfig) -> FunctionConfig:
    """The naive handler with our function's settings, so only the code differs.

    Except the timeout: with more than 135 s left, crhelper sleeps 120 s before answering a Delete
    (``sleep_on_delete``), which would measure that sleep instead of the start.
    """
    return dataclasses.replace(
        ours,
        function_name="naive-handler",
        handler="index.handler",
        code_dir=PEERS_DIR / "naive_handler",
        timeout_seconds=NAIVE_TIMEOUT_SECONDS,
    )


def first_response_seconds(function: FunctionConfig, pool_name: str) -> float:
    with HandlerBench(function) as bench:
        answer = bench.request("Delete", pool_properties(pool_name), physical_id=MISSING_POOL_ARN)
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
    # Each run of ours against the naive run right after it (the same moment's load on the machine).
    paired = [a / b for a, b in zip(samples["ours"], samples["naive crhelper"], strict=True) if b]
    faster = sum(a <= b for a, b in zip(samples["ours"], samples["naive crhelper"], strict=True))
    runs = config.cold_start_repeats
    return [
        Row(
            "cold start",
            f"process start to first response (median of {runs})",
            fmt_seconds(ours_median),
            "naive crhelper handler",
            fmt_seconds(naive_median),
            fmt_ratio(factor),
            f"<= {TARGET_RATIO}x",
            factor is not None and factor <= TARGET_RATIO,
        ),
        Row(
            "cold start",
            f"spread over {runs} runs: min / median / max (ours first in {faster} of {runs} pairs)",
            spread(samples["ours"], fmt_seconds),
            "naive crhelper handler",
            spread(samples["naive crhelper"], fmt_seconds),
            spread(paired, fmt_ratio) if paired else "n/a",
        ),
    ]
