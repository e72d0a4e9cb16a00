"""How much ``python -m bench`` measures: the full run for the README, and a tiny one for the smoke test."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PEERS_DIR = BENCH_DIR / "peers"
README = BENCH_DIR / "README.md"
CHART = BENCH_DIR / "wait_latency.png"
SCALE_CHART = BENCH_DIR / "scale.png"

OURS = "ours"
NATIVE_L1 = "native_l1"
AWS_CUSTOM_RESOURCE = "aws_custom_resource"
CDKLABS = "cdklabs"
VARIANT_LABELS = {
    OURS: "ours",
    NATIVE_L1: "native L1",
    AWS_CUSTOM_RESOURCE: "AwsCustomResource",
    CDKLABS: "cdklabs construct",
}


@dataclass(frozen=True)
class BenchConfig:
    """The parameters of one benchmark run."""

    workdir: Path
    synth_pools: tuple[int, ...] = (1, 10, 100)
    synth_variants: tuple[str, ...] = (OURS, NATIVE_L1, AWS_CUSTOM_RESOURCE, CDKLABS)
    # Timed runs of each variant at the largest N; smaller N are synthesized once (their bytes and
    # counts are deterministic) to keep ``make bench`` within minutes.
    synth_repeats: int = 3
    cold_start_repeats: int = 15
    wait_delays: tuple[float, ...] = (0.0, 2.0, 10.0, 30.0)
    # The long delays dominate the run time, so they are repeated less.
    wait_repeats: dict[float, int] = field(default_factory=lambda: {0.0: 3, 2.0: 3, 10.0: 2, 30.0: 1})
    # The scale case: one stack of N pools under the emulator's rate limits; a pool settles (ACTIVE,
    # updated, deleted) this many seconds after the call.
    scale_pools: tuple[int, ...] = (1, 10, 50)
    scale_delay: float = 5.0

    def repeats_for_delay(self, delay: float) -> int:
        return self.wait_repeats.get(delay, 1)

    @classmethod
    def smoke(cls, workdir: Path) -> BenchConfig:
        """The smallest run that still goes through every code path (for tests, not for numbers)."""
        return cls(
            workdir=workdir,
            synth_pools=(1, 2),
            synth_variants=(OURS, NATIVE_L1),
            synth_repeats=1,
            cold_start_repeats=1,
            wait_delays=(0.0,),
            wait_repeats={0.0: 1},
            scale_pools=(1, 2),
            scale_delay=0.2,
        )
