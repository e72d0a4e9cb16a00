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

from botocore.exceptions import BotoCoreError, ClientError

from . import ownership, pool_rules, streams
from .ownership import Owner
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
    # Seconds a call may still take before the invocation must answer (None: no such limit). The
    # wait budget says how long to keep polling; this says whether one more call can end in time.
    call_room: Callable[[], float] | None = None
    # The same budget started afresh (None: it cannot be): see ``renewed``.
    restart: Callable[[], Budget] | None = None

    @classmethod
    def for_seconds(
        cls,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        call_room: Callable[[], float] | None = None,
    ) -> Budget:
        deadline = clock() + max(0.0, seconds)
        return cls(
            lambda: deadline - clock(),
            sleep,
            call_room,
            lambda: cls.for_seconds(seconds, clock, sleep, call_room),
        )

    def renewed(self) -> Budget:
        """This wait budget counted again from now (calls stay bounded by ``call_room``): for a wait
        that only starts once an earlier one, with its own longer budget, is over."""
        return self.restart() if self.restart is not None else self

    def fits(self, call_seconds: float) -> bool:
        """Whether a call that may take ``call_seconds`` at worst still ends before the answer is due."""
        return self.call_room is None or self.call_room() >= call_seconds


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
    owner: Owner,
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """Create the pool, report its ARN at once, then wait for ACTIVE.

    The owner tag travels in the Create request itself, so no pool ever exists without it.
    """
    stream: dict[str, Any] = {"Region": spec.stream_region}
    if spec.data_retention_hours is not None:
        stream["DataRetentionInHours"] = spec.data_retention_hours
    request: dict[str, Any] = {
        "PoolName": spec.pool_name,
        "StreamConfiguration": stream,
        "ClientRequestToken": token,
    }
    tags = [*spec.tags, (pool_rules.OWNER_TAG_KEY, ownership.created_by(owner))]
    request["Tags"] = [{"Key": key, "Value": value} for key, value in tags]
    logger.info("Creating pool %s (streams in %s)", spec.pool_name, spec.stream_region)
    try:
        response = client.create_media_pipeline_kinesis_video_stream_pool(**request)
    except ClientError as error:
        if _error_code(error) == "ConflictException":
            if spec.adopt_existing:
                return adopt_pool(client, spec, budget, on_physical_id, owner)
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
    return wait_until_active(client, arn, budget, configuration.get("PoolStatus", "unknown"))


def adopt_pool(
    client: ChimeSDKMediaPipelinesClient,
    spec: PoolSpec,
    budget: Budget,
    on_physical_id: OnPhysicalId,
    owner: Owner,
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """Take over the existing pool named ``spec.pool_name``: bring its retention and tags to the
    declared state, wait for ACTIVE, record the adoption on the pool, and only then report its ARN.

    Only a pool with no owner tag (a person's), a released one, or one held by another resource of
    this same stack (a construct moved to a new path) is adopted; a pool another stack holds is
    refused before any mutating call (``ownership.adoption``). The ARN is reported last on purpose:
    a pool we failed to take over was never ours, so CloudFormation's rollback must not delete it.
    Once adopted, the owner tag says so, and no Delete of this resource deletes the pool (adoption
    implies retain; see ``delete_pool``).
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
    live = _live_tags(client, arn)
    try:
        claim = ownership.adoption(owner, ownership.read(live))
    except ownership.UnreadableClaim as error:
        raise PoolError(
            f"cannot adopt pool {name}: its {pool_rules.OWNER_TAG_KEY} tag was not written by this "
            "handler, so who holds it is unknown (remove that tag by hand to adopt the pool)"
        ) from error
    except ownership.NotAdoptable as error:
        raise PoolError(f"cannot adopt pool {name}: {error}") from error
    logger.info("Adopting existing pool %s (status %s)", arn, status)
    configuration = current if status == ACTIVE else wait_until_active(client, arn, budget)

    current_retention = configuration.get("StreamConfiguration", {}).get("DataRetentionInHours")
    if spec.data_retention_hours is not None and spec.data_retention_hours != current_retention:
        _check_retention_change(arn, current_retention, spec.data_retention_hours)
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

    # The declared tags become the pool's tags: undeclared ones go (AWS's keys and the owner tag
    # are not the declaration's).
    _apply_tag_difference(client, arn, _settable(live), spec.tag_map)
    if claim is not None:
        # A repeated delivery of this same Create finds its own claim and leaves it as it is.
        logger.info("Recording the adoption of %s by %s", arn, owner.label)
        client.tag_resource(ResourceARN=arn, Tags=[{"Key": pool_rules.OWNER_TAG_KEY, "Value": claim}])
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
    owner: Owner,
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
        return create_pool(client, new_spec, token, budget, on_physical_id, owner)

    if old_spec is None or old_spec.pool_name != pool_rules.pool_name_in_arn(physical_id):
        return _update_from_live_state(client, physical_id, new_spec, token, budget, on_physical_id, owner)

    if _is_replacement(old_spec.pool_name, old_spec.stream_region, new_spec):
        logger.info("PoolName or stream Region changed: replacing pool %s", physical_id)
        return create_pool(client, new_spec, token, budget, on_physical_id, owner)

    on_physical_id(physical_id)
    old_retention: object = old_spec.data_retention_hours
    new_retention = new_spec.data_retention_hours
    change_retention = new_retention is not None and new_retention != old_retention
    if change_retention and (old_retention == 0 or (new_retention or 0) < pool_rules.RETENTION_UPDATE_MIN):
        # Before any mutating call, a change to or from 0 is decided on the live value: the old
        # properties may not say (no retention given: the service's default), and the rollback of
        # a refused update asks to go back to a value the pool never left.
        old_retention = (
            _get_pool(client, physical_id).get("StreamConfiguration", {}).get("DataRetentionInHours")
        )
        change_retention = old_retention != new_retention
        if change_retention and new_retention is not None:
            _check_retention_change(physical_id, old_retention, new_retention)
    _apply_tag_difference(client, physical_id, old_spec.tag_map, new_spec.tag_map)
    if change_retention and new_retention is not None:
        return _update_retention(client, physical_id, old_retention, new_retention, budget)
    return _get_active_pool(client, physical_id, budget)


def _update_from_live_state(
    client: ChimeSDKMediaPipelinesClient,
    physical_id: str,
    new_spec: PoolSpec,
    token: str,
    budget: Budget,
    on_physical_id: OnPhysicalId,
    owner: Owner,
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """``update_pool`` without usable old properties: the live pool and its tags are the baseline."""
    current = _get_pool(client, physical_id)
    current_region = current.get("StreamConfiguration", {}).get("Region")
    if _is_replacement(current.get("PoolName"), current_region, new_spec):
        logger.info("PoolName or stream Region changed: replacing pool %s", physical_id)
        return create_pool(client, new_spec, token, budget, on_physical_id, owner)

    on_physical_id(physical_id)
    current_retention = current.get("StreamConfiguration", {}).get("DataRetentionInHours")
    new_retention = new_spec.data_retention_hours
    change_retention = new_retention is not None and new_retention != current_retention
    if change_retention and new_retention is not None:
        _check_retention_change(physical_id, current_retention, new_retention)
    live_tags = _settable(_live_tags(client, physical_id))
    _apply_tag_difference(client, physical_id, live_tags, new_spec.tag_map)
    if change_retention and new_retention is not None:
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


def _check_retention_change(arn: str, current_hours: object, new_hours: int) -> None:
    """Refuse, before any mutating call, a retention change the handler could not undo.

    Create accepts 0 hours, but Update's minimum is ``RETENTION_UPDATE_MIN`` (botocore would refuse
    the request with a bare "Parameter validation failed"). So a change to 0 is refused, and so is
    a change from 0: CloudFormation's rollback of it would ask for 0 again and fail, leaving the stack
    in UPDATE_ROLLBACK_FAILED. A new PoolName replaces the pool instead, which loses nothing when the
    old pool had retention 0 (it keeps no media).
    """
    minimum = pool_rules.RETENTION_UPDATE_MIN
    name = pool_rules.pool_name_in_arn(arn)
    if new_hours < minimum:
        raise PoolError(
            f"StreamConfiguration.DataRetentionInHours cannot change from {current_hours} to {new_hours} "
            f"on existing pool {name}: the update API's minimum is {minimum} hour. Keep {current_hours}, "
            f"choose {minimum} or more, or use a new PoolName (a new pool starts at 0)"
        )
    if current_hours == 0:
        raise PoolError(
            f"StreamConfiguration.DataRetentionInHours cannot change from 0 to {new_hours} on existing "
            f"pool {name}: the update API's minimum is {minimum} hour, so a rollback to 0 would fail. "
            "Use a new PoolName: the pool is replaced, which loses nothing (retention 0 keeps no media)"
        )


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
    *,
    owner: Owner,
    stream_budget: Budget | None = None,
    pool_name: str | None = None,
) -> str:
    """Delete the pool if ``owner`` may (``ownership.on_delete``), and wait for it to go; return a
    sentence that says what happened.

    Ownership first: a pool held by another logical resource is left alone; a pool this resource
    adopted is handed back to its previous holder (or released) and left in place; a pool without
    the tag counts as ours. With ``stream_client_for``, the pool's Kinesis video streams are deleted
    too, but only once the pool is completely gone (the service refuses earlier, and meetings may
    still use them), within ``stream_budget`` (default: ``budget``). Once the pool is gone nothing
    here raises: a Delete that failed then would strand the stack, and its retry could no longer
    find the streams; the sentence names the PoolId and the streams left instead.

    ``pool_name`` (the properties' PoolName) serves a ``physical_id`` that is not a pool ARN: a
    Create whose response was lost left CloudFormation with a made-up id. Such a Delete deletes
    nothing, as nothing in it tells that pool from one a later request of this same resource made
    and the stack holds; when the owner tag of the pool of that name says this resource created it,
    the answer names the pool for an operator to check (``client`` is then the properties' API
    Region's).

    A pool still CREATING or UPDATING refuses the Delete; that is waited out within
    ``stream_budget`` (the rest of the invocation), not the wait budget alone, so that the rollback
    of a create that outlasted a short wait does not fail.
    """
    if not pool_rules.is_pool_arn(physical_id):
        answer = f"nothing to delete: {physical_id} is not a pool ARN (the create never answered with a pool)"
        lost = _lost_pool(client, pool_name, owner)
        if lost is not None:
            logger.warning(
                "Pool %s carries %s's owner tag (created by it) but CloudFormation named no pool: if no "
                "stack records it (a Create whose response was lost), delete it by hand",
                lost,
                owner.label,
            )
            answer += (
                f"; pool {lost} carries this resource's owner tag: delete it by hand if no stack holds it"
            )
        return answer
    try:
        tags = _live_tags(client, physical_id)
    except ClientError as error:
        if _error_code(error) == "NotFoundException":
            gone = f"pool {physical_id} was already gone"
            return gone + (_streams_of_unknown_pool(physical_id) if stream_client_for else "")
        raise PoolError(
            f"reading the owner of pool {physical_id} failed, so it was left in place: {_error_text(error)}"
        ) from error
    kept = _kept_for_its_owner(client, physical_id, tags, owner)
    if kept is not None:
        logger.warning("Delete: %s", kept)
        return kept

    pool_id = stream_region = None
    if stream_client_for is not None:
        # The streams are found by PoolId, which only the pool itself can tell: read it first.
        if not budget.fits(_call_seconds(client)):
            raise PoolError(f"pool {physical_id} left in place: too little time left to read its PoolId")
        try:
            current = _get_pool(client, physical_id)
        except ClientError as error:
            if _error_code(error) == "NotFoundException":
                return f"pool {physical_id} was already gone" + _streams_of_unknown_pool(physical_id)
            raise PoolError(f"reading pool {physical_id} failed: {_error_text(error)}") from error
        pool_id = current.get("PoolId")
        stream_region = current.get("StreamConfiguration", {}).get("Region")
    logger.info("Deleting pool %s", physical_id)
    status: str | None
    try:
        waited = _delete_when_allowed(client, physical_id, stream_budget or budget)
    except ClientError as error:
        if _error_code(error) != "NotFoundException":
            raise PoolError(f"deleting pool {physical_id} failed: {_error_text(error)}") from error
        if pool_id is None:
            return f"pool {physical_id} was already gone"
        status = None  # gone between our Get and our Delete: its streams may go now
    else:
        # After waiting out a busy pool (perhaps past the wait budget), the wait for it to go
        # starts afresh: its outcome must not be "still DELETING" only because no poll was left.
        status = _wait_until_gone(client, physical_id, budget.renewed() if waited else budget)

    if status is None:
        outcome = f"deleted pool {physical_id}"
        if stream_client_for is not None and pool_id and stream_region:
            cleanup = streams.delete_pool_streams(
                stream_client_for(stream_region), pool_id, stream_budget or budget
            )
            outcome = cleanup.sentence(outcome)
        return outcome
    # The stream note comes before the ARN and the explanation: a long Reason is cut at its end.
    streams_kept = f"streams of PoolId {pool_id} kept until it is gone; " if pool_id else ""
    if pool_id:
        logger.warning(
            "Pool %s is still %s: its Kinesis video streams (PoolId %s, named %s*) were kept",
            physical_id,
            status,
            pool_id,
            pool_rules.pool_stream_prefix(pool_id),
        )
    return (
        f"pool still {status} when this invocation's wait ended; {streams_kept}deletion of "
        f"{physical_id} requested (the service completes it once meetings using the pool end)"
    )


def _lost_pool(client: ChimeSDKMediaPipelinesClient, pool_name: str | None, owner: Owner) -> str | None:
    """The ARN of the pool named ``pool_name`` if its owner tag says this resource created it and
    still holds it (perhaps by a Create whose response was lost), or None. Read only."""
    if not pool_name or pool_rules.pool_name_error(pool_name) is not None:
        return None
    try:
        arn = _get_pool(client, pool_name)["PoolArn"]
        claim = ownership.read(_live_tags(client, arn))
    except ClientError as error:
        if _error_code(error) == "NotFoundException":
            return None
        raise PoolError(f"looking for pool {pool_name} failed: {_error_text(error)}") from error
    except ownership.UnreadableClaim:
        return None
    if claim is None or claim.owner != owner.digest or claim.mode != ownership.CREATED:
        logger.info("Pool %s exists but was not created by %s: not this resource's", arn, owner.label)
        return None
    return str(arn)


def _streams_of_unknown_pool(arn: str) -> str:
    """A gone pool's streams cannot be matched: only the pool knew its PoolId. Say where to look."""
    prefix = f"{pool_rules.POOL_ID_PREFIX}-{pool_rules.pool_name_in_arn(arn)}-"
    logger.warning(
        "Pool %s was already gone, so its PoolId is unknown and this Delete deletes none of its "
        "Kinesis video streams; any left are named %s<uuid>-* (other pools of that name share the prefix)",
        arn,
        prefix,
    )
    return (
        f"; its streams, if any are left, are kept by this answer (its PoolId is unknown; "
        f"they are named {prefix}<uuid>-*)"
    )


def _kept_for_its_owner(
    client: ChimeSDKMediaPipelinesClient, arn: str, tags: Mapping[str, str], owner: Owner
) -> str | None:
    """Why the pool must stay (a sentence), or None when this resource may delete it. Records on
    the pool what this Delete changes about who holds it (``ownership.on_delete``)."""
    try:
        claim = ownership.read(dict(tags))
    except ownership.UnreadableClaim:
        return (
            f"pool {arn} left in place: its {pool_rules.OWNER_TAG_KEY} tag was not written by this "
            "handler, so this resource cannot tell that it owns the pool"
        )
    decision = ownership.on_delete(owner, claim)
    if decision.delete:
        return None
    note = ""
    if decision.new_value is not None and decision.new_value != tags.get(pool_rules.OWNER_TAG_KEY):
        try:
            client.tag_resource(
                ResourceARN=arn, Tags=[{"Key": pool_rules.OWNER_TAG_KEY, "Value": decision.new_value}]
            )
        except ClientError as error:
            logger.warning("Could not update the owner tag of %s: %s", arn, _error_text(error))
            note = f" (its owner tag could not be updated: {_error_code(error)})"
    return f"pool {arn} left in place: {decision.sentence}{note}"


def wait_until_active(
    client: ChimeSDKMediaPipelinesClient, arn: str, budget: Budget, status: str = "unknown"
) -> KinesisVideoStreamPoolConfigurationTypeDef:
    """Poll Get with short, capped backoff until ACTIVE; fail on FAILED or when the budget runs out
    (``status``: the last one known before the wait, for the message)."""
    for delay in _PollDelays(budget, _call_seconds(client)):
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
    """None once Get says NotFound; otherwise the last status seen when the wait ended.

    The pool is deleting by now, so a poll that fails (a transport error or a 5xx that botocore
    gave up on) ends the wait like the budget does: the answer then says deletion was requested
    and names the streams kept, rather than FAILED (whose retry could no longer find the streams).
    """
    status = DELETING
    for delay in _PollDelays(budget, _call_seconds(client)):
        budget.sleep(delay)
        try:
            status = _get_pool(client, arn).get("PoolStatus", DELETING)
        except ClientError as error:
            if _error_code(error) == "NotFoundException":
                return None
            logger.warning("Polling pool %s failed (%s); not waiting any longer", arn, _error_text(error))
            return status
        except BotoCoreError as error:
            logger.warning("Polling pool %s failed (%s); not waiting any longer", arn, error)
            return status
    logger.warning("Pool %s is still %s; the service will finish deleting it later", arn, status)
    return status


def _delete_when_allowed(client: ChimeSDKMediaPipelinesClient, arn: str, budget: Budget) -> bool:
    """Delete, retrying a ConflictException (the pool is busy changing) while the budget lasts;
    a pool that is already DELETING counts as deleted by this call. Whether it had to wait."""
    delays = iter(_PollDelays(budget, _call_seconds(client)))
    waited = False
    while True:
        try:
            client.delete_media_pipeline_kinesis_video_stream_pool(Identifier=arn)
            return waited
        except ClientError as error:
            if _error_code(error) != "ConflictException":
                raise
            # A Delete whose connection dropped after the service applied it is sent again by
            # botocore, and may be refused because the pool is already DELETING: that is the
            # deletion under way, waited for like any other (a NotFound here means it is done).
            if _get_pool(client, arn).get("PoolStatus") == DELETING:
                logger.info("Pool %s is already being deleted (%s)", arn, _error_text(error))
                return waited
            delay = next(delays, None)
            if delay is None:
                raise
            logger.info("Pool %s is busy (%s); retrying the delete", arn, _error_text(error))
            budget.sleep(delay)
            waited = True


class _PollDelays:
    """Delays before each poll: doubling from FIRST_POLL_DELAY to MAX_POLL_DELAY, within the budget,
    and only while one more call (at worst ``call_seconds``) still ends before the answer is due."""

    def __init__(self, budget: Budget, call_seconds: float = 0.0) -> None:
        self._budget = budget
        self._next = FIRST_POLL_DELAY
        self._call_seconds = call_seconds

    def __iter__(self) -> _PollDelays:
        return self

    def __next__(self) -> float:
        remaining = self._budget.remaining_seconds()
        if remaining <= 0:
            raise StopIteration
        delay = min(self._next, remaining)
        if not self._budget.fits(delay + self._call_seconds):
            raise StopIteration
        self._next = min(self._next * 2, MAX_POLL_DELAY)
        return delay


def _call_seconds(client: Any) -> float:
    """How long one attempt of a call on ``client`` may take at worst: its connect and read timeouts.

    botocore's retries of that attempt are bounded separately (``throttling.install``)."""
    config = getattr(getattr(client, "meta", None), "config", None)
    connect = getattr(config, "connect_timeout", None)
    read = getattr(config, "read_timeout", None)
    return float(connect or 0) + float(read or 0)


def _get_pool(client: ChimeSDKMediaPipelinesClient, arn: str) -> KinesisVideoStreamPoolConfigurationTypeDef:
    response = client.get_media_pipeline_kinesis_video_stream_pool(Identifier=arn)
    return response["KinesisVideoStreamPoolConfiguration"]


def _live_tags(client: ChimeSDKMediaPipelinesClient, arn: str) -> dict[str, str]:
    response = client.list_tags_for_resource(ResourceARN=arn)
    return {tag["Key"]: tag["Value"] for tag in response.get("Tags", [])}


def _settable(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags a declaration governs: neither AWS's keys nor the handler's owner tag."""
    return {key: value for key, value in tags.items() if not pool_rules.is_unsettable_tag_key(key)}


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
