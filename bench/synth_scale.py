"""Case 4: the same N pools in one stack, synthesized by ours and by each alternative.

Every synth runs in a fresh process (Python for the CDK Python variants, Node.js 22 for the cdklabs
construct), and is timed from start to exit. The template is then measured for bytes, Lambda
functions and the handler role's IAM policy characters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.config import (
    AWS_CUSTOM_RESOURCE,
    CDKLABS,
    NATIVE_L1,
    OURS,
    PEERS_DIR,
    REPO_ROOT,
    VARIANT_LABELS,
    BenchConfig,
)
from bench.measure import Progress, median, ratio
from bench.results import Row, fmt_bytes, fmt_ratio, fmt_seconds
from bench.templates import (
    IAM_ROLE_INLINE_POLICY_LIMIT,
    TemplateCost,
    measure_template,
    pools_at_policy_limit,
)

STACK_NAME = "BenchStack"
SYNTH_TIMEOUT_SECONDS = 600
NPM_TIMEOUT_SECONDS = 600


class SynthError(RuntimeError):
    """A variant failed to synthesize; the message carries the end of its output."""


@dataclass(frozen=True)
class SynthRun:
    variant: str
    pools: int
    seconds: float
    cost: TemplateCost
    assembly: Path


def tool_environment() -> dict[str, str]:
    """The pinned Node.js 22 (and the cdk CLI) first on PATH, as the Makefile sets it."""
    env = dict(os.environ)
    env["PATH"] = f"{REPO_ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    return env


def ensure_node_peers() -> None:
    """Install the cdklabs construct's app dependencies (pinned in peers/package-lock.json) once."""
    marker = PEERS_DIR / "node_modules" / ".installed"
    lock = PEERS_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PEERS_DIR,
        env=tool_environment(),
        check=True,
        timeout=NPM_TIMEOUT_SECONDS,
    )
    marker.touch()


def synth_command(variant: str, pools: int, outdir: Path) -> list[str]:
    if variant == CDKLABS:
        node = REPO_ROOT / "node_modules" / ".bin" / "node"
        return [str(node), str(PEERS_DIR / "cdklabs_app.js"), str(pools), str(outdir)]
    return [sys.executable, "-m", "bench.peers.python_app", variant, str(pools), str(outdir)]


def synth_once(variant: str, pools: int, outdir: Path) -> SynthRun:
    """One synth in a fresh process, timed from its start to its exit."""
    shutil.rmtree(outdir, ignore_errors=True)
    command = synth_command(variant, pools, outdir)
    started = time.perf_counter()
    # The cdklabs construct finds its handler code relative to the working directory (its app's).
    cwd = PEERS_DIR if variant == CDKLABS else REPO_ROOT
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=tool_environment(),
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    seconds = time.perf_counter() - started
    template = outdir / f"{STACK_NAME}.template.json"
    if completed.returncode != 0 or not template.exists():
        tail = (completed.stdout + completed.stderr)[-2000:]
        raise SynthError(f"{variant} N={pools} failed (exit {completed.returncode}):\n{tail}")
    return SynthRun(variant, pools, seconds, measure_template(template), outdir)


@dataclass
class SynthResults:
    """Every run, by variant and pool count; the first run of each pair is kept on disk."""

    pools: tuple[int, ...]
    runs: dict[tuple[str, int], list[SynthRun]]
    skipped: dict[str, str]

    def variants(self) -> list[str]:
        return list(dict.fromkeys(variant for variant, _ in self.runs))

    def cost(self, variant: str, pools: int) -> TemplateCost:
        return self.runs[(variant, pools)][0].cost

    def median_seconds(self, variant: str, pools: int) -> float:
        return median([run.seconds for run in self.runs[(variant, pools)]])

    def bytes_per_extra_pool(self, variant: str) -> float:
        first, last = self.pools[0], self.pools[-1]
        grown = self.cost(variant, last).template_bytes - self.cost(variant, first).template_bytes
        return grown / (last - first)

    def policy_points(self, variant: str) -> dict[int, int]:
        return {pools: self.cost(variant, pools).policy_chars for pools in self.pools}

    def assembly(self, variant: str, pools: int) -> Path:
        return self.runs[(variant, pools)][0].assembly


def run(config: BenchConfig, progress: Progress) -> SynthResults:
    variants = list(config.synth_variants)
    skipped: dict[str, str] = {}
    if CDKLABS in variants:
        try:
            ensure_node_peers()
        except (OSError, subprocess.SubprocessError) as error:
            skipped[CDKLABS] = f"npm install failed: {error}"
            variants.remove(CDKLABS)
            progress.case("synth", "cdklabs construct", f"SKIPPED ({skipped[CDKLABS]})")
    runs: dict[tuple[str, int], list[SynthRun]] = {}
    largest = max(config.synth_pools)
    for pools in config.synth_pools:
        repeats = config.synth_repeats if pools == largest else 1
        # Round robin: a burst of load on the shared machine hits every variant alike.
        for repetition in range(repeats):
            for variant in variants:
                outdir = config.workdir / "synth" / f"{variant}-{pools}-{repetition}"
                result = synth_once(variant, pools, outdir)
                runs.setdefault((variant, pools), []).append(result)
                progress.case(
                    "synth",
                    f"{VARIANT_LABELS[variant]} N={pools} run {repetition + 1}/{repeats}",
                    f"{fmt_seconds(result.seconds)}, {fmt_bytes(result.cost.template_bytes)}, "
                    f"{result.cost.functions} fn, {result.cost.policy_chars} policy chars",
                )
    return SynthResults(tuple(sorted(config.synth_pools)), runs, skipped)


def _series(results: SynthResults, variant: str, value: str) -> str:
    return " / ".join(str(getattr(results.cost(variant, pools), value)) for pools in results.pools)


def _crossing(results: SynthResults, variant: str) -> str:
    crossing = pools_at_policy_limit(results.policy_points(variant))
    return "never" if crossing is None else f"N={crossing}"


def rows(results: SynthResults) -> list[Row]:
    """The synth-scale rows: each target against the peer it names, the rest as context."""
    pools_label = "/".join(str(pools) for pools in results.pools)
    largest = results.pools[-1]
    peers = [variant for variant in results.variants() if variant != OURS]
    out: list[Row] = []

    our_time = results.median_seconds(OURS, largest)
    for peer in peers:
        theirs = results.median_seconds(peer, largest)
        factor = ratio(our_time, theirs)
        is_target = peer == NATIVE_L1
        out.append(
            Row(
                "synth",
                f"synth time, N={largest} (median of {len(results.runs[(OURS, largest)])})",
                fmt_seconds(our_time),
                VARIANT_LABELS[peer],
                fmt_seconds(theirs),
                fmt_ratio(factor),
                "<= 1.3x" if is_target else "",
                (factor is not None and factor <= 1.3) if is_target else None,
            )
        )

    our_bytes = results.bytes_per_extra_pool(OURS)
    limits = {NATIVE_L1: 1.5, AWS_CUSTOM_RESOURCE: 0.35}
    for peer in peers:
        theirs_bytes = results.bytes_per_extra_pool(peer)
        factor = ratio(our_bytes, theirs_bytes)
        limit = limits.get(peer)
        out.append(
            Row(
                "synth",
                "template bytes per extra pool",
                fmt_bytes(our_bytes),
                VARIANT_LABELS[peer],
                fmt_bytes(theirs_bytes),
                fmt_ratio(factor),
                f"<= {limit}x" if limit else "",
                (factor is not None and factor <= limit) if limit else None,
            )
        )
    for peer in peers:
        ours_total = results.cost(OURS, largest).template_bytes
        theirs_total = results.cost(peer, largest).template_bytes
        out.append(
            Row(
                "synth",
                f"template bytes, N={largest}",
                fmt_bytes(ours_total),
                VARIANT_LABELS[peer],
                fmt_bytes(theirs_total),
                fmt_ratio(ratio(ours_total, theirs_total)),
            )
        )

    def peer_summary(value: str) -> str:
        return "; ".join(f"{VARIANT_LABELS[peer]} {_series(results, peer, value)}" for peer in peers)

    our_functions = [results.cost(OURS, pools).functions for pools in results.pools]
    out.append(
        Row(
            "synth",
            f"Lambda functions, N={pools_label}",
            _series(results, OURS, "functions"),
            "all",
            peer_summary("functions"),
            target="exactly 1",
            met=all(count == 1 for count in our_functions),
        )
    )
    our_chars = [results.cost(OURS, pools).policy_chars for pools in results.pools]
    out.append(
        Row(
            "synth",
            f"handler role inline-policy chars, N={pools_label}",
            _series(results, OURS, "policy_chars"),
            "all",
            peer_summary("policy_chars"),
            target="constant in N",
            met=len(set(our_chars)) == 1,
        )
    )
    out.append(
        Row(
            "synth",
            f"first N past IAM's {IAM_ROLE_INLINE_POLICY_LIMIT:,} chars",
            _crossing(results, OURS),
            "all",
            "; ".join(f"{VARIANT_LABELS[peer]} {_crossing(results, peer)}" for peer in peers),
            target="never",
            met=pools_at_policy_limit(results.policy_points(OURS)) is None,
        )
    )
    return out
