"""A deleted pool's Kinesis video streams: found by its exact PoolId, deleted one by one.

The streams outlive their pool, and the service allows deleting them only once the pool is
completely gone; ``lifecycle.delete_pool`` calls this only then. Streams are matched by the name
prefix ``<PoolId>-``: a PoolId ends in a uuid, so no other pool's streams can match it, whatever
that pool is called.

By then the pool resource is gone, so nothing here raises: a failed Delete would strand the stack,
and a retried one could no longer learn the PoolId. Every call is bounded by the budget (none starts
unless a whole call fits in what is left), throttling (``ClientLimitExceededException``: DeleteStream
allows 50 calls a second per account), 5xx answers and transport errors are retried with backoff
while the budget lasts, and whatever is left is named: the PoolId, how many streams, and their names.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from . import pool_rules

logger = logging.getLogger(__name__)

DELETING = "DELETING"
THROTTLED = "ClientLimitExceededException"
NOT_FOUND = "ResourceNotFoundException"
# How long one Kinesis Video Streams call may take at worst: the stream client's connect and read
# timeouts (index.STREAM_CLIENT_CONFIG, which makes one attempt per call; the retries are here).
CALL_SECONDS = 5.0
FIRST_RETRY_DELAY = 0.2
MAX_RETRY_DELAY = 2.0
# How many stream names a warning log line lists (a Reason holds far fewer).
LOGGED_NAMES_MAX = 100


class Budget(Protocol):
    """``lifecycle.Budget``'s shape (not imported: lifecycle imports this module)."""

    @property
    def remaining_seconds(self) -> Callable[[], float]: ...

    @property
    def sleep(self) -> Callable[[float], None]: ...


class _OutOfTime(Exception):
    """No whole call fits in the budget any more; the message says so (and after which error)."""


class _CallFailed(Exception):
    """A call failed for good; ``cause`` says how (an error code or a transport error)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


@dataclass
class StreamCleanup:
    """What happened to a deleted pool's streams."""

    pool_id: str
    deleted: int = 0
    left: list[str] = field(default_factory=list)  # names of the streams found and not deleted
    listed_all: bool = True  # False: listing stopped early, so there may be more than ``left``
    cause: str = ""  # why streams were left

    @property
    def complete(self) -> bool:
        return self.listed_all and not self.left

    def sentence(self, pool_outcome: str) -> str:
        """The Reason: the stream part first when streams were left (a long Reason is cut at its end)."""
        noun = "stream" if self.deleted == 1 else "streams"
        if self.complete:
            return f"{pool_outcome}; deleted its {self.deleted} Kinesis video {noun}"
        prefix = pool_rules.pool_stream_prefix(self.pool_id)
        more = "" if self.listed_all else " or more"
        return (
            f"streams of PoolId {self.pool_id} left: {len(self.left)}{more} ({self.cause}; delete "
            f"{prefix}* by hand): {', '.join(self.left) or '-'}; "
            f"{pool_outcome}, deleted {self.deleted} {noun}"
        )


def delete_pool_streams(kvs_client: Any, pool_id: str, budget: Budget) -> StreamCleanup:
    """Delete every stream of the (deleted) pool within the budget; never raises."""
    cleanup = StreamCleanup(pool_id)
    found: list[tuple[str, str]] = []
    try:
        for name, arn in _pool_streams(kvs_client, pool_id, budget):
            found.append((name, arn))
    except _OutOfTime as out:
        cleanup.listed_all, cleanup.cause = False, f"ListStreams: {out}"
    except _CallFailed as failure:
        cleanup.listed_all, cleanup.cause = False, f"ListStreams: {failure.cause}"
    for index, (name, arn) in enumerate(found):
        try:
            _call(budget, functools.partial(kvs_client.delete_stream, StreamARN=arn), gone_ok=True)
        except _OutOfTime as out:
            cleanup.left.extend(left for left, _ in found[index:])
            cleanup.cause = cleanup.cause or f"DeleteStream: {out}"
            break
        except _CallFailed as failure:
            cleanup.left.append(name)
            cleanup.cause = cleanup.cause or f"DeleteStream: {failure.cause}"
            continue
        cleanup.deleted += 1
    if cleanup.complete:
        logger.info("Deleted %d streams of pool %s", cleanup.deleted, pool_id)
    else:
        logger.warning(
            "Kinesis video streams of deleted pool PoolId %s left behind: %d%s (%s); delete them by hand: %s",
            pool_id,
            len(cleanup.left),
            "" if cleanup.listed_all else " or more",
            cleanup.cause,
            ", ".join(cleanup.left[:LOGGED_NAMES_MAX])
            + (" ..." if len(cleanup.left) > LOGGED_NAMES_MAX else ""),
        )
    return cleanup


def _pool_streams(kvs_client: Any, pool_id: str, budget: Budget) -> Any:
    """(name, ARN) of the pool's streams that are not already being deleted, page by page."""
    prefix = pool_rules.pool_stream_prefix(pool_id)
    request: dict[str, Any] = {
        "StreamNameCondition": {"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": prefix}
    }
    while True:
        response = _call(budget, lambda: kvs_client.list_streams(**request))
        for info in response.get("StreamInfoList", []):
            # The service filters already; checking again costs nothing and guards against a
            # filter that matched more loosely than the exact prefix.
            name = info.get("StreamName", "")
            if name.startswith(prefix) and info.get("Status") != DELETING:
                yield name, info["StreamARN"]
        token = response.get("NextToken")
        if not token:
            return
        request["NextToken"] = token


def _call(budget: Budget, call: Callable[[], Any], *, gone_ok: bool = False) -> Any:
    """One call, retried on throttling, 5xx and transport errors while a whole call still fits."""
    delay = FIRST_RETRY_DELAY
    while True:
        if budget.remaining_seconds() < CALL_SECONDS:
            raise _OutOfTime("the time budget ran out")
        try:
            return call()
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "")) or "Error"
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if gone_ok and code == NOT_FOUND:
                return None  # gone meanwhile (or deleted by an earlier attempt): nothing left to do
            if code != THROTTLED and status < 500:
                raise _CallFailed(code) from error
            cause = code
        except BotoCoreError as error:
            cause = type(error).__name__
        logger.info("Kinesis Video Streams call failed (%s); retrying", cause)
        if budget.remaining_seconds() < CALL_SECONDS + delay:
            raise _OutOfTime(f"{cause} until the time budget ran out")
        budget.sleep(delay)
        delay = min(delay * 2, MAX_RETRY_DELAY)
