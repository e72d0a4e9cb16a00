"""CloudFormation's string properties -> PoolSpec, without any service."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chime_kvs_pool.runtime import pool_rules
from chime_kvs_pool.runtime.properties import (
    REASON_MAX,
    TOP_LEVEL_PROPERTIES,
    InvalidPropertiesError,
    PoolSpec,
    parse_int,
    parse_properties,
    wait_timeout_of,
)

from .conftest import CloudFormation, pool_properties


def test_strings_are_parsed_into_a_typed_spec() -> None:
    spec = parse_properties(
        pool_properties(
            name="p1", region="eu-west-2", retention="24", tags={"b": "2", "a": ""}, WaitTimeoutSeconds="60"
        )
    )

    assert spec == PoolSpec("p1", "eu-west-2", 24, (("a", ""), ("b", "2")), 60)


def test_defaults_apply_when_optional_properties_are_absent() -> None:
    spec = parse_properties({"PoolName": "p", "StreamConfiguration": {"Region": "us-east-1"}})

    assert spec.data_retention_hours is None
    assert spec.tags == ()
    assert spec.wait_timeout_seconds == pool_rules.WAIT_TIMEOUT_DEFAULT
    # An absent switch means the construct's default, which the construct then leaves out.
    assert spec.ensure_service_linked_role is True
    assert spec.adopt_existing is False
    assert spec.delete_streams_on_delete is False


def test_an_empty_tag_list_means_no_tags() -> None:
    assert parse_properties(pool_properties(Tags=[])).tags == ()


@pytest.mark.parametrize(("given_value", "expected"), [(24, 24), ("24", 24), ("0", 0), (" 7 ", 7)])
def test_integers_are_accepted_as_ints_or_decimal_strings(given_value: object, expected: int) -> None:
    assert parse_properties(pool_properties(retention=given_value)).data_retention_hours == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["24.5", "-1", "", "abc", True, 24.0, "1e3", [24]])
def test_non_integers_and_negative_retention_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidPropertiesError) as raised:
        parse_properties(pool_properties(retention=bad))

    assert [prop for prop, _ in raised.value.problems] == ["StreamConfiguration.DataRetentionInHours"]


def test_unknown_properties_are_refused_with_the_allowed_list() -> None:
    with pytest.raises(InvalidPropertiesError) as raised:
        parse_properties(
            pool_properties(Colour="blue", StreamConfiguration={"Region": "us-east-1", "Speed": "9"})
        )

    message = str(raised.value)
    assert "Colour" in message and "StreamConfiguration.Speed" in message
    assert "allowed: PoolName, StreamConfiguration, Tags, WaitTimeoutSeconds" in message


@pytest.mark.parametrize(
    ("tags", "named"),
    [
        ([{"Key": "k"}], "needs a string Value"),
        ([{"Value": "v"}], "string Key"),
        ("team=media", "must be a list"),
        ([{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}], "more than once"),
        ([{"Key": "AWS:x", "Value": "1"}], "reserved"),
    ],
)
def test_bad_tags_are_refused(tags: Any, named: str) -> None:
    with pytest.raises(InvalidPropertiesError) as raised:
        parse_properties(pool_properties(Tags=tags))

    assert named in str(raised.value) and str(raised.value).startswith("Invalid properties Tags")


@pytest.mark.parametrize("bad", ["0", "901", "5.5"])
def test_the_wait_timeout_must_fit_in_one_lambda_invocation(bad: str) -> None:
    with pytest.raises(InvalidPropertiesError, match="WaitTimeoutSeconds"):
        parse_properties(pool_properties(WaitTimeoutSeconds=bad))


def test_delete_reads_the_wait_timeout_even_from_otherwise_bad_properties() -> None:
    assert wait_timeout_of({"PoolName": "bad name", "WaitTimeoutSeconds": "12"}) == 12
    assert wait_timeout_of({"WaitTimeoutSeconds": "nonsense"}) == pool_rules.WAIT_TIMEOUT_DEFAULT
    assert wait_timeout_of(None) == pool_rules.WAIT_TIMEOUT_DEFAULT


@given(
    st.dictionaries(
        st.text(max_size=30).filter(lambda key: key not in TOP_LEVEL_PROPERTIES),
        st.text(max_size=300),
        max_size=8,
    )
)
def test_any_rejection_names_its_properties_within_the_reason_limit(garbage: dict[str, str]) -> None:
    properties: dict[str, Any] = {
        "PoolName": "x" * 500,
        "StreamConfiguration": {"Region": "?" * 99},
        **garbage,
    }
    with pytest.raises(InvalidPropertiesError) as raised:
        parse_properties(properties)

    message = str(raised.value)
    assert len(message) <= REASON_MAX
    assert message.startswith("Invalid properties PoolName, StreamConfiguration.Region")


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_parse_int_round_trips_decimal_strings(number: int) -> None:
    assert parse_int(str(number)) == number
    assert parse_int(number) == number
    assert parse_int(f"{number}.5") is None


def test_cloudformations_own_properties_are_ignored() -> None:
    spec = parse_properties(pool_properties(ServiceTimeout="600"))

    assert spec.pool_name == "handler-test-pool"


def test_a_tag_with_a_member_besides_key_and_value_is_refused() -> None:
    properties = pool_properties()
    properties["Tags"] = [{"Key": "team", "Value": "x", "Extra": "y"}]
    with pytest.raises(InvalidPropertiesError, match=r"Tags\[0\] has unknown members Extra"):
        parse_properties(properties)


@pytest.mark.parametrize("properties", ["PoolName=x", 42, ["PoolName"]])
def test_properties_that_are_not_an_object_are_refused_by_name(properties: Any) -> None:
    with pytest.raises(InvalidPropertiesError, match="ResourceProperties must be an object"):
        parse_properties(properties)
    assert wait_timeout_of(properties) == pool_rules.WAIT_TIMEOUT_DEFAULT  # a Delete still proceeds


@pytest.mark.parametrize("hours", ["87601", str(2**31 - 1)])
def test_retention_above_what_a_stream_keeps_fails_before_any_call(cfn: CloudFormation, hours: str) -> None:
    response = cfn.create(pool_properties("forever", retention=hours))

    assert response["Status"] == "FAILED"
    for part in ("DataRetentionInHours", hours, "87600", "Kinesis Video Streams"):
        assert part in response["Reason"], part
    assert cfn.mutating_calls() == []
    assert cfn.backend.leftover_pools() == []
