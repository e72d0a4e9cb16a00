"""The handler's switches, through crhelper, real boto3 clients and the emulator over HTTP:
the service-linked role (EnsureServiceLinkedRole), taking over a pool (AdoptExisting) and deleting
a deleted pool's streams (DeleteStreamsOnDelete)."""

from __future__ import annotations

from typing import Any

from chime_kvs_pool.runtime import ownership, pool_rules

from .conftest import OWNER, CloudFormation, pool_properties, user_tags

ROLE = "AWSServiceRoleForAmazonChimeSDKMediaPipelines"


def services_called(cfn: CloudFormation, service: str) -> list[str]:
    return [record.operation for record in cfn.backend.request_log if record.service == service]


def existing_pool(cfn: CloudFormation, name: str, region: str = "us-east-1", **extra: Any) -> dict[str, Any]:
    """A pool made outside the stack (by hand, by another tool), ACTIVE."""
    client = cfn.emulator.client
    client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=name, StreamConfiguration={"Region": region, **extra.pop("stream", {})}, **extra
    )
    configuration: dict[str, Any] = client.get_media_pipeline_kinesis_video_stream_pool(Identifier=name)[
        "KinesisVideoStreamPoolConfiguration"
    ]
    return configuration


def live_tags(cfn: CloudFormation, arn: str) -> dict[str, str]:
    tags = cfn.emulator.client.list_tags_for_resource(ResourceARN=arn)["Tags"]
    return {tag["Key"]: tag["Value"] for tag in tags}


# ----- EnsureServiceLinkedRole -----


def test_first_create_in_a_fresh_account_creates_the_role_once(cfn: CloudFormation) -> None:
    first = cfn.create(pool_properties("first", EnsureServiceLinkedRole="true"))
    second = cfn.create(pool_properties("second", EnsureServiceLinkedRole="true"))

    assert first["Status"] == second["Status"] == "SUCCESS"
    assert cfn.backend.role_names() == [ROLE]
    attempts = cfn.backend.calls("CreateServiceLinkedRole")
    assert [(call.status, call.error) for call in attempts] == [
        (200, None),
        (400, "InvalidInputException"),  # "has been taken": the second Create goes on regardless
    ]
    assert attempts[0].params == {"AWSServiceName": "mediapipelines.chime.amazonaws.com"}


def test_an_existing_role_is_no_failure(cfn: CloudFormation) -> None:
    cfn.backend.add_service_linked_role()
    response = cfn.create(pool_properties(EnsureServiceLinkedRole="true"))
    assert response["Status"] == "SUCCESS"
    assert len(cfn.backend.leftover_pools()) == 1


def test_an_absent_switch_ensures_the_role_as_the_construct_default_does(cfn: CloudFormation) -> None:
    response = cfn.create(pool_properties("plain"))

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert services_called(cfn, "iam") == ["CreateServiceLinkedRole"]
    assert cfn.backend.role_names() == [ROLE]


def test_opting_out_makes_no_iam_call(cfn: CloudFormation) -> None:
    response = cfn.create(pool_properties(EnsureServiceLinkedRole="false"))
    assert response["Status"] == "SUCCESS"
    assert services_called(cfn, "iam") == []
    assert cfn.backend.role_names() == []


def test_updates_and_deletes_never_touch_the_role(cfn: CloudFormation) -> None:
    old = pool_properties(EnsureServiceLinkedRole="true")
    created = cfn.create(old)
    cfn.forget_calls()
    new = pool_properties(retention="48", EnsureServiceLinkedRole="true")
    assert cfn.update(created["PhysicalResourceId"], new, old)["Status"] == "SUCCESS"
    assert cfn.delete(created["PhysicalResourceId"], new)["Status"] == "SUCCESS"
    assert services_called(cfn, "iam") == []


def test_a_denied_role_creation_is_not_fatal(cfn: CloudFormation) -> None:
    cfn.backend.deny_access_key("testing", "CreateServiceLinkedRole")
    response = cfn.create(pool_properties(EnsureServiceLinkedRole="true"))
    assert response["Status"] == "SUCCESS"
    assert len(cfn.backend.leftover_pools()) == 1


def test_a_create_that_fails_after_a_denied_role_says_so_first(cfn: CloudFormation) -> None:
    existing_pool(cfn, "taken")
    cfn.backend.deny_access_key("testing", "CreateServiceLinkedRole")
    response = cfn.create(pool_properties("taken", EnsureServiceLinkedRole="true"))
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith("service-linked role not ensured (AccessDenied)")
    assert "already exists" in response["Reason"]


# ----- AdoptExisting -----


def test_a_taken_name_fails_without_adopt_and_leaves_the_pool_alone(cfn: CloudFormation) -> None:
    pool = existing_pool(cfn, "taken", Tags=[{"Key": "owner", "Value": "someone"}])
    cfn.forget_calls()

    response = cfn.create(pool_properties("taken", tags={"owner": "stack"}))

    assert response["Status"] == "FAILED"
    assert "already exists" in response["Reason"] and "AdoptExisting" in response["Reason"]
    assert response["PhysicalResourceId"] != pool["PoolArn"], "rollback would delete a pool not ours"
    assert cfn.mutating_calls() == ["CreateMediaPipelineKinesisVideoStreamPool"]
    assert live_tags(cfn, pool["PoolArn"]) == {"owner": "someone"}


def test_adopt_takes_the_pool_over_and_converges_retention_and_tags(cfn: CloudFormation) -> None:
    pool = existing_pool(
        cfn,
        "legacy",
        stream={"DataRetentionInHours": 24},
        Tags=[{"Key": "team", "Value": "old"}, {"Key": "undeclared", "Value": "x"}],
    )
    properties = pool_properties(
        "legacy", retention="48", tags={"team": "media", "env": "prod"}, AdoptExisting="true"
    )

    response = cfn.create(properties)

    assert response["Status"] == "SUCCESS", response.get("Reason")
    assert response["PhysicalResourceId"] == pool["PoolArn"]
    assert response["Data"]["PoolId"] == pool["PoolId"]
    assert response["Data"]["DataRetentionInHours"] == "48"
    assert response["Data"]["PoolStatus"] == "ACTIVE"
    (only,) = cfn.backend.leftover_pools()
    assert only["PoolArn"] == pool["PoolArn"]
    assert only["StreamConfiguration"]["DataRetentionInHours"] == 48
    assert user_tags(live_tags(cfn, pool["PoolArn"])) == {"team": "media", "env": "prod"}
    assert live_tags(cfn, pool["PoolArn"])[pool_rules.OWNER_TAG_KEY] == ownership.adoption(OWNER, None)


def test_adopt_changes_nothing_that_already_matches(cfn: CloudFormation) -> None:
    pool = existing_pool(cfn, "same", stream={"DataRetentionInHours": 24}, Tags=[{"Key": "a", "Value": "1"}])
    cfn.forget_calls()
    response = cfn.create(pool_properties("same", retention="24", tags={"a": "1"}, AdoptExisting="true"))
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == pool["PoolArn"]
    # The refused Create, then the adoption recorded in the owner tag (nothing else changes).
    assert cfn.mutating_calls() == ["CreateMediaPipelineKinesisVideoStreamPool", "TagResource"]
    (tag,) = cfn.backend.calls("TagResource")
    assert [item["Key"] for item in tag.params["Tags"]] == [pool_rules.OWNER_TAG_KEY]


def test_adopt_refuses_a_pool_whose_streams_are_in_another_region(cfn: CloudFormation) -> None:
    pool = existing_pool(cfn, "elsewhere", region="us-west-2", Tags=[{"Key": "a", "Value": "1"}])
    cfn.forget_calls()

    response = cfn.create(pool_properties("elsewhere", region="us-east-1", AdoptExisting="true"))

    assert response["Status"] == "FAILED"
    assert "us-west-2" in response["Reason"] and "us-east-1" in response["Reason"]
    assert response["PhysicalResourceId"] != pool["PoolArn"]
    assert cfn.mutating_calls() == ["CreateMediaPipelineKinesisVideoStreamPool"]
    assert live_tags(cfn, pool["PoolArn"]) == {"a": "1"}


def test_adopt_refuses_a_pool_being_deleted(cfn: CloudFormation) -> None:
    existing_pool(cfn, "leaving")
    cfn.backend.hold_deletion("leaving")
    cfn.emulator.client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="leaving")

    response = cfn.create(pool_properties("leaving", AdoptExisting="true"))

    assert response["Status"] == "FAILED"
    assert "being deleted" in response["Reason"]


def test_adopt_with_no_pool_of_that_name_simply_creates_one(cfn: CloudFormation) -> None:
    response = cfn.create(pool_properties("fresh", AdoptExisting="true"))
    assert response["Status"] == "SUCCESS"
    assert [p["PoolName"] for p in cfn.backend.leftover_pools()] == ["fresh"]


# ----- DeleteStreamsOnDelete -----


def _pool_with_streams(
    cfn: CloudFormation, name: str, count: int, region: str = "us-west-2", **extra: Any
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    properties = pool_properties(name, region=region, **extra)
    created = cfn.create(properties)
    assert created["Status"] == "SUCCESS"
    names = cfn.backend.add_streams(name, count)
    return created, names, properties


def test_cleanup_deletes_exactly_this_pools_streams_once_it_is_gone(
    cfn: CloudFormation, active_pool_streams: str
) -> None:
    ours, our_streams, properties = _pool_with_streams(cfn, "demo", 3, DeleteStreamsOnDelete="true")
    # Another pool whose name shares our name's prefix: "ChimeMediaPipelines-demo-" matches both.
    _, neighbour_streams, _ = _pool_with_streams(cfn, "demo-2", 2)
    unrelated = "ChimeMediaPipelines-demo-not-a-pool"
    cfn.backend.add_stream(unrelated, region="us-west-2")
    assert set(our_streams) <= set(cfn.backend.stream_names("us-west-2"))

    response = cfn.delete(ours["PhysicalResourceId"], properties)

    assert response["Status"] == "SUCCESS"
    assert "deleted its 3 Kinesis video streams" in response["Reason"]
    assert cfn.backend.stream_names() == sorted([*neighbour_streams, unrelated])
    # Streams went only after the pool: every DeleteStream succeeded (the emulator refuses earlier).
    deletions = cfn.backend.calls("DeleteStream")
    assert len(deletions) == 3 and all(call.error is None for call in deletions)
    assert all(call.region == "us-west-2" for call in deletions)
    assert [p["PoolName"] for p in cfn.backend.leftover_pools()] == ["demo-2"]


def test_cleanup_follows_list_pages(cfn: CloudFormation, active_pool_streams: str) -> None:
    cfn.backend.stream_page_size = 2
    ours, _, properties = _pool_with_streams(cfn, "paged", 5, DeleteStreamsOnDelete="true")

    response = cfn.delete(ours["PhysicalResourceId"], properties)

    assert response["Status"] == "SUCCESS"
    assert cfn.backend.stream_names() == []
    assert len(cfn.backend.calls("ListStreams")) == 3


def test_a_held_deletion_keeps_the_streams_and_says_so(cfn: CloudFormation, active_pool_streams: str) -> None:
    ours, our_streams, properties = _pool_with_streams(
        cfn, "held", 2, DeleteStreamsOnDelete="true", WaitTimeoutSeconds="1"
    )
    cfn.backend.hold_deletion("held")

    response = cfn.delete(ours["PhysicalResourceId"], properties)

    assert response["Status"] == "SUCCESS"
    pool_id = ours["Data"]["PoolId"]
    assert "still DELETING" in response["Reason"]
    assert f"streams of PoolId {pool_id} kept" in response["Reason"]
    assert cfn.backend.stream_names() == sorted(our_streams)
    assert services_called(cfn, "kinesisvideo") == []


def test_without_the_switch_streams_stay(cfn: CloudFormation, active_pool_streams: str) -> None:
    ours, our_streams, properties = _pool_with_streams(cfn, "plain", 2)
    assert cfn.delete(ours["PhysicalResourceId"], properties)["Status"] == "SUCCESS"
    assert cfn.backend.stream_names() == sorted(our_streams)
    assert services_called(cfn, "kinesisvideo") == []


def test_a_pool_already_gone_cannot_have_its_streams_matched(
    cfn: CloudFormation, active_pool_streams: str
) -> None:
    ours, our_streams, properties = _pool_with_streams(cfn, "gone", 1, DeleteStreamsOnDelete="true")
    cfn.emulator.client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="gone")

    response = cfn.delete(ours["PhysicalResourceId"], properties)

    assert response["Status"] == "SUCCESS"
    assert "already gone" in response["Reason"] and "PoolId is unknown" in response["Reason"]
    assert "ChimeMediaPipelines-gone-<uuid>-*" in response["Reason"], "where to look for them"
    assert cfn.backend.stream_names() == our_streams


def test_an_unreadable_switch_on_delete_never_deletes_streams(
    cfn: CloudFormation, active_pool_streams: str
) -> None:
    ours, our_streams, properties = _pool_with_streams(cfn, "odd", 1)
    properties = {**properties, "DeleteStreamsOnDelete": "yes please"}
    assert cfn.delete(ours["PhysicalResourceId"], properties)["Status"] == "SUCCESS"
    assert cfn.backend.stream_names() == our_streams


# ----- the switches as properties -----


def test_switches_accept_cloudformation_booleans_and_refuse_anything_else(cfn: CloudFormation) -> None:
    assert cfn.create(pool_properties("a", AdoptExisting="True"))["Status"] == "SUCCESS"
    response = cfn.create(
        pool_properties("b", EnsureServiceLinkedRole="1", DeleteStreamsOnDelete="maybe", AdoptExisting="no")
    )
    assert response["Status"] == "FAILED"
    reason = response["Reason"]
    for prop in ("EnsureServiceLinkedRole", "AdoptExisting", "DeleteStreamsOnDelete"):
        assert prop in reason
    assert cfn.mutating_calls() == ["CreateMediaPipelineKinesisVideoStreamPool"]  # only pool "a"
