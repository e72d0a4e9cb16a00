"""``python -m local chime``: run the emulator as a standalone server until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from local.chime_emulator.model import DEFAULT_ACCOUNT_ID, DEFAULT_POOL_QUOTA, ChimeEmulator
from local.chime_emulator.server import EmulatorServer

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES"


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    """Options of the ``chime`` command (``name`` is the command, unused: one command here)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: 0, an ephemeral port)")
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID, help="account id in pool ARNs")
    parser.add_argument("--create-delay", type=float, default=0.0, help="seconds a pool stays CREATING")
    parser.add_argument("--update-delay", type=float, default=0.0, help="seconds a pool stays UPDATING")
    parser.add_argument("--delete-delay", type=float, default=0.0, help="seconds a pool stays DELETING")
    parser.add_argument("--pool-quota", type=int, default=DEFAULT_POOL_QUOTA, help="pools allowed per region")
    parser.add_argument(
        "--state",
        type=Path,
        help="JSON file to load pools from at start and save them to after each change and at exit",
    )


def run(args: argparse.Namespace) -> int:
    state_path: Path | None = args.state
    if state_path is not None and state_path.exists():
        backend = ChimeEmulator.load(state_path)
    else:
        backend = ChimeEmulator(
            account_id=args.account_id,
            create_delay=args.create_delay,
            update_delay=args.update_delay,
            delete_delay=args.delete_delay,
            pool_quota_per_region=args.pool_quota,
        )

    def save() -> None:
        if state_path is not None:
            backend.save(state_path)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with EmulatorServer(backend, host=args.host, port=args.port, on_change=save) as server:
        print(f"Chime SDK Media Pipelines emulator listening on {server.endpoint_url}", flush=True)
        print(f"export {ENDPOINT_VARIABLE}={server.endpoint_url}", flush=True)
        while not stop.wait(0.5):
            pass
    save()
    print("Chime SDK Media Pipelines emulator stopped", file=sys.stderr, flush=True)
    return 0
