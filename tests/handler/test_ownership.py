"""Who owns a pool, through the real ``index.handler`` against the emulator (docs/handler.md "Ownership").

Each test plays a sequence of CloudFormation requests that an adversarial review found to delete a
pool the stack never owned, leak one, take one from another stack, or strand a stack.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest

from chime_kvs_pool.runtime import index, ownership, pool_rules
from chime_kvs_pool.runtime.ownership import Owner
from local.events import custom_resource_event
from local.lambda_context import LambdaContext

from .conftest import (
    FUNCTION_NAME,
    OWNER,
    RESOURCE_TYPE,
    SERVICE_TOKEN,
    STACK_ID,
    CloudFormation,
    pool_properties,
    user_tags,
)

DELETE = "DeleteMediaPipelineKinesisVideoStreamPool"
GET = "GetMediaPipelineKinesisVideoStreamPool"
OTHER_STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/other-stack/0d1e2f30-7a6e-11ef-9c8b-0a1b2c3d4e5f"
)


def _tags(cfn: CloudFormation, arn: str) -> dict[str, str]:
    response = cfn.emulator.client.list_tags_for_resource(ResourceARN=arn)
    return {tag["Key"]: tag["Value"] for tag in response.get("Tags", [])}


def _pool(cfn: CloudFormation, name: str) -> dict[str, Any] | None:
    for pool in cfn.backend.leftover_pools():
        if pool["PoolName"] == name:
            return dict(pool)
    return None


def _from_other_stack(
    cfn: CloudFormation,
    request_type: str,
    properties: dict[str, Any],
    logical_id: str,
    physical_id: str | None = None,
) -> dict[str, Any]:
    """A request from another stack of the same account and Region to the same handler code."""
    event = custom_resource_event(
        cfn.responses,
        request_type,
        properties,
        stack_id=OTHER_STACK_ID,
        logical_id=logical_id,
        resource_type=RESOURCE_TYPE,
        physical_id=physical_id,
        service_token=SERVICE_TOKEN,
    )
    return cfn.send(event)


def _persons_pool(cfn: CloudFormation, name: str, **extra: Any) -> None:
    cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=name, StreamConfiguration={"Region": "us-east-1", "DataRetentionInHours": 24}, **extra
    )


# ----- 1. a released pool stays released -----


def test_a_second_delivery_of_an_adopters_delete_leaves_a_persons_pool(cfn: CloudFormation) -> None:
    _persons_pool(cfn, "persons")
    adopt = pool_properties("persons", AdoptExisting="true")
    arn = cfn.create(adopt)["PhysicalResourceId"]

    first = cfn.delete(arn, adopt)
    second = cfn.delete(arn, adopt)  # at-least-once delivery, or a retried stack deletion

    assert first["Status"] == second["Status"] == "SUCCESS"
    assert _pool(cfn, "persons") is not None, "a person's pool was deleted"
    assert "nobody owns it now" in first["Reason"] and "nobody holds it" in second["Reason"]
    assert cfn.backend.calls(DELETE) == []
    # Another stack's Delete with the same ARN (a stack that had it) leaves it too.
    other = cfn.send(cfn.event("Delete", adopt, physical_id=arn, logical_id="Elsewhere"))
    assert other["Status"] == "SUCCESS" and _pool(cfn, "persons") is not None


# ----- 3. chains of adoption in one stack: the stack that created the pool still deletes it -----


@pytest.mark.parametrize("order", list(itertools.permutations(("S1", "S2", "S3"))), ids="-".join)
def test_a_chain_of_adoptions_ends_with_the_pool_deleted_whatever_the_order(
    cfn: CloudFormation, order: tuple[str, ...]
) -> None:
    created = pool_properties("chain")
    adopt = pool_properties("chain", AdoptExisting="true")
    arn = cfn.create(created, logical_id="S1")["PhysicalResourceId"]
    assert cfn.create(adopt, logical_id="S2")["PhysicalResourceId"] == arn
    assert cfn.create(adopt, logical_id="S3")["PhysicalResourceId"] == arn

    for logical_id in order[:-1]:
        response = cfn.delete(arn, adopt if logical_id != "S1" else created, logical_id=logical_id)
        assert response["Status"] == "SUCCESS" and "left in place" in response["Reason"]
        assert _pool(cfn, "chain") is not None
    last = order[-1]
    response = cfn.delete(arn, adopt if last != "S1" else created, logical_id=last)

    assert response["Status"] == "SUCCESS"
    assert response["Reason"].startswith(f"deleted pool {arn}")
    assert _pool(cfn, "chain") is None, "every resource of the stack that created it is gone"


def test_a_pool_handed_back_carries_its_holders_real_label(cfn: CloudFormation) -> None:
    created = pool_properties("label")
    adopt = pool_properties("label", AdoptExisting="true")
    arn = cfn.create(created, logical_id="First")["PhysicalResourceId"]
    cfn.create(adopt, logical_id="Second")

    response = cfn.delete(arn, adopt, logical_id="Second")  # the rollback of the adopting deployment

    assert "handed back to handler-test/First" in response["Reason"]
    claim = ownership.read(_tags(cfn, arn))
    first = Owner.of(STACK_ID, "First")
    assert claim == ownership.read({pool_rules.OWNER_TAG_KEY: ownership.created_by(first)})


def test_a_released_pool_is_deleted_by_its_creator_only(cfn: CloudFormation) -> None:
    created = pool_properties("released")
    adopt = pool_properties("released", AdoptExisting="true")
    arn = cfn.create(created, logical_id="S1")["PhysicalResourceId"]
    cfn.create(adopt, logical_id="S2")
    cfn.create(adopt, logical_id="S3")
    cfn.delete(arn, adopt, logical_id="S2")
    released = cfn.delete(arn, adopt, logical_id="S3")
    assert "released" in released["Reason"] and "handler-test/S1 deletes it" in released["Reason"]

    again = cfn.delete(arn, adopt, logical_id="S3")
    assert "only its creator handler-test/S1 deletes it" in again["Reason"]
    assert _pool(cfn, "released") is not None

    assert cfn.delete(arn, created, logical_id="S1")["Reason"].startswith("deleted pool")
    assert _pool(cfn, "released") is None


def test_an_adopter_from_another_stack_that_outlives_the_creator_leaves_an_orphan_it_names(
    cfn: CloudFormation,
) -> None:
    created = pool_properties("orphan")
    adopt = pool_properties("orphan", AdoptExisting="true")
    arn = cfn.create(created, logical_id="S1")["PhysicalResourceId"]
    cfn.create(adopt, logical_id="S2")
    cfn.create(adopt, logical_id="S3")
    cfn.delete(arn, adopt, logical_id="S2")
    cfn.delete(arn, adopt, logical_id="S3")  # released: nobody holds it, S1 still its creator
    # While S1 holds it, another stack may not take it; released, it may.
    taken = _from_other_stack(cfn, "Create", adopt, "T")
    assert taken["Status"] == "SUCCESS" and taken["PhysicalResourceId"] == arn

    creator_gone = cfn.delete(arn, created, logical_id="S1")
    assert "left in place" in creator_gone["Reason"] and "other-stack/T" in creator_gone["Reason"]
    last = _from_other_stack(cfn, "Delete", adopt, "T", physical_id=arn)

    assert last["Status"] == "SUCCESS"
    assert "nobody owns it now" in last["Reason"] and "creator handler-test/S1" in last["Reason"]
    assert _pool(cfn, "orphan") is not None and cfn.backend.calls(DELETE) == []


# ----- 4. a Create whose response was lost -----


def test_a_create_whose_response_was_lost_is_named_not_deleted_by_the_rollback(cfn: CloudFormation) -> None:
    properties = pool_properties("lost")
    arn = cfn.create(properties)["PhysicalResourceId"]
    cfn.forget_calls()

    # CloudFormation got no response: its rollback sends Delete with a made-up physical id. Nothing
    # in that Delete tells this pool from one a later request of the same resource made, so it
    # deletes nothing and names the pool for an operator instead.
    response = cfn.delete("handler-test-Pool-ABCDEFGHIJKL", properties)

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == "handler-test-Pool-ABCDEFGHIJKL"
    assert response["Reason"].startswith("nothing to delete")
    assert f"pool {arn} carries this resource's owner tag" in response["Reason"]
    assert cfn.mutating_calls() == []
    assert _pool(cfn, "lost") is not None


def test_the_cleanup_of_a_made_up_id_never_deletes_the_pool_the_resource_holds_now(
    cfn: CloudFormation,
) -> None:
    """An Update sent with a made-up physical id (a resource whose Create failed, updated again)
    creates the pool and answers its ARN; CloudFormation's cleanup then sends Delete for the made-up
    id with the same PoolName. The stack holds that pool: it must survive."""
    properties = pool_properties("fresh")
    made_up = "handler-test-Pool-ABCDEFGHIJKL"
    arn = cfn.update(made_up, properties, properties)["PhysicalResourceId"]
    assert arn != made_up

    response = cfn.delete(made_up, properties)

    assert response["Status"] == "SUCCESS" and "nothing to delete" in response["Reason"]
    pool = _pool(cfn, "fresh")
    assert pool is not None and pool["PoolArn"] == arn


@pytest.mark.parametrize("holder", ["another logical id", "adopted", "a person"])
def test_a_made_up_physical_id_never_deletes_a_pool_this_resource_did_not_create(
    cfn: CloudFormation, holder: str
) -> None:
    properties = pool_properties("not-mine")
    if holder == "another logical id":
        cfn.create(properties, logical_id="Other")
    elif holder == "adopted":
        _persons_pool(cfn, "not-mine")
        cfn.create(pool_properties("not-mine", AdoptExisting="true"))
    else:
        _persons_pool(cfn, "not-mine")
    before = _tags(cfn, _pool(cfn, "not-mine")["PoolArn"])  # type: ignore[index]
    cfn.forget_calls()

    response = cfn.delete("handler-test-Pool-ABCDEFGHIJKL", properties)

    assert response["Status"] == "SUCCESS" and "nothing to delete" in response["Reason"]
    assert cfn.mutating_calls() == []
    pool = _pool(cfn, "not-mine")
    assert pool is not None and _tags(cfn, pool["PoolArn"]) == before


# ----- 6. adoption never takes a pool from another stack -----


def test_adopting_a_pool_another_stack_holds_fails_before_any_change(cfn: CloudFormation) -> None:
    theirs = pool_properties("shared", retention="24", tags={"team": "a"})
    arn = _from_other_stack(cfn, "Create", theirs, "A")["PhysicalResourceId"]
    tags = _tags(cfn, arn)
    cfn.forget_calls()

    mine = pool_properties("shared", retention="1", tags={}, AdoptExisting="true")
    response = cfn.create(mine, logical_id="B")

    assert response["Status"] == "FAILED"
    assert "cannot adopt pool shared" in response["Reason"] and "other-stack/A" in response["Reason"]
    assert cfn.mutating_calls() == [
        "CreateMediaPipelineKinesisVideoStreamPool"
    ]  # the attempt that met the taken name
    # The rollback's Delete (a made-up id: the Create failed) leaves the pool as it was.
    assert cfn.delete(response["PhysicalResourceId"], mine, logical_id="B")["Status"] == "SUCCESS"
    pool = _pool(cfn, "shared")
    assert pool is not None and pool["StreamConfiguration"]["DataRetentionInHours"] == 24
    assert _tags(cfn, arn) == tags


def test_a_construct_moved_twice_in_one_stack_keeps_its_pool_and_the_stack_still_deletes_it(
    cfn: CloudFormation,
) -> None:
    created = pool_properties("moving")
    adopt = pool_properties("moving", AdoptExisting="true")
    arn = cfn.create(created, logical_id="L1")["PhysicalResourceId"]
    for old, new in (("L1", "L2"), ("L2", "L3")):
        assert cfn.create(adopt, logical_id=new)["Status"] == "SUCCESS"
        # The update's cleanup phase deletes the old logical id, with the same ARN.
        assert "left in place" in cfn.delete(arn, adopt, logical_id=old)["Reason"]
        assert _pool(cfn, "moving") is not None

    assert cfn.delete(arn, adopt, logical_id="L3")["Reason"].startswith("deleted pool")
    assert _pool(cfn, "moving") is None


# ----- 2. retention changes the handler accepts can be rolled back -----


def test_retention_from_0_is_refused_and_its_rollback_update_succeeds(cfn: CloudFormation) -> None:
    v1 = pool_properties("zero", retention="0")
    v2 = pool_properties("zero", retention="24")
    arn = cfn.create(v1)["PhysicalResourceId"]
    cfn.forget_calls()

    forward = cfn.update(arn, v2, v1)

    assert forward["Status"] == "FAILED"
    for part in ("DataRetentionInHours", "from 0 to 24", "minimum is 1 hour", "new PoolName"):
        assert part in forward["Reason"], part
    assert cfn.mutating_calls() == []
    # CloudFormation's rollback update (old and new swapped) finds the pool still at 0: no change.
    back = cfn.update(arn, v1, v2)
    assert back["Status"] == "SUCCESS", back["Reason"]
    assert back["Data"]["DataRetentionInHours"] == "0"
    assert cfn.mutating_calls() == []


def test_retention_to_0_stays_refused_and_its_rollback_succeeds(cfn: CloudFormation) -> None:
    v1 = pool_properties("down", retention="24")
    v2 = pool_properties("down", retention="0")
    arn = cfn.create(v1)["PhysicalResourceId"]
    cfn.forget_calls()

    assert cfn.update(arn, v2, v1)["Status"] == "FAILED"
    back = cfn.update(arn, v1, v2)

    assert back["Status"] == "SUCCESS" and back["Data"]["DataRetentionInHours"] == "24"
    assert cfn.mutating_calls() == []


# ----- 5. a slow service cannot push a Delete past the deadline -----


def test_a_slow_poll_after_the_delete_still_answers_in_time_naming_the_streams(cfn: CloudFormation) -> None:
    properties = pool_properties("slowdel", DeleteStreamsOnDelete="true")
    arn = cfn.create(properties)["PhysicalResourceId"]
    pool_id = _pool(cfn, "slowdel")["PoolId"]  # type: ignore[index]
    stop = threading.Event()

    def slow_gets_once_deleted() -> None:
        # Every Get after the Delete takes 11 s: longer than the client's 5 s read timeout.
        while not stop.is_set():
            if cfn.backend.calls(DELETE):
                cfn.backend.faults.add(GET, "slow", count=None, delay=11)
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=slow_gets_once_deleted, daemon=True)
    watcher.start()
    event = cfn.event("Delete", properties, physical_id=arn)
    cfn.events.append(event)
    # 14 s: 9 s of room before the 5 s margin, enough to start one Get (7 s at worst), never two.
    worker = threading.Thread(
        target=index.handler, args=(event, LambdaContext(14.0, function_name=FUNCTION_NAME)), daemon=True
    )
    worker.start()
    response = cfn.responses.wait_for(event["RequestId"], 40)
    stop.set()
    worker.join(40)
    cfn.backend.faults.clear()

    assert response is not None and len(cfn.responses.responses(event["RequestId"])) == 1
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert f"streams of PoolId {pool_id} kept" in response["Reason"]
    assert len(cfn.backend.calls(GET)) <= 3  # no retry of the slow Get ran past the deadline


# ----- 7. a retried Delete after a complete deletion -----


def test_a_delete_retried_after_the_pool_is_gone_says_honestly_what_it_did(cfn: CloudFormation) -> None:
    properties = pool_properties("twice-deleted", DeleteStreamsOnDelete="true")
    arn = cfn.create(properties)["PhysicalResourceId"]
    assert cfn.delete(arn, properties)["Status"] == "SUCCESS"

    again = cfn.delete(arn, properties)

    assert again["Status"] == "SUCCESS"
    assert "already gone" in again["Reason"] and "were kept" not in again["Reason"]
    assert "if any are left, are kept by this answer" in again["Reason"]


# ----- the tag itself -----


def test_the_tag_fits_256_characters_with_the_longest_stack_and_logical_ids() -> None:
    stack_id = f"arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/{'S' * 128}/{'0' * 36}"
    owners = [Owner.of(stack_id, f"{c}" * 255) for c in "ABC"]
    value = ownership.created_by(owners[0])
    claim = ownership.read({pool_rules.OWNER_TAG_KEY: value})
    for adopter in owners[1:]:
        adopted = ownership.adoption(adopter, claim)
        assert adopted is not None and len(adopted) <= pool_rules.TAG_VALUE_MAX
        claim = ownership.read({pool_rules.OWNER_TAG_KEY: adopted})
        assert claim is not None and claim.owner == adopter.digest and claim.creator == owners[0].digest
    assert len(value) <= pool_rules.TAG_VALUE_MAX
    # Every field survives the cut labels: the last adopter releases, the pool goes back to the second.
    decision = ownership.on_delete(owners[2], claim)
    assert decision.new_value is not None and len(decision.new_value) <= pool_rules.TAG_VALUE_MAX
    back = ownership.read({pool_rules.OWNER_TAG_KEY: decision.new_value})
    assert back is not None and back.owner == owners[1].digest and back.creator == owners[0].digest


def test_a_tag_from_before_creators_were_kept_still_decides() -> None:
    creator = Owner.of(STACK_ID, "Old")
    old = f"owner={creator.digest} mode=created label=handler-test/Old"
    claim = ownership.read({pool_rules.OWNER_TAG_KEY: old})
    assert claim is not None and claim.creator == creator.digest
    assert ownership.on_delete(creator, claim).delete
    # Older tags have no stack digest: the label's stack name says whether it is this stack.
    assert ownership.adoption(OWNER, claim) is not None
    with pytest.raises(ownership.NotAdoptable):
        ownership.adoption(Owner.of(OTHER_STACK_ID, "Pool"), claim)
    assert user_tags({pool_rules.OWNER_TAG_KEY: old}) == {}


def test_the_rollback_of_a_create_that_outlasted_a_short_wait_deletes_the_pool(cfn: CloudFormation) -> None:
    """WaitTimeoutSeconds=1 with a pool that needs 3 s to turn ACTIVE: the Create answers FAILED
    (still CREATING), and the rollback's Delete meets the service's conflict while the pool is
    still CREATING. It waits that out within the invocation, not within the 1 s wait, and deletes."""
    cfn.backend.create_delay = 3.0
    cfn.backend.delete_delay = 0.3
    properties = pool_properties(
        "short-wait", region="us-west-2", WaitTimeoutSeconds="1", DeleteStreamsOnDelete="true"
    )
    created = cfn.create(properties)
    assert created["Status"] == "FAILED" and "CREATING" in created["Reason"]

    deleted = cfn.delete(created["PhysicalResourceId"], properties)

    # The wait for the pool to go starts once the Delete is accepted: it sees the pool gone, and the
    # streams phase runs (it found none), instead of "still DELETING" with the streams kept.
    assert deleted["Status"] == "SUCCESS", deleted["Reason"]
    assert deleted["Reason"].startswith(f"deleted pool {created['PhysicalResourceId']}")
    assert _pool(cfn, "short-wait") is None


def test_a_wait_timeout_python_cannot_read_still_gets_one_failed_response(cfn: CloudFormation) -> None:
    """Thousands of digits are no int in Python 3.11+: the handler must still answer, once."""
    properties = pool_properties("huge", WaitTimeoutSeconds="1" * 5000)

    response = cfn.delete("handler-test-Pool-ABCDEFGHIJKL", properties)

    assert response["Status"] in ("SUCCESS", "FAILED")
    assert cfn.mutating_calls() == []
