"""The construct as a user gets it: the built wheel, pip-installed into fresh virtualenvs outside the
repository, used by a CDK app in a directory of its own.

Two environments: one with the oldest aws-cdk-lib that pyproject.toml accepts (its lower bound), one
with the version requirements.txt pins. This proves the declared range (pip resolves the wheel's
dependency ranges around the chosen aws-cdk-lib, as in a user's app), that the handler asset ships
inside the wheel and is found next to the installed package whatever the working directory. Each
environment takes half a minute to a minute to build (pip installs aws-cdk-lib, mostly from its
cache), so each is built once for the session and the wheel once for both.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.shared_work import build_once
from tests.wheel.checkout import checkout

REPO = Path(__file__).resolve().parents[2]
HANDLER_SOURCE = REPO / "lambda" / "kvs_stream_pool"
PIP_TIMEOUT_SECONDS = 420
SYNTH_TIMEOUT_SECONDS = 180
CDK_LIB = "aws-cdk-lib"

CONSUMER_APP = """\
import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from chime_kvs_pool import KinesisVideoStreamPool, PoolEventType

app = cdk.App()
stack = cdk.Stack(app, "Consumer", env=cdk.Environment(account="111122223333", region="eu-west-1"))
pool = KinesisVideoStreamPool(stack, "Pool", data_retention=cdk.Duration.hours(24))
second = KinesisVideoStreamPool(stack, "Second", pool_name="second-pool", stream_region="us-east-1")
pool.grant_read(iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal()))
cdk.CfnOutput(stack, "PoolArn", value=pool.pool_arn)
# The rest of the construct's surface, so the oldest supported aws-cdk-lib meets all of it.
cdk.Tags.of(pool).add("team", "media")
KinesisVideoStreamPool(
    stack,
    "Options",
    pool_name="options-pool",
    stream_region="af-south-1",
    meeting_media_regions=["af-south-1", "eu-west-2"],
    api_region="eu-central-1",
    delete_streams_on_delete=True,
    ensure_service_linked_role=False,
)
pool.on_state_change("Gone", event_types=[PoolEventType.DELETED])
pool.on_failure("Failures")
pool.on_event("Any", description="every event")
shared = KinesisVideoStreamPool.from_pool_attributes(
    stack,
    "Shared",
    pool_arn="arn:aws:chime:eu-west-1:111122223333:media-pipeline-kinesis-video-stream-pool/shared",
    pool_id="ChimeMediaPipelines-shared-6f1c2a3e-9b0d-4c5e-8f7a-1b2c3d4e5f60",
)
shared.grant_stream_consumer(iam.Role(stack, "Consumer", assumed_by=iam.AccountRootPrincipal()))
cdk.CfnOutput(stack, "SecondPoolArn", value=second.pool_arn)
try:
    from aws_cdk.aws_chime import CfnMediaPipelineKinesisVideoStreamPool as native
except ImportError:
    native = None
if native is not None:  # aws-cdk-lib 2.269.0 and later: the pool is the native resource's reference
    arn = native.arn_for_media_pipeline_kinesis_video_stream_pool(pool)
    cdk.CfnOutput(stack, "ArnThroughNativeReference", value=arn)
app.synth()
"""


def declared_lower_bound(distribution: str) -> str:
    """The ``>=`` bound of ``distribution`` in pyproject.toml's dependencies (the oldest supported)."""
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in dependencies:
        match = re.fullmatch(rf"{re.escape(distribution)}\s*>=\s*([0-9.]+)\s*,\s*<\s*[0-9.]+", requirement)
        if match:
            return match.group(1)
    raise AssertionError(f"pyproject.toml declares no >=,< range for {distribution}: {dependencies}")


def pinned_version(distribution: str) -> str:
    """The exact pin of ``distribution`` in requirements.txt (this repository's own app and CI)."""
    for line in (REPO / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip() == distribution:
            return version.strip()
    raise AssertionError(f"requirements.txt pins no {distribution}")


# The two environments the wheel is tested in, named for the report.
CDK_LIB_VERSIONS = {"oldest": declared_lower_bound(CDK_LIB), "pinned": pinned_version(CDK_LIB)}


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    python: Path
    workdir: Path
    cdk_lib_version: str


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


def _build_wheel(wheels: Path) -> None:
    """Build from a fresh checkout: setuptools writes build/ and egg-info next to the sources, which
    the repository's own (and a stale or concurrent build's) must not leak into."""
    source = checkout(wheels.with_name(f"{wheels.name}-source"))
    wheels.mkdir(parents=True)
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
        wheels,
        PIP_TIMEOUT_SECONDS,
    )


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per run: pytest-xdist workers share it (whichever asks first builds it)."""
    wheels = build_once(tmp_path_factory, "wheels", _build_wheel)
    (wheel,) = wheels.glob("chime_kvs_pool-*.whl")
    return wheel


@pytest.fixture(
    scope="session",
    params=sorted(CDK_LIB_VERSIONS),
)
def installed(
    request: pytest.FixtureRequest, built_wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InstalledWheel]:
    """One virtualenv per aws-cdk-lib version. make test hands this module out by parameter
    (tests/conftest.py), so the two are built by two pytest-xdist workers at the same time."""
    version = CDK_LIB_VERSIONS[request.param]
    root = tmp_path_factory.mktemp(f"consumer-{request.param}")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], root, PIP_TIMEOUT_SECONDS)
    python = venv / "bin" / "python"
    # The wheel's own dependency ranges, resolved by pip around the user's aws-cdk-lib. No byte code
    # compiled at install (aws-cdk-lib's is large): the app compiles what it imports.
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            str(built_wheel),
            f"{CDK_LIB}=={version}",
        ],
        root,
        PIP_TIMEOUT_SECONDS,
    )
    workdir = root / "consumer-app"
    workdir.mkdir()
    yield InstalledWheel(built_wheel, python, workdir, version)


def test_the_declared_range_is_tested_at_both_ends() -> None:
    """The oldest supported release is older than the pin (else the range would be a pin in disguise)."""
    oldest, pinned = (
        tuple(int(part) for part in CDK_LIB_VERSIONS[k].split(".")) for k in ("oldest", "pinned")
    )
    assert oldest < pinned
    assert oldest[0] == pinned[0] == 2


def test_the_wheel_declares_ranges_not_pins(built_wheel: Path) -> None:
    with zipfile.ZipFile(built_wheel) as wheel:
        (metadata_name,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = wheel.read(metadata_name).decode()
    requires = {
        re.split(r"[<>=!~ ]", line.removeprefix("Requires-Dist: "), maxsplit=1)[0]: line
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist: ")
    }
    assert set(requires) == {"aws-cdk-lib", "constructs", "crhelper"}
    for line in requires.values():
        assert "==" not in line, line
        assert ">=" in line and "<" in line, line
    assert f">={CDK_LIB_VERSIONS['oldest']}" in requires["aws-cdk-lib"]
    assert "<3.0.0" in requires["aws-cdk-lib"]
    assert ">=10.0.0" in requires["constructs"] and "<11.0.0" in requires["constructs"]


def test_the_wheel_ships_one_namespace_with_the_handler_and_its_requirements(built_wheel: Path) -> None:
    names = set(zipfile.ZipFile(built_wheel).namelist())
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
    probe = (
        "import importlib.metadata, chime_kvs_pool, chime_kvs_pool.runtime as h\n"
        "print(importlib.metadata.version('aws-cdk-lib'))\n"
        "print(chime_kvs_pool.__file__, h.__file__)"
    )
    result = _run([str(installed.python), "-c", probe], installed.workdir, SYNTH_TIMEOUT_SECONDS)
    version, locations = result.stdout.split("\n", 1)
    assert version == installed.cdk_lib_version
    for location in locations.split():
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
    resources = template["Resources"].values()
    pools = [r["Properties"] for r in resources if r["Type"] == "Custom::ChimeKinesisVideoStreamPool"]
    functions = [r["Properties"] for r in resources if r["Type"] == "AWS::Lambda::Function"]
    # Two pools, one shared handler function whose token both pools' resources carry.
    assert len(pools) == 3
    assert len(functions) == 1
    assert len({json.dumps(pool["ServiceToken"]) for pool in pools}) == 1
    assert {pool["StreamConfiguration"]["Region"] for pool in pools} == {
        "eu-west-1",
        "us-east-1",
        "af-south-1",
    }
    rules = [r["Properties"] for r in resources if r["Type"] == "AWS::Events::Rule"]
    assert len(rules) == 3
    assert "second-pool" in [pool["PoolName"] for pool in pools]
    # The newest Python runtime the installed aws-cdk-lib offers (compat.py): the oldest supported has 3.13.
    expected_runtime = (
        "python3.14" if installed.cdk_lib_version == CDK_LIB_VERSIONS["pinned"] else "python3.13"
    )
    assert functions[0]["Runtime"] == expected_runtime
    outputs = template["Outputs"]
    if installed.cdk_lib_version == CDK_LIB_VERSIONS["pinned"]:
        assert outputs["ArnThroughNativeReference"]["Value"] == outputs["PoolArn"]["Value"]
    else:
        assert "ArnThroughNativeReference" not in outputs

    (asset,) = [path for path in outdir.glob("asset.*") if path.is_dir()]
    assert (asset / "chime_kvs_pool" / "runtime" / "index.py").read_bytes() == (
        HANDLER_SOURCE / "index.py"
    ).read_bytes()
    assert (asset / "crhelper" / "__init__.py").is_file()
    assert (asset / "crhelper" / "resource_helper.py").is_file()
    assert functions[0]["Handler"] == "chime_kvs_pool.runtime.index.handler"
    # The Lambda never imports the construct library: no chime_kvs_pool/__init__.py in the asset.
    assert not (asset / "chime_kvs_pool" / "__init__.py").exists()
