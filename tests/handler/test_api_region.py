"""ApiRegion: the pool is managed through the Chime SDK Media Pipelines API of another Region.

Real boto3 clients sign each request for their Region; the emulator records that Region, so these
tests see which Region's API each call went to.
"""

from __future__ import annotations

import pytest

from .conftest import CloudFormation, pool_properties


def regions_called(cfn: CloudFormation) -> set[str]:
    return {record.region for record in cfn.backend.request_log if record.service == "chime"}


def test_create_and_delete_go_to_the_api_region(cfn: CloudFormation) -> None:
    properties = pool_properties("far-pool", region="us-east-1", ApiRegion="eu-central-1")
    created = cfn.create(properties)

    assert created["Status"] == "SUCCESS", created["Reason"]
    arn = created["PhysicalResourceId"]
    assert arn.split(":")[3] == "eu-central-1"
    assert created["Data"]["StreamRegion"] == "us-east-1"
    assert regions_called(cfn) == {"eu-central-1"}

    cfn.forget_calls()
    # A Delete finds the pool from its ARN, even when the properties say nothing of the Region.
    deleted = cfn.delete(arn, pool_properties("far-pool"))
    assert deleted["Status"] == "SUCCESS", deleted["Reason"]
    assert regions_called(cfn) == {"eu-central-1"}
    assert cfn.backend.leftover_pools() == []


def test_an_update_in_the_api_region_is_in_place(cfn: CloudFormation) -> None:
    old = pool_properties("far-pool", ApiRegion="eu-central-1")
    arn = cfn.create(old)["PhysicalResourceId"]
    new = pool_properties("far-pool", retention="48", ApiRegion="eu-central-1")

    updated = cfn.update(arn, new, old)

    assert updated["Status"] == "SUCCESS", updated["Reason"]
    assert updated["PhysicalResourceId"] == arn
    assert updated["Data"]["DataRetentionInHours"] == "48"


def test_moving_a_pool_to_another_api_region_fails_fast_without_a_mutating_call(cfn: CloudFormation) -> None:
    old = pool_properties("far-pool", ApiRegion="eu-central-1")
    arn = cfn.create(old)["PhysicalResourceId"]
    cfn.forget_calls()

    response = cfn.update(arn, pool_properties("far-pool", ApiRegion="us-west-2"), old)

    assert response["Status"] == "FAILED"
    assert "ApiRegion cannot change from eu-central-1 to us-west-2" in response["Reason"]
    assert cfn.mutating_calls() == []


def test_an_invalid_api_region_is_refused_before_any_call(cfn: CloudFormation) -> None:
    response = cfn.create(pool_properties(ApiRegion="Europe"))

    assert response["Status"] == "FAILED"
    assert "ApiRegion" in response["Reason"]
    assert cfn.mutating_calls() == []


def test_the_pool_lives_only_in_the_api_region(cfn: CloudFormation) -> None:
    """Endpoints are regional: the function's own Region does not know the pool, even by its ARN,
    so every call the handler makes for it must go to the ApiRegion."""
    properties = pool_properties("far-pool", ApiRegion="eu-central-1", tags={"a": "1"})
    arn = cfn.create(properties)["PhysicalResourceId"]
    home = cfn.emulator.client_for("us-east-1")
    with pytest.raises(home.exceptions.NotFoundException):
        home.get_media_pipeline_kinesis_video_stream_pool(Identifier=arn)
    cfn.forget_calls()

    updated = cfn.update(
        arn, pool_properties("far-pool", ApiRegion="eu-central-1", tags={"b": "2"}), properties
    )
    assert updated["Status"] == "SUCCESS", updated["Reason"]
    assert regions_called(cfn) == {"eu-central-1"}
    away = cfn.emulator.client_for("eu-central-1")
    tags = {tag["Key"]: tag["Value"] for tag in away.list_tags_for_resource(ResourceARN=arn)["Tags"]}
    assert tags.get("b") == "2" and "a" not in tags


def test_a_pool_of_the_same_name_in_the_functions_region_is_another_pool(cfn: CloudFormation) -> None:
    home = cfn.emulator.client_for("us-east-1")
    home.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="twin", StreamConfiguration={"Region": "us-east-1"}
    )
    properties = pool_properties("twin", ApiRegion="eu-central-1")
    created = cfn.create(properties)
    assert created["Status"] == "SUCCESS", created["Reason"]

    deleted = cfn.delete(created["PhysicalResourceId"], properties)

    assert deleted["Status"] == "SUCCESS", deleted["Reason"]
    assert [(p["PoolName"], p["Region"]) for p in cfn.backend.leftover_pools()] == [("twin", "us-east-1")]
