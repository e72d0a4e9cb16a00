"""Case 2: how soon after a pool turns ACTIVE our handler reports SUCCESS, and how many Gets it took.

The emulator turns a new pool ACTIVE ``D`` seconds after its Create request. Overhead is the time
from that moment to the SUCCESS response's arrival. Beside it, the documented floors of the two
polling alternatives: crhelper's poller runs on an EventBridge ``rate(1 minute)`` rule, and the
CDK Provider framework's waiter asks isComplete every 5 s (``queryInterval`` default), the first
time straight after onEvent. Floors: no Lambda, Step Functions or EventBridge latency counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.config import BenchConfig
from bench.harness import HandlerBench, pool_properties
from bench.measure import Progress, median
from bench.results import Row, fmt_seconds
from local.lambda_runtime import FunctionConfig

CRHELPER_POLL_SECONDS = 60.0
PROVIDER_QUERY_SECONDS = 5.0
MAX_OVERHEAD_SECONDS = 1.0
GET = "GetMediaPipelineKinesisVideoStreamPool"
CREATE = "CreateMediaPipelineKinesisVideoStreamPool"


def max_gets(delay: float) -> float:
    """The issue's bound on Get calls: a capped backoff, not a tight loop."""
    return 5 + 1.2 * delay


def crhelper_floor(delay: float) -> tuple[float, int]:
    """(overhead, Gets) at best for crhelper polling: polls at 60 s, 120 s, ... after Create."""
    polls = max(1, math.ceil(delay / CRHELPER_POLL_SECONDS))
    return polls * CRHELPER_POLL_SECONDS - delay, polls


def provider_floor(delay: float) -> tuple[float, int]:
    """(overhead, Gets) at best for the Provider framework: polls at 0 s, 5 s, 10 s, ... after onEvent."""
    intervals = math.ceil(delay / PROVIDER_QUERY_SECONDS)
    return intervals * PROVIDER_QUERY_SECONDS - delay, intervals + 1


@dataclass(frozen=True)
class WaitSample:
    delay: float
    overhead: float
    gets: int


@dataclass(frozen=True)
class WaitResult:
    """Medians per delay, for the table and the chart."""

    delay: float
    overhead: float
    gets: float
    runs: int


def measure(bench: HandlerBench, delay: float, pool_name: str) -> WaitSample:
    bench.emulator.create_delay = delay
    bench.emulator.clear_request_log()
    answer = bench.request("Create", pool_properties(pool_name))
    if not answer.succeeded:
        raise RuntimeError(f"Create at D={delay} failed: {answer.body.get('Reason')}")
    (create,) = bench.emulator.calls(CREATE, succeeded=True)
    active_at = create.time + delay
    return WaitSample(delay, answer.arrived - active_at, len(bench.emulator.calls(GET)))


def run(config: BenchConfig, ours: FunctionConfig, progress: Progress) -> list[WaitResult]:
    results: list[WaitResult] = []
    with HandlerBench(ours) as bench:
        bench.request("Create", pool_properties("wait-warm-up"))  # a warm process: cold start is case 1
        for delay in config.wait_delays:
            repeats = config.repeats_for_delay(delay)
            samples = []
            for repetition in range(repeats):
                sample = measure(bench, delay, f"wait-{delay:g}-{repetition}")
                samples.append(sample)
                progress.case(
                    "wait",
                    f"D={delay:g} s run {repetition + 1}/{repeats}",
                    f"overhead {fmt_seconds(sample.overhead)}, {sample.gets} Get calls",
                )
            results.append(
                WaitResult(
                    delay,
                    median([sample.overhead for sample in samples]),
                    median([sample.gets for sample in samples]),
                    repeats,
                )
            )
    return results


def rows(results: list[WaitResult]) -> list[Row]:
    out: list[Row] = []
    for result in results:
        delay = result.delay
        crhelper_overhead, crhelper_gets = crhelper_floor(delay)
        provider_overhead, provider_gets = provider_floor(delay)
        out.append(
            Row(
                "wait",
                f"ACTIVE to SUCCESS, D={delay:g} s (median of {result.runs})",
                fmt_seconds(result.overhead),
                "floors: crhelper polling / Provider",
                f"{fmt_seconds(crhelper_overhead)} / {fmt_seconds(provider_overhead)}",
                target=f"<= {MAX_OVERHEAD_SECONDS:g} s",
                met=result.overhead <= MAX_OVERHEAD_SECONDS,
            )
        )
        out.append(
            Row(
                "wait",
                f"Get calls, D={delay:g} s",
                f"{result.gets:g}",
                "floors: crhelper polling / Provider",
                f"{crhelper_gets} / {provider_gets}",
                target=f"<= {max_gets(delay):g}",
                met=result.gets <= max_gets(delay),
            )
        )
    return out
