"""Issue 10's handler rules, through crhelper, real boto3 clients, the emulator over HTTP and the
loopback TLS ResponseURL: ownership (item 3), stream cleanup that cannot be lost (4), retention 0 on
an existing pool (5), a Delete retried into ConflictException (6) and the response PUT (8)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from chime_kvs_pool.runtime import index, ownership, pool_rules
from chime_kvs_pool.runtime.ownership import Owner
from local.lambda_context import LambdaContext

from .conftest import OWNER, STACK_ID, CloudFormation, pool_properties, user_tags

DELETE = "DeleteMediaPipelineKinesisVideoStreamPool"


def _tags(cfn: CloudFormation, arn: str) -> dict[str, str]:
    tags = cfn.emulator.client.list_tags_for_resource(ResourceARN=arn)["Tags"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def _pool_names(cfn: CloudFormation) -> list[str]:
    return [pool["PoolName"] for pool in cfn.backend.leftover_pools()]


# ----- item 3: ownership -----


def test_a_delete_from_a_logical_resource_that_no_longer_holds_the_pool_leaves_it(
    cfn: CloudFormation, active_pool_streams: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A construct moved from path X (logical id OldPool) to path Y (NewPool), same pool_name, adopting.
    properties = pool_properties("moved", DeleteStreamsOnDelete="true", AdoptExisting="true")
    arn = cfn.create(properties, logical_id="OldPool")["PhysicalResourceId"]
    streams = cfn.backend.add_streams("moved", 2)
    adopted = cfn.create(properties, logical_id="NewPool")
    assert adopted["Status"] == "SUCCESS" and adopted["PhysicalResourceId"] == arn

    # Cleanup: CloudFormation deletes the old logical id, with the same ARN.
    response = cfn.delete(arn, properties, logical_id="OldPool")

    assert response["Status"] == "SUCCESS"
    assert "left in place" in response["Reason"] and "handler-test/NewPool" in response["Reason"]
    assert _pool_names(cfn) == ["moved"]
    assert cfn.backend.stream_names() == sorted(streams)
    assert cfn.backend.calls(DELETE) == [] and cfn.backend.calls("DeleteStream") == []
    # An operator reading the function's log sees it as a warning, not as a routine delete.
    assert any(r.levelno == logging.WARNING and "left in place" in r.getMessage() for r in caplog.records)


def test_the_adopters_delete_never_deletes_the_pool_and_hands_it_back(cfn: CloudFormation) -> None:
    first = Owner.of(STACK_ID, "OldPool")
    properties = pool_properties("handed", AdoptExisting="true")
    arn = cfn.create(properties, logical_id="OldPool")["PhysicalResourceId"]
    assert cfn.create(properties)["Status"] == "SUCCESS"  # logical id "Pool" adopts it
    assert _tags(cfn, arn)[pool_rules.OWNER_TAG_KEY].startswith(f"owner={OWNER.digest} mode=adopted")

    # The rollback of the deployment that adopted it (or the stack's deletion) deletes "Pool".
    response = cfn.delete(arn, properties)

    assert response["Status"] == "SUCCESS"
    assert "never deleted" in response["Reason"] and "handed back" in response["Reason"]
    assert _pool_names(cfn) == ["handed"]
    # Handed back: the creator holds it again, under its own label.
    claim = ownership.read(_tags(cfn, arn))
    assert claim is not None
    assert (claim.owner, claim.mode, claim.label, claim.creator) == (
        first.digest,
        ownership.CREATED,
        first.label,
        first.digest,
    )
    # The resource that created it still owns it, and its own Delete deletes it.
    assert cfn.delete(arn, properties, logical_id="OldPool")["Status"] == "SUCCESS"
    assert _pool_names(cfn) == []


def test_an_adopted_persons_pool_is_released_and_no_later_delete_deletes_it(cfn: CloudFormation) -> None:
    cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="by-hand", StreamConfiguration={"Region": "us-east-1"}, Tags=[{"Key": "team", "Value": "a"}]
    )
    properties = pool_properties("by-hand", retention=None, tags={"team": "a"}, AdoptExisting="true")
    arn = cfn.create(properties)["PhysicalResourceId"]

    response = cfn.delete(arn, properties)

    assert response["Status"] == "SUCCESS" and "left in place" in response["Reason"]
    assert "released" in response["Reason"] and "nobody owns it now" in response["Reason"]
    assert _pool_names(cfn) == ["by-hand"]
    # The tag stays, saying "released": the pool can never pass for one from before owner tags.
    tags = _tags(cfn, arn)
    assert user_tags(tags) == {"team": "a"}
    claim = ownership.read(tags)
    assert claim is not None and claim.released and claim.owner == "" and claim.creator is None

    # A repeated delivery of that Delete (or a retried stack deletion) leaves it alone too.
    again = cfn.delete(arn, properties)
    assert again["Status"] == "SUCCESS" and "nobody holds it" in again["Reason"]
    assert _pool_names(cfn) == ["by-hand"]
    assert _tags(cfn, arn) == tags


def test_a_repeated_adoption_keeps_the_first_claim(cfn: CloudFormation) -> None:
    cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="twice", StreamConfiguration={"Region": "us-east-1"}
    )
    properties = pool_properties("twice", retention=None, AdoptExisting="true")
    event = cfn.event("Create", properties)
    arn = cfn.send(event)["PhysicalResourceId"]
    claim = _tags(cfn, arn)[pool_rules.OWNER_TAG_KEY]

    # CloudFormation sent the Create again (a new RequestId): the claim, and what it hands back to, stay.
    again = dict(event, RequestId=event["RequestId"] + "-again")
    again["ResponseURL"] = cfn.responses.url_for(again["RequestId"])
    assert cfn.send(again)["Status"] == "SUCCESS"

    assert _tags(cfn, arn)[pool_rules.OWNER_TAG_KEY] == claim == ownership.adoption(OWNER, None)


def test_a_pool_without_an_owner_tag_is_deleted_as_before(cfn: CloudFormation) -> None:
    # Pools created before owners were recorded carry no tag: their stack still owns them.
    created = cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="older", StreamConfiguration={"Region": "us-east-1"}
    )
    arn = created["KinesisVideoStreamPoolConfiguration"]["PoolArn"]

    response = cfn.delete(arn, pool_properties("older"))

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert _pool_names(cfn) == []


def test_a_hand_edited_owner_tag_keeps_the_pool(cfn: CloudFormation) -> None:
    arn = cfn.create(pool_properties("edited"))["PhysicalResourceId"]
    cfn.emulator.client.tag_resource(
        ResourceARN=arn, Tags=[{"Key": pool_rules.OWNER_TAG_KEY, "Value": "mine"}]
    )

    response = cfn.delete(arn, pool_properties("edited"))

    assert response["Status"] == "SUCCESS" and "left in place" in response["Reason"]
    assert _pool_names(cfn) == ["edited"]


def test_a_delete_that_cannot_read_the_owner_fails_and_leaves_the_pool(cfn: CloudFormation) -> None:
    arn = cfn.create(pool_properties("unread"))["PhysicalResourceId"]
    cfn.backend.deny_access_key("testing", "ListTagsForResource")

    response = cfn.delete(arn, pool_properties("unread"))

    assert response["Status"] == "FAILED"
    assert "left in place" in response["Reason"] and "ForbiddenException" in response["Reason"]
    assert _pool_names(cfn) == ["unread"] and cfn.backend.calls(DELETE) == []


def test_the_owner_tag_cannot_be_declared(cfn: CloudFormation) -> None:
    response = cfn.create(pool_properties("forged", tags={pool_rules.OWNER_TAG_KEY: "owner=x mode=created"}))

    assert response["Status"] == "FAILED"
    assert "Tags" in response["Reason"] and "reserved for the pool handler" in response["Reason"]
    assert cfn.calls() == []


def test_updates_never_remove_the_owner_tag(cfn: CloudFormation) -> None:
    old = pool_properties("kept-tag", tags={"a": "1"})
    arn = cfn.create(old)["PhysicalResourceId"]

    for new, previous in ((pool_properties("kept-tag"), old), (pool_properties("kept-tag"), {"Bad": "x"})):
        assert cfn.update(arn, new, previous)["Status"] == "SUCCESS"

    assert _tags(cfn, arn) == {pool_rules.OWNER_TAG_KEY: ownership.created_by(OWNER)}


# ----- item 4: stream cleanup that cannot be lost -----


def _pool_with_streams(
    cfn: CloudFormation, name: str, count: int
) -> tuple[str, str, list[str], dict[str, Any]]:
    properties = pool_properties(name, region="us-west-2", DeleteStreamsOnDelete="true")
    created = cfn.create(properties)
    assert created["Status"] == "SUCCESS"
    streams = cfn.backend.add_streams(name, count)
    return created["PhysicalResourceId"], created["Data"]["PoolId"], streams, properties


def test_a_denied_list_succeeds_and_names_the_pool_id_and_what_to_delete(
    cfn: CloudFormation, active_pool_streams: str, caplog: pytest.LogCaptureFixture
) -> None:
    arn, pool_id, streams, properties = _pool_with_streams(cfn, "unlisted", 2)
    cfn.backend.deny_access_key("testing", "ListStreams")

    response = cfn.delete(arn, properties)

    assert response["Status"] == "SUCCESS", "the pool is gone: a FAILED Delete would strand the stack"
    assert f"PoolId {pool_id}" in response["Reason"] and "ListStreams" in response["Reason"]
    assert _pool_names(cfn) == []
    assert cfn.backend.stream_names() == sorted(streams)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(pool_id in message and "ListStreams" in message for message in warnings)


def test_a_dropped_delete_stream_is_retried_and_finishes_the_job(
    cfn: CloudFormation, active_pool_streams: str
) -> None:
    arn, _, _, properties = _pool_with_streams(cfn, "dropped", 3)
    cfn.backend.faults.add("DeleteStream", "drop_after", count=1)
    cfn.backend.faults.add("DeleteStream", "drop", count=1)

    response = cfn.delete(arn, properties)

    assert response["Status"] == "SUCCESS"
    assert "deleted its 3 Kinesis video streams" in response["Reason"]
    assert cfn.backend.stream_names() == []


def test_a_stream_that_cannot_be_deleted_is_named_and_the_rest_go(
    cfn: CloudFormation, active_pool_streams: str
) -> None:
    arn, pool_id, streams, properties = _pool_with_streams(cfn, "stubborn", 3)
    cfn.backend.faults.add("DeleteStream", "drop", count=None)  # every attempt, until the budget ends

    # 12.5 s: the pool's own calls need 7 s of room at worst (2 s connect, 5 s read).
    response = cfn.send(cfn.event("Delete", properties, physical_id=arn), lambda_seconds=12.5)

    assert response["Status"] == "SUCCESS"
    assert f"PoolId {pool_id}" in response["Reason"] and "left: 3" in response["Reason"]
    assert _pool_names(cfn) == [] and cfn.backend.stream_names() == sorted(streams)


# ----- item 5: retention 0 on an existing pool -----


def test_retention_zero_on_an_update_fails_before_any_change(cfn: CloudFormation) -> None:
    old = pool_properties("zero", retention="24", tags={"a": "1"})
    arn = cfn.create(old)["PhysicalResourceId"]
    cfn.forget_calls()

    response = cfn.update(arn, pool_properties("zero", retention="0", tags={"b": "2"}), old)

    assert response["Status"] == "FAILED" and response["PhysicalResourceId"] == arn
    reason = response["Reason"]
    assert "DataRetentionInHours" in reason and "minimum is 1 hour" in reason and "new PoolName" in reason
    assert cfn.mutating_calls() == []


def test_retention_zero_when_adopting_fails_before_any_change(cfn: CloudFormation) -> None:
    cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="zero-adopt",
        StreamConfiguration={"Region": "us-east-1", "DataRetentionInHours": 24},
        Tags=[{"Key": "a", "Value": "1"}],
    )
    cfn.forget_calls()

    response = cfn.create(pool_properties("zero-adopt", retention="0", AdoptExisting="true"))

    assert response["Status"] == "FAILED" and "minimum is 1 hour" in response["Reason"]
    assert cfn.mutating_calls() == ["CreateMediaPipelineKinesisVideoStreamPool"]  # the refused one
    assert _tags(cfn, cfn.backend.pool_arn("us-east-1", "zero-adopt")) == {"a": "1"}


def test_retention_zero_that_the_pool_already_has_is_no_change(cfn: CloudFormation) -> None:
    old = pool_properties("already-zero", retention=None)  # the service's default: 0 here
    arn = cfn.create(old)["PhysicalResourceId"]
    cfn.forget_calls()

    response = cfn.update(arn, pool_properties("already-zero", retention="0"), old)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert cfn.mutating_calls() == []


# ----- item 6: a Delete retried into ConflictException -----


@pytest.mark.parametrize("delete_deleting_pool", ["conflict", "accept"])
def test_a_delete_retried_after_a_dropped_connection_waits_for_the_deletion(
    cfn: CloudFormation, delete_deleting_pool: str
) -> None:
    arn = cfn.create(pool_properties("retried"))["PhysicalResourceId"]
    cfn.backend.switches.delete_deleting_pool = delete_deleting_pool
    cfn.backend.delete_delay = 3.0  # longer than botocore's pause before it sends the Delete again
    # The service applies the Delete, then the connection drops: botocore sends it again.
    cfn.backend.faults.add(DELETE, "drop_after", count=1)

    response = cfn.delete(arn, pool_properties("retried"))

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert "deleted pool" in response["Reason"]
    assert _pool_names(cfn) == []
    retried = cfn.backend.calls(DELETE)[1]
    assert retried.error == ("ConflictException" if delete_deleting_pool == "conflict" else None)


def test_a_held_deletion_met_again_is_deletion_in_progress_not_a_failure(cfn: CloudFormation) -> None:
    arn = cfn.create(pool_properties("held-again"))["PhysicalResourceId"]
    cfn.backend.switches.delete_deleting_pool = "conflict"
    cfn.backend.hold_deletion("held-again")  # meetings still use it: it stays DELETING
    cfn.backend.faults.add(DELETE, "drop_after", count=1)

    response = cfn.delete(arn, pool_properties("held-again", WaitTimeoutSeconds="2"))

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert "still DELETING" in response["Reason"]
    assert [call.error for call in cfn.backend.calls(DELETE)][1:] == ["ConflictException"]


# ----- item 8: the response PUT -----


@pytest.mark.parametrize("refusal", [500, 403])
def test_a_refused_response_put_is_sent_again(
    cfn: CloudFormation, caplog: pytest.LogCaptureFixture, refusal: int
) -> None:
    cfn.responses.refuse_next(2, refusal)

    response = cfn.create(pool_properties("answered"))

    assert response["Status"] == "SUCCESS"
    assert f"HTTP {refusal}" in caplog.text and "Response delivered (attempt 3)" in caplog.text


def test_dropped_response_connections_are_retried(
    cfn: CloudFormation, caplog: pytest.LogCaptureFixture
) -> None:
    cfn.responses.drop_next(2)

    response = cfn.create(pool_properties("redialled"))

    assert response["Status"] == "SUCCESS"
    assert "Response delivered (attempt 3)" in caplog.text


def test_a_response_put_refused_for_good_stops_after_a_bounded_number_of_attempts(
    cfn: CloudFormation, caplog: pytest.LogCaptureFixture
) -> None:
    cfn.responses.refuse_next(100, 403)
    event = cfn.event("Create", pool_properties("unanswered"))
    before = cfn.responses.puts
    cfn.events.append(event)

    index.handler(event, LambdaContext(60, function_name="kvs-pool-handler"))

    assert cfn.responses.puts - before == index.RESPONSE_ATTEMPTS
    assert cfn.responses.responses(event["RequestId"]) == []
    assert f"not delivered after {index.RESPONSE_ATTEMPTS} attempts" in caplog.text
    cfn.responses.refuse_next(0)


def test_response_retries_end_before_the_invocation_does(cfn: CloudFormation) -> None:
    cfn.responses.refuse_next(100, 500)
    event = cfn.event("Delete", pool_properties("late"), physical_id="not-a-pool")
    cfn.events.append(event)
    context = LambdaContext(1.5, function_name="kvs-pool-handler")

    before = cfn.responses.puts

    index.handler(event, context)

    # The pauses between attempts double; the deadline, not the attempt count, ended them here.
    assert 1 <= cfn.responses.puts - before < index.RESPONSE_ATTEMPTS
    assert cfn.responses.responses(event["RequestId"]) == []
    cfn.responses.refuse_next(0)


def test_a_declared_tag_list_with_the_owner_tag_fits_the_service_limit(cfn: CloudFormation) -> None:
    tags = {f"k{i}": "v" for i in range(pool_rules.USER_TAGS_MAX)}

    response = cfn.create(pool_properties("full", tags=tags))

    assert response["Status"] == "SUCCESS", response["Reason"]
    live = _tags(cfn, response["PhysicalResourceId"])
    assert len(live) == pool_rules.TAGS_MAX and user_tags(live) == tags
