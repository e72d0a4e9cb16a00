"""What this construct adds over the native L1, measured on synthesized templates (README, "Native
resource or this construct"); what the L1 wins is measured by ``make bench`` (bench/README.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_chime as chime
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from chime_kvs_pool import KinesisVideoStreamPool

ACCOUNT = "111122223333"
NATIVE_TYPE = "AWS::Chime::MediaPipelineKinesisVideoStreamPool"


def stack_in(region: str) -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Compare", env=cdk.Environment(account=ACCOUNT, region=region))


def native_pool(stack: cdk.Stack, name: str, region: str, retention: int) -> None:
    chime.CfnMediaPipelineKinesisVideoStreamPool(
        stack,
        "Native",
        pool_name=name,
        stream_configuration=chime.CfnMediaPipelineKinesisVideoStreamPool.StreamConfigurationProperty(
            region=region, data_retention_in_hours=retention
        ),
    )


def lint_errors(template: Mapping[str, Any], region: str) -> list[str]:
    matches = lint(json.dumps(template), config=ManualArgs(regions=[region]))
    return [f"{m.rule.id} {m.message}" for m in matches if m.rule.severity == "error"]


@pytest.mark.parametrize(
    ("name", "region", "hours", "prop"),
    [
        ("meeting recordings", "us-east-1", 24, "pool_name"),  # a space: outside [0-9a-zA-Z._-]
        ("recordings", "US East", 24, "stream_region"),
        ("x" * 129, "us-east-1", 24, "pool_name"),
    ],
)
def test_a_bad_value_fails_the_constructs_synth_but_not_the_l1s(
    name: str, region: str, hours: int, prop: str
) -> None:
    """The L1 synthesizes it and CloudFormation would fail at deploy time; the construct stops at synth."""
    native_stack = stack_in("us-east-1")
    native_pool(native_stack, name, region, hours)
    (resource,) = Template.from_stack(native_stack).find_resources(NATIVE_TYPE).values()
    assert resource["Properties"]["PoolName"] == name
    with pytest.raises(ValueError, match=rf"invalid {prop}"):
        KinesisVideoStreamPool(
            stack_in("us-east-1"),
            "Pool",
            pool_name=name,
            stream_region=region,
            data_retention=cdk.Duration.hours(hours),
        )


def test_a_stack_in_a_region_without_the_native_type_can_still_manage_a_pool() -> None:
    """cfn-lint's Region data (the CloudFormation registry per Region) lacks the native type in
    eu-west-1; the construct deploys there and manages a pool through another Region's API."""
    native_stack = stack_in("eu-west-1")
    native_pool(native_stack, "recordings", "eu-west-1", 24)
    native_errors = lint_errors(Template.from_stack(native_stack).to_json(), "eu-west-1")
    assert any(NATIVE_TYPE in error for error in native_errors), native_errors

    ours = stack_in("eu-west-1")
    KinesisVideoStreamPool(ours, "Pool", pool_name="recordings", api_region="eu-central-1")
    assert lint_errors(Template.from_stack(ours).to_json(), "eu-west-1") == []
    # In a Region that has the type, the L1 lints clean too: the difference is the Region.
    native_home = stack_in("eu-central-1")
    native_pool(native_home, "recordings", "eu-central-1", 24)
    assert lint_errors(Template.from_stack(native_home).to_json(), "eu-central-1") == []
