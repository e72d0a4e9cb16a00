"""The handler asset's hash depends on its content only: not on the folder, the files' mtimes, or the
byte code that importing the rules writes next to them.

Each "checkout" is a copy of the repository's tracked files (the working tree's, so uncommitted
changes are tested too) into a folder of its own with fresh mtimes, as ``git clone`` makes them. Each
synthesizes the demo app with its own copy of the construct, with byte code allowed (no
``PYTHONDONTWRITEBYTECODE``), as on most CI machines: the import of the rules writes ``__pycache__``
into the checkout's handler source, and a ``.pyc`` embeds its source's mtime, so a hash over the
source folder would differ between checkouts and every CI run would re-upload and redeploy the
function. The checkouts get clearly different mtimes, so the test does not depend on the clock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.wheel.checkout import checkout

REPO = Path(__file__).resolve().parents[2]
STACK = "ChimeKvsPoolDemo"
SYNTH_TIMEOUT_SECONDS = 240
# Two moments far apart (2001 and 2011, in seconds since the epoch): a .pyc records its source's
# mtime in whole seconds, so checkouts made in the same second would hide the problem.
MTIME_A = 1_000_000_000
MTIME_B = 1_300_000_000
MTIME_TOUCHED = 1_600_000_000


@dataclass(frozen=True)
class Synth:
    asset_hash: str
    template: bytes
    asset_files: frozenset[str]


def _touch(checkout: Path, mtime: int) -> None:
    for path in checkout.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.utime(path, (mtime, mtime))


def _env(checkout: Path, outdir: Path) -> dict[str, str]:
    """The checkout's own construct first on the path, byte code allowed, output in ``outdir``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["PYTHONPATH"] = f"{checkout / 'constructs'}{os.pathsep}{checkout}"
    env["CDK_OUTDIR"] = str(outdir)
    env["PATH"] = f"{REPO / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    return env


def _synth(checkout: Path, outdir: Path) -> Synth:
    env = _env(checkout, outdir)
    probe = subprocess.run(
        [sys.executable, "-c", "import chime_kvs_pool.runtime as r; print(r.__file__)"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    # The construct and the asset's source are the checkout's, not the repository's editable install.
    assert Path(probe.stdout.strip()).is_relative_to(checkout), probe.stdout
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Byte code was written next to the rules: the situation the hash has to withstand.
    assert list((checkout / "lambda" / "kvs_stream_pool" / "__pycache__").glob("*.pyc"))
    (asset,) = [path for path in outdir.glob("asset.*") if path.is_dir()]
    files = frozenset(str(path.relative_to(asset)) for path in asset.rglob("*") if path.is_file())
    template = (outdir / f"{STACK}.template.json").read_bytes()
    return Synth(asset.name.removeprefix("asset."), template, files)


@pytest.fixture(scope="module")
def checkouts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("checkouts")
    return checkout(root / "first" / "repo", MTIME_A), checkout(root / "elsewhere" / "clone", MTIME_B)


def test_two_checkouts_in_different_folders_give_the_same_asset_hash_and_template(
    checkouts: tuple[Path, Path], tmp_path: Path
) -> None:
    first, second = checkouts
    one = _synth(first, tmp_path / "out-first")
    two = _synth(second, tmp_path / "out-second")

    assert one.asset_hash == two.asset_hash
    assert one.template == two.template
    # The template deploys exactly that asset: the function's S3 key is the content hash.
    function = next(
        resource
        for resource in json.loads(one.template)["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    )
    assert function["Properties"]["Code"]["S3Key"] == f"{one.asset_hash}.zip"
    # What made the old hash unstable never ships.
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in one.asset_files)
    assert not any(name.endswith(("/RECORD", "/INSTALLER", "/REQUESTED")) for name in one.asset_files)
    assert "chime_kvs_pool/runtime/pool_rules.py" in one.asset_files

    # Touching every file (a new checkout of the same commit, a cache restore) changes nothing either.
    _touch(second, MTIME_TOUCHED)
    touched = _synth(second, tmp_path / "out-touched")
    assert touched.asset_hash == one.asset_hash
    assert touched.template == one.template


def test_a_changed_handler_file_changes_the_hash(checkouts: tuple[Path, Path], tmp_path: Path) -> None:
    """The hash still follows the content: a one-byte change in the handler is a new asset."""
    first, _ = checkouts
    before = _synth(first, tmp_path / "before")
    handler_file = first / "lambda" / "kvs_stream_pool" / "index.py"
    original = handler_file.read_bytes()
    try:
        handler_file.write_bytes(original + b"\n")
        after = _synth(first, tmp_path / "after")
    finally:
        handler_file.write_bytes(original)
    assert after.asset_hash != before.asset_hash
    assert after.template != before.template
