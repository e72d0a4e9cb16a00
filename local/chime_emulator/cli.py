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
# The same port also serves the pools' Kinesis video streams and their service-linked role (IAM):
# the server tells the services apart by the request's SigV4 credential scope.
ENDPOINT_VARIABLES = (ENDPOINT_VARIABLE, "AWS_ENDPOINT_URL_KINESIS_VIDEO", "AWS_ENDPOINT_URL_IAM")


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    """Options of the ``chime`` command (``name`` is the command, unused: one command here)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: 0, an ephemeral port)")
    parser.add_argument("--account-id", help=f"account id in pool ARNs (default: {DEFAULT_ACCOUNT_ID})")
    parser.add_argument("--create-delay", type=float, help="seconds a pool stays CREATING (default: 0)")
    parser.add_argument("--update-delay", type=float, help="seconds a pool stays UPDATING (default: 0)")
    parser.add_argument("--delete-delay", type=float, help="seconds a pool stays DELETING (default: 0)")
    parser.add_argument(
        "--pool-quota", type=int, help=f"pools allowed per region (default: {DEFAULT_POOL_QUOTA})"
    )
    parser.add_argument(
        "--switch",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a behaviour the service docs leave open, e.g. delete_deleting_pool=conflict "
        "(repeatable; see docs/emulator.md, Switches)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help="JSON file to load pools from at start and save them to after each change and at exit",
    )


def build_backend(args: argparse.Namespace) -> ChimeEmulator:
    """The saved state if ``--state`` names an existing file, else a fresh account; options given
    on the command line override the saved settings (the account id stays: it is in the ARNs)."""
    if args.state is not None and args.state.exists():
        backend = ChimeEmulator.load(args.state)
    else:
        backend = ChimeEmulator(account_id=args.account_id or DEFAULT_ACCOUNT_ID)
    for option, attribute in (
        ("create_delay", "create_delay"),
        ("update_delay", "update_delay"),
        ("delete_delay", "delete_delay"),
        ("pool_quota", "pool_quota_per_region"),
    ):
        value = getattr(args, option)
        if value is not None:
            setattr(backend, attribute, value)
    for setting in args.switch:
        name, equals, value = setting.partition("=")
        if not equals:
            raise SystemExit(f"--switch expects NAME=VALUE; got {setting!r}")
        try:
            backend.switches.set(name, value)
        except ValueError as error:
            raise SystemExit(f"--switch {setting}: {error}") from None
    return backend


def run(args: argparse.Namespace) -> int:
    state_path: Path | None = args.state
    backend = build_backend(args)

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
        for variable in ENDPOINT_VARIABLES:
            print(f"export {variable}={server.endpoint_url}", flush=True)
        while not stop.wait(0.5):
            pass
    save()
    print("Chime SDK Media Pipelines emulator stopped", file=sys.stderr, flush=True)
    return 0
