"""Create requests through the real handler, crhelper, boto3 and the emulator over loopback HTTP."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from chime_kvs_pool.runtime import ownership, pool_rules

from .conftest import OWNER, CloudFormation, pool_properties, user_tags

CREATE = "CreateMediaPipelineKinesisVideoStreamPool"
GET = "GetMediaPipelineKinesisVideoStreamPool"
DATA_KEYS = {
    "PoolArn",
    "PoolId",
    "PoolName",
    "PoolStatus",
    "PoolSize",
    "StreamRegion",
    "DataRetentionInHours",
    "CreatedTimestamp",
    "UpdatedTimestamp",
}


def test_create_reports_the_pool_arn_and_full_data(cfn: CloudFormation) -> None:
    cfn.backend.create_delay = 0.3
    response = cfn.create(pool_properties(name="media-pool", retention="24", tags={"team": "media"}))

    assert response["Status"] == "SUCCESS", response["Reason"]
    arn = response["PhysicalResourceId"]
    assert pool_rules.is_pool_arn(arn) and arn.endswith("/media-pool")
    data = response["Data"]
    assert set(data) == DATA_KEYS
    assert all(isinstance(value, str) for value in data.values())
    assert data["PoolArn"] == arn
    assert data["PoolName"] == "media-pool"
    assert data["PoolStatus"] == "ACTIVE"
    assert data["StreamRegion"] == "us-east-1"
    assert data["DataRetentionInHours"] == "24"
    assert data["PoolSize"] == "0"
    for stamp in (data["CreatedTimestamp"], data["UpdatedTimestamp"]):
        assert stamp.endswith("Z")
        assert datetime.fromisoformat(stamp).utcoffset() is not None

    (create,) = cfn.backend.calls(CREATE)
    assert create.params["PoolName"] == "media-pool"
    assert create.params["StreamConfiguration"] == {"Region": "us-east-1", "DataRetentionInHours": 24}
    # The declared tags, plus the owner record in the same request (no pool exists without it).
    assert create.params["Tags"] == [
        {"Key": "team", "Value": "media"},
        {"Key": pool_rules.OWNER_TAG_KEY, "Value": ownership.created_by(OWNER)},
    ]
    assert re.fullmatch(r"[-_a-zA-Z0-9]{2,64}", create.params["ClientRequestToken"])
    (pool,) = cfn.backend.leftover_pools()
    assert pool["PoolStatus"] == "ACTIVE" and user_tags(pool["Tags"]) == {"team": "media"}


def test_create_without_retention_or_tags_sends_no_retention_and_only_the_owner_tag(
    cfn: CloudFormation,
) -> None:
    response = cfn.create(pool_properties(retention=None))

    assert response["Status"] == "SUCCESS", response["Reason"]
    (create,) = cfn.backend.calls(CREATE)
    assert create.params["StreamConfiguration"] == {"Region": "us-east-1"}
    assert [tag["Key"] for tag in create.params["Tags"]] == [pool_rules.OWNER_TAG_KEY]


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        (pool_properties(name="has space"), "PoolName"),
        (pool_properties(name="x" * 129), "PoolName"),
        (pool_properties(region="Mars"), "StreamConfiguration.Region"),
        (pool_properties(retention="24.5"), "StreamConfiguration.DataRetentionInHours"),
        (pool_properties(retention="-1"), "StreamConfiguration.DataRetentionInHours"),
        (pool_properties(retention=""), "StreamConfiguration.DataRetentionInHours"),
        (pool_properties(tags={"aws:owner": "me"}), "Tags"),
        (pool_properties(WaitTimeoutSeconds="forever"), "WaitTimeoutSeconds"),
        (pool_properties(Colour="blue"), "Colour"),
        ({"ServiceToken": "x", "StreamConfiguration": {"Region": "us-east-1"}}, "PoolName is required"),
    ],
)
def test_invalid_properties_fail_without_any_call_and_delete_is_a_no_op(
    cfn: CloudFormation, properties: dict[str, Any], named: str
) -> None:
    response = cfn.create(properties)

    assert response["Status"] == "FAILED"
    assert named in response["Reason"]
    assert len(response["Reason"]) <= 256
    assert cfn.calls() == []
    # crhelper made up a PhysicalResourceId; CloudFormation's rollback deletes it: no call, SUCCESS.
    made_up = response["PhysicalResourceId"]
    assert not pool_rules.is_pool_arn(made_up)
    deleted = cfn.delete(made_up, properties)
    assert deleted["Status"] == "SUCCESS"
    assert deleted["PhysicalResourceId"] == made_up
    assert cfn.calls() == []


def test_every_invalid_property_is_named_in_one_reason(cfn: CloudFormation) -> None:
    response = cfn.create(pool_properties(name="bad name!", region="nowhere", retention="abc"))

    assert response["Status"] == "FAILED"
    for prop in ("PoolName", "StreamConfiguration.Region", "StreamConfiguration.DataRetentionInHours"):
        assert prop in response["Reason"]


def test_a_retried_request_reuses_its_token_and_makes_no_second_pool(cfn: CloudFormation) -> None:
    properties = pool_properties()
    first = cfn.create(properties, request_id="retried-request")
    again = cfn.create(properties, request_id="retried-request")

    assert first["Status"] == again["Status"] == "SUCCESS"
    assert first["PhysicalResourceId"] == again["PhysicalResourceId"]
    tokens = {call.params["ClientRequestToken"] for call in cfn.backend.calls(CREATE)}
    assert len(cfn.backend.calls(CREATE)) == 2 and len(tokens) == 1
    assert len(cfn.backend.leftover_pools()) == 1


def test_a_taken_name_fails_clearly_and_leaves_the_other_pool_alone(cfn: CloudFormation) -> None:
    cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="taken", StreamConfiguration={"Region": "us-east-1"}
    )
    cfn.forget_calls()

    response = cfn.create(pool_properties(name="taken"))

    assert response["Status"] == "FAILED"
    assert "a pool named taken already exists in region us-east-1" in response["Reason"]
    assert not pool_rules.is_pool_arn(response["PhysicalResourceId"])
    assert cfn.mutating_calls() == [CREATE]
    assert len(cfn.backend.leftover_pools()) == 1


def test_a_pool_that_fails_still_reports_its_arn_so_rollback_deletes_it(cfn: CloudFormation) -> None:
    cfn.backend.create_delay = 0.2
    cfn.backend.fail_pool_on_create("doomed")

    response = cfn.create(pool_properties(name="doomed"))

    assert response["Status"] == "FAILED"
    assert "FAILED" in response["Reason"]
    arn = response["PhysicalResourceId"]
    assert pool_rules.is_pool_arn(arn) and arn.endswith("/doomed")
    assert cfn.delete(arn, pool_properties(name="doomed"))["Status"] == "SUCCESS"
    assert cfn.backend.leftover_pools() == []


def test_the_wait_timeout_fails_the_create_but_reports_the_arn(cfn: CloudFormation) -> None:
    cfn.backend.create_delay = 120
    response = cfn.create(pool_properties(WaitTimeoutSeconds="1"))

    assert response["Status"] == "FAILED"
    assert "still CREATING" in response["Reason"]
    assert pool_rules.is_pool_arn(response["PhysicalResourceId"])


def test_the_lambda_deadline_bounds_the_wait_too(cfn: CloudFormation) -> None:
    cfn.backend.create_delay = 120
    # 6.5 s left, of which the handler keeps 5 s back to report: it waits about 1.5 s, not 300 s.
    response = cfn.create(pool_properties(), lambda_seconds=6.5)

    assert response["Status"] == "FAILED"
    assert "still CREATING" in response["Reason"]
    assert pool_rules.is_pool_arn(response["PhysicalResourceId"])
    assert len(cfn.backend.calls(GET)) <= 5


@pytest.mark.parametrize("fault", ["throttle", "unavailable", "service_failure", "drop", "drop_after"])
def test_throttling_server_errors_and_dropped_connections_are_retried(
    cfn: CloudFormation, fault: str
) -> None:
    cfn.backend.faults.add(CREATE, fault, count=1)
    cfn.backend.faults.add(GET, fault, count=1)

    response = cfn.create(pool_properties())

    assert response["Status"] == "SUCCESS", response["Reason"]
    creates = cfn.backend.calls(CREATE)
    assert len(creates) == 2
    assert len({call.params["ClientRequestToken"] for call in creates}) == 1
    assert len(cfn.backend.leftover_pools()) == 1
    assert response["PhysicalResourceId"] == cfn.backend.leftover_pools()[0]["PoolArn"]


def test_a_request_in_flight_when_crhelper_times_out_gets_one_response(cfn: CloudFormation) -> None:
    # crhelper's timer answers 0.5 s before the deadline while the Create is still in flight; the
    # handler's own answer afterwards must not be sent as a second response.
    cfn.backend.faults.add(CREATE, "slow", delay=1.5)
    response = cfn.create(pool_properties(), lambda_seconds=1.0)

    assert response["Status"] == "FAILED"
    assert "timed out" in response["Reason"]
