"""A deleted pool's Kinesis video streams: found by its exact PoolId, deleted one by one.

The streams outlive their pool, and the service allows deleting them only once the pool is
completely gone; ``lifecycle.delete_pool`` calls this only then. Streams are matched by the name
prefix ``<PoolId>-``: a PoolId ends in a uuid, so no other pool's streams can match it, whatever
that pool is called.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from . import pool_rules

logger = logging.getLogger(__name__)

DELETING = "DELETING"


def pool_stream_arns(kvs_client: Any, pool_id: str) -> list[str]:
    """The ARNs of the pool's streams that are not already being deleted, across all pages."""
    prefix = pool_rules.pool_stream_prefix(pool_id)
    request: dict[str, Any] = {
        "StreamNameCondition": {"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": prefix}
    }
    arns: list[str] = []
    while True:
        response = kvs_client.list_streams(**request)
        for info in response.get("StreamInfoList", []):
            # The service filters already; checking again costs nothing and guards against a
            # filter that matched more loosely than the exact prefix.
            if info.get("StreamName", "").startswith(prefix) and info.get("Status") != DELETING:
                arns.append(info["StreamARN"])
        token = response.get("NextToken")
        if not token:
            return arns
        request["NextToken"] = token


def delete_pool_streams(kvs_client: Any, pool_id: str) -> str:
    """Delete every stream of the (deleted) pool; return a sentence that says what happened."""
    deleted = 0
    failed: list[str] = []
    for arn in pool_stream_arns(kvs_client, pool_id):
        try:
            kvs_client.delete_stream(StreamARN=arn)
            deleted += 1
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code == "ResourceNotFoundException":
                continue  # gone meanwhile: nothing left to do
            logger.warning("Could not delete stream %s: %s", arn, code)
            failed.append(code or "Error")
    logger.info("Deleted %d streams of pool %s", deleted, pool_id)
    outcome = f"deleted its {deleted} Kinesis video {'stream' if deleted == 1 else 'streams'}"
    if failed:
        outcome += f"; {len(failed)} could not be deleted ({failed[0]}), delete them by hand"
    return outcome
