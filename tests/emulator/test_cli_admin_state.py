"""The standalone command, the admin HTTP API, and JSON persistence between runs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.chime_emulator import ChimeEmulator

REPO_ROOT = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"export AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES=(http://127\.0\.0\.1:\d+)")


def admin(endpoint_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint_url}/_emulator{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def create(client: Any, name: str) -> dict[str, Any]:
    response = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=name, StreamConfiguration={"Region": "us-east-1", "DataRetentionInHours": 6}
    )
    result: dict[str, Any] = response["KinesisVideoStreamPoolConfiguration"]
    return result


class RunningCommand:
    """``python -m local chime`` in a subprocess; reads the URL it prints, with a bounded wait."""

    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "chime", "--port", "0", *options],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.endpoint_url = self._read_url()

    def _read_url(self) -> str:
        found: list[str] = []

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                match = URL_LINE.search(line)
                if match:
                    found.append(match.group(1))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=60)
        if not found:
            self.process.kill()
            _, errors = self.process.communicate(timeout=10)
            pytest.fail(f"the emulator printed no endpoint URL; stderr: {errors}")
        return found[0]

    def stop(self, how: int = signal.SIGINT) -> int:
        self.process.send_signal(how)
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def command_factory() -> Any:
    started: list[RunningCommand] = []

    def start(*options: str) -> RunningCommand:
        started.append(RunningCommand(*options))
        return started[-1]

    yield start
    for command in started:
        if command.process.poll() is None:
            command.process.kill()
            command.process.wait(timeout=10)


def client_at(endpoint_url: str) -> Any:
    return boto3.client(
        "chime-sdk-media-pipelines",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 1}),
    )


def test_command_serves_boto3_and_exits_cleanly(command_factory: Any) -> None:
    command = command_factory()
    client = client_at(command.endpoint_url)
    pool = create(client, "from-cli")
    assert pool["PoolStatus"] == "CREATING"
    assert [p["PoolName"] for p in admin(command.endpoint_url, "GET", "/pools")["pools"]] == ["from-cli"]
    assert command.stop(signal.SIGINT) == 0


def test_command_state_file_survives_a_restart(command_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    first = command_factory("--state", str(state), "--account-id", "111122223333")
    client = client_at(first.endpoint_url)
    created = create(client, "persistent")
    assert first.stop(signal.SIGTERM) == 0
    assert state.exists()

    second = command_factory("--state", str(state), "--create-delay", "30")
    client = client_at(second.endpoint_url)
    got = client.get_media_pipeline_kinesis_video_stream_pool(Identifier="persistent")
    assert got["KinesisVideoStreamPoolConfiguration"]["PoolArn"] == created["PoolArn"]
    assert ":111122223333:" in created["PoolArn"]
    # The new run's --create-delay applies: a new pool stays CREATING.
    create(client, "slow-now")
    got = client.get_media_pipeline_kinesis_video_stream_pool(Identifier="slow-now")
    assert got["KinesisVideoStreamPoolConfiguration"]["PoolStatus"] == "CREATING"
    assert second.stop() == 0


def test_save_and_load_round_trip(chime_emulator: Any, tmp_path: Path) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    created = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="saved",
        StreamConfiguration={"Region": "eu-west-1", "DataRetentionInHours": 12},
        ClientRequestToken="tok-saved",
        Tags=[{"Key": "k", "Value": "v"}],
    )["KinesisVideoStreamPoolConfiguration"]
    backend.hold_deletion("saved")
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="saved")
    path = tmp_path / "nested" / "state.json"
    backend.save(path)

    restored = ChimeEmulator.load(path)
    assert restored.leftover_pools() == backend.leftover_pools()
    assert restored.leftover_pools()[0]["PoolStatus"] == "DELETING"  # the hold survived too
    restored.release_deletion("saved")
    assert restored.leftover_pools() == []
    assert created["PoolId"]


def test_load_refuses_unknown_versions(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 99}))
    with pytest.raises(ValueError, match="version"):
        ChimeEmulator.load(path)


def test_admin_api(chime_emulator: Any) -> None:
    url, client = chime_emulator.endpoint_url, chime_emulator.client
    assert admin(url, "GET", "/health")["status"] == "ok"
    admin(
        url, "POST", "/faults", {"operation": "CreateMediaPipelineKinesisVideoStreamPool", "kind": "throttle"}
    )
    assert [f["kind"] for f in admin(url, "GET", "/faults")["faults"]] == ["throttle"]
    with pytest.raises(client.exceptions.ThrottledClientException):
        create(client, "admin")
    admin(url, "POST", "/faults", {"kind": "unavailable", "count": None})
    admin(url, "DELETE", "/faults")
    assert admin(url, "GET", "/faults")["faults"] == []

    admin(url, "POST", "/fail-on-create", {"name": "admin", "reason": "because"})
    create(client, "admin")
    [pool] = admin(url, "GET", "/pools")["pools"]
    assert (pool["PoolStatus"], pool["FailureReason"]) == ("FAILED", "because")
    assert isinstance(pool["CreatedTimestamp"], str)

    admin(url, "POST", "/hold", {"pool": "admin"})
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="admin")
    assert admin(url, "GET", "/pools")["pools"][0]["PoolStatus"] == "DELETING"
    admin(url, "POST", "/release", {"pool": "admin"})
    assert admin(url, "GET", "/pools")["pools"] == []

    requests = admin(url, "GET", "/requests")["requests"]
    assert [(r["operation"], r["status"]) for r in requests] == [
        ("CreateMediaPipelineKinesisVideoStreamPool", 429),
        ("CreateMediaPipelineKinesisVideoStreamPool", 201),
        ("DeleteMediaPipelineKinesisVideoStreamPool", 204),
    ]
    admin(url, "DELETE", "/requests")
    assert admin(url, "GET", "/requests")["requests"] == []


def test_admin_api_rejects_bad_requests(chime_emulator: Any) -> None:
    url = chime_emulator.endpoint_url
    for method, path, body in (
        ("POST", "/faults", {"kind": "explode"}),
        ("POST", "/hold", {}),
    ):
        with pytest.raises(urllib.error.HTTPError) as raised:
            admin(url, method, path, body)
        assert raised.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as raised:
        admin(url, "GET", "/nothing-here")
    assert raised.value.code == 404
