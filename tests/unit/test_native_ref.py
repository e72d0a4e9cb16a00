"""Owned and imported pools are aws-cdk-lib ``IMediaPipelineKinesisVideoStreamPoolRef``s.

aws-cdk-lib generates that reference interface for the native resource
``AWS::Chime::MediaPipelineKinesisVideoStreamPool``; its APIs that take one read the reference
through jsii, in JavaScript. Passing our pools to such an API proves the implementation is seen
there, not only in Python.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_chime as chime
from aws_cdk.interfaces import aws_chime as chime_refs

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.pool import KinesisVideoStreamPoolBase
from tests.unit.conftest import new_stack

ACCOUNT = "111122223333"
POOL_ARN = f"arn:aws:chime:eu-west-1:{ACCOUNT}:media-pipeline-kinesis-video-stream-pool/shared-pool"


def arn_through_aws_cdk_lib(stack: cdk.Stack, pool: Any) -> Any:
    """aws-cdk-lib's own ARN accessor for a pool reference, resolved in the stack."""
    return stack.resolve(
        chime.CfnMediaPipelineKinesisVideoStreamPool.arn_for_media_pipeline_kinesis_video_stream_pool(pool)
    )


def test_pools_declare_aws_cdk_libs_reference_interface() -> None:
    declared = getattr(KinesisVideoStreamPoolBase, "__jsii_ifaces__", [])
    assert chime_refs.IMediaPipelineKinesisVideoStreamPoolRef in declared
    # The owned pool keeps it alongside ITaggable.
    assert chime_refs.IMediaPipelineKinesisVideoStreamPoolRef in KinesisVideoStreamPool.__jsii_ifaces__  # type: ignore[attr-defined]
    assert cdk.ITaggable in KinesisVideoStreamPool.__jsii_ifaces__  # type: ignore[attr-defined]


def test_an_owned_pool_passes_as_the_native_reference() -> None:
    stack = new_stack(env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    pool = KinesisVideoStreamPool(stack, "Pool")
    reference = pool.media_pipeline_kinesis_video_stream_pool_ref
    assert isinstance(reference, chime_refs.MediaPipelineKinesisVideoStreamPoolReference)
    logical_id = stack.get_logical_id(pool.custom_resource.node.default_child)  # type: ignore[arg-type]
    # JavaScript reads the reference from the Python object: the pool's ARN, its custom resource's Ref.
    assert arn_through_aws_cdk_lib(stack, pool) == {"Ref": logical_id}
    assert stack.resolve(reference.media_pipeline_kinesis_video_stream_pool_arn) == {"Ref": logical_id}


def test_an_imported_pool_passes_as_the_native_reference() -> None:
    stack = new_stack(env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    imported = KinesisVideoStreamPool.from_pool_arn(stack, "Imported", POOL_ARN)
    by_name = KinesisVideoStreamPool.from_pool_name(stack, "ByName", "other-pool")
    assert arn_through_aws_cdk_lib(stack, imported) == POOL_ARN
    assert arn_through_aws_cdk_lib(stack, by_name) == stack.resolve(by_name.pool_arn)
    # IEnvironmentAware, which the interface extends: the ARN's account and Region.
    assert imported.env.region == "eu-west-1"


def test_the_native_l1_and_our_pool_are_interchangeable_where_a_reference_is_taken() -> None:
    """One function written against aws-cdk-lib's interface takes either kind of pool."""
    stack = new_stack(env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    native = chime.CfnMediaPipelineKinesisVideoStreamPool(
        stack,
        "Native",
        pool_name="native-pool",
        stream_configuration=chime.CfnMediaPipelineKinesisVideoStreamPool.StreamConfigurationProperty(
            region="eu-west-1"
        ),
    )
    ours = KinesisVideoStreamPool(stack, "Ours")
    arns = [arn_through_aws_cdk_lib(stack, pool) for pool in (native, ours)]
    assert arns[0] == stack.resolve(native.ref)  # the native resource's Ref is its ARN
    assert arns[1] == stack.resolve(ours.pool_arn)
    # A jsii object that is not a pool reference is refused by aws-cdk-lib.
    plain = cdk.Resource(stack, "Plain")
    try:
        arn_through_aws_cdk_lib(stack, plain)
    except (TypeError, RuntimeError, jsii.errors.JSIIError):
        pass
    else:
        raise AssertionError("aws-cdk-lib accepted a resource that is not a pool reference")
