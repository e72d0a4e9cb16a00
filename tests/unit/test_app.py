"""The demo app: ``cdk synth`` from the repository root, without AWS credentials or Docker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chime_kvs_pool.runtime import pool_rules
from tests.unit.conftest import POOL_TYPE

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "ChimeKvsPoolDemo"


def offline_env(**extra: str) -> dict[str, str]:
    """The current environment without AWS credentials or profiles, the pinned Node.js first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env["PATH"] = f"{REPO_ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    env.update(extra)
    return env


def run_app(outdir: Path, context: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``app.py`` as the CLI runs it, with context passed the CLI's way (CDK_CONTEXT_JSON)."""
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=offline_env(CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(context)),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def read_template(outdir: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((outdir / f"{STACK_NAME}.template.json").read_text())
    return template


def the_pool(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (pool,) = [(lid, r) for lid, r in template["Resources"].items() if r["Type"] == POOL_TYPE]
    return pool


@pytest.mark.skipif(not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists(), reason="npm ci not run")
def test_cdk_synth_with_context_from_the_repository_root(tmp_path: Path) -> None:
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [
            "cdk",
            "synth",
            "--quiet",
            "--no-notices",
            "--output",
            str(outdir),
            "-c",
            "pool_name=demo-pool",
            "-c",
            "stream_region=eu-west-1",
            "-c",
            "retention_hours=12",
            "-c",
            "removal_policy=retain",
        ],
        cwd=REPO_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    template = read_template(outdir)
    pool_id, pool = the_pool(template)
    assert pool["Properties"]["PoolName"] == "demo-pool"
    assert pool["Properties"]["StreamConfiguration"] == {"Region": "eu-west-1", "DataRetentionInHours": 12}
    assert pool["DeletionPolicy"] == "Retain"
    assert template["Outputs"]["PoolArn"]["Value"] == {"Ref": pool_id}
    assert template["Outputs"]["PoolId"]["Value"] == {"Fn::GetAtt": [pool_id, "PoolId"]}


def test_app_defaults(tmp_path: Path) -> None:
    result = run_app(tmp_path, {})
    assert result.returncode == 0, result.stderr
    template = read_template(tmp_path)
    _, pool = the_pool(template)
    assert pool_rules.pool_name_error(pool["Properties"]["PoolName"]) is None
    assert pool["Properties"]["StreamConfiguration"] == {"Region": {"Ref": "AWS::Region"}}
    # DESTROY is CloudFormation's default (Delete), left out of the template.
    assert "DeletionPolicy" not in pool and "UpdateReplacePolicy" not in pool
    assert set(template["Outputs"]) == {"PoolArn", "PoolId"}


@pytest.mark.parametrize(
    ("context", "fragment"),
    [
        ({"retention_hours": "1.5"}, "retention_hours must be a whole number"),
        ({"removal_policy": "snapshot"}, "removal_policy must be one of destroy, retain"),
        ({"pool_name": "no spaces"}, "invalid pool_name 'no spaces'"),
    ],
)
def test_app_refuses_bad_context(tmp_path: Path, context: dict[str, str], fragment: str) -> None:
    result = run_app(tmp_path, context)
    assert result.returncode != 0
    assert fragment in result.stderr
