"""One stack of N pools built the way a variant does it, synthesized to a given directory.

``python -m bench.peers.python_app <variant> <pools> <outdir>``: the synth-scale benchmark times
this whole process (interpreter, jsii and the synth), the same way for every Python variant.
Every variant declares the same pools: a fixed name, us-east-1 streams kept 24 hours.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import aws_cdk as cdk
from aws_cdk import aws_chime as chime
from aws_cdk import custom_resources as cr

STREAM_REGION = "us-east-1"
RETENTION_HOURS = 24
STACK_NAME = "BenchStack"


def pool_name(index: int) -> str:
    return f"bench-pool-{index}"


def add_ours(stack: cdk.Stack, index: int) -> None:
    from chime_kvs_pool import KinesisVideoStreamPool

    KinesisVideoStreamPool(
        stack,
        f"Pool{index}",
        pool_name=pool_name(index),
        stream_region=STREAM_REGION,
        data_retention=cdk.Duration.hours(RETENTION_HOURS),
    )


def add_native_l1(stack: cdk.Stack, index: int) -> None:
    chime.CfnMediaPipelineKinesisVideoStreamPool(
        stack,
        f"Pool{index}",
        pool_name=pool_name(index),
        stream_configuration=chime.CfnMediaPipelineKinesisVideoStreamPool.StreamConfigurationProperty(
            region=STREAM_REGION, data_retention_in_hours=RETENTION_HOURS
        ),
    )


def add_aws_custom_resource(stack: cdk.Stack, index: int) -> None:
    """The same API through AwsCustomResource, as its documentation shows it (one policy per call)."""
    service = "ChimeSDKMediaPipelines"
    pool_arn = cr.PhysicalResourceIdReference()
    cr.AwsCustomResource(
        stack,
        f"Pool{index}",
        install_latest_aws_sdk=False,
        on_create=cr.AwsSdkCall(
            service=service,
            action="CreateMediaPipelineKinesisVideoStreamPool",
            parameters={
                "PoolName": pool_name(index),
                "StreamConfiguration": {"Region": STREAM_REGION, "DataRetentionInHours": RETENTION_HOURS},
            },
            physical_resource_id=cr.PhysicalResourceId.from_response(
                "KinesisVideoStreamPoolConfiguration.PoolArn"
            ),
        ),
        on_update=cr.AwsSdkCall(
            service=service,
            action="UpdateMediaPipelineKinesisVideoStreamPool",
            parameters={
                "Identifier": pool_arn,
                "StreamConfiguration": {"DataRetentionInHours": RETENTION_HOURS},
            },
        ),
        on_delete=cr.AwsSdkCall(
            service=service,
            action="DeleteMediaPipelineKinesisVideoStreamPool",
            parameters={"Identifier": pool_arn},
        ),
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
    )


VARIANTS: dict[str, Callable[[cdk.Stack, int], None]] = {
    "ours": add_ours,
    "native_l1": add_native_l1,
    "aws_custom_resource": add_aws_custom_resource,
}


def synth(variant: str, pools: int, outdir: str) -> None:
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, STACK_NAME)
    add_pool = VARIANTS[variant]
    for index in range(pools):
        add_pool(stack, index)
    app.synth()


if __name__ == "__main__":
    synth(sys.argv[1], int(sys.argv[2]), sys.argv[3])
