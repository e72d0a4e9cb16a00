"""Issue 10, items 3, 4, 5, 6 and 8, played through the offline CloudFormation driver and the handler
under the real Lambda runtime (awslambdaric), with IAM enforced offline.

3. Adoption never deletes a pool by mistake: a construct moved to a new path adopts its own pool and
   the cleanup Delete of the old logical id leaves it; a deployment that adopted a pre-existing pool
   and then failed rolls back without deleting it (DeletionPolicy Delete, or Retain with the stack
   flag RetainExceptOnCreate, which deletes newly created resources on rollback).
4. Stream cleanup that cannot be lost: a stream phase that runs out of time or cannot list the
   streams ends the Delete with SUCCESS, naming the PoolId and the streams left.
5. Retention 0 on an existing pool fails the update before any call, naming the way out.
6. A Delete retried into ConflictException (the pool already DELETING) is deletion in progress.
8. A refused response PUT is sent again, within the invocation.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chime_kvs_pool.runtime import pool_rules

from .conftest import Cloud
from .stacks import REGION

DELETE = "DeleteMediaPipelineKinesisVideoStreamPool"


def logical_id(cloud: Cloud, stack_name: str, construct_id: str) -> str:
    stack = cloud.state.load_stack(stack_name)
    assert stack is not None
    (found,) = [
        lid for lid in stack.resources if lid.startswith(construct_id) and lid != construct_id + "Arn"
    ]
    return found


def logical_id_in(cloud: Cloud, version: str, pool_name: str) -> str:
    """The logical id of the custom resource that declares ``pool_name`` in a synthesized version."""
    template = json.loads((cloud.assembly / f"{version}.template.json").read_text())
    (found,) = [
        lid
        for lid, resource in template["Resources"].items()
        if resource["Type"].startswith("Custom::") and resource["Properties"].get("PoolName") == pool_name
    ]
    return str(found)


def requests_of(cloud: Cloud, request_type: str, logical: str) -> list[dict[str, Any]]:
    return [
        r for r in cloud.requests() if r["RequestType"] == request_type and r["LogicalResourceId"] == logical
    ]


def response_to(cloud: Cloud, request: dict[str, Any]) -> dict[str, Any]:
    (response,) = cloud.cloud.response_server.responses(request["RequestId"])
    return response


def live_tags(cloud: Cloud, name: str) -> dict[str, str]:
    (pool,) = [p for p in cloud.emulator.leftover_pools() if p["PoolName"] == name]
    tags: dict[str, str] = pool["Tags"]
    return tags


# ----- item 3 -----


def test_a_construct_moved_to_a_new_path_keeps_its_pool_and_streams(cloud: Cloud) -> None:
    first = cloud.deploy("MovedFrom")
    arn = first.outputs["PoolXArn"]
    streams = cloud.emulator.add_streams("e2e-moved", 2)
    old = logical_id(cloud, "E2eMoved", "PoolX")

    second = cloud.deploy("MovedTo")

    assert second.status == "UPDATE_COMPLETE"
    assert second.outputs["PoolYArn"] == arn, "the new logical id adopted the pool"
    # The cleanup phase sent the old logical id's Delete, with the same ARN: it left the pool alone.
    (cleanup,) = requests_of(cloud, "Delete", old)
    assert cleanup["PhysicalResourceId"] == arn
    reason = response_to(cloud, cleanup)["Reason"]
    assert response_to(cloud, cleanup)["Status"] == "SUCCESS" and "left in place" in reason
    assert cloud.pool_names() == ["e2e-moved"]
    assert cloud.emulator.stream_names() == sorted(streams)
    assert cloud.emulator.calls(DELETE) == [] and cloud.emulator.calls("DeleteStream") == []
    cloud.assert_no_leak("E2eMoved")

    # The stack created the pool and still owns it: the old logical id's Delete passed the creator's
    # part to the new one, so deleting the stack deletes the pool (and, as declared, its streams).
    assert "now deletes it" in reason
    assert cloud.destroy("E2eMoved").status == "DELETE_COMPLETE"  # type: ignore[union-attr]
    assert cloud.pool_names() == [] and cloud.emulator.stream_names() == []
    cloud.assert_no_leak("E2eMoved")


@pytest.mark.parametrize(
    ("version", "retain_except_on_create"),
    [("AdoptBroken", False), ("AdoptBrokenRetained", True)],
    ids=["deletion-policy-delete", "retain-with-RetainExceptOnCreate"],
)
def test_the_rollback_of_a_deployment_that_adopted_a_pool_keeps_it(
    cloud: Cloud, version: str, retain_except_on_create: bool
) -> None:
    cloud.emulator.create_pool(
        REGION,
        {
            "PoolName": "e2e-preexisting",
            "StreamConfiguration": {"Region": REGION},
            "Tags": [{"Key": "owner", "Value": "ops"}],
        },
    )
    cloud.emulator.fail_pool_on_create("e2e-adopt-broken")

    stack = cloud.deploy(version, retain_except_on_create=retain_except_on_create)

    assert stack.status == "ROLLBACK_COMPLETE"
    # The rollback did send the adopting resource's Delete with the pool's ARN ...
    adopted = [
        r
        for r in cloud.requests()
        if r["RequestType"] == "Delete" and r["PhysicalResourceId"].endswith("/e2e-preexisting")
    ]
    (delete,) = adopted
    assert response_to(cloud, delete)["Status"] == "SUCCESS"
    # ... and the pool survived it, released: nobody holds it, and no later Delete deletes it.
    # Adoption had brought its tags to the declaration (none); a rollback does not undo that
    # (docs/handler.md, "Ownership").
    assert "e2e-preexisting" in cloud.pool_names()
    tags = live_tags(cloud, "e2e-preexisting")
    assert list(tags) == [pool_rules.OWNER_TAG_KEY] and "mode=released" in tags[pool_rules.OWNER_TAG_KEY]
    assert "e2e-adopt-broken" not in cloud.pool_names()


def test_without_the_stack_flag_a_rollback_keeps_a_retained_resource_it_created(cloud: Cloud) -> None:
    """The driver's side of the rule above: DeletionPolicy Retain alone keeps what a rollback would
    delete, so no Delete reaches the handler at all."""
    cloud.emulator.fail_pool_on_create("e2e-adopt-broken")

    stack = cloud.deploy("AdoptBrokenRetained")

    assert stack.status == "ROLLBACK_COMPLETE"
    pool = logical_id_in(cloud, "AdoptBrokenRetained", "e2e-preexisting")
    assert "DELETE_SKIPPED" in [e.status for e in cloud.events if e.logical_id == pool]
    assert requests_of(cloud, "Delete", pool) == []
    assert "e2e-preexisting" in cloud.pool_names()


# ----- item 5 -----


def test_retention_zero_on_an_existing_pool_fails_the_update_and_rolls_back(cloud: Cloud) -> None:
    arn = cloud.deploy("Retention").outputs["PoolArn"]

    stack = cloud.deploy("RetentionZero")

    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    failed = next(e for e in cloud.events if e.status == "UPDATE_FAILED")
    assert failed.reason and "DataRetentionInHours" in failed.reason and "minimum is 1 hour" in failed.reason
    (pool,) = cloud.emulator.leftover_pools()
    assert pool["PoolArn"] == arn and pool["StreamConfiguration"]["DataRetentionInHours"] == 24
    # No call ever asked for 0 (botocore would have refused it); the rollback update re-sent 24.
    updates = cloud.emulator.calls("UpdateMediaPipelineKinesisVideoStreamPool")
    assert [call.params["StreamConfiguration"]["DataRetentionInHours"] for call in updates] in ([], [24])
    cloud.assert_no_leak("E2eRetention")


# ----- item 4 -----


def test_a_stream_phase_that_runs_out_of_time_answers_success_naming_what_is_left(cloud: Cloud) -> None:
    stack = cloud.deploy("ShortLived")
    pool_id = stack.outputs["PoolId"]
    streams = cloud.emulator.add_streams("e2e-short", 40)
    cloud.emulator.faults.add("DeleteStream", "slow", count=None, delay=1.0)

    gone = cloud.destroy("E2eShortLived")

    assert gone is not None and gone.status == "DELETE_COMPLETE"
    (delete,) = [r for r in cloud.requests() if r["RequestType"] == "Delete"]
    response = response_to(cloud, delete)
    assert response["Status"] == "SUCCESS"
    left = cloud.emulator.stream_names()
    assert 0 < len(left) < len(streams)
    assert f"PoolId {pool_id}" in response["Reason"] and f"left: {len(left)}" in response["Reason"]
    assert cloud.pool_names() == []


def test_a_stream_list_that_keeps_failing_answers_success_naming_the_pool_id(cloud: Cloud) -> None:
    stack = cloud.deploy("ShortLived")
    pool_id = stack.outputs["PoolId"]
    streams = cloud.emulator.add_streams("e2e-short", 3)
    cloud.emulator.faults.add("ListStreams", "service_failure", count=None)

    gone = cloud.destroy("E2eShortLived")

    assert gone is not None and gone.status == "DELETE_COMPLETE"
    (delete,) = [r for r in cloud.requests() if r["RequestType"] == "Delete"]
    reason = response_to(cloud, delete)["Reason"]
    assert f"PoolId {pool_id}" in reason and "ListStreams" in reason
    assert cloud.emulator.stream_names() == sorted(streams) and cloud.pool_names() == []


# ----- item 6 -----


def test_a_delete_retried_into_a_conflict_is_deletion_in_progress(cloud: Cloud) -> None:
    cloud.deploy("ShortLived")
    cloud.emulator.switches.delete_deleting_pool = "conflict"
    cloud.emulator.hold_deletion("e2e-short")  # meetings still use it: it stays DELETING
    cloud.emulator.faults.add(DELETE, "drop_after", count=1)  # applied, then the connection drops

    gone = cloud.destroy("E2eShortLived")

    assert gone is not None and gone.status == "DELETE_COMPLETE"
    assert [call.error for call in cloud.emulator.calls(DELETE)][1:] == ["ConflictException"]
    (delete,) = [r for r in cloud.requests() if r["RequestType"] == "Delete"]
    assert "still DELETING" in response_to(cloud, delete)["Reason"]
    cloud.emulator.release_deletion("e2e-short")
    assert cloud.pool_names() == []


# ----- item 8 -----


@pytest.mark.parametrize("refusal", [500, 403])
def test_a_refused_response_put_is_sent_again(cloud: Cloud, refusal: int) -> None:
    cloud.cloud.response_server.refuse_next(2, refusal)

    stack = cloud.deploy("ShortLived")

    assert stack.status == "CREATE_COMPLETE"
    assert pool_rules.OWNER_TAG_KEY in live_tags(cloud, "e2e-short")
    cloud.assert_no_leak("E2eShortLived")


# ----- issue 10 follow-up (review): retention from 0, a lost Create response -----


def test_retention_from_zero_with_a_failing_resource_rolls_back_cleanly(cloud: Cloud) -> None:
    """v1 retention 0, v2 retention 24 plus a resource that fails: the pool refuses 0 -> 24 before
    any call (the update API could not take it back to 0), and the stack ends UPDATE_ROLLBACK_COMPLETE,
    never UPDATE_ROLLBACK_FAILED."""
    arn = cloud.deploy("FromZero").outputs["PoolArn"]
    cloud.emulator.fail_pool_on_create("e2e-zero-broken")

    stack = cloud.deploy("FromZeroBroken")

    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "UPDATE_ROLLBACK_FAILED" not in [e.status for e in cloud.events]
    pool = next(p for p in cloud.emulator.leftover_pools() if p["PoolName"] == "e2e-zero")
    assert pool["PoolArn"] == arn and pool["StreamConfiguration"]["DataRetentionInHours"] == 0
    assert cloud.emulator.calls("UpdateMediaPipelineKinesisVideoStreamPool") == []
    # The pool either refused 0 -> 24 itself (naming the way out) or was never asked: the stack's
    # failure may come first, the two are created and updated in parallel.
    for event in cloud.events:
        if event.status == "UPDATE_FAILED" and event.reason and "DataRetentionInHours" in event.reason:
            assert "from 0 to 24" in event.reason and "new PoolName" in event.reason
    cloud.assert_no_leak("E2eFromZero")


def test_a_create_whose_response_was_lost_rolls_back_and_names_the_pool_it_left(cloud: Cloud) -> None:
    """The handler creates and tags the pool, every response PUT is refused, CloudFormation times
    out and rolls back with a made-up physical id. That Delete cannot tell this pool from one a
    later request of the same resource made, so it deletes nothing: the rollback completes, and its
    answer (and the function's log) names the pool, whose owner tag says which resource made it."""
    cloud.cloud.response_server.refuse_next(5, 500)  # every attempt of the Create's response PUT

    stack = cloud.deploy("LostResponse")

    assert stack.status == "ROLLBACK_COMPLETE"
    (delete,) = [r for r in cloud.requests() if r["RequestType"] == "Delete"]
    assert not pool_rules.is_pool_arn(delete["PhysicalResourceId"])
    answer = response_to(cloud, delete)
    assert answer["Status"] == "SUCCESS" and answer["Reason"].startswith("nothing to delete")
    (left,) = [pool for pool in cloud.emulator.leftover_pools() if pool["PoolName"] == "e2e-lost"]
    assert f"pool {left['PoolArn']} carries this resource's owner tag" in answer["Reason"]
    assert pool_rules.OWNER_TAG_KEY in left["Tags"]
    cloud.assert_no_leak("E2eLostResponse", also_kept=("e2e-lost",))
