"""Case 5: one stack of N pools deployed, updated and destroyed at once, under the API rate limits.

Each N is a fresh offline cloud (``local/offline.py``): the CloudFormation driver plays the stack's
independent resources in parallel, the local Lambda runs up to N execution environments of the
synthesized handler (real ``awslambdaric`` processes, cold starts included), and the emulator
throttles every operation beyond its token bucket (``local/chime_emulator/rate_limits.py``: 5
requests per second per mutating operation, 10 per Get and List). A pool turns ACTIVE 5 s after its
Create (and settles 5 s after an Update or a Delete). The three steps are the ones an operator runs:
``cdk deploy``, a redeploy with every pool's retention changed, ``cdk destroy``.

Beside it, the straightforward crhelper handler (``peers/naive_handler``) deployed the same way:
its botocore client gives up after five throttled attempts, and one FAILED pool rolls the whole
stack back.
"""

from __future__ import annotations

import functools
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import PEERS_DIR, BenchConfig
from bench.measure import Progress
from bench.results import Row, fmt_ratio, fmt_seconds
from bench.synth_scale import STACK_NAME, synth_once
from local.chime_emulator import ChimeEmulator, RequestRecord
from local.chime_emulator.rate_limits import DEFAULT_QUOTAS, Quota, RateLimiter
from local.cloudformation import StackEvent, StackRecord
from local.offline import OfflineCloud
from local.state import StateStore
from local.template import load_stack

POOL_TYPE = "Custom::ChimeKinesisVideoStreamPool"
CHIME_SIGNING_NAME = "chime"
TARGET_RATIO = 2.0
UPDATED_RETENTION_HOURS = 48
# crhelper sleeps 120 s before answering a Delete when more than 135 s are left; the naive peer runs
# with a shorter timeout so that its destroy measures the deletion, not that sleep.
NAIVE_TIMEOUT_SECONDS = 120
# The naive handler answers a Create without waiting; a request it never answers (an environment
# that failed to start) would hold the stack for the construct's ServiceTimeout (minutes).
NAIVE_SERVICE_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Phase:
    """One stack operation: how long it took, how it ended, what the pools' calls cost."""

    name: str
    seconds: float
    stack_status: str
    failed_pools: int
    calls: int
    throttled: int
    reasons: tuple[str, ...] = ()  # the pools' failure reasons, most frequent first
    first_call_seconds: float | None = None  # from the step's start to its first pool API call


@dataclass
class ScaleRun:
    variant: str
    pools: int
    phases: list[Phase] = field(default_factory=list)

    def phase(self, name: str) -> Phase | None:
        return next((phase for phase in self.phases if phase.name == name), None)

    @property
    def seconds(self) -> float:
        return sum(phase.seconds for phase in self.phases)

    @property
    def failed_pools(self) -> int:
        return sum(phase.failed_pools for phase in self.phases)

    @property
    def succeeded(self) -> bool:
        expected = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE")
        return self.failed_pools == 0 and all(p.stack_status in expected for p in self.phases)


def retention_update(assembly: Path, outdir: Path, hours: int) -> Path:
    """The same assembly with every pool's DataRetentionInHours changed: what a redeploy sends."""
    shutil.rmtree(outdir, ignore_errors=True)
    shutil.copytree(assembly, outdir)
    template_path = outdir / f"{STACK_NAME}.template.json"
    template = json.loads(template_path.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == POOL_TYPE:
            resource["Properties"]["StreamConfiguration"]["DataRetentionInHours"] = hours
    template_path.write_text(json.dumps(template))
    return outdir


def naive_assembly(assembly: Path, outdir: Path) -> Path:
    """The same stack with the naive crhelper handler as the function's code."""
    shutil.rmtree(outdir, ignore_errors=True)
    shutil.copytree(assembly, outdir)
    template_path = outdir / f"{STACK_NAME}.template.json"
    template = json.loads(template_path.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == POOL_TYPE:
            resource["Properties"]["ServiceTimeout"] = NAIVE_SERVICE_TIMEOUT_SECONDS
        if resource["Type"] == "AWS::Lambda::Function":
            properties = resource["Properties"]
            properties["Handler"] = "index.handler"
            properties["Timeout"] = NAIVE_TIMEOUT_SECONDS
            asset = load_stack(outdir, STACK_NAME).asset_dir_for_code(properties["Code"])
            shutil.copy(PEERS_DIR / "naive_handler" / "index.py", asset / "index.py")
    template_path.write_text(json.dumps(template))
    return outdir


def _reason_kind(reason: str | None) -> str:
    """A failure reason without its pool names: the error's kind."""
    text = reason or "no reason"
    for kind in ("ThrottledClientException", "ConflictException", "did not receive a response"):
        if kind in text:
            return kind
    return text[:60]


def _pool_calls(log: list[RequestRecord], since: int) -> tuple[int, int]:
    entries = [entry for entry in log[since:] if entry.service == CHIME_SIGNING_NAME]
    return len(entries), sum(entry.status == 429 for entry in entries)


def run_variant(
    variant: str,
    pools: int,
    steps: list[tuple[str, Callable[[OfflineCloud], Any]]],
    config: BenchConfig,
    progress: Progress,
) -> ScaleRun:
    """The steps in one fresh offline cloud with the rate limits on."""
    events: list[StackEvent] = []
    emulator = ChimeEmulator(
        create_delay=config.scale_delay, update_delay=config.scale_delay, delete_delay=config.scale_delay
    )
    state = StateStore(config.workdir / "scale" / f"{variant}-{pools}")
    shutil.rmtree(state.root, ignore_errors=True)
    result = ScaleRun(variant, pools)
    with OfflineCloud(
        state,
        emulator=emulator,
        on_event=events.append,
        rate_limiter=RateLimiter(),
        lambda_concurrency=pools,
    ) as cloud:
        for name, step in steps:
            first_event, first_call = len(events), len(emulator.request_log)
            started, started_wall = time.perf_counter(), time.time()
            stack = step(cloud)
            seconds = time.perf_counter() - started
            pool_calls = [e for e in emulator.request_log[first_call:] if e.service == CHIME_SIGNING_NAME]
            first_call_seconds = pool_calls[0].time - started_wall if pool_calls else None
            # A pool fails on its own step; a deletion that fails in a rollback is counted by the status.
            failing = {"CREATE_FAILED", "UPDATE_FAILED"} | ({"DELETE_FAILED"} if name == "destroy" else set())
            failures = [
                event
                for event in events[first_event:]
                if event.resource_type == POOL_TYPE and event.status in failing
            ]
            failed = len({event.logical_id for event in failures})
            reasons = Counter(_reason_kind(event.reason) for event in failures)
            calls, throttled = _pool_calls(emulator.request_log, first_call)
            status = stack.status if stack is not None else "none"
            result.phases.append(
                Phase(
                    name,
                    seconds,
                    status,
                    failed,
                    calls,
                    throttled,
                    tuple(r for r, _ in reasons.most_common()),
                    first_call_seconds,
                )
            )
            progress.case(
                "scale",
                f"{variant} N={pools} {name}",
                f"{fmt_seconds(seconds)}, {status}, {failed} FAILED, {calls} calls ({throttled} throttled)",
            )
            if not status.endswith("_COMPLETE") or status.startswith(("ROLLBACK", "UPDATE_ROLLBACK")):
                break
    return result


def _deploy(assembly: Path, cloud: OfflineCloud) -> StackRecord:
    return cloud.deploy(assembly, STACK_NAME)


def _destroy(cloud: OfflineCloud) -> StackRecord | None:
    return cloud.destroy(STACK_NAME)


def run(config: BenchConfig, progress: Progress) -> list[ScaleRun]:
    results: list[ScaleRun] = []
    for pools in config.scale_pools:
        root = config.workdir / "scale-assemblies" / str(pools)
        created = synth_once("ours", pools, root / "created").assembly
        updated = retention_update(created, root / "updated", UPDATED_RETENTION_HOURS)
        naive = naive_assembly(created, root / "naive")
        ours_steps: list[tuple[str, Callable[[OfflineCloud], Any]]] = [
            ("deploy", functools.partial(_deploy, created)),
            ("update", functools.partial(_deploy, updated)),
            ("destroy", _destroy),
        ]
        # The naive handler is measured on the deploy only: it creates again on an Update (a
        # retention change fails on the taken name), and it answers a Create without waiting for
        # ACTIVE, so a destroy right after it meets pools still CREATING (ConflictException).
        naive_steps: list[tuple[str, Callable[[OfflineCloud], Any]]] = [
            ("deploy", functools.partial(_deploy, naive)),
        ]
        results.append(run_variant("ours", pools, ours_steps, config, progress))
        results.append(run_variant("naive", pools, naive_steps, config, progress))
    return results


def rate_floor_seconds(pools: int, delay: float, quota: Quota | None = None) -> float:
    """The least wall time the rate limits allow for one step: N mutating calls, then the delay.

    The first ``burst`` calls go at once, the rest at ``rate`` per second; the last pool then still
    takes ``delay`` to settle. (It leaves out the Gets, the cold starts and the calls' own time.)
    """
    quota = quota or DEFAULT_QUOTAS["CreateMediaPipelineKinesisVideoStreamPool"]
    return max(0.0, (pools - quota.burst) / quota.rate) + delay


def _phase_cell(run: ScaleRun, name: str) -> str:
    phase = run.phase(name)
    if phase is None:
        return "not reached"
    return f"{fmt_seconds(phase.seconds)} {phase.stack_status}"


def rows(results: list[ScaleRun], delay: float) -> list[Row]:
    ours = {run.pools: run for run in results if run.variant == "ours"}
    naive = {run.pools: run for run in results if run.variant == "naive"}
    out: list[Row] = []
    for pools, run in sorted(ours.items()):
        peer = naive.get(pools)
        peer_text = ""
        if peer is not None:
            deploy = peer.phase("deploy")
            failed = deploy.failed_pools if deploy else 0
            why = f" ({', '.join(deploy.reasons)})" if deploy and deploy.reasons else ""
            peer_text = f"{failed} of {pools} FAILED{why}; deploy {_phase_cell(peer, 'deploy')}"
        out.append(
            Row(
                "scale",
                f"N={pools}: pools FAILED (deploy, update, destroy)",
                f"{run.failed_pools} of {pools}",
                "naive crhelper handler",
                peer_text,
                "",
                "0 FAILED",
                run.succeeded,
            )
        )
        deploy = run.phase("deploy")
        if deploy is not None and deploy.first_call_seconds is not None:
            out.append(
                Row(
                    "scale",
                    f"N={pools}: deploy start to the first pool API call (the cold starts)",
                    fmt_seconds(deploy.first_call_seconds),
                )
            )
        out.append(
            Row(
                "scale",
                f"N={pools}: wall time deploy / update / destroy",
                " / ".join(_phase_cell(run, name) for name in ("deploy", "update", "destroy")),
            )
        )
        calls = sum(phase.calls for phase in run.phases)
        throttled = sum(phase.throttled for phase in run.phases)
        out.append(
            Row(
                "scale",
                f"N={pools}: pool API calls per pool (all three steps)",
                f"{calls / pools:.1f} ({throttled / pools:.1f} throttled, each retried)",
            )
        )
    if ours:
        largest = max(ours)
        floor = rate_floor_seconds(largest, delay)
        out.append(
            Row(
                "scale",
                f"N={largest}: each step against the rate limits' floor",
                " / ".join(
                    fmt_seconds(phase.seconds) if (phase := ours[largest].phase(name)) else "not reached"
                    for name in ("deploy", "update", "destroy")
                ),
                "floor: N calls at 5/s after a burst of 5, then the settle delay",
                fmt_seconds(floor),
            )
        )
    if len(ours) >= 2:
        smallest, largest = min(ours), max(ours)
        for name in ("deploy", "update", "destroy"):
            small, large = ours[smallest].phase(name), ours[largest].phase(name)
            if small is None or large is None:
                continue
            factor = large.seconds / small.seconds if small.seconds else None
            out.append(
                Row(
                    "scale",
                    f"{name} wall time, N={largest} against N={smallest}",
                    fmt_seconds(large.seconds),
                    f"N={smallest}",
                    fmt_seconds(small.seconds),
                    fmt_ratio(factor),
                    f"<= {TARGET_RATIO:g}x",
                    factor is not None and factor <= TARGET_RATIO,
                )
            )
    return out
