"""The pool's rules: the single source of truth for what a valid pool declaration is.

The construct checks these at synth time (skipping unresolved tokens) and the handler at run time,
so a bad value fails with the same message wherever it is caught. The limits are those of the
``chime-sdk-media-pipelines`` service model; ``tests/unit/test_pool_rules.py`` checks them against
botocore's copy of that model so they cannot drift.

Pure Python, standard library only: it runs inside the Lambda and inside ``cdk synth``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

POOL_NAME_MIN = 1
POOL_NAME_MAX = 128
# The service model's pattern is ``^[0-9a-zA-Z._-]+`` (anchored at the start only). We require the
# whole name to match: a name with a space or a slash would be refused later by the streams anyway.
POOL_NAME_CHARS = "0-9a-zA-Z._-"
POOL_NAME_RE = re.compile(r"[0-9a-zA-Z._-]+")

REGION_MIN = 1
REGION_MAX = 32
REGION_RE = re.compile(r"([a-z]+-){2,}\d+")

RETENTION_MIN = 0
# The pool's streams are Kinesis video streams, which retain data for at most ten years (87600 hours,
# the range Amazon Connect's KinesisVideoStreamConfig and AWS Config's KVS retention rule document).
# The pool API's model sets no maximum (its Integer would take 2**31 - 1), but a pool asking for more
# could never make its streams: refused before any call, with the reason.
RETENTION_MAX = 87_600
# The update API's minimum (its DataRetentionChangeInHours shape): an existing pool cannot go to 0.
RETENTION_UPDATE_MIN = 1

TAGS_MIN = 1
TAGS_MAX = 200
TAG_KEY_MIN = 1
TAG_KEY_MAX = 128
TAG_VALUE_MIN = 0
TAG_VALUE_MAX = 256
RESERVED_TAG_PREFIX = "aws:"
# The handler records on each pool which logical resource owns it (lifecycle.py, docs/handler.md
# "Ownership"), in one tag under its own prefix that no user may set. That tag counts against the
# service's TAGS_MAX, so a declaration may hold one tag fewer.
HANDLER_TAG_PREFIX = "chime-kvs-pool:"
OWNER_TAG_KEY = HANDLER_TAG_PREFIX + "owner"
HANDLER_TAG_KEYS = (OWNER_TAG_KEY,)
USER_TAGS_MAX = TAGS_MAX - len(HANDLER_TAG_KEYS)

# How much of an offending value an error message quotes: enough to recognise it, small enough
# that a CloudFormation Reason stays well inside its limit.
_QUOTE_MAX = 40


class PoolRuleError(ValueError):
    """A value that breaks one of the pool's rules; ``prop`` names the CloudFormation property."""

    def __init__(self, prop: str, message: str) -> None:
        super().__init__(message)
        self.prop = prop


def quote(value: object) -> str:
    """A short, printable rendering of a bad value for an error message."""
    text = repr(value)
    if len(text) > _QUOTE_MAX:
        text = text[: _QUOTE_MAX - 3] + "..."
    return text


def pool_name_error(name: str) -> str | None:
    if not isinstance(name, str):
        return f"PoolName must be a string; got {quote(name)}"
    if not POOL_NAME_MIN <= len(name) <= POOL_NAME_MAX:
        return (
            f"PoolName must be {POOL_NAME_MIN}-{POOL_NAME_MAX} characters long; "
            f"got {len(name)} characters: {quote(name)}"
        )
    if not POOL_NAME_RE.fullmatch(name):
        return f"PoolName may only contain the characters [{POOL_NAME_CHARS}]; got {quote(name)}"
    return None


def region_error(region: str, prop: str = "StreamConfiguration.Region") -> str | None:
    if not isinstance(region, str):
        return f"{prop} must be a string; got {quote(region)}"
    if not REGION_MIN <= len(region) <= REGION_MAX or not REGION_RE.fullmatch(region):
        return (
            f"{prop} must be an AWS Region code such as us-east-1 "
            f"({REGION_MIN}-{REGION_MAX} characters matching ([a-z]+-){{2,}}[0-9]+); got {quote(region)}"
        )
    return None


def retention_error(hours: object) -> str | None:
    prop = "StreamConfiguration.DataRetentionInHours"
    if isinstance(hours, bool) or not isinstance(hours, int):
        return f"{prop} must be a whole number of hours; got {quote(hours)}"
    if hours > RETENTION_MAX:
        return (
            f"{prop} must be at most {RETENTION_MAX} hours (ten years), the most a Kinesis Video "
            f"Streams stream retains data; got {hours}"
        )
    if hours < RETENTION_MIN:
        return f"{prop} must be from {RETENTION_MIN} to {RETENTION_MAX} hours; got {hours}"
    return None


def is_reserved_tag_key(key: str) -> bool:
    """Whether AWS reserves this tag key (``aws:`` in any case): users may never set it."""
    return key.lower().startswith(RESERVED_TAG_PREFIX)


def is_handler_tag_key(key: str) -> bool:
    """Whether the handler keeps this tag key for itself (its prefix, in any case)."""
    return key.lower().startswith(HANDLER_TAG_PREFIX)


def is_unsettable_tag_key(key: str) -> bool:
    """Whether a declaration may not set this key: AWS's or the handler's. Tag differences (updates,
    adoption) never touch such keys either."""
    return is_reserved_tag_key(key) or is_handler_tag_key(key)


def tags_error(tags: Iterable[tuple[str, str]]) -> str | None:
    """Check (key, value) pairs; a list of pairs, not a dict, so duplicate keys can be caught."""
    pairs = list(tags)
    if not TAGS_MIN <= len(pairs) <= USER_TAGS_MAX:
        return (
            f"Tags must hold {TAGS_MIN}-{USER_TAGS_MAX} tags when given (the service allows "
            f"{TAGS_MAX}; the handler keeps {len(HANDLER_TAG_KEYS)} for ownership); got {len(pairs)}"
        )
    seen: set[str] = set()
    for key, value in pairs:
        if not isinstance(key, str) or not TAG_KEY_MIN <= len(key) <= TAG_KEY_MAX:
            return f"Tags: each key must be {TAG_KEY_MIN}-{TAG_KEY_MAX} characters; got {quote(key)}"
        if is_reserved_tag_key(key):
            return f"Tags: the key prefix '{RESERVED_TAG_PREFIX}' is reserved for AWS; got {quote(key)}"
        if is_handler_tag_key(key):
            return (
                f"Tags: the key prefix '{HANDLER_TAG_PREFIX}' is reserved for the pool handler's "
                f"ownership record; got {quote(key)}"
            )
        if key in seen:
            return f"Tags: the key {quote(key)} is given more than once"
        seen.add(key)
        if not isinstance(value, str) or not TAG_VALUE_MIN <= len(value) <= TAG_VALUE_MAX:
            return (
                f"Tags: the value of {quote(key)} must be {TAG_VALUE_MIN}-{TAG_VALUE_MAX} "
                f"characters; got {quote(value)}"
            )
    return None


def check_pool_name(name: str) -> None:
    _raise_if("PoolName", pool_name_error(name))


def check_region(region: str, prop: str = "StreamConfiguration.Region") -> None:
    _raise_if(prop, region_error(region, prop))


def check_retention(hours: object) -> None:
    _raise_if("StreamConfiguration.DataRetentionInHours", retention_error(hours))


def check_tags(tags: Iterable[tuple[str, str]] | Mapping[str, str]) -> None:
    pairs = tags.items() if isinstance(tags, Mapping) else tags
    _raise_if("Tags", tags_error(pairs))


def _raise_if(prop: str, message: str | None) -> None:
    if message is not None:
        raise PoolRuleError(prop, message)


# A pool's ARN, as the service returns it: the handler treats any other PhysicalResourceId (crhelper
# makes one up when a Create fails before a pool exists) as "no pool", and the construct can use it to
# check an imported ARN.
POOL_ARN_RESOURCE = "media-pipeline-kinesis-video-stream-pool"
POOL_ARN_RE = re.compile(
    r"arn:aws[a-z-]*:chime:[a-z0-9-]+:\d{12}:" + POOL_ARN_RESOURCE + r"/[0-9a-zA-Z._-]{1,128}"
)

# How long one handler invocation may wait for a pool to become ACTIVE or disappear. A Lambda runs
# for at most 15 minutes, so a longer wait could never be honoured.
WAIT_TIMEOUT_DEFAULT = 300
WAIT_TIMEOUT_MIN = 1
WAIT_TIMEOUT_MAX = 900
# CloudFormation waits for a pool's answer at most ServiceTimeout = WaitTimeoutSeconds + this margin
# (the construct sets it so): room for the delivery, a cold start, the calls around the wait and the
# response.
SERVICE_TIMEOUT_MARGIN_SECONDS = 120
# The part of that margin spent before the handler runs (the event's delivery and a cold start). The
# handler answers within ServiceTimeout less this, counted from its own start: work past
# ServiceTimeout would go on after CloudFormation has given up and rolled back (a pool created
# then would belong to nobody; a stream cleanup then would be lost with its answer).
DELIVERY_ALLOWANCE_SECONDS = 30


def answer_within_seconds(wait_timeout_seconds: int) -> int:
    """How long after its start an invocation may work before answering (see above)."""
    return wait_timeout_seconds + SERVICE_TIMEOUT_MARGIN_SECONDS - DELIVERY_ALLOWANCE_SECONDS


# The handler's switch properties and the value an absent one stands for. The construct leaves a
# switch (and WaitTimeoutSeconds) out of the template when it holds its default, so every pool's
# resource stays small; the handler reads absence as this same default.
ENSURE_SERVICE_LINKED_ROLE_DEFAULT = True
ADOPT_EXISTING_DEFAULT = False
DELETE_STREAMS_ON_DELETE_DEFAULT = False
SWITCH_DEFAULTS: Mapping[str, bool] = {
    "EnsureServiceLinkedRole": ENSURE_SERVICE_LINKED_ROLE_DEFAULT,
    "AdoptExisting": ADOPT_EXISTING_DEFAULT,
    "DeleteStreamsOnDelete": DELETE_STREAMS_ON_DELETE_DEFAULT,
}


def is_pool_arn(value: object) -> bool:
    return isinstance(value, str) and POOL_ARN_RE.fullmatch(value) is not None


def pool_name_in_arn(arn: str) -> str:
    """The pool name a pool ARN ends with (``.../media-pipeline-kinesis-video-stream-pool/<name>``)."""
    return arn.rsplit("/", 1)[-1]


def wait_timeout_error(seconds: object) -> str | None:
    prop = "WaitTimeoutSeconds"
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return f"{prop} must be a whole number of seconds; got {quote(seconds)}"
    if not WAIT_TIMEOUT_MIN <= seconds <= WAIT_TIMEOUT_MAX:
        return f"{prop} must be from {WAIT_TIMEOUT_MIN} to {WAIT_TIMEOUT_MAX} seconds; got {seconds}"
    return None


# The pools' service-linked role: Chime SDK Media Pipelines creates a pool's Kinesis video streams
# through it. The handler makes sure it exists; the construct scopes the IAM permission to it.
SERVICE_LINKED_ROLE_SERVICE = "mediapipelines.chime.amazonaws.com"
SERVICE_LINKED_ROLE_NAME = "AWSServiceRoleForAmazonChimeSDKMediaPipelines"
SERVICE_LINKED_ROLE_PATH = f"/aws-service-role/{SERVICE_LINKED_ROLE_SERVICE}/"

# A PoolId is ``ChimeMediaPipelines-<PoolName>-<uuid>``, and the pool's Kinesis video streams are
# named after it (``<PoolId>-...``), so the streams of ONE pool are those whose name starts with its
# PoolId and a dash; the uuid keeps another pool whose name merely shares a prefix out.
POOL_ID_PREFIX = "ChimeMediaPipelines"


def pool_stream_prefix(pool_id: str) -> str:
    """The name prefix of exactly this pool's streams."""
    return f"{pool_id}-"
