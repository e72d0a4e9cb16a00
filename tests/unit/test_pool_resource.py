"""The pool's custom resource as CloudFormation receives it: properties, policies, attributes."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from chime_kvs_pool import IKinesisVideoStreamPool, KinesisVideoStreamPool
from chime_kvs_pool.runtime import pool_rules
from chime_kvs_pool.runtime.properties import parse_properties
from tests.unit.conftest import POOL_TYPE, new_stack, only_pool


@pytest.fixture(scope="module")
def configured() -> tuple[KinesisVideoStreamPool, Template]:
    stack = new_stack()
    pool = KinesisVideoStreamPool(
        stack,
        "Pool",
        pool_name="media-pool.1",
        stream_region="eu-central-1",
        data_retention=cdk.Duration.hours(24),
        tags={"team": "media", "empty": ""},
        wait_timeout=cdk.Duration.minutes(10),
    )
    cdk.CfnOutput(stack, "Arn", value=pool.pool_arn)
    for attribute in (
        "pool_id",
        "pool_name",
        "pool_status",
        "pool_size",
        "stream_region",
        "data_retention_in_hours",
        "created_timestamp",
        "updated_timestamp",
    ):
        cdk.CfnOutput(stack, attribute.replace("_", ""), value=getattr(pool, attribute))
    return pool, Template.from_stack(stack)


@pytest.fixture(scope="module")
def defaults() -> Template:
    stack = new_stack("DefaultsStack")
    KinesisVideoStreamPool(stack, "Pool")
    return Template.from_stack(stack)


def test_properties_mirror_the_native_resource(configured: tuple[Any, Template]) -> None:
    _, template = configured
    properties = only_pool(template)["Properties"]
    assert properties["PoolName"] == "media-pool.1"
    assert properties["StreamConfiguration"] == {"Region": "eu-central-1", "DataRetentionInHours": 24}
    assert sorted(properties["Tags"], key=lambda tag: tag["Key"]) == [
        {"Key": "empty", "Value": ""},
        {"Key": "team", "Value": "media"},
    ]
    assert properties["WaitTimeoutSeconds"] == 600


def test_service_token_is_the_handler_function(configured: tuple[Any, Template]) -> None:
    _, template = configured
    (function_id,) = template.find_resources("AWS::Lambda::Function")
    assert only_pool(template)["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_service_timeout_covers_the_wait_and_is_far_below_an_hour(
    configured: tuple[Any, Template], defaults: Template
) -> None:
    configured_timeout = int(only_pool(configured[1])["Properties"]["ServiceTimeout"])
    default_timeout = int(only_pool(defaults)["Properties"]["ServiceTimeout"])
    assert 600 < configured_timeout < 3600
    assert pool_rules.WAIT_TIMEOUT_DEFAULT < default_timeout < configured_timeout


def test_defaults(defaults: Template) -> None:
    pool = only_pool(defaults)
    properties = pool["Properties"]
    # The stack's Region: a token in this environment-agnostic stack.
    assert properties["StreamConfiguration"] == {"Region": {"Ref": "AWS::Region"}}
    # Options holding the handler's defaults are left out (a smaller resource per pool).
    assert "WaitTimeoutSeconds" not in properties
    assert (
        parse_properties(
            {"PoolName": "p", "StreamConfiguration": {"Region": "us-east-1"}}
        ).wait_timeout_seconds
        == pool_rules.WAIT_TIMEOUT_DEFAULT
    )
    assert "Tags" not in properties
    assert pool_rules.pool_name_error(properties["PoolName"]) is None
    # RemovalPolicy.DESTROY: CloudFormation's default for both (Delete), so the template leaves them out.
    assert "DeletionPolicy" not in pool
    assert "UpdateReplacePolicy" not in pool


def test_stream_region_defaults_to_a_concrete_stack_region() -> None:
    stack = new_stack(env=cdk.Environment(account="123456789012", region="ap-southeast-2"))
    KinesisVideoStreamPool(stack, "Pool")
    properties = only_pool(Template.from_stack(stack))["Properties"]
    assert properties["StreamConfiguration"]["Region"] == "ap-southeast-2"


def test_retention_of_zero_hours_is_kept() -> None:
    stack = new_stack()
    KinesisVideoStreamPool(stack, "Pool", data_retention=cdk.Duration.hours(0))
    properties = only_pool(Template.from_stack(stack))["Properties"]
    assert properties["StreamConfiguration"]["DataRetentionInHours"] == 0


def test_retention_in_days_is_converted_to_hours() -> None:
    stack = new_stack()
    KinesisVideoStreamPool(stack, "Pool", data_retention=cdk.Duration.days(2))
    properties = only_pool(Template.from_stack(stack))["Properties"]
    assert properties["StreamConfiguration"]["DataRetentionInHours"] == 48


def test_attributes_are_the_handler_data_keys(configured: tuple[Any, Template]) -> None:
    _, template = configured
    (pool_id,) = template.find_resources(POOL_TYPE)
    outputs = template.to_json()["Outputs"]
    assert outputs["Arn"]["Value"] == {"Ref": pool_id}
    expected_keys = {
        "poolid": "PoolId",
        "poolname": "PoolName",
        "poolstatus": "PoolStatus",
        "poolsize": "PoolSize",
        "streamregion": "StreamRegion",
        "dataretentioninhours": "DataRetentionInHours",
        "createdtimestamp": "CreatedTimestamp",
        "updatedtimestamp": "UpdatedTimestamp",
    }
    for output, data_key in expected_keys.items():
        assert outputs[output]["Value"] == {"Fn::GetAtt": [pool_id, data_key]}, output


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (cdk.RemovalPolicy.RETAIN, "Retain"),
        (cdk.RemovalPolicy.DESTROY, None),  # CloudFormation's default, Delete: left out
    ],
)
def test_removal_policy_prop(policy: cdk.RemovalPolicy, expected: str | None) -> None:
    stack = new_stack()
    KinesisVideoStreamPool(stack, "Pool", removal_policy=policy)
    pool = only_pool(Template.from_stack(stack))
    assert pool.get("DeletionPolicy") == expected
    assert pool.get("UpdateReplacePolicy") == expected


def test_apply_removal_policy_reaches_the_custom_resource() -> None:
    stack = new_stack()
    pool = KinesisVideoStreamPool(stack, "Pool")
    pool.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    resource = only_pool(Template.from_stack(stack))
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_apply_removal_policy_destroy_after_retain_leaves_cloudformations_default() -> None:
    stack = new_stack()
    pool = KinesisVideoStreamPool(stack, "Pool", removal_policy=cdk.RemovalPolicy.RETAIN)
    pool.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
    resource = only_pool(Template.from_stack(stack))
    assert "DeletionPolicy" not in resource
    assert "UpdateReplacePolicy" not in resource


def test_tokens_are_passed_through_unvalidated() -> None:
    stack = new_stack()
    name = cdk.CfnParameter(stack, "Name")
    region = cdk.CfnParameter(stack, "Region")
    hours = cdk.CfnParameter(stack, "Hours", type="Number")
    owner = cdk.CfnParameter(stack, "Owner")
    KinesisVideoStreamPool(
        stack,
        "Pool",
        pool_name=name.value_as_string,
        stream_region=region.value_as_string,
        data_retention=cdk.Duration.hours(hours.value_as_number),
        tags={"owner": owner.value_as_string},
    )
    properties = only_pool(Template.from_stack(stack))["Properties"]
    assert properties["PoolName"] == {"Ref": "Name"}
    assert properties["StreamConfiguration"] == {
        "Region": {"Ref": "Region"},
        "DataRetentionInHours": {"Ref": "Hours"},
    }
    assert properties["Tags"] == [{"Key": "owner", "Value": {"Ref": "Owner"}}]


def arn_of(pool: IKinesisVideoStreamPool) -> str:
    """Code written against the interface; mypy checks that an owned pool satisfies it."""
    return pool.pool_arn


def test_an_owned_pool_is_an_ikinesisvideostreampool(configured: tuple[Any, Template]) -> None:
    pool, template = configured
    (pool_id,) = template.find_resources(POOL_TYPE)
    assert pool.stack.resolve(arn_of(pool)) == {"Ref": pool_id}


def test_a_wait_timeout_equal_to_the_default_is_left_out_and_any_other_is_sent() -> None:
    stack = new_stack()
    KinesisVideoStreamPool(stack, "Five", wait_timeout=cdk.Duration.minutes(5))
    KinesisVideoStreamPool(stack, "Six", wait_timeout=cdk.Duration.minutes(6))
    pools = Template.from_stack(stack).find_resources(POOL_TYPE)
    waits = {
        "Five" if logical_id.startswith("Five") else "Six": pool["Properties"].get("WaitTimeoutSeconds")
        for logical_id, pool in pools.items()
    }
    assert waits == {"Five": None, "Six": 360}


def test_the_handler_answers_before_the_service_timeout_the_construct_sets(
    configured: tuple[Any, Template], defaults: Template
) -> None:
    """The handler bounds its own work (pool_rules.answer_within_seconds, from its own start) by
    the ServiceTimeout the construct writes, less the time the event's delivery and a cold start
    may take: work after CloudFormation has given up would create or clean up for nobody."""
    for template, wait in ((configured[1], 600), (defaults, pool_rules.WAIT_TIMEOUT_DEFAULT)):
        service_timeout = int(only_pool(template)["Properties"]["ServiceTimeout"])
        answer_within = pool_rules.answer_within_seconds(wait)
        assert answer_within + pool_rules.DELIVERY_ALLOWANCE_SECONDS == service_timeout
        assert wait < answer_within < service_timeout
