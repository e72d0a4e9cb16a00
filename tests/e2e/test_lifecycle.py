"""The whole path: cdk.out asset -> awslambdaric -> handler -> emulator over HTTP -> response PUT."""

from __future__ import annotations

import boto3

from chime_kvs_pool.runtime import ownership, pool_rules

from .conftest import Cloud
from .stacks import REGION

POOL = "PoolD3F588B8"  # the logical id CDK gives the custom resource of construct "Pool"


def _pool(cloud: Cloud, name: str) -> dict[str, object]:
    return next(pool for pool in cloud.emulator.leftover_pools() if pool["PoolName"] == name)


def _custom_requests(cloud: Cloud, request_type: str) -> list[dict[str, object]]:
    return [r for r in cloud.requests() if r["RequestType"] == request_type]


def test_create_publishes_outputs_and_sends_string_properties(cloud: Cloud) -> None:
    stack = cloud.deploy("Basic")

    assert stack.status == "CREATE_COMPLETE"
    pool = _pool(cloud, "e2e-basic")
    assert stack.outputs["PoolArn"] == pool["PoolArn"]
    assert stack.outputs["PoolId"] == pool["PoolId"]
    assert pool["PoolStatus"] == "ACTIVE"
    # The declared tags, and the owner record: this stack's logical resource created the pool.
    owner = ownership.created_by(ownership.Owner.of(stack.stack_id, POOL))
    assert pool["Tags"] == {"team": "media", pool_rules.OWNER_TAG_KEY: owner}
    (create,) = _custom_requests(cloud, "Create")
    properties = create["ResourceProperties"]
    assert isinstance(properties, dict)
    assert properties["StreamConfiguration"] == {"Region": REGION, "DataRetentionInHours": "24"}
    assert properties["WaitTimeoutSeconds"] == "60"
    # The function ran from the published copy of the cdk.out asset, not from the source tree.
    function = next(r for r in stack.resources.values() if r.resource_type == "AWS::Lambda::Function")
    assert function.code_dir is not None and "asset." in function.code_dir
    cloud.assert_no_leak("E2eBasic")


def test_redeploy_without_changes_sends_nothing(cloud: Cloud) -> None:
    cloud.deploy("Basic")
    sent = len(cloud.requests())
    calls = len(cloud.emulator.request_log)

    stack = cloud.deploy("Basic")

    assert stack.status == "UPDATE_COMPLETE"
    assert len(cloud.requests()) == sent
    assert len(cloud.emulator.request_log) == calls
    cloud.assert_no_leak("E2eBasic")


def test_retention_update_is_in_place(cloud: Cloud) -> None:
    arn = cloud.deploy("Basic").outputs["PoolArn"]

    stack = cloud.deploy("BasicRetention")

    assert stack.status == "UPDATE_COMPLETE"
    assert stack.outputs["PoolArn"] == arn
    (update,) = _custom_requests(cloud, "Update")
    assert update["PhysicalResourceId"] == arn
    assert update["OldResourceProperties"]["StreamConfiguration"]["DataRetentionInHours"] == "24"  # type: ignore[index]
    assert _pool(cloud, "e2e-basic")["StreamConfiguration"]["DataRetentionInHours"] == 48  # type: ignore[index]
    assert not _custom_requests(cloud, "Delete")
    cloud.assert_no_leak("E2eBasic")


def test_tag_update_changes_only_the_tags(cloud: Cloud) -> None:
    arn = cloud.deploy("Basic").outputs["PoolArn"]

    stack = cloud.deploy("BasicTags")

    assert stack.status == "UPDATE_COMPLETE"
    assert stack.outputs["PoolArn"] == arn
    tags = _pool(cloud, "e2e-basic")["Tags"]
    assert isinstance(tags, dict) and pool_rules.OWNER_TAG_KEY in tags
    assert {key: value for key, value in tags.items() if key != pool_rules.OWNER_TAG_KEY} == {
        "team": "video",
        "env": "test",
    }
    cloud.assert_no_leak("E2eBasic")


def test_rename_replaces_and_deletes_the_old_pool_in_cleanup(cloud: Cloud) -> None:
    old_arn = cloud.deploy("Basic").outputs["PoolArn"]

    stack = cloud.deploy("BasicRenamed")

    assert stack.status == "UPDATE_COMPLETE"
    assert stack.outputs["PoolArn"] != old_arn
    assert cloud.pool_names() == ["e2e-basic-renamed"]
    (delete,) = _custom_requests(cloud, "Delete")
    assert delete["PhysicalResourceId"] == old_arn
    assert delete["ResourceProperties"]["PoolName"] == "e2e-basic"  # type: ignore[index]
    # The old pool goes only after the stack's update is through (the cleanup phase).
    statuses = [e.status for e in cloud.events]
    assert statuses.index("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS") < len(statuses) - 1
    cleanup_at = statuses.index("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    assert "DELETE_COMPLETE" in statuses[cleanup_at:]
    cloud.assert_no_leak("E2eBasic")

    assert cloud.destroy("E2eBasic").status == "DELETE_COMPLETE"  # type: ignore[union-attr]
    assert cloud.pool_names() == []


def test_failed_pool_rolls_back_the_create(cloud: Cloud) -> None:
    cloud.emulator.fail_pool_on_create("e2e-fails")

    stack = cloud.deploy("FailedCreate")

    assert stack.status == "ROLLBACK_COMPLETE"
    assert "CREATE_FAILED" in cloud.statuses(POOL)
    assert len(_custom_requests(cloud, "Create")) == 1
    (delete,) = _custom_requests(cloud, "Delete")
    # The rollback deletes the physical id the failed create reported: the real pool.
    assert delete["PhysicalResourceId"] == cloud.emulator.pool_arn(REGION, "e2e-fails")
    assert stack.resources == {}
    assert cloud.pool_names() == []
    cloud.assert_no_leak("E2eFailedCreate")


def test_lambda_timeout_fails_the_create_and_rolls_back(cloud: Cloud) -> None:
    # The create call hangs past the function's deadline: Lambda kills the invocation.
    cloud.emulator.faults.add("CreateMediaPipelineKinesisVideoStreamPool", "slow", delay=15)

    stack = cloud.deploy("TimedOut")

    assert stack.status == "ROLLBACK_COMPLETE"
    failed = next(e for e in cloud.events if e.status == "CREATE_FAILED")
    assert failed.reason
    assert _custom_requests(cloud, "Delete")
    cloud.assert_no_leak("E2eTimedOut")


def test_failed_update_rolls_back_with_old_and_new_swapped(cloud: Cloud) -> None:
    first_arn = cloud.deploy("Pair").outputs["FirstArn"]
    cloud.emulator.fail_pool_on_create("e2e-second-fails")

    stack = cloud.deploy("PairBroken")

    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    updates = _custom_requests(cloud, "Update")
    forward, back = updates
    assert forward["ResourceProperties"] == back["OldResourceProperties"]
    assert back["ResourceProperties"] == forward["OldResourceProperties"]
    assert back["PhysicalResourceId"] == first_arn
    assert _pool(cloud, "e2e-first")["StreamConfiguration"]["DataRetentionInHours"] == 24  # type: ignore[index]
    assert cloud.pool_names() == ["e2e-first"]
    assert stack.outputs["FirstArn"] == first_arn
    cloud.assert_no_leak("E2ePair")

    # The stack is usable afterwards: its old template is the deployed one.
    assert cloud.destroy("E2ePair").status == "DELETE_COMPLETE"  # type: ignore[union-attr]
    assert cloud.pool_names() == []


def test_destroy_succeeds_when_the_pool_is_already_gone(cloud: Cloud) -> None:
    arn = cloud.deploy("Basic").outputs["PoolArn"]
    client = boto3.client(
        "chime-sdk-media-pipelines",
        region_name=REGION,
        endpoint_url=cloud.cloud.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier=arn)

    stack = cloud.destroy("E2eBasic")

    assert stack is not None and stack.status == "DELETE_COMPLETE"
    assert cloud.state.load_stack("E2eBasic") is None
    cloud.assert_no_leak("E2eBasic")


def test_retain_policy_keeps_the_pool(cloud: Cloud) -> None:
    cloud.deploy("Kept")

    stack = cloud.destroy("E2eKept")

    assert stack is not None and stack.status == "DELETE_COMPLETE"
    assert "DELETE_SKIPPED" in cloud.statuses(POOL)
    assert not _custom_requests(cloud, "Delete")
    cloud.assert_no_leak("E2eKept", also_kept=("e2e-kept",))


def test_two_pools_share_one_function(cloud: Cloud) -> None:
    stack = cloud.deploy("Two")

    assert stack.status == "CREATE_COMPLETE"
    functions = [r for r in stack.resources.values() if r.resource_type == "AWS::Lambda::Function"]
    assert len(functions) == 1
    tokens = {r["ServiceToken"] for r in cloud.requests()}
    assert tokens == {functions[0].attributes["Arn"]}
    assert sorted(cloud.pool_names()) == ["e2e-alpha", "e2e-beta"]
    cloud.assert_no_leak("E2eTwo")

    assert cloud.destroy("E2eTwo").status == "DELETE_COMPLETE"  # type: ignore[union-attr]
    assert cloud.pool_names() == []
    cloud.assert_no_leak("E2eTwo")
