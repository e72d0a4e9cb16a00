"""Create, update, delete and wait for a Kinesis Video Stream pool: the handler's logic.

No crhelper and no CloudFormation here: functions take a boto3 ``chime-sdk-media-pipelines`` client,
parsed ``PoolSpec``s and a ``Budget`` (how long they may still wait, and how to sleep), so they can be
driven by the Lambda, by tests, or by anything else.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from . import pool_rules, streams
from .properties import PoolSpec

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_media_pipelines import ChimeSDKMediaPipelinesClient
    from mypy_boto3_chime_sdk_media_pipelines.type_defs import KinesisVideoStreamPoolConfigurationTypeDef

logger = logging.getLogger(__name__)

# Polling: start fast (a pool usually turns ACTIVE within seconds), double, and cap at one second so
# that the handler reports at most about a second after the pool is ready. Gets are cheap reads.
FIRST_POLL_DELAY = 0.25
MAX_POLL_DELAY = 1.0

ACTIVE = "ACTIVE"
FAILED = "FAILED"
DELETING = "DELETING"

# ClientRequestToken: the service pattern is [-_a-zA-Z0-9], 2-64 characters.
TOKEN_LENGTH = 64

OnPhysicalId = Callable[[str], None]
# A Kinesis Video Streams client for a Region (the pool's streams live in its stream Region).
StreamClientFor = Callable[[str], Any]


class PoolError(Exception):
    """A pool operation that cannot succeed; the message is meant for CloudFormation's Reason."""


class PoolFailedError(PoolError):
    """The service put the pool into FAILED status."""


class WaitTimeoutError(PoolError):
    """The pool did not reach the wanted state within the invocation's budget."""

    def __init__(self, message: str, last_status: str) -> None:
        super().__init__(message)
        self.last_status = last_status


@dataclass(frozen=True)
class Budget:
    """How many seconds this invocation may still spend waiting, and how it sleeps."""

    remaining_seconds: Callable[[], float]
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def for_seconds(
        cls,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Budget:
        deadline = clock() + max(0.0, seconds)
        return cls(lambda: deadline - clock(), sleep)


def client_request_token(stack_id: str, logical_resource_id: str, request_id: str) -> str:
    """A ClientRequestToken that is the same for CloudFormation's retries of one request.

    CloudFormation may deliver a request more than once; the service then returns the pool the first
    delivery created instead of a second pool or a conflict. A hash keeps the token within the
    service's pattern and length whatever the ids look like, and reveals nothing about them.
    """
    digest = hashlib.sha256("\n".join((stack_id, logical_resource_id, request_id)).encode())
    return digest.hexdigest()[:TOKEN_LENGTH]


def pool_data(configuration: KinesisVideoStreamPoolConfigurationTypeDef) -> dict[str, str]:
    """The custom resource's Data: flat strings only (CloudFormation's GetAtt returns strings)."""
    stream = configuration.get("StreamConfiguration", {})
    retention = stream.get("DataRetentionInHours")
    return {
        "PoolArn": configuration.get("PoolArn", ""),
        "PoolId": configuration.get("PoolId", ""),
        "PoolName": configuration.get("PoolName", ""),
        "PoolStatus": configuration.get("PoolStatus", ""),
        "PoolSize": str(configuration.get("PoolSize", 0)),
        "StreamRegion": stream.get("Region", ""),
        "DataRetentionInHours": "" if retention is None else str(retention),
        "CreatedTimestamp": _iso_utc(configuration.get("CreatedTimestamp")),
        "UpdatedTimestamp": _iso_utc(configuration.get("UpdatedTimestamp")),
    }


def create_pool(
    client: ChimeSDKMediaPipelinesClient,
    spec: PoolSpec,
    token: str,
    budget: Budget,
    on_physical_id: OnPhysicalId,
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """Create the pool, report its ARN at once, then wait for ACTIVE."""
    stream: dict[str, Any] = {"Region": spec.stream_region}
    if spec.data_retention_hours is not None:
        stream["DataRetentionInHours"] = spec.data_retention_hours
    request: dict[str, Any] = {
        "PoolName": spec.pool_name,
        "StreamConfiguration": stream,
        "ClientRequestToken": token,
    }
    if spec.tags:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in spec.tags]
    logger.info("Creating pool %s (streams in %s)", spec.pool_name, spec.stream_region)
    try:
        response = client.create_media_pipeline_kinesis_video_stream_pool(**request)
    except ClientError as error:
        if _error_code(error) == "ConflictException":
            if spec.adopt_existing:
                return adopt_pool(client, spec, budget, on_physical_id)
            raise PoolError(
                f"a pool named {spec.pool_name} already exists in region {_client_region(client)} "
                "(AdoptExisting would take it over)"
            ) from error
        raise PoolError(f"creating pool {spec.pool_name} failed: {_error_text(error)}") from error
    configuration = response["KinesisVideoStreamPoolConfiguration"]
    arn = configuration["PoolArn"]
    # Before any wait: if the wait fails or the Lambda dies, CloudFormation still learns the ARN and
    # its rollback deletes the pool instead of leaking it.
    on_physical_id(arn)
    logger.info("Created pool %s (status %s)", arn, configuration.get("PoolStatus"))
    if configuration.get("PoolStatus") == ACTIVE:
        return configuration
    return wait_until_active(client, arn, budget)


def adopt_pool(
    client: ChimeSDKMediaPipelinesClient, spec: PoolSpec, budget: Budget, on_physical_id: OnPhysicalId
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """Take over the existing pool named ``spec.pool_name``: bring its retention and tags to the
    declared state, wait for ACTIVE, and only then report its ARN.

    The ARN is reported last on purpose: a pool we failed to take over was never ours, so
    CloudFormation's rollback must not delete it.
    """
    name = spec.pool_name
    try:
        current = _get_pool(client, name)
    except ClientError as error:
        raise PoolError(f"adopting pool {name} failed: {_error_text(error)}") from error
    arn = current["PoolArn"]
    current_region = current.get("StreamConfiguration", {}).get("Region")
    if current_region != spec.stream_region:
        raise PoolError(
            f"cannot adopt pool {name}: its streams are in {current_region}, not "
            f"{spec.stream_region} (StreamConfiguration.Region cannot change; pick another PoolName)"
        )
    status = current.get("PoolStatus")
    if status == DELETING:
        raise PoolError(f"cannot adopt pool {name}: it is being deleted")
    logger.info("Adopting existing pool %s (status %s)", arn, status)
    configuration = current if status == ACTIVE else wait_until_active(client, arn, budget)

    current_retention = configuration.get("StreamConfiguration", {}).get("DataRetentionInHours")
    if spec.data_retention_hours is not None and spec.data_retention_hours != current_retention:
        logger.info(
            "Updating retention of adopted pool %s from %s to %s hours",
            arn,
            current_retention,
            spec.data_retention_hours,
        )
        client.update_media_pipeline_kinesis_video_stream_pool(
            Identifier=arn, StreamConfiguration={"DataRetentionInHours": spec.data_retention_hours}
        )
        configuration = wait_until_active(client, arn, budget)

    # The declared tags become the pool's tags: undeclared ones go (AWS-reserved keys are not ours).
    live = {
        key: value
        for key, value in _live_tags(client, arn).items()
        if not pool_rules.is_reserved_tag_key(key)
    }
    _apply_tag_difference(client, arn, live, spec.tag_map)
    on_physical_id(arn)
    return configuration


def update_pool(
    client: ChimeSDKMediaPipelinesClient,
    physical_id: str,
    old_spec: PoolSpec | None,
    new_spec: PoolSpec,
    token: str,
    budget: Budget,
    on_physical_id: OnPhysicalId,
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """Bring the pool in line with ``new_spec``; replace it when a create-only property changed.

    The difference is taken between the old and new properties, as CloudFormation's own resources
    do, so an update costs its mutating calls plus one Get (for Data, and to see ACTIVE). The pool's
    live state is the baseline instead (one Get more) when the old properties cannot be parsed or do
    not describe the pool behind ``physical_id``: the rollback of a failed replacement is sent to
    the old pool with the new pool's properties as its old ones. Rollback updates (old and new
    swapped) go through the same path.
    """
    if not pool_rules.is_pool_arn(physical_id):
        logger.info("No pool behind physical id %s: creating one", physical_id)
        return create_pool(client, new_spec, token, budget, on_physical_id)

    if old_spec is None or old_spec.pool_name != pool_rules.pool_name_in_arn(physical_id):
        return _update_from_live_state(client, physical_id, new_spec, token, budget, on_physical_id)

    if _is_replacement(old_spec.pool_name, old_spec.stream_region, new_spec):
        logger.info("PoolName or stream Region changed: replacing pool %s", physical_id)
        return create_pool(client, new_spec, token, budget, on_physical_id)

    on_physical_id(physical_id)
    _apply_tag_difference(client, physical_id, old_spec.tag_map, new_spec.tag_map)
    new_retention = new_spec.data_retention_hours
    if new_retention is not None and new_retention != old_spec.data_retention_hours:
        return _update_retention(client, physical_id, old_spec.data_retention_hours, new_retention, budget)
    return _get_active_pool(client, physical_id, budget)


def _update_from_live_state(
    client: ChimeSDKMediaPipelinesClient,
    physical_id: str,
    new_spec: PoolSpec,
    token: str,
    budget: Budget,
    on_physical_id: OnPhysicalId,
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """``update_pool`` without usable old properties: the live pool and its tags are the baseline."""
    current = _get_pool(client, physical_id)
    current_region = current.get("StreamConfiguration", {}).get("Region")
    if _is_replacement(current.get("PoolName"), current_region, new_spec):
        logger.info("PoolName or stream Region changed: replacing pool %s", physical_id)
        return create_pool(client, new_spec, token, budget, on_physical_id)

    on_physical_id(physical_id)
    _apply_tag_difference(client, physical_id, _live_tags(client, physical_id), new_spec.tag_map)
    current_retention = current.get("StreamConfiguration", {}).get("DataRetentionInHours")
    new_retention = new_spec.data_retention_hours
    if new_retention is not None and new_retention != current_retention:
        return _update_retention(client, physical_id, current_retention, new_retention, budget)
    if current.get("PoolStatus") != ACTIVE:
        return wait_until_active(client, physical_id, budget)
    return current


def _is_replacement(old_name: object, old_region: object, new_spec: PoolSpec) -> bool:
    """Whether the create-only properties changed; same name in a new Region fails fast instead.

    Replacing under the same name would collide with the existing pool, which CloudFormation only
    deletes after the replacement exists; the service's own error would not say why.
    """
    name_changed = old_name != new_spec.pool_name
    region_changed = old_region != new_spec.stream_region
    if region_changed and not name_changed:
        raise PoolError(
            f"StreamConfiguration.Region cannot change from {old_region} to "
            f"{new_spec.stream_region} while PoolName stays {new_spec.pool_name}: the replacement "
            "pool's name would collide with the existing pool. Change PoolName too."
        )
    return name_changed or region_changed


def _update_retention(
    client: ChimeSDKMediaPipelinesClient, arn: str, old_hours: object, new_hours: int, budget: Budget
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """Change the retention and wait for ACTIVE.

    A pool still CREATING or UPDATING refuses with a conflict, perhaps while it is already moving to
    this very value (an earlier delivery of the same request, or a rollback after a timed-out
    update). Then wait for it to settle and decide again from its live retention, so that a repeated
    request converges instead of starting one more slow update each time.
    """
    logger.info("Updating retention of %s from %s to %s hours", arn, old_hours, new_hours)
    while True:
        try:
            client.update_media_pipeline_kinesis_video_stream_pool(
                Identifier=arn, StreamConfiguration={"DataRetentionInHours": new_hours}
            )
        except ClientError as error:
            if _error_code(error) != "ConflictException":
                raise PoolError(f"updating pool {arn} failed: {_error_text(error)}") from error
            logger.info("Pool %s is busy (%s); waiting for it to settle", arn, _error_text(error))
            configuration = wait_until_active(client, arn, budget)
            if configuration.get("StreamConfiguration", {}).get("DataRetentionInHours") == new_hours:
                return configuration
            continue
        return wait_until_active(client, arn, budget)


def _get_active_pool(
    client: ChimeSDKMediaPipelinesClient, arn: str, budget: Budget
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """One Get for the response's Data; if the pool is still changing, wait for ACTIVE."""
    configuration = _get_pool(client, arn)
    if configuration.get("PoolStatus") == ACTIVE:
        return configuration
    if configuration.get("PoolStatus") == FAILED:
        raise PoolFailedError(f"pool {arn} is in status FAILED (reported by the service)")
    return wait_until_active(client, arn, budget)


def delete_pool(
    client: ChimeSDKMediaPipelinesClient,
    physical_id: str,
    budget: Budget,
    stream_client_for: StreamClientFor | None = None,
) -> str:
    """Delete the pool and wait for it to go; return a sentence that says what happened.

    With ``stream_client_for``, the pool's Kinesis video streams are deleted too, but only once the
    pool is completely gone (the service refuses earlier, and meetings may still use them).
    """
    if not pool_rules.is_pool_arn(physical_id):
        return f"nothing to delete: {physical_id} is not a pool ARN (the create never made a pool)"
    pool_id = stream_region = None
    if stream_client_for is not None:
        # The streams are found by PoolId, which only the pool itself can tell: read it first.
        try:
            current = _get_pool(client, physical_id)
        except ClientError as error:
            if _error_code(error) == "NotFoundException":
                return f"pool {physical_id} was already gone; its streams were kept (its PoolId is unknown)"
            raise PoolError(f"reading pool {physical_id} failed: {_error_text(error)}") from error
        pool_id = current.get("PoolId")
        stream_region = current.get("StreamConfiguration", {}).get("Region")
    logger.info("Deleting pool %s", physical_id)
    status: str | None
    try:
        _delete_when_allowed(client, physical_id, budget)
    except ClientError as error:
        if _error_code(error) != "NotFoundException":
            raise PoolError(f"deleting pool {physical_id} failed: {_error_text(error)}") from error
        if pool_id is None:
            return f"pool {physical_id} was already gone"
        status = None  # gone between our Get and our Delete: its streams may go now
    else:
        status = _wait_until_gone(client, physical_id, budget)

    if status is None:
        outcome = f"deleted pool {physical_id}"
        if stream_client_for is not None and pool_id and stream_region:
            outcome += "; " + streams.delete_pool_streams(stream_client_for(stream_region), pool_id)
        return outcome
    # The stream note comes before the explanation: a long Reason is cut at its end.
    kept = "; its streams were kept until it is gone" if pool_id else ""
    return (
        f"deletion of pool {physical_id} requested; it is still {status} when this invocation's "
        f"wait ended{kept} (the service completes it once meetings using the pool end)"
    )


def wait_until_active(
    client: ChimeSDKMediaPipelinesClient, arn: str, budget: Budget
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """Poll Get with short, capped backoff until ACTIVE; fail on FAILED or when the budget runs out."""
    status = "unknown"
    for delay in _PollDelays(budget):
        budget.sleep(delay)
        configuration = _get_pool(client, arn)
        status = configuration.get("PoolStatus", "unknown")
        if status == ACTIVE:
            return configuration
        if status == FAILED:
            raise PoolFailedError(f"pool {arn} went to status FAILED (reported by the service)")
    raise WaitTimeoutError(
        f"pool {arn} was still {status} when this invocation's wait budget ran out", status
    )


def _wait_until_gone(client: ChimeSDKMediaPipelinesClient, arn: str, budget: Budget) -> str | None:
    """None once Get says NotFound; otherwise the last status seen when the budget ran out."""
    status = DELETING
    for delay in _PollDelays(budget):
        budget.sleep(delay)
        try:
            status = _get_pool(client, arn).get("PoolStatus", DELETING)
        except ClientError as error:
            if _error_code(error) == "NotFoundException":
                return None
            raise
    logger.warning("Pool %s is still %s; the service will finish deleting it later", arn, status)
    return status


def _delete_when_allowed(client: ChimeSDKMediaPipelinesClient, arn: str, budget: Budget) -> None:
    """Delete, retrying a ConflictException (the pool is busy changing) while the budget lasts."""
    delays = iter(_PollDelays(budget))
    while True:
        try:
            client.delete_media_pipeline_kinesis_video_stream_pool(Identifier=arn)
            return
        except ClientError as error:
            delay = next(delays, None)
            if _error_code(error) != "ConflictException" or delay is None:
                raise
            logger.info("Pool %s is busy (%s); retrying the delete", arn, _error_text(error))
            budget.sleep(delay)


class _PollDelays:
    """Delays before each poll: doubling from FIRST_POLL_DELAY to MAX_POLL_DELAY, within the budget."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._next = FIRST_POLL_DELAY

    def __iter__(self) -> _PollDelays:
        return self

    def __next__(self) -> float:
        remaining = self._budget.remaining_seconds()
        if remaining <= 0:
            raise StopIteration
        delay = min(self._next, remaining)
        self._next = min(self._next * 2, MAX_POLL_DELAY)
        return delay


def _get_pool(client: ChimeSDKMediaPipelinesClient, arn: str) -> KinesisVideoStreamPoolConfigurationTypeDef:
    response = client.get_media_pipeline_kinesis_video_stream_pool(Identifier=arn)
    return response["KinesisVideoStreamPoolConfiguration"]


def _live_tags(client: ChimeSDKMediaPipelinesClient, arn: str) -> dict[str, str]:
    response = client.list_tags_for_resource(ResourceARN=arn)
    return {tag["Key"]: tag["Value"] for tag in response.get("Tags", [])}


def _apply_tag_difference(
    client: ChimeSDKMediaPipelinesClient, arn: str, old: Mapping[str, str], new: Mapping[str, str]
) -> None:
    removed = sorted(set(old) - set(new))
    changed = sorted(key for key, value in new.items() if old.get(key) != value)
    if removed:
        logger.info("Removing tags %s from %s", ", ".join(removed), arn)
        client.untag_resource(ResourceARN=arn, TagKeys=removed)
    if changed:
        logger.info("Setting tags %s on %s", ", ".join(changed), arn)
        client.tag_resource(ResourceARN=arn, Tags=[{"Key": key, "Value": new[key]} for key in changed])


def _iso_utc(value: object) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return "" if value is None else str(value)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _error_text(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip()


def _client_region(client: ChimeSDKMediaPipelinesClient) -> str:
    return str(client.meta.region_name)
