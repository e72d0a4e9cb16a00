"""Bad input at synth time: the construct refuses what the handler refuses, with the same message,
and accepts what the native ``AWS::Chime::MediaPipelineKinesisVideoStreamPool`` schema accepts.

The native schema ships with cfn-lint and is the oracle for "accepts". The construct is stricter
than the schema in documented places only: tag keys starting with ``aws:`` (AWS reserves them and
the service refuses them) and a retention beyond a 32-bit integer (the API's wire type).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.jsonschema import StandardValidator
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.runtime import pool_rules

from .rel_report import BAD_INPUT

NATIVE_TYPE = "AWS::Chime::MediaPipelineKinesisVideoStreamPool"
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def native_schema_errors(properties: dict[str, Any]) -> list[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", NATIVE_TYPE).schema
    return [error.message for error in StandardValidator(schema=schema).iter_errors(properties)]


def documented_stricter(retention_minutes: int | None, tags: dict[str, str]) -> bool:
    """Where the construct (and the service) refuse what the schema lets through."""
    reserved = any(pool_rules.is_unsettable_tag_key(key) for key in tags)
    # cfn-lint's schema allows any 32-bit Integer; a Kinesis video stream keeps data ten years at most
    # (pool_rules.RETENTION_MAX, 87600 hours), so more can never make the pool's streams.
    too_big = retention_minutes is not None and retention_minutes / 60 > pool_rules.RETENTION_MAX
    # The handler keeps one of the service's 200 tags for its owner record (docs/handler.md).
    no_room = len(tags) > pool_rules.USER_TAGS_MAX
    return reserved or too_big or no_room


def build(name: str, region: str, retention_minutes: int | None, tags: dict[str, str]) -> str | None:
    """Define the pool in a fresh stack; the construct's error text, or None when it accepts."""
    stack = cdk.Stack(cdk.App(), "Rules")
    try:
        pool = KinesisVideoStreamPool(
            stack,
            "Pool",
            pool_name=name,
            stream_region=region,
            data_retention=None if retention_minutes is None else cdk.Duration.minutes(retention_minutes),
            tags=tags,
        )
    except Exception as error:  # a ValueError, or a RuntimeError when raised across jsii
        return str(error)
    problems = list(pool.node.validate())
    return "; ".join(problems) if problems else None


def handler_messages(
    name: str, region: str, retention_minutes: int | None, tags: dict[str, str]
) -> list[str]:
    """pool_rules' messages: what the handler answers for the same values (see test_bad_input.py)."""
    hours: object = None
    if retention_minutes is not None:
        hours = retention_minutes // 60 if retention_minutes % 60 == 0 else retention_minutes / 60
    messages = [
        pool_rules.pool_name_error(name),
        pool_rules.region_error(region),
        None if hours is None else pool_rules.retention_error(hours),
        pool_rules.tags_error(list(tags.items())) if tags else None,
    ]
    return [message for message in messages if message is not None]


names = st.one_of(
    st.from_regex(r"[0-9a-zA-Z._-]{1,128}", fullmatch=True),
    st.sampled_from(["", "p" * 128, "p" * 129, "with space", "sla/sh", "ünïcödé", "名前"]),
    st.text(max_size=130),
)
regions = st.one_of(
    st.sampled_from(
        ["us-east-1", "eu-west-2", "us-gov-west-1", "cn-north-1", "", "US-EAST-1", "useast1", "us-east-"]
    ),
    st.sampled_from([32, 33]).map(lambda n: "us-" + "e" * (n - 5) + "-1"),
    st.from_regex(r"[a-z]{2,10}(-[a-z]{2,10}){1,3}-[0-9]{1,2}", fullmatch=True),
)
retentions = st.one_of(
    st.none(),
    st.integers(0, 10**5).map(lambda hours: hours * 60),
    st.sampled_from([0, 30, 90, 87600 * 60, 87601 * 60, (2**31 - 1) * 60, 2**31 * 60]),
)
tag_sets = st.one_of(
    st.dictionaries(st.text(min_size=0, max_size=10), st.text(max_size=10), max_size=4),
    st.sampled_from(
        [
            {},
            {"aws:cdk": "x"},
            {"AWS:Owner": "x"},
            {"k" * 128: "v" * 256},
            {"k" * 129: "v"},
            {"k": "v" * 257},
            {f"key{i}": "v" for i in range(200)},
            {f"key{i}": "v" for i in range(201)},
        ]
    ),
)


@SETTINGS
@given(name=names, region=regions, retention_minutes=retentions, tags=tag_sets)
def test_construct_agrees_with_the_handler_and_the_native_schema(
    name: str, region: str, retention_minutes: int | None, tags: dict[str, str]
) -> None:
    refused = build(name, region, retention_minutes, tags)
    expected = handler_messages(name, region, retention_minutes, tags)
    BAD_INPUT.record("construct (synth time)", "refused" if refused else "accepted")
    if expected:
        assert refused is not None, f"the construct accepts what the handler refuses: {expected}"
        assert any(message in refused for message in expected), f"different words: {refused!r} vs {expected}"
    else:
        assert refused is None, f"the construct refuses what the handler accepts: {refused}"

    stream: dict[str, Any] = {"Region": region}
    if retention_minutes is not None and retention_minutes % 60 == 0:
        stream["DataRetentionInHours"] = retention_minutes // 60
    elif retention_minutes is not None:
        stream["DataRetentionInHours"] = retention_minutes / 60
    native = {
        "PoolName": name,
        "StreamConfiguration": stream,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    schema_errors = native_schema_errors(native)
    if refused is None:
        assert schema_errors == [], "the construct accepts what CloudFormation's own resource refuses"
    elif not schema_errors:
        assert documented_stricter(retention_minutes, tags), (
            f"refused what the native schema accepts: {refused}"
        )


def test_negative_retention_is_refused_before_the_construct_sees_it() -> None:
    # CDK's Duration itself refuses negative amounts, so the message is CDK's own, not pool_rules'.
    with pytest.raises(Exception, match="negative"):
        cdk.Duration.hours(-1)
