"""The AWS SDK for JavaScript v3 against the emulator, run by the pinned Node.js 22.

``@aws-sdk/client-chime-sdk-media-pipelines`` (pinned in package.json) drives the whole lifecycle, its
own paginator, and every error case in one Node.js run (``clients/js_sdk_cases.mjs``); each test
here checks one part of what the SDK saw: output shapes, ``Date`` timestamps, exception classes,
``$fault`` and the HTTP status in ``$metadata``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.chime_emulator import ChimeEmulator, EmulatorServer

from ..conftest import emulator_client

pytestmark = pytest.mark.xdist_group("js-sdk")

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE = REPO_ROOT / "node_modules" / ".bin" / "node"
SCRIPT = Path(__file__).parent / "clients" / "js_sdk_cases.mjs"
PACKAGE = "@aws-sdk/client-chime-sdk-media-pipelines"
QUOTA = 6
FULL_REGION = "ap-south-1"


class Run:
    def __init__(self, backend: ChimeEmulator, results: dict[str, Any]) -> None:
        self.backend = backend
        self.results = results

    def output(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.results[name]
        assert result["ok"], result
        return result

    def error(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.results[name]
        assert not result["ok"], f"{name} succeeded"
        return result


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    backend = ChimeEmulator(pool_quota_per_region=QUOTA)
    with EmulatorServer(backend) as server:
        full = emulator_client(server.endpoint_url, FULL_REGION)
        for n in range(QUOTA):
            full.create_media_pipeline_kinesis_video_stream_pool(
                PoolName=f"filler-{n}", StreamConfiguration={"Region": FULL_REGION}
            )
        home = emulator_client(server.endpoint_url)
        home.create_media_pipeline_kinesis_video_stream_pool(
            PoolName="js-held", StreamConfiguration={"Region": "us-east-1"}
        )
        backend.hold_deletion("js-held")
        home.delete_media_pipeline_kinesis_video_stream_pool(Identifier="js-held")
        backend.deny_access_key("denied")
        environment = {
            "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "EMULATOR_URL": server.endpoint_url,
            "FULL_REGION": FULL_REGION,
            # Nothing of the machine's AWS setup may leak in.
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        completed = subprocess.run(
            [str(NODE), str(SCRIPT)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env=environment,
            timeout=180,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        yield Run(backend, json.loads(completed.stdout))


def test_the_pinned_node_and_sdk_are_the_ones_run() -> None:
    version = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert version.stdout.startswith("v22.")
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"][PACKAGE]
    installed = json.loads((REPO_ROOT / "node_modules" / PACKAGE / "package.json").read_text())["version"]
    assert installed == pinned


def test_create_get_update_as_the_sdk_returns_them(run: Run) -> None:
    created = run.output("create")
    configuration = created["output"]["KinesisVideoStreamPoolConfiguration"]
    assert created["status"] == 201
    assert configuration["PoolStatus"] == "CREATING"
    assert configuration["StreamConfiguration"] == {"Region": "us-east-1", "DataRetentionInHours": 24}
    # The timestamps are JavaScript Dates (the SDK parsed the wire format), not strings or NaN.
    assert created["dates"]["created"] and created["dates"]["updated"]
    assert created["dates"]["createdIso"].endswith("Z")
    assert run.output("get")["dates"]["created"] and run.output("get")["dates"]["updated"]
    retried = run.output("create-retried")["output"]["KinesisVideoStreamPoolConfiguration"]
    assert retried["PoolArn"] == configuration["PoolArn"] and retried["PoolId"] == configuration["PoolId"]
    got = run.output("get")["output"]["KinesisVideoStreamPoolConfiguration"]
    assert (got["PoolStatus"], got["PoolId"]) == ("ACTIVE", configuration["PoolId"])
    updated = run.output("update")["output"]["KinesisVideoStreamPoolConfiguration"]
    assert (updated["PoolStatus"], updated["StreamConfiguration"]["DataRetentionInHours"]) == ("UPDATING", 48)
    assert (run.output("get")["status"], run.output("update")["status"]) == (200, 200)


def test_tags_as_the_sdk_sets_and_lists_them(run: Run) -> None:
    assert run.output("tag")["status"] == run.output("untag")["status"] == 204
    assert run.output("list-tags")["output"] == {"Tags": [{"Key": "env", "Value": "test"}]}


def test_the_sdks_paginator_visits_every_pool_once(run: Run) -> None:
    pages = run.output("paginator")["pages"]
    assert [page["hasNext"] for page in pages] == [True, True, False]
    names = [name for page in pages for name in page["names"]]
    assert names == ["js-held", "js-pool", *[f"js-page-{n}" for n in range(1, 5)]]


@pytest.mark.parametrize(
    ("case", "name", "status", "fault"),
    [
        ("not-found", "NotFoundException", 404, "client"),
        ("name-taken", "ConflictException", 409, "client"),
        ("bad-name", "BadRequestException", 400, "client"),
        ("bad-token", "BadRequestException", 400, "client"),
        ("unknown-region", "BadRequestException", 400, "client"),
        ("reserved-tag", "BadRequestException", 400, "client"),
        ("retention-0", "BadRequestException", 400, "client"),
        ("other-region-arn", "NotFoundException", 404, "client"),
        ("bad-next-token", "BadRequestException", 400, "client"),
        ("quota", "ResourceLimitExceededException", 400, "client"),
        ("busy", "ConflictException", 409, "client"),
        ("throttled", "ThrottledClientException", 429, "client"),
        ("unavailable", "ServiceUnavailableException", 503, "server"),
        ("service-failure", "ServiceFailureException", 500, "server"),
        ("forbidden", "ForbiddenException", 403, "client"),
        ("gone", "NotFoundException", 404, "client"),
    ],
)
def test_each_modeled_error_is_the_sdks_own_exception_class(
    run: Run, case: str, name: str, status: int, fault: str
) -> None:
    error = run.error(case)
    assert (error["name"], error["status"], error["fault"]) == (name, status, fault)
    assert error["modeled"], f"{name} is not one of the SDK's exception classes"
    assert error["message"]


@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("unsigned", "MissingAuthenticationTokenException"),
        ("unknown-signing-region", "InvalidSignatureException"),
    ],
)
def test_the_front_doors_answers_are_unmodeled_service_exceptions(run: Run, case: str, name: str) -> None:
    """Not in the model: the SDK raises its service's base exception, named from the error type."""
    error = run.error(case)
    assert (error["name"], error["status"], error["modeled"], error["serviceException"]) == (
        name,
        403,
        False,
        True,
    )


def test_a_deleting_pool_is_deleted_again_and_the_lifecycle_ends_gone(run: Run) -> None:
    assert run.output("delete-deleting")["status"] == 204
    assert run.output("delete")["status"] == 204
    assert "js-pool" not in [pool["PoolName"] for pool in run.backend.leftover_pools()]
