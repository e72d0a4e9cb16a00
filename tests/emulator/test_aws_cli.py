"""The AWS CLI v1 (``awscli``, pinned in requirements-dev.txt) against the emulator, as a user runs it.

The whole lifecycle, pagination as the CLI offers it, and every error case as the CLI reports it:
the exception name in its message, its exit code, and the HTTP status from its own ``--debug`` log.
The cases run in one interpreter (``clients/aws_cli_batch.py``: a fresh ``CLIDriver`` per case, as the
``aws`` command builds one), so the suite pays the CLI's start-up once; one test runs the installed
``aws`` command itself. The CLI carries its own copy of botocore and of the service model.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from local.chime_emulator import ChimeEmulator, EmulatorServer

from ..conftest import emulator_client

pytestmark = pytest.mark.xdist_group("aws-cli")

BATCH = Path(__file__).parent / "clients" / "aws_cli_batch.py"
AWS = Path(sys.executable).parent / "aws"
CLI = "chime-sdk-media-pipelines"
QUOTA = 6
FULL_REGION = "ap-south-1"  # filled to the quota before the CLI runs
STATUS_LINE = re.compile(r'"(?:GET|POST|PUT|DELETE|PATCH) \S+ HTTP/1\.1" (\d{3})')
ERROR_LINE = re.compile(r"An error occurred \((\w+)\) when calling the (\w+) operation")


def cli(*args: str, debug: bool = False) -> list[str]:
    return [*(["--debug"] if debug else []), CLI, *args]


def debug_cli(*args: str) -> list[str]:
    """A successful case whose HTTP status the tests read from the CLI's ``--debug`` log."""
    return cli(*args, debug=True)


def create_args(name: str, *extra: str, region: str = "us-east-1") -> list[str]:
    return [
        "create-media-pipeline-kinesis-video-stream-pool",
        "--pool-name",
        name,
        "--stream-configuration",
        f"Region={region},DataRetentionInHours=24",
        *extra,
    ]


def error_case(name: str, *args: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "args": cli(*args, debug=True), **extra}


def cases(arn_of: dict[str, str]) -> list[dict[str, Any]]:
    """Every case, in the order they run (later ones build on earlier ones)."""
    pool_args = ["--identifier", "cli-pool"]
    return [
        # ----- the whole lifecycle -----
        {
            "name": "create",
            "args": debug_cli(
                *create_args("cli-pool", "--tags", "Key=team,Value=media", "--client-request-token", "t-1")
            ),
        },
        {
            "name": "create-retried",
            "args": debug_cli(
                *create_args("cli-pool", "--tags", "Key=team,Value=media", "--client-request-token", "t-1")
            ),
        },
        {"name": "get", "args": debug_cli("get-media-pipeline-kinesis-video-stream-pool", *pool_args)},
        {
            "name": "update",
            "args": debug_cli(
                "update-media-pipeline-kinesis-video-stream-pool",
                *pool_args,
                "--stream-configuration",
                "DataRetentionInHours=48",
            ),
        },
        {
            "name": "tag",
            "args": debug_cli(
                "tag-resource",
                "--resource-arn",
                "@create.KinesisVideoStreamPoolConfiguration.PoolArn",
                "--tags",
                "Key=env,Value=test",
            ),
        },
        {
            "name": "untag",
            "args": debug_cli("untag-resource", "--resource-arn", arn_of["cli-pool"], "--tag-keys", "team"),
        },
        {
            "name": "list-tags",
            "args": debug_cli("list-tags-for-resource", "--resource-arn", arn_of["cli-pool"]),
        },
        # ----- pagination: the model has no paginator, so --max-results and --next-token -----
        *[
            {"name": f"create-page-{n}", "args": debug_cli(*create_args(f"cli-page-{n}"))}
            for n in range(1, 5)
        ],
        {
            "name": "page-1",
            "args": debug_cli("list-media-pipeline-kinesis-video-stream-pools", "--max-results", "2"),
        },
        {
            "name": "page-2",
            "args": debug_cli(
                "list-media-pipeline-kinesis-video-stream-pools",
                "--max-results",
                "2",
                "--next-token",
                "@page-1.NextToken",
            ),
        },
        {
            "name": "page-3",
            "args": debug_cli(
                "list-media-pipeline-kinesis-video-stream-pools",
                "--max-results",
                "2",
                "--next-token",
                "@page-2.NextToken",
            ),
        },
        {
            "name": "max-items",
            "args": cli("list-media-pipeline-kinesis-video-stream-pools", "--max-items", "2"),
        },
        # ----- every error, as the CLI reports it -----
        error_case("not-found", "get-media-pipeline-kinesis-video-stream-pool", "--identifier", "nope"),
        error_case("name-taken", *create_args("cli-pool")),
        error_case("bad-name", *create_args("bad name!")),
        error_case("bad-token", *create_args("tokened", "--client-request-token", "a b")),
        error_case("unknown-region", *create_args("martian", region="mars-central-1")),
        error_case("reserved-tag", *create_args("tagged", "--tags", "Key=aws:x,Value=1")),
        error_case(
            "retention-0",
            "update-media-pipeline-kinesis-video-stream-pool",
            *pool_args,
            "--stream-configuration",
            "DataRetentionInHours=0",
        ),
        error_case(
            "other-region-arn",
            "--region",
            "us-west-2",
            "get-media-pipeline-kinesis-video-stream-pool",
            "--identifier",
            arn_of["cli-pool"],
        ),
        error_case(
            "bad-next-token", "list-media-pipeline-kinesis-video-stream-pools", "--next-token", "garbage"
        ),
        error_case("quota", "--region", FULL_REGION, *create_args("one-too-many", region=FULL_REGION)),
        error_case(
            "busy",
            "update-media-pipeline-kinesis-video-stream-pool",
            "--identifier",
            "cli-held",
            "--stream-configuration",
            "DataRetentionInHours=2",
        ),
        error_case(
            "delete-deleting", "delete-media-pipeline-kinesis-video-stream-pool", "--identifier", "cli-held"
        ),
        error_case(
            "throttled",
            "list-media-pipeline-kinesis-video-stream-pools",
            arm={"operation": "ListMediaPipelineKinesisVideoStreamPools", "kind": "throttle"},
        ),
        error_case(
            "unavailable",
            "get-media-pipeline-kinesis-video-stream-pool",
            *pool_args,
            arm={"operation": "GetMediaPipelineKinesisVideoStreamPool", "kind": "unavailable"},
        ),
        error_case(
            "service-failure",
            "delete-media-pipeline-kinesis-video-stream-pool",
            *pool_args,
            arm={"operation": "DeleteMediaPipelineKinesisVideoStreamPool", "kind": "service_failure"},
        ),
        error_case(
            "forbidden", "list-media-pipeline-kinesis-video-stream-pools", env={"AWS_ACCESS_KEY_ID": "denied"}
        ),
        {
            "name": "unsigned",
            "args": ["--debug", "--no-sign-request", *cli("list-media-pipeline-kinesis-video-stream-pools")],
        },
        error_case(
            "unknown-signing-region",
            "--region",
            "mars-central-1",
            "list-media-pipeline-kinesis-video-stream-pools",
        ),
        # ----- the end of the lifecycle -----
        {"name": "delete", "args": debug_cli("delete-media-pipeline-kinesis-video-stream-pool", *pool_args)},
        error_case("gone", "get-media-pipeline-kinesis-video-stream-pool", *pool_args),
    ]


def cli_environment(endpoint_url: str) -> dict[str, str]:
    """Dummy credentials, no config files, no retries: what a CI job would give the CLI."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "AWS_PAGER": "",
    }


class Run:
    """The batch's results by case name, and the emulator they ran against."""

    def __init__(self, backend: ChimeEmulator, endpoint_url: str, results: list[dict[str, Any]]) -> None:
        self.backend = backend
        self.endpoint_url = endpoint_url
        self.results = {result["name"]: result for result in results}

    def output(self, name: str) -> dict[str, Any]:
        result = self.results[name]
        assert result["rc"] == 0, result["stderr"][-800:]
        output: dict[str, Any] = json.loads(result["stdout"]) if result["stdout"].strip() else {}
        return output

    def status(self, name: str) -> int:
        """The HTTP status of a successful call, from the CLI's ``--debug`` log."""
        result = self.results[name]
        assert result["rc"] == 0, result["stderr"][-800:]
        statuses = STATUS_LINE.findall(result["stderr"])
        assert statuses, result["stderr"][-800:]
        return int(statuses[-1])

    def error(self, name: str) -> tuple[str, int, int]:
        """(exception name, exit code, HTTP status) as the CLI reported a failed call."""
        result = self.results[name]
        found = ERROR_LINE.findall(result["stderr"])
        statuses = STATUS_LINE.findall(result["stderr"])
        assert found and statuses, result["stderr"][-800:]
        return found[-1][0], int(result["rc"]), int(statuses[-1])


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    backend = ChimeEmulator(pool_quota_per_region=QUOTA)
    with EmulatorServer(backend) as server:
        # The state the cases expect: a full Region, a pool being deleted, a denied access key.
        setup = emulator_client(server.endpoint_url, FULL_REGION)
        for n in range(QUOTA):
            setup.create_media_pipeline_kinesis_video_stream_pool(
                PoolName=f"filler-{n}", StreamConfiguration={"Region": FULL_REGION}
            )
        home = emulator_client(server.endpoint_url)
        home.create_media_pipeline_kinesis_video_stream_pool(
            PoolName="cli-held", StreamConfiguration={"Region": "us-east-1"}
        )
        backend.hold_deletion("cli-held")
        home.delete_media_pipeline_kinesis_video_stream_pool(Identifier="cli-held")
        backend.deny_access_key("denied")
        backend.clear_request_log()
        arn_of = {"cli-pool": backend.pool_arn("us-east-1", "cli-pool")}
        completed = subprocess.run(
            [sys.executable, str(BATCH)],
            input=json.dumps(cases(arn_of)),
            capture_output=True,
            text=True,
            env=cli_environment(server.endpoint_url),
            timeout=240,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
        yield Run(backend, server.endpoint_url, json.loads(completed.stdout))


def is_utc_date(text: str) -> bool:
    moment = datetime.fromisoformat(text)
    return moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_successful_calls_get_the_models_status_codes(run: Run) -> None:
    """The model's responseCode of each operation, as the CLI saw it on the wire."""
    expected = {
        "create": 201,
        "create-retried": 201,
        "get": 200,
        "update": 200,
        "tag": 204,
        "untag": 204,
        "list-tags": 200,
        "page-1": 200,
        "page-2": 200,
        "delete": 204,
    }
    assert {name: run.status(name) for name in expected} == expected


def test_create_get_update_as_the_cli_prints_them(run: Run) -> None:
    created = run.output("create")["KinesisVideoStreamPoolConfiguration"]
    assert (
        created["PoolArn"]
        == "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/cli-pool"
    )
    assert created["PoolStatus"] == "CREATING"
    assert created["StreamConfiguration"] == {"Region": "us-east-1", "DataRetentionInHours": 24}
    assert is_utc_date(created["CreatedTimestamp"]) and is_utc_date(created["UpdatedTimestamp"])
    # The same token and request: the same pool, not a second one.
    assert (
        run.output("create-retried")["KinesisVideoStreamPoolConfiguration"]["PoolArn"] == created["PoolArn"]
    )
    got = run.output("get")["KinesisVideoStreamPoolConfiguration"]
    assert (got["PoolStatus"], got["PoolId"]) == ("ACTIVE", created["PoolId"])
    updated = run.output("update")["KinesisVideoStreamPoolConfiguration"]
    assert updated["PoolStatus"] == "UPDATING"
    assert updated["StreamConfiguration"]["DataRetentionInHours"] == 48
    assert datetime.fromisoformat(updated["UpdatedTimestamp"]) >= datetime.fromisoformat(
        got["UpdatedTimestamp"]
    )


def test_tags_as_the_cli_sets_and_lists_them(run: Run) -> None:
    assert run.output("tag") == {} and run.output("untag") == {}
    assert run.output("list-tags") == {"Tags": [{"Key": "env", "Value": "test"}]}


def test_pages_with_max_results_and_next_token(run: Run) -> None:
    pages = [run.output(f"page-{n}") for n in (1, 2, 3)]
    assert [len(page["KinesisVideoStreamPools"]) for page in pages] == [2, 2, 2]
    assert "NextToken" in pages[0] and "NextToken" in pages[1] and "NextToken" not in pages[2]
    names = [pool["PoolName"] for page in pages for pool in page["KinesisVideoStreamPools"]]
    # Creation order, each pool once: the held pool made by the fixture, then the CLI's own.
    assert names == ["cli-held", "cli-pool", *[f"cli-page-{n}" for n in range(1, 5)]]


def test_max_items_is_not_offered_because_the_model_has_no_paginator(run: Run) -> None:
    """botocore's paginators-1.json for this service is empty, so the CLI has no --max-items here."""
    result = run.results["max-items"]
    assert result["rc"] != 0
    assert "Unknown options: --max-items" in result["stderr"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not-found", ("NotFoundException", 404)),
        ("name-taken", ("ConflictException", 409)),
        ("bad-name", ("BadRequestException", 400)),
        ("bad-token", ("BadRequestException", 400)),
        ("unknown-region", ("BadRequestException", 400)),
        ("reserved-tag", ("BadRequestException", 400)),
        ("other-region-arn", ("NotFoundException", 404)),
        ("bad-next-token", ("BadRequestException", 400)),
        ("quota", ("ResourceLimitExceededException", 400)),
        ("busy", ("ConflictException", 409)),
        ("throttled", ("ThrottledClientException", 429)),
        ("unavailable", ("ServiceUnavailableException", 503)),
        ("service-failure", ("ServiceFailureException", 500)),
        ("forbidden", ("ForbiddenException", 403)),
        ("unsigned", ("MissingAuthenticationTokenException", 403)),
        ("unknown-signing-region", ("InvalidSignatureException", 403)),
        ("gone", ("NotFoundException", 404)),
    ],
)
def test_each_error_as_the_cli_reports_it(run: Run, case: str, expected: tuple[str, int]) -> None:
    name, rc, status = run.error(case)
    assert (name, status) == expected
    assert rc == 255  # the CLI v1's exit code for a failed call


def test_client_side_validation_stops_retention_0_before_any_request(run: Run) -> None:
    """The CLI's botocore checks the model's minimum (1) itself: no request reaches the service."""
    result = run.results["retention-0"]
    assert result["rc"] == 255
    assert "valid min value: 1" in result["stderr"]
    assert not STATUS_LINE.search(result["stderr"])
    updates = run.backend.calls("UpdateMediaPipelineKinesisVideoStreamPool")
    assert all(call.params["StreamConfiguration"]["DataRetentionInHours"] != 0 for call in updates)


def test_delete_of_a_deleting_pool_is_accepted_and_the_lifecycle_ends_gone(run: Run) -> None:
    assert run.results["delete-deleting"]["rc"] == 0
    assert run.output("delete") == {}
    assert "cli-pool" not in [pool["PoolName"] for pool in run.backend.leftover_pools()]


def test_the_installed_aws_command_runs_against_the_emulator(run: Run) -> None:
    environment = cli_environment(run.endpoint_url)
    version = subprocess.run(
        [str(AWS), "--version"], capture_output=True, text=True, env=environment, timeout=60, check=True
    )
    assert "aws-cli/1.46.3" in version.stdout + version.stderr
    listed = subprocess.run(
        [str(AWS), CLI, "list-media-pipeline-kinesis-video-stream-pools", "--region", FULL_REGION],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=True,
    )
    names = [pool["PoolName"] for pool in json.loads(listed.stdout)["KinesisVideoStreamPools"]]
    assert names == [f"filler-{n}" for n in range(QUOTA)]


def _shapes_of(model: dict[str, Any], operations: tuple[str, ...]) -> dict[str, Any]:
    """Every shape the operations reach, by name: what a client validates and parses with."""
    shapes: dict[str, Any] = {}
    pending = [
        model["operations"][name][part]["shape"]
        for name in operations
        for part in ("input", "output")
        if part in model["operations"][name]
    ]
    pending += [
        error["shape"] for name in operations for error in model["operations"][name].get("errors", [])
    ]
    while pending:
        name = pending.pop()
        if name in shapes:
            continue
        shape = {key: value for key, value in model["shapes"][name].items() if key != "documentation"}
        shapes[name] = shape
        for member in shape.get("members", {}).values():
            pending.append(member["shape"])
        for key in ("member", "key", "value"):
            if key in shape:
                pending.append(shape[key]["shape"])
    return shapes


def test_the_clis_own_copy_of_the_model_agrees_with_ours_on_the_pool_api() -> None:
    """The CLI validates and parses with the model in its own botocore copy: the cases above mean
    something for our botocore only if both copies describe the pool API alike."""
    import gzip
    import sysconfig

    from local.chime_emulator.service_model import POOL_OPERATIONS

    site = Path(sysconfig.get_paths()["purelib"])
    folder = "chime-sdk-media-pipelines/2021-07-15"
    ours = json.loads(
        gzip.decompress((site / "botocore" / "data" / folder / "service-2.json.gz").read_bytes())
    )
    theirs = json.loads((site / "awscli" / "botocore" / "data" / folder / "service-2.json").read_text())
    for name in POOL_OPERATIONS:
        assert {k: v for k, v in theirs["operations"][name].items() if k != "documentation"} == {
            k: v for k, v in ours["operations"][name].items() if k != "documentation"
        }, name
    shapes = _shapes_of(ours, POOL_OPERATIONS)
    expected = {"KinesisVideoStreamPoolName", "ClientRequestToken", "AwsRegion", "ConflictException"}
    assert expected <= set(shapes)
    assert _shapes_of(theirs, POOL_OPERATIONS) == shapes
