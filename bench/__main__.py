"""``python -m bench``: every case side by side, one table, and ``bench/README.md`` with its chart."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import chart, cold_start, lifecycle_calls, report, scale, synth_scale, wait_latency
from bench.config import CHART, OURS, README, SCALE_CHART, BenchConfig
from bench.harness import handler_function
from bench.measure import Progress
from bench.results import Row, text_table


def run_all(
    config: BenchConfig, progress: Progress, chart_path: Path | None
) -> tuple[list[Row], dict[str, str]]:
    """Every case; ours is synthesized first, and its asset is the code the handler cases run."""
    synth = synth_scale.run(config, progress)
    ours = handler_function(synth.assembly(OURS, min(config.synth_pools)))
    rows = cold_start.run(config, ours, progress)
    waits = wait_latency.run(config, ours, progress)
    rows += wait_latency.rows(waits)
    rows += lifecycle_calls.run(config, ours, progress)
    rows += synth_scale.rows(synth)
    scale_runs = scale.run(config, progress)
    rows += scale.rows(scale_runs, config.scale_delay)
    if chart_path is not None:
        chart.draw(waits, chart_path)
        chart.draw_scale(scale_runs, chart_path.with_name(SCALE_CHART.name))
    return rows, synth.skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny parameters: checks the code paths, not numbers"
    )
    parser.add_argument(
        "--readme", type=Path, default=README, help="where to write the results (default: %(default)s)"
    )
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chime-kvs-bench-") as scratch:
        workdir = Path(scratch)
        config = BenchConfig.smoke(workdir) if args.smoke else BenchConfig(workdir=workdir)
        chart_path = None if args.no_readme else args.readme.parent / CHART.name
        rows, skipped = run_all(config, Progress(), chart_path)
    print()
    print(text_table(rows))
    missed = [row for row in rows if row.met is False]
    print(f"\n{sum(row.met is True for row in rows)} targets met, {len(missed)} missed.")
    if not args.no_readme:
        args.readme.write_text(report.render(rows, chart_path, skipped, time.monotonic() - started))
        print(f"Wrote {args.readme} and {chart_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
