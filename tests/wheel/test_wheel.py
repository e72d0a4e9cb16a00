"""The construct as a user gets it: the built wheel, pip-installed into a fresh virtualenv outside the
repository, used by a CDK app in a directory of its own.

This is what proves the handler asset ships inside the wheel and is found next to the installed
package, whatever the working directory. Building the virtualenv takes about half a minute (pip
installs the pinned aws-cdk-lib, constructs and crhelper, mostly from its cache), so it is built
once for the module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# One pytest-xdist worker runs all of this file (make test's --dist loadgroup), so the wheel and its
# virtualenv are built once, not once per worker.
pytestmark = pytest.mark.xdist_group("wheel")

REPO = Path(__file__).resolve().parents[2]
HANDLER_SOURCE = REPO / "lambda" / "kvs_stream_pool"
PIP_TIMEOUT_SECONDS = 240
SYNTH_TIMEOUT_SECONDS = 120

CONSUMER_APP = """\
import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from chime_kvs_pool import KinesisVideoStreamPool

app = cdk.App()
stack = cdk.Stack(app, "Consumer", env=cdk.Environment(account="111122223333", region="eu-west-1"))
pool = KinesisVideoStreamPool(stack, "Pool", data_retention=cdk.Duration.hours(24))
pool.grant_read(iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal()))
cdk.CfnOutput(stack, "PoolArn", value=pool.pool_arn)
app.synth()
"""


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    python: Path
    workdir: Path


def _clean_env() -> dict[str, str]:
    """The caller's environment minus anything that would let the repo's own packages leak in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    # jsii needs Node.js: the repository's pinned Node.js 22 first, as `make` does.
    env["PATH"] = f"{REPO / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command[:3]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledWheel]:
    root = tmp_path_factory.mktemp("packaging")
    wheels = root / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(REPO)],
        root,
        PIP_TIMEOUT_SECONDS,
    )
    (wheel,) = wheels.glob("chime_kvs_pool-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], root, PIP_TIMEOUT_SECONDS)
    python = venv / "bin" / "python"
    # The wheel's own dependency pins, resolved by pip as a user's install would.
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], root, PIP_TIMEOUT_SECONDS)
    workdir = root / "consumer-app"
    workdir.mkdir()
    yield InstalledWheel(wheel, python, workdir)


def test_the_wheel_ships_one_namespace_with_the_handler_and_its_requirements(
    installed: InstalledWheel,
) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    # Only chime_kvs_pool in site-packages: no generic top-level name that could clash with a user's.
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"chime_kvs_pool"}
    for module in (
        "__init__.py",
        "index.py",
        "lifecycle.py",
        "pool_rules.py",
        "properties.py",
        "requirements.txt",
    ):
        assert f"chime_kvs_pool/runtime/{module}" in names
    for module in ("__init__.py", "pool.py", "handler.py", "bundling.py", "regions.py", "py.typed"):
        assert f"chime_kvs_pool/{module}" in names
    assert not any("__pycache__" in name or name.startswith(("tests/", "local/")) for name in names)


def test_the_fresh_environment_imports_the_installed_copy(installed: InstalledWheel) -> None:
    probe = "import chime_kvs_pool, chime_kvs_pool.runtime as h\nprint(chime_kvs_pool.__file__, h.__file__)"
    result = _run([str(installed.python), "-c", probe], installed.workdir, SYNTH_TIMEOUT_SECONDS)
    for location in result.stdout.split():
        path = Path(location).resolve()
        assert "site-packages" in path.parts
        assert not path.is_relative_to(REPO), path


def test_a_cdk_app_outside_the_repo_synthesizes_with_the_bundled_handler(installed: InstalledWheel) -> None:
    (installed.workdir / "app.py").write_text(CONSUMER_APP)
    outdir = installed.workdir / "cdk.out"
    result = subprocess.run(
        [str(installed.python), "app.py"],
        cwd=installed.workdir,
        env={**_clean_env(), "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    template = json.loads((outdir / "Consumer.template.json").read_text())
    types = [resource["Type"] for resource in template["Resources"].values()]
    assert types.count("Custom::ChimeKinesisVideoStreamPool") == 1
    assert types.count("AWS::Lambda::Function") == 1

    (asset,) = [path for path in outdir.glob("asset.*") if path.is_dir()]
    assert (asset / "chime_kvs_pool" / "runtime" / "index.py").read_bytes() == (
        HANDLER_SOURCE / "index.py"
    ).read_bytes()
    assert (asset / "crhelper" / "__init__.py").is_file()
    assert (asset / "crhelper" / "resource_helper.py").is_file()
    function = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    assert function["Properties"]["Handler"] == "chime_kvs_pool.runtime.index.handler"
    # The Lambda never imports the construct library: no chime_kvs_pool/__init__.py in the asset.
    assert not (asset / "chime_kvs_pool" / "__init__.py").exists()
