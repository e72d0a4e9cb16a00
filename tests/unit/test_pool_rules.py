"""The pool's rules: their limits match botocore's service model, and each rule refuses what it should."""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest

from chime_kvs_pool.runtime import pool_rules
from chime_kvs_pool.runtime.pool_rules import PoolRuleError


@pytest.fixture(scope="module")
def create_input() -> Any:
    model = botocore.session.get_session().get_service_model("chime-sdk-media-pipelines")
    return model.operation_model("CreateMediaPipelineKinesisVideoStreamPool").input_shape


def model_pattern(shape: Any) -> str:
    """The service pattern without anchors: the rules always match whole values."""
    pattern: str = shape.metadata["pattern"]
    return pattern.removeprefix("^").removesuffix("$")


def test_pool_name_limits_match_the_service_model(create_input: Any) -> None:
    shape = create_input.members["PoolName"]
    assert (shape.metadata["min"], shape.metadata["max"]) == (
        pool_rules.POOL_NAME_MIN,
        pool_rules.POOL_NAME_MAX,
    )
    assert pool_rules.POOL_NAME_RE.pattern == model_pattern(shape)
    assert f"[{pool_rules.POOL_NAME_CHARS}]+" == model_pattern(shape)


def test_region_limits_match_the_service_model(create_input: Any) -> None:
    shape = create_input.members["StreamConfiguration"].members["Region"]
    assert "Region" in create_input.members["StreamConfiguration"].required_members
    assert (shape.metadata["min"], shape.metadata["max"]) == (pool_rules.REGION_MIN, pool_rules.REGION_MAX)
    # The model writes \d, the rules the same digits; compare what they accept.
    model = re.compile(model_pattern(shape))
    for candidate in (
        "us-east-1",
        "ap-southeast-2",
        "us-gov-west-1",
        "eu-central-10",
        "us-east",
        "us_east-1",
    ):
        assert bool(pool_rules.REGION_RE.fullmatch(candidate)) == bool(model.fullmatch(candidate)), candidate


def test_retention_limits_match_the_service_model(create_input: Any) -> None:
    shape = create_input.members["StreamConfiguration"].members["DataRetentionInHours"]
    assert shape.type_name == "integer"
    assert shape.metadata["min"] == pool_rules.RETENTION_MIN
    assert "max" not in shape.metadata or shape.metadata["max"] >= pool_rules.RETENTION_MAX
    # The model has no maximum; the rule's is Kinesis Video Streams' ten years, stricter on purpose.
    assert pool_rules.RETENTION_MAX == 87600


@pytest.mark.parametrize("hours", [87601, 2**31 - 1])
def test_retention_above_what_a_stream_keeps_is_refused_with_the_reason(hours: int) -> None:
    message = pool_rules.retention_error(hours)
    assert message is not None
    for part in ("StreamConfiguration.DataRetentionInHours", str(hours), "87600", "Kinesis Video Streams"):
        assert part in message, part


def test_the_update_retention_minimum_matches_the_service_model() -> None:
    update = (
        botocore.session.get_session()
        .get_service_model("chime-sdk-media-pipelines")
        .operation_model("UpdateMediaPipelineKinesisVideoStreamPool")
    )
    stream: Any = update.input_shape.members["StreamConfiguration"]  # type: ignore[union-attr]
    shape = stream.members["DataRetentionInHours"]
    assert shape.metadata["min"] == pool_rules.RETENTION_UPDATE_MIN


def test_user_tags_leave_room_for_the_handlers_own() -> None:
    assert pool_rules.USER_TAGS_MAX + len(pool_rules.HANDLER_TAG_KEYS) == pool_rules.TAGS_MAX
    assert pool_rules.tags_error([(f"k{i}", "v") for i in range(pool_rules.USER_TAGS_MAX)]) is None


def test_tag_limits_match_the_service_model(create_input: Any) -> None:
    tags = create_input.members["Tags"]
    assert (tags.metadata["min"], tags.metadata["max"]) == (pool_rules.TAGS_MIN, pool_rules.TAGS_MAX)
    key, value = tags.member.members["Key"], tags.member.members["Value"]
    assert (key.metadata["min"], key.metadata["max"]) == (pool_rules.TAG_KEY_MIN, pool_rules.TAG_KEY_MAX)
    assert (value.metadata["min"], value.metadata["max"]) == (
        pool_rules.TAG_VALUE_MIN,
        pool_rules.TAG_VALUE_MAX,
    )
    assert set(tags.member.required_members) == {"Key", "Value"}


@pytest.mark.parametrize("name", ["a", "pool-1", "My_Pool.v2", "n" * 128, "0-._"])
def test_valid_pool_names(name: str) -> None:
    assert pool_rules.pool_name_error(name) is None
    pool_rules.check_pool_name(name)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "1-128 characters"),
        ("n" * 129, "got 129 characters"),
        ("has space", "[0-9a-zA-Z._-]"),
        ("slash/name", "[0-9a-zA-Z._-]"),
        ("ok\n", "[0-9a-zA-Z._-]"),
        (42, "must be a string"),
    ],
)
def test_invalid_pool_names(name: Any, fragment: str) -> None:
    message = pool_rules.pool_name_error(name)
    assert message is not None and fragment in message
    with pytest.raises(PoolRuleError) as caught:
        pool_rules.check_pool_name(name)
    assert caught.value.prop == "PoolName"
    assert str(caught.value) == message


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "us-gov-west-1", "ap-southeast-5"])
def test_valid_regions(region: str) -> None:
    assert pool_rules.region_error(region) is None


@pytest.mark.parametrize("region", ["", "us-east", "US-EAST-1", "useast1", "us-east-1 ", "a-" * 16 + "1"])
def test_invalid_regions(region: str) -> None:
    message = pool_rules.region_error(region)
    assert message is not None and "StreamConfiguration.Region" in message
    with pytest.raises(PoolRuleError):
        pool_rules.check_region(region)


@pytest.mark.parametrize("hours", [0, 1, 24, 8760, pool_rules.RETENTION_MAX])
def test_valid_retention(hours: int) -> None:
    assert pool_rules.retention_error(hours) is None


@pytest.mark.parametrize("hours", [-1, 1.5, "24", True, None, pool_rules.RETENTION_MAX + 1])
def test_invalid_retention(hours: Any) -> None:
    message = pool_rules.retention_error(hours)
    assert message is not None and "DataRetentionInHours" in message
    with pytest.raises(PoolRuleError):
        pool_rules.check_retention(hours)


def test_valid_tags() -> None:
    assert pool_rules.tags_error([("k", ""), ("K", "v" * 256), ("x" * 128, "y")]) is None
    pool_rules.check_tags({"team": "media"})


@pytest.mark.parametrize(
    ("pairs", "fragment"),
    [
        ([], "1-199 tags"),
        # The service allows 200; the handler's owner tag takes one of them.
        ([(f"k{i}", "v") for i in range(200)], "got 200"),
        ([("chime-kvs-pool:owner", "v")], "reserved for the pool handler"),
        ([("Chime-KVS-Pool:anything", "v")], "reserved for the pool handler"),
        ([("", "v")], "each key"),
        ([("k" * 129, "v")], "each key"),
        ([("aws:x", "v")], "reserved"),
        ([("AWS:x", "v")], "reserved"),
        ([("k", "v"), ("k", "w")], "more than once"),
        ([("k", "v" * 257)], "the value of 'k'"),
    ],
)
def test_invalid_tags(pairs: list[tuple[str, str]], fragment: str) -> None:
    message = pool_rules.tags_error(pairs)
    assert message is not None and fragment in message
    with pytest.raises(PoolRuleError) as caught:
        pool_rules.check_tags(pairs)
    assert caught.value.prop == "Tags"


@pytest.mark.parametrize(
    ("key", "reserved"), [("aws:a", True), ("Aws:b", True), ("awsx", False), ("my:aws", False)]
)
def test_reserved_tag_keys(key: str, reserved: bool) -> None:
    assert pool_rules.is_reserved_tag_key(key) is reserved


def test_long_values_are_quoted_short() -> None:
    message = pool_rules.pool_name_error("x" * 500 + " ")
    assert message is not None and len(message) < 200
