"""Work done once per test run, by whichever pytest-xdist worker asks for it first.

``make test`` runs the suite in several xdist workers, each its own process with its own session
fixtures. A costly, read-only product such as a synthesized cloud assembly would then be built
once per worker; :func:`build_once` builds it once in the run's shared temporary folder while the
other workers wait for it (an exclusive ``flock``), then every worker reads the same copy.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def run_temp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's base temporary folder: an xdist worker's own one is a ``gwN`` folder inside it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """``build(folder)`` once per run; returns the folder. Callers must treat it as read-only."""
    root = run_temp_root(tmp_path_factory)
    target = root / name
    done = root / f"{name}.done"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even if build raises
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)  # a half-built folder of a failed attempt
            build(target)
            done.touch()
    return target
