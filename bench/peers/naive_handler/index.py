"""The straightforward crhelper handler a user would write: the cold-start benchmark's peer.

Everything at module level, as crhelper's README shows it: ``CfnResource()`` (which builds its
Lambda, EventBridge and CloudWatch Logs clients for polling) and the service's boto3 client.
It does the same job as ours for the benchmark's request: delete a pool, a missing one is fine.
"""

from __future__ import annotations

import contextlib
from typing import Any

import boto3
from crhelper import CfnResource

helper = CfnResource(log_level="INFO")
chime = boto3.client("chime-sdk-media-pipelines")


@helper.create
@helper.update
def create_or_update(event: dict[str, Any], _context: Any) -> str:
    properties = event["ResourceProperties"]
    response = chime.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=properties["PoolName"],
        StreamConfiguration={"Region": properties["StreamConfiguration"]["Region"]},
    )
    pool = response["KinesisVideoStreamPoolConfiguration"]
    helper.Data.update({"PoolArn": pool["PoolArn"], "PoolId": pool["PoolId"]})
    return str(pool["PoolArn"])


@helper.delete
def delete(event: dict[str, Any], _context: Any) -> None:
    with contextlib.suppress(chime.exceptions.NotFoundException):
        chime.delete_media_pipeline_kinesis_video_stream_pool(Identifier=event["PhysicalResourceId"])


def handler(event: dict[str, Any], context: Any) -> None:
    helper(event, context)
