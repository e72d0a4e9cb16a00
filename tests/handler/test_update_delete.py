"""Update and Delete requests through the real handler against the emulator."""

from __future__ import annotations

from typing import Any

from chime_kvs_pool.runtime import pool_rules

from .conftest import CloudFormation, pool_properties, user_tags

CREATE = "CreateMediaPipelineKinesisVideoStreamPool"
GET = "GetMediaPipelineKinesisVideoStreamPool"
UPDATE = "UpdateMediaPipelineKinesisVideoStreamPool"
DELETE = "DeleteMediaPipelineKinesisVideoStreamPool"
LIST_TAGS = "ListTagsForResource"


def _created(cfn: CloudFormation, properties: dict[str, Any]) -> str:
    response = cfn.create(properties)
    assert response["Status"] == "SUCCESS", response["Reason"]
    cfn.forget_calls()
    return str(response["PhysicalResourceId"])


def _live_pool(cfn: CloudFormation, arn: str) -> dict[str, Any]:
    pools: list[dict[str, Any]] = [pool for pool in cfn.backend.leftover_pools() if pool["PoolArn"] == arn]
    (pool,) = pools
    return pool


# ----- Update -----


def test_an_unchanged_update_makes_no_mutating_call_and_returns_full_data(cfn: CloudFormation) -> None:
    properties = pool_properties(tags={"team": "media"})
    arn = _created(cfn, properties)

    response = cfn.update(arn, properties, properties)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == arn
    assert response["Data"]["PoolArn"] == arn and response["Data"]["DataRetentionInHours"] == "24"
    assert cfn.calls() == [GET]


def test_a_retention_change_is_one_update_and_one_get(cfn: CloudFormation) -> None:
    old = pool_properties(retention="24", tags={"team": "media"})
    arn = _created(cfn, old)

    response = cfn.update(arn, pool_properties(retention="48", tags={"team": "media"}), old)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == arn
    assert response["Data"]["DataRetentionInHours"] == "48"
    assert response["Data"]["PoolStatus"] == "ACTIVE"
    # The difference comes from OldResourceProperties: no read before the Update.
    assert cfn.calls() == [UPDATE, GET]
    (update,) = cfn.backend.calls(UPDATE)
    assert update.params == {"Identifier": arn, "StreamConfiguration": {"DataRetentionInHours": 48}}


def test_a_retention_change_waits_for_active(cfn: CloudFormation) -> None:
    old = pool_properties(retention="24")
    arn = _created(cfn, old)
    cfn.backend.update_delay = 0.6

    response = cfn.update(arn, pool_properties(retention="48"), old)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["Data"]["PoolStatus"] == "ACTIVE"
    assert response["Data"]["DataRetentionInHours"] == "48"
    calls = cfn.calls()
    assert calls[0] == UPDATE and len(calls) >= 3 and set(calls[1:]) == {GET}
    assert [record.params["Identifier"] for record in cfn.backend.calls(GET)] == [arn] * (len(calls) - 1)


def test_a_retention_change_on_a_busy_pool_retries_the_conflict(cfn: CloudFormation) -> None:
    cfn.backend.create_delay = 0.6
    created = cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="busy", StreamConfiguration={"Region": "us-east-1", "DataRetentionInHours": 24}
    )
    arn = created["KinesisVideoStreamPoolConfiguration"]["PoolArn"]
    cfn.forget_calls()

    response = cfn.update(
        arn, pool_properties("busy", retention="48"), pool_properties("busy", retention="24")
    )

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["Data"]["DataRetentionInHours"] == "48"
    updates = cfn.backend.calls(UPDATE)
    assert updates[0].error == "ConflictException" and updates[-1].error is None
    assert _live_pool(cfn, arn)["StreamConfiguration"]["DataRetentionInHours"] == 48


def test_a_conflict_that_outlasts_the_budget_fails_and_says_what_state_the_pool_is_in(
    cfn: CloudFormation,
) -> None:
    cfn.backend.create_delay = 30.0
    created = cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="stuck", StreamConfiguration={"Region": "us-east-1", "DataRetentionInHours": 24}
    )
    arn = created["KinesisVideoStreamPoolConfiguration"]["PoolArn"]
    old = pool_properties("stuck", retention="24")

    response = cfn.update(arn, pool_properties("stuck", retention="48", WaitTimeoutSeconds="1"), old)

    assert response["Status"] == "FAILED"
    assert response["PhysicalResourceId"] == arn
    assert "still CREATING" in response["Reason"]
    assert cfn.backend.calls(UPDATE, succeeded=True) == []


def test_a_repeated_update_whose_change_is_under_way_converges_without_another_update(
    cfn: CloudFormation,
) -> None:
    old = pool_properties("moving", retention="24")
    arn = _created(cfn, old)
    # An earlier delivery of the same request started the change, then its invocation ended.
    cfn.backend.update_delay = 0.6
    cfn.emulator.client.update_media_pipeline_kinesis_video_stream_pool(
        Identifier=arn, StreamConfiguration={"DataRetentionInHours": 48}
    )
    cfn.forget_calls()

    response = cfn.update(arn, pool_properties("moving", retention="48"), old)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["Data"]["DataRetentionInHours"] == "48"
    assert response["Data"]["PoolStatus"] == "ACTIVE"
    assert [record.error for record in cfn.backend.calls(UPDATE)] == ["ConflictException"]


def test_a_tag_change_applies_only_the_difference(cfn: CloudFormation) -> None:
    old = pool_properties(tags={"keep": "1", "change": "2", "drop": "3"})
    arn = _created(cfn, old)

    new = pool_properties(tags={"keep": "1", "change": "20", "add": "4"})
    response = cfn.update(arn, new, old)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert cfn.calls() == ["UntagResource", "TagResource", GET]
    (untag,) = cfn.backend.calls("UntagResource")
    assert untag.params["TagKeys"] == ["drop"]
    (tag,) = cfn.backend.calls("TagResource")
    assert tag.params["Tags"] == [{"Key": "add", "Value": "4"}, {"Key": "change", "Value": "20"}]
    assert user_tags(_live_pool(cfn, arn)["Tags"]) == {"keep": "1", "change": "20", "add": "4"}


def test_a_name_change_replaces_the_pool(cfn: CloudFormation) -> None:
    old = pool_properties(name="first-name")
    old_arn = _created(cfn, old)

    response = cfn.update(old_arn, pool_properties(name="second-name"), old)

    assert response["Status"] == "SUCCESS", response["Reason"]
    new_arn = response["PhysicalResourceId"]
    assert new_arn != old_arn and new_arn.endswith("/second-name")
    assert response["Data"]["PoolName"] == "second-name"
    assert cfn.calls()[0] == CREATE and cfn.mutating_calls() == [CREATE]
    # CloudFormation deletes the old pool once the stack update completes.
    assert cfn.delete(old_arn, old)["Status"] == "SUCCESS"
    assert [pool["PoolArn"] for pool in cfn.backend.leftover_pools()] == [new_arn]


def test_a_region_change_with_a_new_name_replaces_the_pool(cfn: CloudFormation) -> None:
    old = pool_properties(name="east", region="us-east-1")
    old_arn = _created(cfn, old)

    response = cfn.update(old_arn, pool_properties(name="west", region="us-west-2"), old)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] != old_arn
    assert response["Data"]["StreamRegion"] == "us-west-2"
    assert cfn.mutating_calls() == [CREATE]


def test_a_region_change_under_the_same_name_fails_fast_without_a_change(cfn: CloudFormation) -> None:
    old = pool_properties(name="same", region="us-east-1")
    arn = _created(cfn, old)

    response = cfn.update(arn, pool_properties(name="same", region="eu-west-1"), old)

    assert response["Status"] == "FAILED"
    assert response["PhysicalResourceId"] == arn
    assert "StreamConfiguration.Region" in response["Reason"] and "PoolName" in response["Reason"]
    assert cfn.calls() == []


def test_invalid_new_properties_fail_the_update_without_a_change(cfn: CloudFormation) -> None:
    old = pool_properties()
    arn = _created(cfn, old)

    response = cfn.update(arn, pool_properties(retention="lots"), old)

    assert response["Status"] == "FAILED"
    assert response["PhysicalResourceId"] == arn
    assert "StreamConfiguration.DataRetentionInHours" in response["Reason"]
    assert cfn.calls() == []


def test_the_rollback_of_an_update_restores_the_old_pool(cfn: CloudFormation) -> None:
    old = pool_properties(retention="24", tags={"team": "media", "tier": "gold"})
    arn = _created(cfn, old)
    new = pool_properties(retention="72", tags={"team": "video"})
    assert cfn.update(arn, new, old)["Status"] == "SUCCESS"

    # Another resource failed: CloudFormation sends the same update back with old and new swapped.
    rollback = cfn.update(arn, old, new)

    assert rollback["Status"] == "SUCCESS", rollback["Reason"]
    assert rollback["PhysicalResourceId"] == arn
    assert rollback["Data"]["DataRetentionInHours"] == "24"
    pool = _live_pool(cfn, arn)
    assert user_tags(pool["Tags"]) == {"team": "media", "tier": "gold"}
    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 24


def test_an_update_whose_old_properties_are_unreadable_diffs_against_the_live_tags(
    cfn: CloudFormation,
) -> None:
    arn = _created(cfn, pool_properties(tags={"a": "1", "b": "2"}))

    response = cfn.update(arn, pool_properties(tags={"a": "1"}), {"Garbage": "yes"})

    assert response["Status"] == "SUCCESS", response["Reason"]
    # The owner tag is no declared tag, yet the live-state difference leaves it alone.
    assert cfn.mutating_calls() == ["UntagResource"]
    assert cfn.backend.calls("UntagResource")[0].params["TagKeys"] == ["b"]
    assert user_tags(_live_pool(cfn, arn)["Tags"]) == {"a": "1"}
    assert pool_rules.OWNER_TAG_KEY in _live_pool(cfn, arn)["Tags"]


def test_an_update_whose_old_properties_are_unreadable_diffs_against_the_live_retention(
    cfn: CloudFormation,
) -> None:
    arn = _created(cfn, pool_properties(retention="24"))

    unchanged = cfn.update(arn, pool_properties(retention="24"), {"Garbage": "yes"})
    assert unchanged["Status"] == "SUCCESS", unchanged["Reason"]
    assert cfn.mutating_calls() == []
    cfn.forget_calls()

    changed = cfn.update(arn, pool_properties(retention="48"), {"Garbage": "yes"})
    assert changed["Status"] == "SUCCESS", changed["Reason"]
    assert changed["Data"]["DataRetentionInHours"] == "48"
    assert cfn.calls()[0] == GET and cfn.mutating_calls() == [UPDATE]


def test_a_name_change_seen_only_in_the_live_pool_replaces_it(cfn: CloudFormation) -> None:
    old_arn = _created(cfn, pool_properties(name="live-name"))

    response = cfn.update(old_arn, pool_properties(name="declared-name"), {"Garbage": "yes"})

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"].endswith("/declared-name")
    assert cfn.mutating_calls() == [CREATE]


def test_the_rollback_of_a_failed_replacement_keeps_the_old_pool(cfn: CloudFormation) -> None:
    old = pool_properties(name="kept", retention="24", tags={"team": "media"})
    old_arn = _created(cfn, old)
    renamed = pool_properties(name="kept-v2", retention="24", tags={"team": "media"})

    # The replacement failed; CloudFormation sends the rollback to the OLD pool, with the failed
    # update's properties as the old ones: they do not describe this pool.
    rollback = cfn.update(old_arn, old, renamed)

    assert rollback["Status"] == "SUCCESS", rollback["Reason"]
    assert rollback["PhysicalResourceId"] == old_arn
    assert rollback["Data"]["PoolName"] == "kept"
    assert cfn.mutating_calls() == []
    assert [pool["PoolArn"] for pool in cfn.backend.leftover_pools()] == [old_arn]


# ----- Delete -----


def test_deleting_a_made_up_physical_id_is_a_no_op(cfn: CloudFormation) -> None:
    response = cfn.delete("handler-test_Pool_ABCDEFGH", pool_properties())

    assert response["Status"] == "SUCCESS" and "nothing to delete" in response["Reason"]
    assert response["PhysicalResourceId"] == "handler-test_Pool_ABCDEFGH"
    # One look for the pool the properties name (a Create whose response was lost): none.
    assert cfn.calls() == ["GetMediaPipelineKinesisVideoStreamPool"]


def test_deleting_a_pool_waits_until_it_is_gone(cfn: CloudFormation) -> None:
    arn = _created(cfn, pool_properties())
    cfn.backend.delete_delay = 0.3

    response = cfn.delete(arn, pool_properties())

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == arn
    assert cfn.backend.leftover_pools() == []
    assert cfn.calls()[:2] == [LIST_TAGS, DELETE] and cfn.calls()[-1] == GET
    assert cfn.backend.calls(GET)[-1].error == "NotFoundException"


def test_deleting_a_pool_that_is_already_gone_succeeds(cfn: CloudFormation) -> None:
    arn = cfn.backend.pool_arn("us-east-1", "never-made")
    assert pool_rules.is_pool_arn(arn)

    response = cfn.delete(arn, pool_properties(name="never-made"))

    assert response["Status"] == "SUCCESS"
    assert "already gone" in response["Reason"]
    assert cfn.calls() == [LIST_TAGS]


def test_a_held_deletion_succeeds_and_says_what_state_the_pool_is_in(cfn: CloudFormation) -> None:
    arn = _created(cfn, pool_properties(name="in-use"))
    cfn.backend.hold_deletion("in-use")

    response = cfn.delete(arn, pool_properties(name="in-use", WaitTimeoutSeconds="1"))

    assert response["Status"] == "SUCCESS"
    assert "still DELETING" in response["Reason"] and "meetings" in response["Reason"]
    assert [pool["PoolStatus"] for pool in cfn.backend.leftover_pools()] == ["DELETING"]
    assert cfn.mutating_calls() == [DELETE]


def test_deleting_a_pool_that_is_still_creating_retries_until_allowed(cfn: CloudFormation) -> None:
    cfn.backend.create_delay = 0.5
    created = cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="young", StreamConfiguration={"Region": "us-east-1"}
    )
    arn = created["KinesisVideoStreamPoolConfiguration"]["PoolArn"]

    response = cfn.delete(arn, pool_properties(name="young"))

    assert response["Status"] == "SUCCESS", response["Reason"]
    deletes = cfn.backend.calls(DELETE)
    assert deletes[0].error == "ConflictException" and deletes[-1].error is None
    assert cfn.backend.leftover_pools() == []


def test_a_throttled_delete_is_retried(cfn: CloudFormation) -> None:
    arn = _created(cfn, pool_properties())
    cfn.backend.faults.add(DELETE, "throttle", count=1)

    response = cfn.delete(arn, pool_properties())

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert cfn.backend.leftover_pools() == []
