"""``delete_streams_on_delete`` at synthesis (issue 10, item 4): refused with a policy that keeps the
pool (CloudFormation would never send the Delete that deletes the streams), and a warning that a
replacement deletes the old pool's streams."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from chime_kvs_pool import KinesisVideoStreamPool
from tests.unit.conftest import new_stack, only_pool


@pytest.mark.parametrize("policy", [cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE])
def test_a_kept_pool_cannot_delete_its_streams(policy: cdk.RemovalPolicy) -> None:
    stack = new_stack()
    with pytest.raises(ValueError) as caught:
        KinesisVideoStreamPool(stack, "Pool", delete_streams_on_delete=True, removal_policy=policy)
    message = str(caught.value)
    assert message.startswith("TestStack/Pool: invalid removal_policy")
    assert "delete_streams_on_delete=True" in message
    assert f"RemovalPolicy.{policy.name}" in message
    assert "RemovalPolicy.DESTROY" in message
    assert stack.node.try_find_child("Pool") is None


def test_retain_later_through_apply_removal_policy_is_refused_too() -> None:
    stack = new_stack()
    pool = KinesisVideoStreamPool(stack, "Pool", delete_streams_on_delete=True)
    with pytest.raises(ValueError, match=r"delete_streams_on_delete=True needs removal_policy="):
        pool.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    # Nothing was applied: the pool is still deleted with the stack (and so are its streams), by
    # CloudFormation's default DeletionPolicy, which the template leaves out.
    assert "DeletionPolicy" not in only_pool(Template.from_stack(stack))


def test_retain_through_the_escape_hatch_fails_synthesis() -> None:
    stack = new_stack()
    pool = KinesisVideoStreamPool(stack, "Pool", delete_streams_on_delete=True)
    pool.custom_resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    with pytest.raises(
        RuntimeError, match=r"delete_streams_on_delete=True needs removal_policy=RemovalPolicy.DESTROY"
    ):
        Template.from_stack(stack)


def test_without_stream_cleanup_a_pool_may_be_kept() -> None:
    stack = new_stack()
    pool = KinesisVideoStreamPool(stack, "Pool", removal_policy=cdk.RemovalPolicy.RETAIN)
    pool.apply_removal_policy(cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
    assert only_pool(Template.from_stack(stack))["DeletionPolicy"] == "RetainExceptOnCreate"


def test_stream_cleanup_warns_that_a_replacement_deletes_the_old_streams() -> None:
    stack = new_stack()
    KinesisVideoStreamPool(stack, "Cleaned", delete_streams_on_delete=True)
    KinesisVideoStreamPool(stack, "Plain")
    annotations = Annotations.from_stack(stack)
    warnings = annotations.find_warning("*", Match.string_like_regexp("replaces this pool"))
    assert [w.id for w in warnings] == ["/TestStack/Cleaned"]
    (warning,) = warnings
    assert "chime-kvs-pool:streams-deleted-on-replacement" in str(warning.entry.data)
    assert "recordings" in str(warning.entry.data)
