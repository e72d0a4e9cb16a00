"""Play CloudFormation against the real handler: real events, a loopback ResponseURL, the emulator.

``cfn`` sends CloudFormation-shaped requests (every scalar a string) to ``index.handler`` with a Lambda
context that has a real deadline, receives the response over HTTPS like CloudFormation does, and
checks after every test that the logs never showed a presigned URL, a ClientRequestToken or an event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from chime_kvs_pool.runtime import index, pool_rules
from chime_kvs_pool.runtime.ownership import Owner
from local.chime_emulator import MUTATING_POOL_OPERATIONS
from local.events import custom_resource_event
from local.lambda_context import LambdaContext
from local.response_server import ResponseServer

STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/handler-test/5b6c3c70-7a6e-11ef-9c8b-0a1b2c3d4e5f"
)
FUNCTION_NAME = "kvs-pool-handler-Singleton"
SERVICE_TOKEN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
RESOURCE_TYPE = "Custom::ChimeKinesisVideoStreamPool"
RESPONSE_WAIT_SECONDS = 30.0
# The owner the handler records on pools that the default logical id "Pool" creates or adopts.
OWNER = Owner.of(STACK_ID, "Pool")


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """A pool's tags without the handler's owner tag: what a declaration governs."""
    return {key: value for key, value in tags.items() if not pool_rules.is_handler_tag_key(key)}


def pool_properties(
    name: str = "handler-test-pool",
    region: str = "us-east-1",
    retention: str | None = "24",
    tags: Mapping[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Resource properties as CloudFormation delivers them: strings, nested objects, tag lists."""
    stream: dict[str, Any] = {"Region": region}
    if retention is not None:
        stream["DataRetentionInHours"] = retention
    properties: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "PoolName": name,
        "StreamConfiguration": stream,
    }
    if tags is not None:
        properties["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    properties.update(extra)
    return properties


@dataclass
class CloudFormation:
    """Sends requests to the handler and collects its responses."""

    responses: ResponseServer
    emulator: Any  # tests/conftest.py RunningEmulator
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def backend(self) -> Any:
        return self.emulator.backend

    def event(
        self,
        request_type: str,
        properties: Mapping[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        logical_id: str = "Pool",
    ) -> dict[str, Any]:
        return custom_resource_event(
            self.responses,
            request_type,
            properties,
            stack_id=STACK_ID,
            logical_id=logical_id,
            resource_type=RESOURCE_TYPE,
            physical_id=physical_id,
            old_properties=old_properties,
            request_id=request_id,
            service_token=SERVICE_TOKEN,
        )

    def send(self, event: dict[str, Any], lambda_seconds: float = 60.0) -> dict[str, Any]:
        """Invoke the handler once and return the one response it sent."""
        self.events.append(event)
        index.handler(event, LambdaContext(lambda_seconds, function_name=FUNCTION_NAME))
        response = self.responses.wait_for(event["RequestId"], RESPONSE_WAIT_SECONDS)
        assert response is not None, "the handler sent no response"
        assert len(self.responses.responses(event["RequestId"])) == 1
        return response

    def create(self, properties: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        lambda_seconds = kwargs.pop("lambda_seconds", 60.0)
        return self.send(self.event("Create", properties, **kwargs), lambda_seconds)

    def update(
        self,
        physical_id: str,
        properties: Mapping[str, Any],
        old_properties: Mapping[str, Any],
        **kwargs: Any,
    ) -> dict[str, Any]:
        event = self.event(
            "Update", properties, physical_id=physical_id, old_properties=old_properties, **kwargs
        )
        return self.send(event)

    def delete(self, physical_id: str, properties: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self.send(self.event("Delete", properties, physical_id=physical_id, **kwargs))

    def calls(self) -> list[str]:
        """Operation names the emulator received, in order."""
        return [record.operation for record in self.backend.request_log]

    def mutating_calls(self) -> list[str]:
        return [name for name in self.calls() if name in MUTATING_POOL_OPERATIONS]

    def forget_calls(self) -> None:
        self.backend.clear_request_log()


@pytest.fixture(scope="session")
def response_server() -> Iterator[ResponseServer]:
    """One ResponseURL server for the session: making its CA is the slow part."""
    with ResponseServer() as server:
        yield server


@pytest.fixture
def cfn(
    chime_emulator: Any,
    response_server: ResponseServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> Iterator[CloudFormation]:
    caplog.set_level(logging.INFO)
    # The handler caches its clients per process (as per Lambda container); each test has its own
    # emulator on a new port, so start each test with fresh clients.
    _clear_client_caches()
    monkeypatch.setenv("SSL_CERT_FILE", response_server.ca_file)
    problems_before = len(response_server.problems)
    cloudformation = CloudFormation(response_server, chime_emulator)
    yield cloudformation
    assert response_server.problems[problems_before:] == []
    _assert_logs_hold_no_secrets(caplog.text, cloudformation, response_server)
    _clear_client_caches()


def _clear_client_caches() -> None:
    for cached in (index.pool_client, index.iam_client, index.stream_client):
        cached.cache_clear()


def _assert_logs_hold_no_secrets(text: str, cloudformation: CloudFormation, server: ResponseServer) -> None:
    for signature in server.signatures():
        assert signature not in text, "a presigned ResponseURL's signature was logged"
    for event in cloudformation.events:
        assert event["ResponseURL"] not in text
        assert "ResourceProperties" not in text, "the event was logged"
        assert SERVICE_TOKEN not in text, "the event was logged"
    for record in cloudformation.backend.calls("CreateMediaPipelineKinesisVideoStreamPool"):
        token = record.params.get("ClientRequestToken")
        if token:
            assert token not in text, "a ClientRequestToken was logged"


@pytest.fixture(params=["refuse", "allow"], ids=["active-pool-stream-refused", "active-pool-stream-allowed"])
def active_pool_streams(request: pytest.FixtureRequest, cfn: CloudFormation) -> str:
    """Each side of the emulator switch ``delete_stream_of_active_pool``: whether Kinesis Video
    Streams lets a stream of a pool that still exists be deleted is not documented, and the
    handler deletes streams only once the pool is gone, so its stream cleanup passes both sides."""
    side = str(request.param)
    cfn.backend.switches.delete_stream_of_active_pool = side
    return side
