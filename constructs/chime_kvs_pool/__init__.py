"""AWS CDK construct library for Amazon Chime SDK Media Pipelines Kinesis Video Stream pools."""

from chime_kvs_pool.handler import PoolHandler
from chime_kvs_pool.pool import (
    IKinesisVideoStreamPool,
    KinesisVideoStreamPool,
    KinesisVideoStreamPoolBase,
)

__all__ = [
    "IKinesisVideoStreamPool",
    "KinesisVideoStreamPool",
    "KinesisVideoStreamPoolBase",
    "PoolHandler",
]
