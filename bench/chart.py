"""The wait-latency chart: overhead and Get calls against D, ours beside the polling floors."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on build machines

import matplotlib.pyplot as plt

from bench.scale import ScaleRun
from bench.wait_latency import (
    MAX_OVERHEAD_SECONDS,
    WaitResult,
    crhelper_floor,
    max_gets,
    provider_floor,
)


def draw(results: list[WaitResult], path: Path) -> None:
    delays = [result.delay for result in results]
    figure, (overhead_axis, gets_axis) = plt.subplots(1, 2, figsize=(11, 4.2))

    overhead_axis.plot(delays, [r.overhead for r in results], "o-", label="ours (median)", linewidth=2)
    overhead_axis.plot(delays, [crhelper_floor(d)[0] for d in delays], "s--", label="crhelper polling floor")
    overhead_axis.plot(
        delays, [provider_floor(d)[0] for d in delays], "^--", label="Provider framework floor"
    )
    overhead_axis.axhline(MAX_OVERHEAD_SECONDS, color="grey", linestyle=":", label="target (1 s)")
    overhead_axis.set_yscale("symlog", linthresh=1.0)
    overhead_axis.set_ylim(bottom=0)
    overhead_axis.set_xlabel("D: seconds until the pool is ACTIVE")
    overhead_axis.set_ylabel("ACTIVE to SUCCESS (s)")
    overhead_axis.set_title("Overhead after ACTIVE")
    overhead_axis.legend(fontsize=8)

    gets_axis.plot(delays, [r.gets for r in results], "o-", label="ours (median)", linewidth=2)
    gets_axis.plot(delays, [crhelper_floor(d)[1] for d in delays], "s--", label="crhelper polling floor")
    gets_axis.plot(delays, [provider_floor(d)[1] for d in delays], "^--", label="Provider framework floor")
    gets_axis.plot(delays, [max_gets(d) for d in delays], ":", color="grey", label="target (5 + 1.2 D)")
    gets_axis.set_xlabel("D: seconds until the pool is ACTIVE")
    gets_axis.set_ylabel("Get calls")
    gets_axis.set_title("Get calls until SUCCESS")
    gets_axis.legend(fontsize=8)

    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_scale(runs: list[ScaleRun], path: Path) -> None:
    """Wall time of each step against N (ours), with the naive handler's deploy beside it."""
    figure, axis = plt.subplots(figsize=(7, 4.2))
    ours = sorted((run for run in runs if run.variant == "ours"), key=lambda run: run.pools)
    pools = [run.pools for run in ours]
    for name, marker in (("deploy", "o-"), ("update", "s-"), ("destroy", "^-")):
        seconds = [phase.seconds if (phase := run.phase(name)) else float("nan") for run in ours]
        axis.plot(pools, seconds, marker, label=f"ours: {name}", linewidth=2)
    if ours and (first := ours[0].phase("deploy")) is not None:
        axis.axhline(2 * first.seconds, color="grey", linestyle=":", label="target: 2x deploy at N=1")
    naive = sorted((run for run in runs if run.variant == "naive"), key=lambda run: run.pools)
    axis.plot(
        [run.pools for run in naive],
        [phase.seconds if (phase := run.phase("deploy")) else float("nan") for run in naive],
        "x--",
        label="naive crhelper: deploy",
    )
    for run in naive:
        deploy = run.phase("deploy")
        if deploy is not None and deploy.failed_pools:
            axis.annotate(
                f"{deploy.failed_pools} FAILED",
                (run.pools, deploy.seconds),
                textcoords="offset points",
                xytext=(4, -12),
                fontsize=8,
            )
    axis.set_xlabel("N: pools in the stack")
    axis.set_ylabel("wall time (s)")
    axis.set_title("One stack of N pools under the API rate limits")
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
