"""Synth-time checks of the construct's props, through the handler's own rules (``pool_rules``).

Each error names the construct prop and the bad value, and carries the rule's message verbatim, so
a value refused here is refused by the handler at deploy time with the same words. Unresolved
tokens are skipped: only CloudFormation knows their values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Token

from chime_kvs_pool import regions
from chime_kvs_pool.runtime import pool_rules

# The handler needs time after its wait for the final calls and its response, inside the function's
# 15 minutes: the construct keeps one minute of that for itself.
WAIT_TIMEOUT_MAX_SECONDS = 14 * 60


def _invalid(path: str, prop: str, shown: str, detail: str) -> ValueError:
    return ValueError(f"{path}: invalid {prop} {shown}: {detail}")


def check_pool_name(path: str, name: str) -> None:
    if Token.is_unresolved(name):
        return
    error = pool_rules.pool_name_error(name)
    if error is not None:
        raise _invalid(path, "pool_name", pool_rules.quote(name), error)


def check_stream_region(path: str, region: str) -> None:
    if Token.is_unresolved(region):
        return
    error = pool_rules.region_error(region)
    if error is not None:
        raise _invalid(path, "stream_region", pool_rules.quote(region), error)


def retention_hours(path: str, retention: Duration) -> int | float:
    """The retention as hours for ``StreamConfiguration.DataRetentionInHours``; whole hours only.

    Returns the amount unchanged (a number token) when it is unresolved.
    """
    try:
        hours = retention.to_hours(integral=False)
    except RuntimeError as conversion_error:  # jsii's error: a token amount given in a unit other than hours
        raise _invalid(
            path, "data_retention", "(a token)", f"give a token as Duration.hours(token): {conversion_error}"
        ) from conversion_error
    if Token.is_unresolved(hours):
        # Duration.hours(token): the token is the amount, known only to CloudFormation.
        return hours
    whole = int(hours) if float(hours).is_integer() else hours
    error = pool_rules.retention_error(whole)
    if error is not None:
        raise _invalid(
            path,
            "data_retention",
            retention.to_string(),
            f"{error} (use Duration.hours(n) with a whole n >= {pool_rules.RETENTION_MIN})",
        )
    return whole


def wait_timeout_seconds(path: str, wait_timeout: Duration) -> int:
    """The wait budget in whole seconds, within the handler's rule and the construct's margin."""
    seconds = wait_timeout.to_seconds(integral=False)
    if Token.is_unresolved(seconds):
        # The service timeout is computed from it at synth time.
        raise _invalid(path, "wait_timeout", "(a token)", "must be a concrete duration, not a token")
    whole = int(seconds) if float(seconds).is_integer() else seconds
    error = pool_rules.wait_timeout_error(whole)
    if error is None and isinstance(whole, int) and whole > WAIT_TIMEOUT_MAX_SECONDS:
        error = (
            f"at most {WAIT_TIMEOUT_MAX_SECONDS // 60} minutes, so that the handler can answer "
            "before its Lambda function's 15-minute timeout"
        )
    if error is not None:
        raise _invalid(path, "wait_timeout", wait_timeout.to_string(), error)
    assert isinstance(whole, int)
    return whole


def resolved_tag_pairs(tags: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (key, value) pairs whose key and value are both known at synth time."""
    return [
        (key, value)
        for key, value in tags.items()
        if not Token.is_unresolved(key) and not Token.is_unresolved(value)
    ]


def tags_prop_error(tags: Mapping[str, str]) -> str | None:
    """The rule's message for the known part of a tag set, or None when it is valid or empty."""
    pairs = resolved_tag_pairs(tags)
    if not pairs:
        return None
    error: str | None = pool_rules.tags_error(pairs)
    return error


def check_tags(path: str, tags: Mapping[str, str]) -> None:
    error = tags_prop_error(tags)
    if error is not None:
        raise _invalid(path, "tags", pool_rules.quote(dict(tags)), error)


def check_removal_policy(path: str, policy: RemovalPolicy) -> None:
    if policy == RemovalPolicy.SNAPSHOT:
        raise _invalid(
            path,
            "removal_policy",
            "RemovalPolicy.SNAPSHOT",
            "a pool has no snapshots; use RemovalPolicy.DESTROY or RemovalPolicy.RETAIN",
        )


def stream_cleanup_removal_policy_message(shown: str) -> str:
    """Why ``delete_streams_on_delete`` and a policy that keeps the pool cannot go together."""
    return (
        f"delete_streams_on_delete=True needs removal_policy=RemovalPolicy.DESTROY, not {shown}: "
        "CloudFormation then keeps the pool when it leaves the stack instead of sending the Delete "
        "that deletes its streams, so the flag would do nothing; drop delete_streams_on_delete or use "
        "RemovalPolicy.DESTROY"
    )


def check_stream_cleanup_removal_policy(path: str, policy: RemovalPolicy, delete_streams: bool) -> None:
    """Stream cleanup happens in the pool's Delete: refuse it with a policy under which none comes
    (as an S3 bucket refuses ``auto_delete_objects`` without ``DESTROY``)."""
    if delete_streams and policy != RemovalPolicy.DESTROY:
        raise ValueError(
            f"{path}: invalid removal_policy: "
            + stream_cleanup_removal_policy_message(f"RemovalPolicy.{policy.name}")
        )


def check_api_region(path: str, region: str) -> None:
    if Token.is_unresolved(region):
        return
    error = pool_rules.region_error(region, "ApiRegion")
    if error is not None:
        raise _invalid(path, "api_region", pool_rules.quote(region), error)


def check_stream_region_for_meetings(path: str, stream_region: str, meeting_regions: Sequence[str]) -> bool:
    """Apply the opt-in Region rule to the meeting Regions known at synth time.

    Returns False when the rule applies but cannot be checked (the stream Region is a token, as in an
    environment-agnostic stack), so the caller can warn; raises when it is broken.
    """
    known: list[str] = []
    for region in meeting_regions:
        if Token.is_unresolved(region):
            continue
        error = pool_rules.region_error(region, "meeting_media_regions")
        if error is not None:
            raise _invalid(path, "meeting_media_regions", pool_rules.quote(region), error)
        known.append(region)
    try:
        required = regions.required_stream_region(known)
    except ValueError as conflict:
        raise _invalid(
            path, "meeting_media_regions", pool_rules.quote(list(meeting_regions)), str(conflict)
        ) from None
    if required is None:
        return True
    if Token.is_unresolved(stream_region):
        return False
    if stream_region != required:
        raise _invalid(
            path,
            "stream_region",
            pool_rules.quote(stream_region),
            f"meetings in the opt-in Region {required} (meeting_media_regions) need the pool's streams "
            f"in that same Region; set stream_region={required!r} (or the stack's Region to it)",
        )
    return True


def check_pool_arn(path: str, arn: str) -> None:
    """A literal ARN must be a pool ARN; a token passes (CloudFormation resolves it)."""
    if Token.is_unresolved(arn):
        return
    if not pool_rules.is_pool_arn(arn):
        raise _invalid(
            path,
            "pool_arn",
            pool_rules.quote(arn),
            f"expected arn:<partition>:chime:<region>:<account>:{pool_rules.POOL_ARN_RESOURCE}/<PoolName>",
        )


def check_pool_id(path: str, pool_id: str, pool_name: str | None) -> None:
    """A literal PoolId must look like the service's: ``ChimeMediaPipelines-<PoolName>-<uuid>``."""
    if Token.is_unresolved(pool_id):
        return
    prefix = f"{pool_rules.POOL_ID_PREFIX}-"
    if pool_name is not None and not Token.is_unresolved(pool_name):
        prefix = f"{prefix}{pool_name}-"
    if not pool_id.startswith(prefix) or len(pool_id) == len(prefix):
        raise _invalid(
            path,
            "pool_id",
            pool_rules.quote(pool_id),
            f"a PoolId starts with {prefix!r} "
            f"(the service's format: {pool_rules.POOL_ID_PREFIX}-<PoolName>-<uuid>)",
        )
