"""Shared fixtures: a running Chime SDK Media Pipelines emulator and a real boto3 client for it."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.chime_emulator import ChimeEmulator, EmulatorServer

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


@dataclass
class RunningEmulator:
    """The backend (state, request log, faults), its URL, and a client pointed at it."""

    backend: ChimeEmulator
    endpoint_url: str
    client: Any  # mypy_boto3_chime_sdk_media_pipelines.ChimeSDKMediaPipelinesClient
    server: EmulatorServer | None = None  # e.g. to switch its API rate limits on

    def client_for(self, region: str = REGION, **config: Any) -> Any:
        """Another client for this emulator: another region, or other botocore ``Config`` settings."""
        return emulator_client(self.endpoint_url, region, **config)


@functools.cache
def _session() -> boto3.session.Session:
    """One session for every test client: it loads the service model once, not per test."""
    return boto3.session.Session()


def emulator_client(endpoint_url: str, region: str = REGION, **config: Any) -> Any:
    """A real boto3 client for the emulator: dummy credentials, bounded timeouts, no retries."""
    settings: dict[str, Any] = {
        "connect_timeout": 5,
        "read_timeout": 10,
        "retries": {"total_max_attempts": 1},
    }
    settings.update(config)
    return _session().client(
        "chime-sdk-media-pipelines",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**settings),
    )


@pytest.fixture
def chime_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    """A fresh emulator on an ephemeral loopback port; code under test finds it through the env."""
    backend = ChimeEmulator(account_id=ACCOUNT_ID)
    with EmulatorServer(backend, host="127.0.0.1", port=0) as server:
        # One port serves the pool API, the pools' streams (kinesisvideo) and their role (iam).
        for variable in (
            "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES",
            "AWS_ENDPOINT_URL_KINESIS_VIDEO",
            "AWS_ENDPOINT_URL_IAM",
        ):
            monkeypatch.setenv(variable, server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        monkeypatch.setenv("AWS_REGION", REGION)
        yield RunningEmulator(backend, server.endpoint_url, emulator_client(server.endpoint_url), server)
