"""``python -m local.chime_emulator``: the same server as ``python -m local chime``, on its own."""

from __future__ import annotations

import argparse
import sys

from local.chime_emulator import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.chime_emulator", description=cli.__doc__)
    cli.add_arguments("chime", parser)
    return cli.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
