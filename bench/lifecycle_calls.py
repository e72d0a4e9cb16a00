"""Cases 3 and 5: API calls per lifecycle step, and the handler's footprint (asset size, peak memory).

One warm function process goes through create, retention update, tag-only update, no-op update and
delete; the emulator's request log says which calls each step made. The same process's peak
resident memory (Linux ``VmHWM``) is read before it is stopped; the asset is zipped as the CDK CLI
would upload it.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.config import BenchConfig
from bench.harness import HandlerBench, pool_properties
from bench.measure import Progress
from bench.results import Row
from local.chime_emulator import MUTATING_POOL_OPERATIONS
from local.lambda_runtime import FunctionConfig

ASSET_LIMIT_BYTES = 100 * 1024
# Peak memory must leave this share of the configured memory free.
MEMORY_HEADROOM = 0.5


@dataclass(frozen=True)
class Step:
    """One lifecycle step and the fewest calls the contract allows for it (the Gets return Data)."""

    name: str
    minimum_mutating: int
    minimum_total: int


STEPS = (
    Step("create", 1, 2),  # Create, then one Get that sees ACTIVE
    Step("retention update", 1, 2),  # Update, then one Get that sees ACTIVE
    Step("tag-only update", 1, 2),  # TagResource for the changed value, one Get for Data
    Step("no-op update", 0, 1),  # one Get for Data
    # ListTagsForResource (whose pool is it: docs/handler.md "Ownership"), Delete, one Get that finds it gone
    Step("delete", 1, 3),
)


def short_name(operation: str) -> str:
    return operation.replace("MediaPipelineKinesisVideoStreamPool", "").replace("Resource", "")


def run_lifecycle(bench: HandlerBench) -> dict[str, Counter[str]]:
    """Each step's calls, by operation."""
    before = pool_properties("calls-pool", retention_hours=24, tags={"team": "media", "stage": "dev"})
    retention = pool_properties("calls-pool", retention_hours=48, tags={"team": "media", "stage": "dev"})
    tagged = pool_properties("calls-pool", retention_hours=48, tags={"team": "media", "stage": "prod"})
    calls: dict[str, Counter[str]] = {}

    def step(name: str, request_type: str, properties: dict[str, object], **kwargs: object) -> str:
        bench.emulator.clear_request_log()
        answer = bench.request(request_type, properties, **kwargs)  # type: ignore[arg-type]
        if not answer.succeeded:
            raise RuntimeError(f"{name} failed: {answer.body.get('Reason')}")
        calls[name] = Counter(entry.operation for entry in bench.emulator.request_log)
        return str(answer.body["PhysicalResourceId"])

    arn = step("create", "Create", before)
    step("retention update", "Update", retention, physical_id=arn, old_properties=before)
    step("tag-only update", "Update", tagged, physical_id=arn, old_properties=retention)
    step("no-op update", "Update", tagged, physical_id=arn, old_properties=tagged)
    step("delete", "Delete", tagged, physical_id=arn)
    return calls


def function_process_peak_kib(handler: str) -> int:
    """Peak RSS of this process's child running ``awslambdaric <handler>``, from /proc."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if int(fields.get("PPid", "0")) == os.getpid() and handler.encode() in cmdline:
            peaks.append(int(fields["VmHWM"].split()[0]))
    if not peaks:
        raise RuntimeError(f"no running function process for {handler}")
    return max(peaks)


def zipped_size(folder: Path) -> int:
    """The asset's size as a deflated zip, the way it is uploaded for Lambda.

    Bytecode caches are left out: the synthesized asset has none; they appear in the folder only once
    the local runtime has imported the handler from it, and Lambda never receives them.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return len(buffer.getvalue())


def run(config: BenchConfig, ours: FunctionConfig, progress: Progress) -> list[Row]:
    with HandlerBench(ours) as bench:
        calls = run_lifecycle(bench)
        peak_kib = function_process_peak_kib(ours.handler)
    out: list[Row] = []
    for step in STEPS:
        counted = calls[step.name]
        mutating = sum(count for operation, count in counted.items() if operation in MUTATING_POOL_OPERATIONS)
        total = sum(counted.values())
        listing = ", ".join(f"{short_name(op)} x{count}" for op, count in sorted(counted.items()))
        progress.case("api calls", step.name, listing or "no calls")
        out.append(
            Row(
                "api calls",
                step.name,
                f"{listing or 'none'} ({mutating} mutating)",
                "contract minimum",
                f"{step.minimum_mutating} mutating, {step.minimum_total} in all",
                target="the minimum",
                met=mutating == step.minimum_mutating and total == step.minimum_total,
            )
        )
    asset_bytes = zipped_size(ours.code_dir)
    progress.case("footprint", "asset (zipped)", f"{asset_bytes / 1024:.1f} KiB")
    progress.case("footprint", "peak memory, one lifecycle", f"{peak_kib / 1024:.1f} MiB")
    out.append(
        Row(
            "footprint",
            "handler asset, zipped",
            f"{asset_bytes / 1024:.1f} KiB",
            target=f"< {ASSET_LIMIT_BYTES // 1024} KiB",
            met=asset_bytes < ASSET_LIMIT_BYTES,
        )
    )
    out.append(
        Row(
            "footprint",
            "peak memory, one lifecycle (VmHWM)",
            f"{peak_kib / 1024:.1f} MiB",
            "configured memory",
            f"{ours.memory_mb} MB",
            f"{peak_kib / 1024 / ours.memory_mb:.2f}x",
            f"<= {MEMORY_HEADROOM:g}x",
            peak_kib / 1024 <= ours.memory_mb * MEMORY_HEADROOM,
        )
    )
    return out
