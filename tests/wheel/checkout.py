"""A fresh checkout of this repository for the packaging tests: its tracked files, copied.

The working tree's copies (so uncommitted changes are tested too), links kept as links, no build/,
egg-info, caches or other untracked files: what a ``git clone`` of the same tree would hold.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    ).stdout
    return [name for name in listed.decode().split("\0") if name]


def checkout(target: Path, mtime: int | None = None) -> Path:
    """Copy the tracked files into ``target``; every file's mtime set to ``mtime`` when given."""
    for name in tracked_files():
        source = REPO / name
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            destination.symlink_to(os.readlink(source))
        elif source.is_file():  # a tracked file deleted in the working tree is not part of it
            shutil.copyfile(source, destination)
            if mtime is not None:
                os.utime(destination, (mtime, mtime))
    return target
