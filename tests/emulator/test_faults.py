"""Injected faults seen through the real boto3 client: errors, dropped connections, slow answers."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from local.chime_emulator import FaultPlan

CREATE = "CreateMediaPipelineKinesisVideoStreamPool"
GET = "GetMediaPipelineKinesisVideoStreamPool"


def create(client: Any, name: str, **extra: Any) -> dict[str, Any]:
    response = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=name, StreamConfiguration={"Region": "us-east-1"}, **extra
    )
    result: dict[str, Any] = response["KinesisVideoStreamPoolConfiguration"]
    return result


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("throttle", "ThrottledClientException", 429),
        ("unavailable", "ServiceUnavailableException", 503),
        ("service_failure", "ServiceFailureException", 500),
    ],
)
def test_error_faults_answer_the_modeled_error_and_change_nothing(
    chime_emulator: Any, kind: str, code: str, status: int
) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.faults.add(CREATE, kind)
    with pytest.raises(getattr(client.exceptions, code)) as raised:
        create(client, "faulted")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert backend.leftover_pools() == []
    [entry] = backend.calls(CREATE)
    assert (entry.status, entry.error, entry.fault) == (status, code, kind)
    # count=1: the next request goes through.
    create(client, "faulted")
    assert [p["PoolName"] for p in backend.leftover_pools()] == ["faulted"]


def test_fault_targets_only_its_operation(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.faults.add(GET, "throttle")
    create(client, "untouched")
    with pytest.raises(client.exceptions.ThrottledClientException):
        client.get_media_pipeline_kinesis_video_stream_pool(Identifier="untouched")


def test_count_and_wildcard(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.faults.add("*", "unavailable", count=2)
    with pytest.raises(client.exceptions.ServiceUnavailableException):
        client.list_media_pipeline_kinesis_video_stream_pools()
    with pytest.raises(client.exceptions.ServiceUnavailableException):
        create(client, "second")
    create(client, "third")
    assert backend.faults.pending() == []


def test_unlimited_fault_until_cleared(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.faults.add(GET, "service_failure", count=None)
    for _ in range(3):
        with pytest.raises(client.exceptions.ServiceFailureException):
            client.get_media_pipeline_kinesis_video_stream_pool(Identifier="x")
    backend.faults.clear()
    with pytest.raises(client.exceptions.NotFoundException):
        client.get_media_pipeline_kinesis_video_stream_pool(Identifier="x")


def test_standard_retries_recover_from_5xx_but_not_throttling(chime_emulator: Any) -> None:
    """The DESIGN's warning, checked: standard mode retries 503 but not this service's 429."""
    backend = chime_emulator.backend
    client = chime_emulator.client_for(retries={"mode": "standard", "total_max_attempts": 3})
    backend.faults.add(CREATE, "unavailable", count=2)
    create(client, "retried")
    assert [e.status for e in backend.calls(CREATE)] == [503, 503, 201]
    backend.faults.add(GET, "throttle")
    with pytest.raises(client.exceptions.ThrottledClientException):
        client.get_media_pipeline_kinesis_video_stream_pool(Identifier="retried")
    assert len(backend.calls(GET)) == 1


def test_drop_closes_the_connection_without_a_change(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.faults.add(CREATE, "drop")
    with pytest.raises(ConnectionClosedError):
        create(client, "dropped")
    assert backend.leftover_pools() == []
    [entry] = backend.calls(CREATE)
    assert (entry.status, entry.fault) == (0, "drop")
    create(client, "dropped")  # the client reconnects
    assert len(backend.leftover_pools()) == 1


def test_drop_after_applies_the_change_and_the_token_makes_the_retry_safe(chime_emulator: Any) -> None:
    backend = chime_emulator.backend
    client = chime_emulator.client_for(retries={"mode": "standard", "total_max_attempts": 3})
    backend.faults.add(CREATE, "drop_after")
    created = create(client, "once", ClientRequestToken="same-token")  # botocore retries after the drop
    attempts = backend.calls(CREATE)
    assert [(e.status, e.fault) for e in attempts] == [(201, "drop_after"), (201, None)]
    assert [p["PoolArn"] for p in backend.leftover_pools()] == [created["PoolArn"]]


def test_drop_after_without_the_same_token_collides_with_itself(chime_emulator: Any) -> None:
    """Why tokens matter: a blind retry with a new token finds its own pool's name taken."""
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.faults.add(CREATE, "drop_after")
    with pytest.raises(ConnectionClosedError):
        create(client, "orphan", ClientRequestToken="first")
    with pytest.raises(client.exceptions.ConflictException):
        create(client, "orphan", ClientRequestToken="second")
    assert len(backend.leftover_pools()) == 1


def test_slow_response_is_served_after_the_delay(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.faults.add(CREATE, "slow", delay=0.3)
    create(client, "slowpoke")
    [entry] = backend.calls(CREATE)
    assert (entry.status, entry.fault) == (201, "slow")


def test_slow_response_beyond_the_read_timeout(chime_emulator: Any) -> None:
    backend = chime_emulator.backend
    client = chime_emulator.client_for(read_timeout=0.2)
    backend.faults.add(GET, "slow", delay=2.0)
    with pytest.raises(ReadTimeoutError):
        client.get_media_pipeline_kinesis_video_stream_pool(Identifier="x")


def test_fault_plan_rejects_nonsense() -> None:
    plan = FaultPlan()
    with pytest.raises(ValueError, match="unknown fault kind"):
        plan.add(CREATE, "explode")
    with pytest.raises(ValueError, match="count"):
        plan.add(CREATE, "throttle", count=0)
    with pytest.raises(ValueError, match="delay"):
        plan.add(CREATE, "slow", delay=-1)
    assert plan.pending() == []
