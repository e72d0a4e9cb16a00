"""The handler passes both sides of every emulator switch (what the service's docs leave open).

Each test runs one handler path under each side of the switch it depends on; the handler must reach
the same honest outcome either way. See docs/emulator.md, "Switches".
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from .conftest import CloudFormation, pool_properties

DELETE = "DeleteMediaPipelineKinesisVideoStreamPool"


def created(cfn: CloudFormation, properties: dict[str, Any]) -> str:
    response = cfn.create(properties)
    assert response["Status"] == "SUCCESS", response["Reason"]
    return str(response["PhysicalResourceId"])


# ----- delete_deleting_pool: a Delete that finds the pool already DELETING -----


@pytest.mark.parametrize("side", ["accept", "conflict"])
def test_a_repeated_delete_of_a_held_pool_succeeds_and_says_it_is_deleting(
    cfn: CloudFormation, side: str
) -> None:
    """CloudFormation repeats a Delete whose first invocation never answered; the pool is DELETING
    (meetings still use it). Either answer of the service means deletion in progress."""
    properties = pool_properties("in-use", WaitTimeoutSeconds="1")
    arn = created(cfn, properties)
    cfn.backend.hold_deletion("in-use")
    cfn.emulator.client.delete_media_pipeline_kinesis_video_stream_pool(Identifier=arn)  # the first try
    cfn.backend.switches.delete_deleting_pool = side
    cfn.forget_calls()

    response = cfn.delete(arn, properties)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert "still DELETING" in response["Reason"]
    assert [p["PoolStatus"] for p in cfn.backend.leftover_pools()] == ["DELETING"]
    assert {call.error for call in cfn.backend.calls(DELETE)} <= {None, "ConflictException"}


@pytest.mark.parametrize("side", ["accept", "conflict"])
def test_a_delete_that_finds_the_pool_deleting_waits_until_it_is_gone(cfn: CloudFormation, side: str) -> None:
    properties = pool_properties("leaving")
    arn = created(cfn, properties)
    cfn.backend.hold_deletion("leaving")
    cfn.emulator.client.delete_media_pipeline_kinesis_video_stream_pool(Identifier=arn)
    cfn.backend.switches.delete_deleting_pool = side
    # Meetings end a moment after the handler starts waiting.
    release = threading.Timer(1.0, cfn.backend.release_deletion, args=("leaving",))
    release.start()
    try:
        response = cfn.delete(arn, properties)
    finally:
        release.join()

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert "still" not in response["Reason"]
    assert cfn.backend.leftover_pools() == []


@pytest.mark.parametrize("side", ["accept", "conflict"])
def test_a_delete_retried_after_a_dropped_connection_succeeds(cfn: CloudFormation, side: str) -> None:
    """The service applied the Delete but the answer was lost; botocore retries into a pool that is
    already DELETING (issue 10 item 6)."""
    properties = pool_properties("dropped")
    arn = created(cfn, properties)
    cfn.backend.switches.delete_deleting_pool = side
    # Held, so that botocore's retry (after its own backoff) surely meets the pool DELETING; meetings
    # end a moment later.
    cfn.backend.hold_deletion("dropped")
    cfn.backend.faults.add(DELETE, "drop_after")
    cfn.forget_calls()
    release = threading.Timer(3.0, cfn.backend.release_deletion, args=("dropped",))
    release.start()
    try:
        response = cfn.delete(arn, properties)
    finally:
        release.join()

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert cfn.backend.leftover_pools() == []
    deletes = cfn.backend.calls(DELETE)
    assert deletes[0].fault == "drop_after" and len(deletes) >= 2
    expected_retry_error = "ConflictException" if side == "conflict" else None
    assert deletes[1].error == expected_retry_error


# ----- delete_stream_of_deleting_pool: streams are deleted only once the pool is gone -----


@pytest.mark.parametrize("side", ["refuse", "allow"])
def test_streams_of_a_held_pool_are_kept_whichever_the_service_allows(
    cfn: CloudFormation, active_pool_streams: str, side: str
) -> None:
    """Meetings may still record into the streams of a DELETING pool: the handler never deletes them
    then, even where the service would let it."""
    cfn.backend.switches.delete_stream_of_deleting_pool = side
    properties = pool_properties("held", DeleteStreamsOnDelete="true", WaitTimeoutSeconds="1")
    arn = created(cfn, properties)
    streams = cfn.backend.add_streams("held", 2)
    cfn.backend.hold_deletion("held")

    response = cfn.delete(arn, properties)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert "still DELETING" in response["Reason"] and "kept" in response["Reason"]
    assert cfn.backend.stream_names() == sorted(streams)
    assert cfn.backend.calls("DeleteStream") == []


@pytest.mark.parametrize("side", ["refuse", "allow"])
def test_streams_go_once_the_pool_is_gone_whichever_the_service_allows(
    cfn: CloudFormation, active_pool_streams: str, side: str
) -> None:
    cfn.backend.switches.delete_stream_of_deleting_pool = side
    properties = pool_properties("recorded", DeleteStreamsOnDelete="true")
    arn = created(cfn, properties)
    cfn.backend.add_streams("recorded", 3)
    cfn.backend.delete_delay = 0.3

    response = cfn.delete(arn, properties)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert "deleted its 3 Kinesis video streams" in response["Reason"]
    assert cfn.backend.stream_names() == []
    assert all(call.error is None for call in cfn.backend.calls("DeleteStream"))


# ----- pool_id_identifier: the handler always names a pool by its ARN -----


@pytest.mark.parametrize("side", ["refuse", "accept"])
def test_the_whole_lifecycle_names_pools_by_arn(cfn: CloudFormation, side: str) -> None:
    cfn.backend.switches.pool_id_identifier = side
    old = pool_properties("by-arn", tags={"a": "1"})
    arn = created(cfn, old)
    new = pool_properties("by-arn", retention="48", tags={"b": "2"})
    updated = cfn.update(arn, new, old)
    assert updated["Status"] == "SUCCESS", updated["Reason"]
    assert updated["Data"]["DataRetentionInHours"] == "48"
    deleted = cfn.delete(arn, new)
    assert deleted["Status"] == "SUCCESS", deleted["Reason"]
    assert cfn.backend.leftover_pools() == []

    pool_id = updated["Data"]["PoolId"]
    named = [
        record.params.get("Identifier") or record.params.get("ResourceARN")
        for record in cfn.backend.request_log
        if record.service == "chime" and not record.operation.startswith(("Create", "List"))
    ]
    assert named and pool_id not in named
    assert set(named) == {arn}


# ----- extra_regions: a stream Region botocore does not know -----


@pytest.mark.parametrize("allowed", [False, True], ids=["unknown", "allowed-by-switch"])
def test_a_region_botocore_does_not_know(cfn: CloudFormation, allowed: bool) -> None:
    """``mars-central-1`` fits the Region rule, so the handler asks the service, which refuses it
    unless the switch plays a Region newer than the pinned botocore."""
    if allowed:
        cfn.backend.switches.extra_regions = ["mars-central-1"]
    response = cfn.create(pool_properties("martian", region="mars-central-1"))

    if allowed:
        assert response["Status"] == "SUCCESS", response["Reason"]
        assert response["Data"]["StreamRegion"] == "mars-central-1"
    else:
        assert response["Status"] == "FAILED"
        assert "mars-central-1" in response["Reason"]
        assert cfn.backend.leftover_pools() == []
