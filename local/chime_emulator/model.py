"""The emulated account's state and business rules: pools, tags, idempotency, status, quota, plus
the pools' Kinesis video streams and the service-linked role that creates them.

No HTTP here (``server.py`` does that) and no knowledge of CloudFormation or of our handler. Each
public ``*_pool``/``*_resource`` method takes the operation's already validated input members and
returns its output members, or raises ``ChimeError`` with a modeled error code.

Status changes are computed from timestamps on every read ("becomes ACTIVE at t0 + delay"), not by
timer threads, so a delay of 0 means the next read already sees the settled status while the
mutating call itself still answers CREATING, UPDATING or DELETING, as the real service does.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from local.chime_emulator.faults import FaultPlan
from local.chime_emulator.service_model import known_regions, partition_of, pool_api_regions, service_model

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
# Not the real service's quota (AWS does not publish one for pools); large enough not to get in the
# way, and configurable so that tests can reach it.
DEFAULT_POOL_QUOTA = 100
# The service answers a pool created without DataRetentionInHours with KVS's own default: no retention.
DEFAULT_RETENTION_HOURS = 0
# The most hours a Kinesis video stream retains data: ten years. The pool API's model gives no
# maximum and neither does KVS's CreateStream reference; 87600 is the range Amazon Connect's
# KinesisVideoStreamConfig and AWS Config's KVS retention rule document. That the pool API refuses
# more (rather than making a pool whose streams can never be created) is this emulator's assumption
# (switch ``retention_above_maximum``).
KVS_RETENTION_MAX_HOURS = 87_600
DEFAULT_PAGE_SIZE = 100
# Kinesis Video Streams' ListStreams answers up to 10,000 streams per page by default.
DEFAULT_STREAM_PAGE_SIZE = 10_000

# The service-linked role the pools' streams are created by, and the service that assumes it.
POOL_SERVICE_PRINCIPAL = "mediapipelines.chime.amazonaws.com"
POOL_SERVICE_LINKED_ROLE = "AWSServiceRoleForAmazonChimeSDKMediaPipelines"
# A real PoolId: ChimeMediaPipelines-<PoolName>-<uuid>; the pool's streams start with it.
POOL_ID_PREFIX = "ChimeMediaPipelines"

# AWS reserves tag keys that start with "aws:", in any case (AWS's general tagging rules, "Tag naming
# limits and requirements"); the service model says nothing of it, so it is this emulator's own fact.
RESERVED_TAG_PREFIX = "aws:"

CREATING, ACTIVE, UPDATING, DELETING, FAILED = "CREATING", "ACTIVE", "UPDATING", "DELETING", "FAILED"
FAILED_REASON = "Kinesis Video Streams could not be created for the pool"
_STATE_VERSION = 1


DeleteDeletingPool = Literal["accept", "conflict"]
DeleteStreamOfDeletingPool = Literal["refuse", "allow"]
PoolIdIdentifier = Literal["refuse", "accept"]
UnservedRegion = Literal["error", "drop"]
RetentionAboveMaximum = Literal["refuse", "fail"]
DeleteStreamOfActivePool = Literal["refuse", "allow"]
_CHOICES: dict[str, tuple[str, ...]] = {
    "delete_deleting_pool": get_args(DeleteDeletingPool),
    "delete_stream_of_deleting_pool": get_args(DeleteStreamOfDeletingPool),
    "pool_id_identifier": get_args(PoolIdIdentifier),
    "unserved_region": get_args(UnservedRegion),
    "retention_above_maximum": get_args(RetentionAboveMaximum),
    "delete_stream_of_active_pool": get_args(DeleteStreamOfActivePool),
}
_REGION_LISTS = frozenset({"extra_regions", "extra_api_regions"})


@dataclass
class Switches:
    """Behaviours the service's documentation leaves open: the emulator plays either side, so the
    product can be tested against both (docs/emulator.md, "Switches", says why each default).

    - ``delete_deleting_pool``: Delete of a pool that is already DELETING is ``"accept"``ed (204, no
      change) or answered ``"conflict"`` (``ConflictException``, which the model lists for Delete).
    - ``delete_stream_of_deleting_pool``: Kinesis Video Streams' DeleteStream on a stream of a pool
      that is DELETING is ``"refuse"``d (``ResourceInUseException``, as while the pool is ACTIVE) or
      ``"allow"``ed.
    - ``pool_id_identifier``: a PoolId as ``Identifier`` (Get/Update/Delete) is ``"refuse"``d
      (``NotFoundException``: the model documents "the name and ARN") or ``"accept"``ed.
    - ``extra_regions``: Region codes accepted although botocore's partition data does not know them
      (a Region newer than the pinned botocore, assumed to launch with the pool API).
    - ``extra_api_regions``: Regions botocore knows where the pool API is served although botocore's
      endpoint data does not list it there (the service launched there after the pin).
    - ``unserved_region``: how a pool API request signed for a Region without the service's endpoint
      is answered: ``"error"`` (403 ``InvalidSignatureException`` naming the missing endpoint) or
      ``"drop"`` (the connection is closed with no response, as close as a loopback server comes to
      a host name that does not resolve).
    - ``retention_above_maximum``: a Create whose DataRetentionInHours is above Kinesis Video
      Streams' maximum (``KVS_RETENTION_MAX_HOURS``) is ``"refuse"``d (``BadRequestException``) or
      makes a pool that ends FAILED (``"fail"``). An Update above it is refused either way.
    - ``delete_stream_of_active_pool``: Kinesis Video Streams' DeleteStream on a stream of a pool
      that is CREATING, ACTIVE, UPDATING or FAILED is ``"refuse"``d (``ResourceInUseException``) or
      ``"allow"``ed.
    """

    delete_deleting_pool: DeleteDeletingPool = "accept"
    delete_stream_of_deleting_pool: DeleteStreamOfDeletingPool = "refuse"
    pool_id_identifier: PoolIdIdentifier = "refuse"
    extra_regions: list[str] = field(default_factory=list)
    extra_api_regions: list[str] = field(default_factory=list)
    unserved_region: UnservedRegion = "error"
    retention_above_maximum: RetentionAboveMaximum = "refuse"
    delete_stream_of_active_pool: DeleteStreamOfActivePool = "refuse"

    def __setattr__(self, name: str, value: Any) -> None:
        allowed = _CHOICES.get(name)
        if allowed is not None and value not in allowed:
            raise ValueError(f"switch {name} must be one of {list(allowed)}; got {value!r}")
        if name in _REGION_LISTS:
            regions = value.split(",") if isinstance(value, str) else value
            value = [str(region).strip() for region in regions if str(region).strip()]
        super().__setattr__(name, value)

    def set(self, name: str, value: Any) -> None:
        """Set one switch by name (CLI ``--switch``, admin API), refusing unknown names and values."""
        if name not in {f for f in self.to_dict()}:
            raise ValueError(f"unknown switch {name!r}; expected one of {sorted(self.to_dict())}")
        setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ChimeError(Exception):
    """A modeled service error; ``code`` is the error shape's name, e.g. ``ConflictException``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RequestRecord:
    """One request as the emulator saw it, faulted and invalid ones included."""

    operation: str
    params: dict[str, Any]
    status: int
    error: str | None
    time: float
    region: str
    fault: str | None = None
    service: str = "chime"  # the SigV4 signing name: chime, kinesisvideo or iam

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Stream:
    """One Kinesis video stream; ``pool_arn`` is the pool whose service-linked role created it."""

    arn: str
    name: str
    region: str
    version: str
    created: float
    retention_hours: int
    pool_arn: str | None = None

    def info(self) -> dict[str, Any]:
        """The ``StreamInfo`` output structure."""
        return {
            "StreamName": self.name,
            "StreamARN": self.arn,
            "MediaType": "video/h264,audio/aac",
            "Version": self.version,
            "Status": ACTIVE,
            "CreationTime": datetime.fromtimestamp(self.created, UTC),
            "DataRetentionInHours": self.retention_hours,
        }


@dataclass
class Pool:
    """One pool's stored state; ``ready_at``/``gone_at`` are wall-clock times of pending changes."""

    arn: str
    name: str
    pool_id: str
    region: str
    stream_region: str
    retention_hours: int
    created: float
    updated: float
    sequence: int
    status: str = CREATING
    ready_at: float | None = None
    gone_at: float | None = None
    will_fail: bool = False
    failure_reason: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    size: int = 0  # streams taken from the pool by meetings (``ChimeEmulator.add_streams``)

    def configuration(self) -> dict[str, Any]:
        """The ``KinesisVideoStreamPoolConfiguration`` output structure."""
        return {
            "PoolArn": self.arn,
            "PoolName": self.name,
            "PoolId": self.pool_id,
            "PoolStatus": self.status,
            # The pool grows as meetings take streams from it (``ChimeEmulator.add_streams``).
            "PoolSize": self.size,
            "StreamConfiguration": {
                "Region": self.stream_region,
                "DataRetentionInHours": self.retention_hours,
            },
            "CreatedTimestamp": datetime.fromtimestamp(self.created, UTC),
            "UpdatedTimestamp": datetime.fromtimestamp(self.updated, UTC),
        }

    def summary(self) -> dict[str, Any]:
        return {"PoolName": self.name, "PoolId": self.pool_id, "PoolArn": self.arn}


class ChimeEmulator:
    """The whole emulated account: pools of every region, request log, faults; thread-safe."""

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT_ID,
        create_delay: float = 0.0,
        update_delay: float = 0.0,
        delete_delay: float = 0.0,
        pool_quota_per_region: int = DEFAULT_POOL_QUOTA,
        default_region: str = DEFAULT_REGION,
        clock: Callable[[], float] = time.time,
        switches: Switches | None = None,
    ) -> None:
        self.account_id = account_id
        self.switches = switches if switches is not None else Switches()
        self.create_delay = create_delay
        self.update_delay = update_delay
        self.delete_delay = delete_delay
        self.pool_quota_per_region = pool_quota_per_region
        self.default_region = default_region
        self.faults = FaultPlan()
        self._clock = clock
        self._lock = threading.RLock()
        self._pools: dict[str, Pool] = {}  # by ARN
        self._tokens: dict[tuple[str, str], tuple[str, str]] = {}  # (region, token) -> (request, ARN)
        self._held: set[str] = set()  # names or ARNs whose deletion waits for release
        self._fail_on_create: dict[str, str] = {}  # pool name -> failure reason
        self._denied: set[tuple[str, str | None]] = set()  # (access key, operation or None: all)
        # The most streams one ListStreams page holds when the caller sets no MaxResults.
        self.stream_page_size = DEFAULT_STREAM_PAGE_SIZE
        self._sequence = 0
        # List page tokens issued: token -> (Region, sequence of the last pool served).
        self._page_tokens: dict[str, tuple[str, int]] = {}
        self._log: list[RequestRecord] = []
        self._streams: dict[str, Stream] = {}  # by ARN
        self._roles: dict[str, dict[str, Any]] = {}  # IAM roles by name: a fresh account has none

    # ----- the API operations -----

    def create_pool(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._settle_all()
            name = params["PoolName"]
            stream = params["StreamConfiguration"]
            tags = self._tag_dict(params.get("Tags") or [])
            token = params.get("ClientRequestToken")
            fingerprint = _fingerprint({k: v for k, v in params.items() if k != "ClientRequestToken"})
            if not self.is_known_region(stream["Region"]):
                raise ChimeError(
                    "BadRequestException",
                    f"StreamConfiguration.Region {stream['Region']!r} is not an AWS Region",
                )
            if partition_of(stream["Region"]) != partition_of(region):
                # Partitions are separate clouds (own accounts, IAM and ARNs): a service-linked role
                # in one cannot create streams in another.
                raise ChimeError(
                    "BadRequestException",
                    f"StreamConfiguration.Region {stream['Region']!r} is in the "
                    f"{partition_of(stream['Region'])} partition; a pool made in {region} "
                    f"({partition_of(region)}) can only stream to Regions of its own partition",
                )
            retention = stream.get("DataRetentionInHours", DEFAULT_RETENTION_HOURS)
            too_long = retention > KVS_RETENTION_MAX_HOURS
            if too_long and self.switches.retention_above_maximum == "refuse":
                raise ChimeError("BadRequestException", _retention_message("StreamConfiguration", retention))
            if token is not None:
                remembered = self._tokens.get((region, token))
                if remembered is not None:
                    request, arn = remembered
                    if request != fingerprint:
                        raise ChimeError(
                            "ConflictException",
                            "The ClientRequestToken was already used for a different request",
                        )
                    if arn in self._pools:
                        return {"KinesisVideoStreamPoolConfiguration": self._pools[arn].configuration()}
                    # The pool made for that token has since been deleted: a fresh request.
                    del self._tokens[(region, token)]
            if self._find_by_name(region, name) is not None:
                raise ChimeError(
                    "ConflictException", f"A Kinesis Video Stream pool named {name} already exists"
                )
            in_region = sum(1 for pool in self._pools.values() if pool.region == region)
            if in_region >= self.pool_quota_per_region:
                raise ChimeError(
                    "ResourceLimitExceededException",
                    f"The account has reached its quota of {self.pool_quota_per_region} "
                    f"Kinesis Video Stream pools in {region}",
                )
            now = self._clock()
            self._sequence += 1
            pool = Pool(
                arn=self.pool_arn(region, name),
                name=name,
                pool_id=f"{POOL_ID_PREFIX}-{name}-{uuid.uuid4()}",
                region=region,
                stream_region=stream["Region"],
                retention_hours=stream.get("DataRetentionInHours", DEFAULT_RETENTION_HOURS),
                created=now,
                updated=now,
                sequence=self._sequence,
                status=CREATING,
                ready_at=now + self.create_delay,
                tags=tags,
            )
            reason = self._fail_on_create.pop(name, None)
            if too_long and reason is None:
                reason = "Kinesis Video Streams could not be created: " + _retention_message(
                    "StreamConfiguration", retention
                )
            if reason is not None:
                pool.will_fail, pool.failure_reason = True, reason
            self._pools[pool.arn] = pool
            if token is not None:
                self._tokens[(region, token)] = (fingerprint, pool.arn)
            return {"KinesisVideoStreamPoolConfiguration": pool.configuration()}

    def get_pool(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._settle_all()
            pool = self._lookup(region, params["Identifier"])
            return {"KinesisVideoStreamPoolConfiguration": pool.configuration()}

    def update_pool(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._settle_all()
            pool = self._lookup(region, params["Identifier"])
            if pool.status != ACTIVE:
                raise ChimeError(
                    "ConflictException",
                    f"The pool {pool.name} cannot be updated while its status is {pool.status}",
                )
            change = params.get("StreamConfiguration") or {}
            if change.get("DataRetentionInHours", 0) > KVS_RETENTION_MAX_HOURS:
                message = _retention_message("StreamConfiguration", change["DataRetentionInHours"])
                raise ChimeError("BadRequestException", message)
            if "DataRetentionInHours" in change:
                pool.retention_hours = change["DataRetentionInHours"]
            now = self._clock()
            pool.status, pool.updated, pool.ready_at = UPDATING, now, now + self.update_delay
            return {"KinesisVideoStreamPoolConfiguration": pool.configuration()}

    def delete_pool(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """ACTIVE or FAILED -> DELETING; a second Delete while DELETING changes nothing and succeeds,
        or is a ``ConflictException`` (switch ``delete_deleting_pool``)."""
        with self._lock:
            self._settle_all()
            pool = self._lookup(region, params["Identifier"])
            refused = [CREATING, UPDATING]
            if self.switches.delete_deleting_pool == "conflict":
                refused.append(DELETING)
            if pool.status in refused:
                raise ChimeError(
                    "ConflictException",
                    f"The pool {pool.name} cannot be deleted while its status is {pool.status}",
                )
            if pool.status != DELETING:
                now = self._clock()
                pool.status, pool.updated, pool.gone_at = DELETING, now, now + self.delete_delay
            return {}

    def list_pools(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._settle_all()
            after = self._page_start(region, params["NextToken"]) if params.get("NextToken") else 0
            limit = params.get("MaxResults") or DEFAULT_PAGE_SIZE
            pools = sorted(
                (p for p in self._pools.values() if p.region == region and p.sequence > after),
                key=lambda p: p.sequence,
            )
            page, rest = pools[:limit], pools[limit:]
            result: dict[str, Any] = {"KinesisVideoStreamPools": [p.summary() for p in page]}
            if rest:
                result["NextToken"] = self._issue_page_token(region, page[-1].sequence)
            return result

    def _issue_page_token(self, region: str, after: int) -> str:
        """An opaque token for the next List page, remembered with the Region it was issued in."""
        token = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self._page_tokens[token] = (region, after)
        return token

    def _page_start(self, region: str, token: str) -> int:
        """Where a page token's page starts; a token this emulator did not issue, or issued for
        another Region's List, is a ``BadRequestException``."""
        issued = self._page_tokens.get(token)
        if issued is None or issued[0] != region:
            raise ChimeError("BadRequestException", "The NextToken is not valid")
        return issued[1]

    def tag_resource(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._settle_all()
            pool = self._lookup_arn(region, params["ResourceARN"])
            merged = {**pool.tags, **self._tag_dict(params["Tags"])}
            limit = service_model().shape_for("TagList").metadata.get("max")
            if limit is not None and len(merged) > limit:
                raise ChimeError(
                    "BadRequestException",
                    f"A resource can have at most {limit} tags; this request would leave {len(merged)}",
                )
            pool.tags = merged
            return {}

    def untag_resource(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._settle_all()
            pool = self._lookup_arn(region, params["ResourceARN"])
            reserved = [key for key in params["TagKeys"] if _is_reserved_tag_key(key)]
            if reserved:
                raise ChimeError(
                    "BadRequestException",
                    f"Tag keys starting with '{RESERVED_TAG_PREFIX}' are reserved: {reserved[0]}",
                )
            for key in params["TagKeys"]:
                pool.tags.pop(key, None)
            return {}

    def list_tags(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._settle_all()
            pool = self._lookup_arn(region, params["ResourceARN"])
            return {"Tags": [{"Key": k, "Value": v} for k, v in pool.tags.items()]}

    def handler_for(self, operation: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
        """The method that implements one API operation."""
        return {
            "CreateMediaPipelineKinesisVideoStreamPool": self.create_pool,
            "GetMediaPipelineKinesisVideoStreamPool": self.get_pool,
            "UpdateMediaPipelineKinesisVideoStreamPool": self.update_pool,
            "DeleteMediaPipelineKinesisVideoStreamPool": self.delete_pool,
            "ListMediaPipelineKinesisVideoStreamPools": self.list_pools,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags,
            "ListStreams": self.list_streams,
            "DescribeStream": self.describe_stream,
            "DeleteStream": self.delete_stream,
            "CreateServiceLinkedRole": self.create_service_linked_role,
            "GetRole": self.get_role,
        }[operation]

    # ----- Kinesis Video Streams (the pools' streams) -----

    def list_streams(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            condition = params.get("StreamNameCondition") or {}
            prefix = condition.get("ComparisonValue", "")
            after = params.get("NextToken")
            start = _decode_stream_token(after) if after else ""
            limit = min(params.get("MaxResults") or self.stream_page_size, self.stream_page_size)
            # Name order, as KVS lists: a page token is the last name served.
            names = sorted(
                stream.name
                for stream in self._streams.values()
                if stream.region == region and stream.name.startswith(prefix) and stream.name > start
            )
            by_name = {s.name: s for s in self._streams.values() if s.region == region}
            page, rest = names[:limit], names[limit:]
            result: dict[str, Any] = {"StreamInfoList": [by_name[name].info() for name in page]}
            if rest:
                result["NextToken"] = _encode_stream_token(page[-1])
            return result

    def describe_stream(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return {"StreamInfo": self._find_stream(region, params).info()}

    def delete_stream(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """Delete a stream; refused while the pool that made it exists (an assumption, switches
        ``delete_stream_of_active_pool`` and ``delete_stream_of_deleting_pool``)."""
        with self._lock:
            self._settle_all()
            stream = self._find_stream(region, params)
            version = params.get("CurrentVersion")
            if version is not None and version != stream.version:
                raise ChimeError(
                    "VersionMismatchException",
                    f"The stream {stream.name} is at version {stream.version}, not {version}",
                )
            owner = self._pools.get(stream.pool_arn) if stream.pool_arn is not None else None
            if owner is not None and owner.status == DELETING:
                allowed = self.switches.delete_stream_of_deleting_pool == "allow"
            else:
                allowed = self.switches.delete_stream_of_active_pool == "allow"
            if owner is not None and not allowed:
                raise ChimeError(
                    "ResourceInUseException",
                    f"The stream {stream.name} belongs to the Kinesis Video Stream pool "
                    f"{stream.pool_arn}, which still exists",
                )
            del self._streams[stream.arn]
            return {}

    # ----- IAM (the pools' service-linked role) -----

    def create_service_linked_role(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            service = params["AWSServiceName"]
            if service != POOL_SERVICE_PRINCIPAL:
                raise ChimeError(
                    "InvalidInputException",
                    f"This emulator only knows the service-linked role of {POOL_SERVICE_PRINCIPAL}; "
                    f"got {service}",
                )
            if params.get("CustomSuffix"):
                raise ChimeError("InvalidInputException", f"Custom suffix is not allowed for {service}")
            if POOL_SERVICE_LINKED_ROLE in self._roles:
                raise ChimeError(
                    "InvalidInputException",
                    f"Service role name {POOL_SERVICE_LINKED_ROLE} has been taken in this account, "
                    "please try a different suffix.",
                )
            role = self._new_service_linked_role(params.get("Description"))
            return {"Role": role}

    def get_role(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            name = params["RoleName"]
            if name not in self._roles:
                raise ChimeError("NoSuchEntityException", f"The role with name {name} cannot be found.")
            return {"Role": self._roles[name]}

    # ----- controls for tests, benchmarks and the offline demo -----

    def add_streams(self, name_or_arn: str, count: int, region: str | None = None) -> list[str]:
        """Meetings took ``count`` streams from an ACTIVE pool: create them (as the service-linked
        role does, named ``<PoolId>-<n>``) in the pool's stream Region; their names, in order."""
        with self._lock:
            self._settle_all()
            pool = self._control_lookup(name_or_arn, region)
            if pool.status != ACTIVE:
                raise ValueError(f"streams are only taken from an ACTIVE pool; {pool.name} is {pool.status}")
            names = []
            for _ in range(count):
                pool.size += 1
                name = f"{pool.pool_id}-{pool.size}"
                self._put_stream(name, pool.stream_region, pool.retention_hours, pool.arn)
                names.append(name)
            return names

    def add_stream(self, name: str, region: str | None = None, retention_hours: int = 0) -> str:
        """A stream of no pool (another application's); its ARN."""
        with self._lock:
            return self._put_stream(name, region or self.default_region, retention_hours, None).arn

    def stream_names(self, region: str | None = None) -> list[str]:
        """Every stream still present (in one Region, or all), sorted by name."""
        with self._lock:
            return sorted(s.name for s in self._streams.values() if region is None or s.region == region)

    def add_service_linked_role(self) -> None:
        """An account where the pools' service-linked role already exists."""
        with self._lock:
            if POOL_SERVICE_LINKED_ROLE not in self._roles:
                self._new_service_linked_role(None)

    def role_names(self) -> list[str]:
        with self._lock:
            return sorted(self._roles)

    def pool_arn(self, region: str, name: str) -> str:
        prefix = f"arn:{partition_of(region)}:chime:{region}:{self.account_id}"
        return f"{prefix}:media-pipeline-kinesis-video-stream-pool/{name}"

    def is_known_region(self, region: str) -> bool:
        """A Region of botocore's partition data, or one the ``extra_regions`` switch allows."""
        return region in known_regions() or region in self.switches.extra_regions

    def serves_pool_api(self, region: str) -> bool:
        """Whether the pool API has an endpoint in this Region: botocore's endpoint data lists it
        there, or a switch adds it (``extra_api_regions``; ``extra_regions``, a Region newer than
        botocore, is assumed to launch with the service)."""
        switches = self.switches
        return (
            region in pool_api_regions()
            or region in switches.extra_api_regions
            or (region in switches.extra_regions)
        )

    def hold_deletion(self, name_or_arn: str) -> None:
        """Keep a pool DELETING (as while meetings still use it) until ``release_deletion``."""
        with self._lock:
            self._held.add(name_or_arn)

    def release_deletion(self, name_or_arn: str) -> None:
        """Let a held pool go once its delete delay has passed."""
        with self._lock:
            self._held.discard(name_or_arn)
            self._settle_all()

    def fail_pool_on_create(self, name: str, reason: str = FAILED_REASON) -> None:
        """The next pool created with this name ends FAILED instead of ACTIVE."""
        with self._lock:
            self._fail_on_create[name] = reason

    def deny_access_key(self, access_key_id: str, operation: str | None = None) -> None:
        """Requests signed with this key (for one operation, or all) get the service's access-denied
        error (``ForbiddenException`` from the pool API): a principal lacking that permission."""
        with self._lock:
            self._denied.add((access_key_id, operation))

    def is_denied(self, access_key_id: str | None, operation: str | None = None) -> bool:
        with self._lock:
            return access_key_id is not None and bool(
                {(access_key_id, None), (access_key_id, operation)} & self._denied
            )

    def leftover_pools(self) -> list[dict[str, Any]]:
        """Every pool still present in any region and any status, for leak accounting."""
        with self._lock:
            self._settle_all()
            pools = sorted(self._pools.values(), key=lambda p: p.sequence)
            return [
                {
                    **p.configuration(),
                    "Region": p.region,
                    "Tags": dict(p.tags),
                    "FailureReason": p.failure_reason,
                }
                for p in pools
            ]

    def failure_reason(self, name_or_arn: str, region: str | None = None) -> str | None:
        """Why a FAILED pool failed (the API has no member for it; the EventBridge event has)."""
        with self._lock:
            self._settle_all()
            return self._control_lookup(name_or_arn, region).failure_reason

    # ----- the request log -----

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self._log.append(entry)

    @property
    def request_log(self) -> list[RequestRecord]:
        """A copy of every request so far, oldest first."""
        with self._lock:
            return list(self._log)

    def calls(self, operation: str | None = None, *, succeeded: bool | None = None) -> list[RequestRecord]:
        """The logged requests of one operation (all when None), optionally only (un)successful ones."""
        return [
            entry
            for entry in self.request_log
            if (operation is None or entry.operation == operation)
            and (succeeded is None or (entry.error is None and entry.fault is None) == succeeded)
        ]

    def clear_request_log(self) -> None:
        with self._lock:
            self._log.clear()

    # ----- persistence between CLI runs -----

    def save(self, path: str | Path) -> None:
        """Write pools, streams, roles, tokens and settings as JSON (not the request log or faults)."""
        with self._lock:
            self._settle_all()
            state = {
                "version": _STATE_VERSION,
                "account_id": self.account_id,
                "create_delay": self.create_delay,
                "update_delay": self.update_delay,
                "delete_delay": self.delete_delay,
                "pool_quota_per_region": self.pool_quota_per_region,
                "default_region": self.default_region,
                "sequence": self._sequence,
                "pools": [asdict(p) for p in self._pools.values()],
                "tokens": [[r, t, req, arn] for (r, t), (req, arn) in self._tokens.items()],
                "page_tokens": [[t, r, after] for t, (r, after) in self._page_tokens.items()],
                "held": sorted(self._held),
                "fail_on_create": self._fail_on_create,
                "streams": [asdict(stream) for stream in self._streams.values()],
                "roles": sorted(self._roles),
                "switches": self.switches.to_dict(),
            }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        temporary.replace(target)  # atomic: a crash never leaves half a state file

    @classmethod
    def load(cls, path: str | Path) -> ChimeEmulator:
        state = json.loads(Path(path).read_text())
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"{path}: unsupported emulator state version {state.get('version')!r}")
        emulator = cls(
            account_id=state["account_id"],
            create_delay=state["create_delay"],
            update_delay=state["update_delay"],
            delete_delay=state["delete_delay"],
            pool_quota_per_region=state["pool_quota_per_region"],
            default_region=state["default_region"],
        )
        for name, value in state.get("switches", {}).items():
            emulator.switches.set(name, value)
        emulator._sequence = state["sequence"]
        emulator._pools = {p["arn"]: Pool(**p) for p in state["pools"]}
        emulator._tokens = {(r, t): (req, arn) for r, t, req, arn in state["tokens"]}
        emulator._page_tokens = {t: (r, after) for t, r, after in state.get("page_tokens", [])}
        emulator._held = set(state["held"])
        emulator._fail_on_create = dict(state["fail_on_create"])
        # Streams and roles came later: a state file saved before them has neither.
        emulator._streams = {s["arn"]: Stream(**s) for s in state.get("streams", [])}
        if POOL_SERVICE_LINKED_ROLE in state.get("roles", []):
            emulator.add_service_linked_role()
        return emulator

    # ----- internals -----

    def _put_stream(self, name: str, region: str, retention_hours: int, pool_arn: str | None) -> Stream:
        created = self._clock()
        prefix = f"arn:{partition_of(region)}:kinesisvideo:{region}:{self.account_id}"
        arn = f"{prefix}:stream/{name}/{int(created * 1000)}"
        stream = Stream(arn, name, region, uuid.uuid4().hex[:12], created, retention_hours, pool_arn)
        self._streams[arn] = stream
        return stream

    def _find_stream(self, region: str, params: dict[str, Any]) -> Stream:
        arn, name = params.get("StreamARN"), params.get("StreamName")
        if arn is None and name is None:
            raise ChimeError("InvalidArgumentException", "Either StreamName or StreamARN is required")
        for stream in self._streams.values():
            if stream.region == region and (stream.arn == arn or (arn is None and stream.name == name)):
                return stream
        raise ChimeError("ResourceNotFoundException", f"The stream {arn or name} does not exist")

    def _new_service_linked_role(self, description: str | None) -> dict[str, Any]:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": POOL_SERVICE_PRINCIPAL},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        path = f"/aws-service-role/{POOL_SERVICE_PRINCIPAL}/"
        role = {
            "Path": path,
            "RoleName": POOL_SERVICE_LINKED_ROLE,
            "RoleId": "AROA" + uuid.uuid4().hex[:17].upper(),
            "Arn": f"arn:aws:iam::{self.account_id}:role{path}{POOL_SERVICE_LINKED_ROLE}",
            "CreateDate": datetime.fromtimestamp(self._clock(), UTC),
            "AssumeRolePolicyDocument": json.dumps(trust),
            "Description": description or "",
        }
        self._roles[POOL_SERVICE_LINKED_ROLE] = role
        return role

    def _settle_all(self) -> None:
        """Apply every status change whose time has come (called under the lock by each read)."""
        now = self._clock()
        for pool in list(self._pools.values()):
            if pool.status in (CREATING, UPDATING) and pool.ready_at is not None and now >= pool.ready_at:
                if pool.status == CREATING and pool.will_fail:
                    pool.status = FAILED
                else:
                    pool.status = ACTIVE
                pool.updated = max(pool.updated, pool.ready_at)
                pool.ready_at = None
            elif (
                pool.status == DELETING
                and pool.gone_at is not None
                and now >= pool.gone_at
                and not {pool.name, pool.arn} & self._held
            ):
                del self._pools[pool.arn]

    def _find_by_name(self, region: str, name: str) -> Pool | None:
        for pool in self._pools.values():
            if pool.region == region and pool.name == name:
                return pool
        return None

    def _lookup(self, region: str, identifier: str) -> Pool:
        """A pool of the request's Region by name or ARN (or by PoolId, if switched on). Endpoints
        are regional: another Region's ARN is not found, as on AWS."""
        pool = self._pools.get(identifier) if identifier.startswith("arn:") else None
        if pool is not None and pool.region != region:
            pool = None
        if pool is None:
            pool = self._find_by_name(region, identifier)
        if pool is None and self.switches.pool_id_identifier == "accept":
            by_id = (p for p in self._pools.values() if p.region == region and p.pool_id == identifier)
            pool = next(by_id, None)
        if pool is None:
            raise ChimeError("NotFoundException", f"No Kinesis Video Stream pool found for {identifier}")
        return pool

    def _lookup_arn(self, region: str, arn: str) -> Pool:
        pool = self._pools.get(arn)
        if pool is None or pool.region != region:
            raise ChimeError("NotFoundException", f"No resource found with ARN {arn}")
        return pool

    def _control_lookup(self, name_or_arn: str, region: str | None) -> Pool:
        """A pool for a test control: an ARN names its own Region; a name is looked up in ``region``
        (default: the default Region)."""
        pool = self._pools.get(name_or_arn)
        if pool is not None and (region is None or pool.region == region):
            return pool
        return self._lookup(region or self.default_region, name_or_arn)

    @staticmethod
    def _tag_dict(tags: Iterable[dict[str, str]]) -> dict[str, str]:
        result: dict[str, str] = {}
        for tag in tags:
            key = tag["Key"]
            if _is_reserved_tag_key(key):
                raise ChimeError(
                    "BadRequestException",
                    f"Tag keys starting with '{RESERVED_TAG_PREFIX}' are reserved: {key}",
                )
            if key in result:
                raise ChimeError("BadRequestException", f"The tag key {key} is given more than once")
            result[key] = tag["Value"]
        return result


def _retention_message(member: str, hours: int) -> str:
    return (
        f"{member}.DataRetentionInHours {hours} is above {KVS_RETENTION_MAX_HOURS} hours, the most a "
        "Kinesis video stream retains data"
    )


def _is_reserved_tag_key(key: str) -> bool:
    return key.lower().startswith(RESERVED_TAG_PREFIX)


def _fingerprint(params: dict[str, Any]) -> str:
    """A canonical rendering of a request, to tell a retry from a different request."""
    return json.dumps(copy.deepcopy(params), sort_keys=True, separators=(",", ":"))


def _encode_stream_token(name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after_name": name}).encode()).decode()


def _decode_stream_token(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after_name"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ChimeError("InvalidArgumentException", "The NextToken is not valid") from None
    if not isinstance(after, str):
        raise ChimeError("InvalidArgumentException", "The NextToken is not valid")
    return after
