"""``python -m local <command>``: the offline stand-ins' command line.

Each command lives in the module that owns it; this file only routes to them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> module exposing ``add_arguments(parser)`` and ``run(args) -> int``
COMMANDS: dict[str, tuple[str, str]] = {
    "chime": ("local.chime_emulator.cli", "run the Chime SDK Media Pipelines pool API emulator"),
    "deploy": ("local.cli", "deploy the synthesized app against the emulator"),
    "destroy": ("local.cli", "destroy the locally deployed stack"),
    "status": ("local.cli", "show the local stack and the emulator's pools"),
    "demo": ("local.cli", "synth, deploy, update, replace and destroy, showing each step"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text)
        importlib.import_module(module_name).add_arguments(name, sub)
    args = parser.parse_args(argv)
    module_name = COMMANDS[args.command][0]
    return int(importlib.import_module(module_name).run(args))


if __name__ == "__main__":
    sys.exit(main())
