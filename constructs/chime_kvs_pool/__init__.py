"""AWS CDK construct library for Amazon Chime SDK Media Pipelines Kinesis Video Stream pools.

The construct classes load on first use (PEP 562), so that importing the handler package
``chime_kvs_pool.runtime`` (tests, the offline tools) does not start aws-cdk-lib's jsii runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chime_kvs_pool.handler import PoolHandler as PoolHandler
    from chime_kvs_pool.pool import (
        FAILURE_EVENT_TYPES as FAILURE_EVENT_TYPES,
    )
    from chime_kvs_pool.pool import (
        IKinesisVideoStreamPool as IKinesisVideoStreamPool,
    )
    from chime_kvs_pool.pool import (
        KinesisVideoStreamPool as KinesisVideoStreamPool,
    )
    from chime_kvs_pool.pool import (
        KinesisVideoStreamPoolBase as KinesisVideoStreamPoolBase,
    )
    from chime_kvs_pool.pool import (
        PoolEventType as PoolEventType,
    )

_EXPORTS = {
    "FAILURE_EVENT_TYPES": "chime_kvs_pool.pool",
    "IKinesisVideoStreamPool": "chime_kvs_pool.pool",
    "KinesisVideoStreamPool": "chime_kvs_pool.pool",
    "KinesisVideoStreamPoolBase": "chime_kvs_pool.pool",
    "PoolEventType": "chime_kvs_pool.pool",
    "PoolHandler": "chime_kvs_pool.handler",
}

__all__ = [
    "FAILURE_EVENT_TYPES",
    "IKinesisVideoStreamPool",
    "KinesisVideoStreamPool",
    "KinesisVideoStreamPoolBase",
    "PoolEventType",
    "PoolHandler",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
