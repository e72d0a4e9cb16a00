"""lifecycle's waiting, token and Data rules, on a simulated clock (no real sleeping)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from chime_kvs_pool.runtime import lifecycle
from chime_kvs_pool.runtime.ownership import Owner

ARN = "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/p"
OWNER = Owner.of("arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", "Pool")


class SimulatedClock:
    """Time that moves only when the code under test sleeps or a call takes time."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class PoolTurningActive:
    """A stand-in for the Get operation: CREATING until ``ready_after`` simulated seconds."""

    def __init__(self, clock: SimulatedClock, ready_after: float, call_seconds: float = 0.02) -> None:
        self.clock = clock
        self.ready_after = ready_after
        self.call_seconds = call_seconds
        self.gets = 0

    def get_media_pipeline_kinesis_video_stream_pool(self, Identifier: str) -> dict[str, Any]:
        self.gets += 1
        self.clock.now += self.call_seconds
        status = "ACTIVE" if self.clock.now >= self.ready_after else "CREATING"
        return {"KinesisVideoStreamPoolConfiguration": {"PoolArn": Identifier, "PoolStatus": status}}


@given(st.floats(min_value=0.0, max_value=600.0))
def test_polling_is_cheap_and_reports_soon_after_the_pool_is_active(ready_after: float) -> None:
    clock = SimulatedClock()
    service = PoolTurningActive(clock, ready_after)
    budget = lifecycle.Budget.for_seconds(900, clock=lambda: clock.now, sleep=clock.sleep)

    configuration = lifecycle.wait_until_active(service, ARN, budget)  # type: ignore[arg-type]

    assert configuration["PoolStatus"] == "ACTIVE"
    assert service.gets <= 5 + 1.2 * ready_after
    assert clock.now - ready_after <= lifecycle.MAX_POLL_DELAY + 2 * service.call_seconds


def test_the_wait_stops_when_the_budget_runs_out() -> None:
    clock = SimulatedClock()
    service = PoolTurningActive(clock, ready_after=1000)
    budget = lifecycle.Budget.for_seconds(30, clock=lambda: clock.now, sleep=clock.sleep)

    with pytest.raises(lifecycle.WaitTimeoutError, match="still CREATING") as raised:
        lifecycle.wait_until_active(service, ARN, budget)  # type: ignore[arg-type]

    assert raised.value.last_status == "CREATING"
    assert 30 <= clock.now <= 30 + 2 * service.call_seconds


def test_a_budget_already_spent_makes_no_call() -> None:
    clock = SimulatedClock()
    service = PoolTurningActive(clock, ready_after=0)

    with pytest.raises(lifecycle.WaitTimeoutError):
        lifecycle.wait_until_active(service, ARN, lifecycle.Budget.for_seconds(-5, clock=lambda: clock.now))  # type: ignore[arg-type]
    assert service.gets == 0


def test_the_token_is_stable_per_request_and_fits_the_service_pattern() -> None:
    stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1"
    token = lifecycle.client_request_token(stack, "Pool", "request-1")

    assert token == lifecycle.client_request_token(stack, "Pool", "request-1")
    assert token != lifecycle.client_request_token(stack, "Pool", "request-2")
    assert token != lifecycle.client_request_token(stack, "OtherPool", "request-1")
    assert re.fullmatch(r"[-_a-zA-Z0-9]{2,64}", token)
    assert "request-1" not in token


def test_pool_data_is_flat_strings_with_utc_timestamps() -> None:
    configuration: Any = {
        "PoolArn": ARN,
        "PoolName": "p",
        "PoolId": "id-1",
        "PoolStatus": "ACTIVE",
        "PoolSize": 3,
        "StreamConfiguration": {"Region": "eu-west-1", "DataRetentionInHours": 0},
        "CreatedTimestamp": datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
        "UpdatedTimestamp": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    }

    data = lifecycle.pool_data(configuration)

    assert data["PoolSize"] == "3"
    assert data["DataRetentionInHours"] == "0"
    assert data["CreatedTimestamp"] == "2024-05-01T12:00:00Z"
    assert data["UpdatedTimestamp"] == "2024-05-01T12:30:00Z"
    assert len(json.dumps(data)) < 4096


def test_a_delete_conflict_that_never_clears_fails_within_the_budget() -> None:
    clock = SimulatedClock()

    class AlwaysBusy:
        deletes = 0

        def list_tags_for_resource(self, ResourceARN: str) -> dict[str, Any]:
            return {"Tags": []}

        def get_media_pipeline_kinesis_video_stream_pool(self, Identifier: str) -> dict[str, Any]:
            return {"KinesisVideoStreamPoolConfiguration": {"PoolArn": Identifier, "PoolStatus": "UPDATING"}}

        def delete_media_pipeline_kinesis_video_stream_pool(self, Identifier: str) -> None:
            self.deletes += 1
            raise ClientError({"Error": {"Code": "ConflictException", "Message": "busy"}}, "Delete")

    service = AlwaysBusy()
    budget = lifecycle.Budget.for_seconds(5, clock=lambda: clock.now, sleep=clock.sleep)

    with pytest.raises(lifecycle.PoolError, match="ConflictException"):
        lifecycle.delete_pool(service, ARN, budget, owner=OWNER)  # type: ignore[arg-type]
    assert 1 < service.deletes <= 12
