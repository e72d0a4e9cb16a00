"""``python -m local deploy|destroy|status|demo``: the offline ``cdk deploy`` and its demo.

``deploy`` synthesizes the app with the pinned ``cdk`` CLI (unless ``--no-synth``), then deploys
the stack from ``cdk.out`` against the local emulator, printing one line per resource event the
way ``cdk deploy`` does, then the stack's outputs. State lives in ``--state-dir``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from local.chime_emulator import ChimeEmulator
from local.chime_emulator.model import RequestRecord
from local.cloudformation import StackEvent, StackRecord
from local.offline import OfflineCloud
from local.state import DEFAULT_STATE_DIR, StateStore

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_STACK = "ChimeKvsPoolDemo"
# The emulator's pools take this long to become ACTIVE, to be deleted, ...: visible, not slow.
DEMO_DELAY_SECONDS = 0.5
_SUCCESS_STATUSES = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE"}
# Each emulated service's error for a caller its policies do not allow.
_ACCESS_DENIED_CODES = {"ForbiddenException", "AccessDeniedException", "AccessDenied"}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    """Arguments of one command (``local/__main__.py`` calls this once per command name)."""
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="where state is kept")
    parser.add_argument("--region", default="us-east-1", help="the region of environment-agnostic stacks")
    if name in ("deploy", "destroy", "status"):
        parser.add_argument("--stack", default=DEFAULT_STACK, help="the stack's name")
    if name in ("deploy", "demo"):
        parser.add_argument("--output", "-o", type=Path, default=Path("cdk.out"), help="the cloud assembly")
    if name == "deploy":
        parser.add_argument(
            "--context", "-c", action="append", default=[], metavar="KEY=VALUE", help="cdk context"
        )
        parser.add_argument("--no-synth", action="store_true", help="deploy the existing cloud assembly")


def run(args: argparse.Namespace) -> int:
    state = StateStore(args.state_dir)
    if args.command == "deploy":
        return _deploy(args, state)
    if args.command == "destroy":
        return _destroy(args, state)
    if args.command == "status":
        return _status(args, state)
    if args.command == "demo":
        return demo(args.output, args.state_dir, args.region)
    raise ValueError(f"unknown command {args.command!r}")


# -- commands ----------------------------------------------------------------------------------


def _deploy(args: argparse.Namespace, state: StateStore) -> int:
    if not args.no_synth:
        synth(args.output, _parse_context(args.context))
    printer = EventPrinter()
    with OfflineCloud(state, region=args.region, on_event=printer) as cloud:
        stack = cloud.deploy(args.output, args.stack)
        print_outputs(stack)
        print_pools(cloud.emulator)
    return 0 if stack.status in _SUCCESS_STATUSES else 1


def _destroy(args: argparse.Namespace, state: StateStore) -> int:
    printer = EventPrinter()
    with OfflineCloud(state, region=args.region, on_event=printer) as cloud:
        stack = cloud.destroy(args.stack)
        if stack is None:
            print(f"Stack {args.stack} does not exist (nothing to destroy)")
            return 0
        print(f"\n {'✅' if stack.status == 'DELETE_COMPLETE' else '❌'}  {args.stack}: {stack.status}")
        print_pools(cloud.emulator)
    return 0 if stack.status == "DELETE_COMPLETE" else 1


def _status(args: argparse.Namespace, state: StateStore) -> int:
    stack = state.load_stack(args.stack)
    if stack is None:
        print(f"Stack {args.stack}: not deployed")
    else:
        print(f"Stack {stack.stack_name}: {stack.status}")
        for record in stack.resources.values():
            print(f"  {record.logical_id:<40} {record.resource_type:<40} {record.physical_id}")
        print_outputs(stack)
    print_pools(state.load_emulator())
    return 0


def demo(output: Path, state_dir: Path, region: str = "us-east-1", out: TextIO = sys.stdout) -> int:
    """Synth, deploy, update retention, replace (new name), destroy; exit code 1 on any failure or leak."""
    demo_state = StateStore(Path(state_dir) / "demo")
    if demo_state.root.exists():
        shutil.rmtree(demo_state.root)  # the demo starts from an empty account every time
    emulator = ChimeEmulator(
        create_delay=DEMO_DELAY_SECONDS, update_delay=DEMO_DELAY_SECONDS, delete_delay=DEMO_DELAY_SECONDS
    )
    suffix = time.strftime("%H%M%S")
    steps: list[tuple[str, dict[str, str] | None]] = [
        ("deploy a pool", {"pool_name": f"demo-pool-{suffix}", "retention_hours": "24"}),
        ("update its retention in place", {"pool_name": f"demo-pool-{suffix}", "retention_hours": "48"}),
        ("rename it: a replacement", {"pool_name": f"demo-pool-{suffix}-b", "retention_hours": "48"}),
        ("destroy the stack", None),
    ]
    failures: list[str] = []
    printer = EventPrinter(out)
    with OfflineCloud(demo_state, region=region, emulator=emulator, on_event=printer) as cloud:
        print(
            "IAM enforced: every call the handler makes is authorized against its execution role's "
            "policies as the stack holds them at that moment (docs/offline.md)",
            file=out,
            flush=True,
        )
        for number, (title, context) in enumerate(steps, start=1):
            print(f"\n=== Step {number}/{len(steps)}: {title} ===", file=out, flush=True)
            calls_before = len(cloud.emulator.request_log)
            if context is None:
                stack = cloud.destroy(DEFAULT_STACK)
                status = stack.status if stack else "MISSING"
            else:
                print(
                    f"$ cdk synth {' '.join(f'-c {k}={v}' for k, v in context.items())}", file=out, flush=True
                )
                synth(output, {"stream_region": region, **context})
                stack = cloud.deploy(output, DEFAULT_STACK)
                status = stack.status
                print_outputs(stack, out)
            if status not in _SUCCESS_STATUSES:
                failures.append(f"step {number} ({title}) ended {status}")
            print_api_calls(cloud.emulator.request_log[calls_before:], out)
            print_pools(cloud.emulator, out)
            if failures:
                break
        leftovers = cloud.emulator.leftover_pools()
    if leftovers:
        failures.append(f"{len(leftovers)} pool(s) left over: {[p['PoolName'] for p in leftovers]}")
    if failures:
        print("\n❌ Demo failed: " + "; ".join(failures), file=out, flush=True)
        return 1
    print("\n✅ Demo complete: deployed, updated, replaced and destroyed; no pool left over.", file=out)
    return 0


# -- helpers -----------------------------------------------------------------------------------


def synth(output: Path, context: dict[str, str]) -> None:
    """Run the pinned ``cdk synth`` for the project's app, writing the cloud assembly to ``output``."""
    cdk = PROJECT_DIR / "node_modules" / ".bin" / "cdk"
    command = [
        str(cdk) if cdk.exists() else "cdk",
        "synth",
        "--quiet",
        "--output",
        str(Path(output).resolve()),
    ]
    for key, value in context.items():
        command += ["--context", f"{key}={value}"]
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(PROJECT_DIR / "node_modules" / ".bin"), env.get("PATH", "")])
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SynthError(f"cdk synth failed ({completed.returncode}):\n{completed.stderr.strip()}")


class SynthError(RuntimeError):
    """``cdk synth`` exited non-zero; the message carries its error output."""


def _parse_context(pairs: Sequence[str]) -> dict[str, str]:
    context: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"context must be KEY=VALUE; got {pair!r}")
        context[key] = value
    return context


class EventPrinter:
    """Prints stack events the way ``cdk deploy`` does: time, status, type, logical id, elapsed."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def __call__(self, event: StackEvent) -> None:
        elapsed = f" ({event.elapsed_seconds:.1f}s)" if event.elapsed_seconds is not None else ""
        line = (
            f"{event.stack_name} | {event.timestamp.astimezone():%H:%M:%S} | {event.status:<35} | "
            f"{event.resource_type:<40} | {event.logical_id}{elapsed}"
        )
        if event.reason:
            line += f"\n    {event.reason}"
        print(line, file=self.out, flush=True)


def print_outputs(stack: StackRecord, out: TextIO = sys.stdout) -> None:
    mark = "✅" if stack.status in _SUCCESS_STATUSES else "❌"
    print(f"\n {mark}  {stack.stack_name}: {stack.status}", file=out)
    if stack.outputs:
        print("\nOutputs:", file=out)
        for name, value in sorted(stack.outputs.items()):
            print(f"{stack.stack_name}.{name} = {value}", file=out)
    print(f"\nStack ARN:\n{stack.stack_id}", file=out, flush=True)


def print_api_calls(requests: Sequence[RequestRecord], out: TextIO = sys.stdout) -> None:
    """What the handler asked of the services in one step, from the emulator's request log."""
    counts = Counter(request.operation for request in requests)
    summary = ", ".join(f"{operation} x{count}" for operation, count in counts.items()) or "none"
    print(f"\nAPI calls by the handler: {summary}", file=out)
    denied = Counter(request.operation for request in requests if request.error in _ACCESS_DENIED_CODES)
    if denied:
        listed = ", ".join(f"{operation} x{count}" for operation, count in denied.items())
        print(f"Denied (not allowed by the caller's IAM policies): {listed}", file=out)


def print_pools(emulator: ChimeEmulator, out: TextIO = sys.stdout) -> None:
    pools: list[dict[str, Any]] = emulator.leftover_pools()
    print(f"\nThe emulator holds {len(pools)} pool(s):", file=out)
    for pool in pools:
        retention = pool.get("StreamConfiguration", {}).get("DataRetentionInHours")
        print(
            f"  {pool['PoolName']:<32} {pool['PoolStatus']:<9} region={pool['Region']} "
            f"stream_region={pool.get('StreamConfiguration', {}).get('Region')} retention={retention}h "
            f"tags={pool.get('Tags')}",
            file=out,
        )
    roles = emulator.role_names()
    print(f"Service-linked roles: {', '.join(roles) if roles else 'none'}", file=out)
    out.flush()
