"""Synth-time validation: each bad prop fails at construction, naming the prop, quoting the value and
carrying the handler's rule message verbatim (the handler refuses the same value the same way)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.runtime import pool_rules
from tests.unit.conftest import new_stack


@pytest.fixture(scope="module")
def stack() -> cdk.Stack:
    """One stack for all the refusals: a refused pool adds nothing to the tree."""
    return new_stack("ValidationStack")


def refusal(stack: cdk.Stack, **props: Any) -> str:
    with pytest.raises(ValueError) as caught:
        KinesisVideoStreamPool(stack, "Pool", **props)
    return str(caught.value)


@pytest.mark.parametrize(
    ("prop", "value", "shown", "rule_message"),
    [
        ("pool_name", "bad name", "'bad name'", pool_rules.pool_name_error("bad name")),
        ("pool_name", "a/b", "'a/b'", pool_rules.pool_name_error("a/b")),
        ("pool_name", "", "''", pool_rules.pool_name_error("")),
        ("pool_name", "n" * 129, "'nnnn", pool_rules.pool_name_error("n" * 129)),
        ("stream_region", "mars", "'mars'", pool_rules.region_error("mars")),
        ("stream_region", "US-EAST-1", "'US-EAST-1'", pool_rules.region_error("US-EAST-1")),
        (
            "data_retention",
            cdk.Duration.minutes(90),
            "Duration.minutes(90)",
            pool_rules.retention_error(1.5),
        ),
        ("tags", {"aws:owner": "me"}, "'aws:owner'", pool_rules.tags_error([("aws:owner", "me")])),
        ("tags", {"k": "v" * 257}, "'k'", pool_rules.tags_error([("k", "v" * 257)])),
        ("tags", {"": "v"}, "''", pool_rules.tags_error([("", "v")])),
        (
            "tags",
            {f"k{i}": "v" for i in range(201)},
            "'k0'",
            pool_rules.tags_error([(f"k{i}", "v") for i in range(201)]),
        ),
        (
            "wait_timeout",
            cdk.Duration.millis(1500),
            "Duration.millis(1500)",
            pool_rules.wait_timeout_error(1.5),
        ),
        ("wait_timeout", cdk.Duration.seconds(0), "Duration.seconds(0)", pool_rules.wait_timeout_error(0)),
    ],
)
def test_bad_prop_is_refused_with_the_rule_message(
    stack: cdk.Stack, prop: str, value: Any, shown: str, rule_message: str | None
) -> None:
    assert rule_message is not None, "the rule must refuse this value too"
    message = refusal(stack, **{prop: value})
    assert f"invalid {prop} " in message
    assert shown in message
    assert rule_message in message
    assert "ValidationStack/Pool" in message


def test_wait_timeout_is_at_most_fourteen_minutes(stack: cdk.Stack) -> None:
    message = refusal(stack, wait_timeout=cdk.Duration.minutes(15))
    assert "invalid wait_timeout Duration.minutes(15)" in message
    assert "14 minutes" in message
    # Fourteen minutes exactly is allowed.
    allowed_stack = new_stack()
    KinesisVideoStreamPool(allowed_stack, "Pool", wait_timeout=cdk.Duration.minutes(14))


def test_snapshot_removal_policy_is_refused(stack: cdk.Stack) -> None:
    message = refusal(stack, removal_policy=cdk.RemovalPolicy.SNAPSHOT)
    assert "invalid removal_policy RemovalPolicy.SNAPSHOT" in message
    assert "RETAIN" in message


def test_retention_token_in_another_unit_is_refused_clearly(stack: cdk.Stack) -> None:
    days = cdk.CfnParameter(stack, "Days", type="Number")
    message = refusal(stack, data_retention=cdk.Duration.days(days.value_as_number))
    assert "invalid data_retention" in message
    assert "Duration.hours(token)" in message


def test_a_refused_prop_leaves_no_trace_in_the_tree() -> None:
    stack = new_stack()
    with pytest.raises(ValueError):
        KinesisVideoStreamPool(stack, "Pool", pool_name="bad name")
    KinesisVideoStreamPool(stack, "Pool", pool_name="good-name")
    assert stack.node.try_find_child("Pool") is not None
