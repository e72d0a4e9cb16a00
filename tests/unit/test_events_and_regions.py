"""State change events, the control-plane Region (api_region) and the opt-in Region rule."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.pool import (
    EVENTS_REGION_WARNING,
    FAILURE_EVENT_TYPES,
    OPT_IN_UNCHECKED_WARNING,
    STATE_CHANGE_DETAIL_TYPE,
    PoolEventType,
)
from chime_kvs_pool.regions import is_opt_in_region, opt_in_regions, required_stream_region
from chime_kvs_pool.runtime import pool_rules
from tests.unit.conftest import new_stack, only_pool

ACCOUNT = "111122223333"


def env_stack(region: str = "us-east-1") -> cdk.Stack:
    return new_stack(env=cdk.Environment(account=ACCOUNT, region=region))


def handler_pool_resources(template: Template) -> list[Any]:
    """The pool ARN patterns the handler's role may manage: its inline policy's and its optional
    policies' (one per other API Region)."""
    (role,) = template.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "Description": "Manages the stack's Chime SDK Media Pipelines Kinesis Video Stream pools"
            }
        },
    ).values()
    documents = [role["Properties"]["Policies"][0]["PolicyDocument"]] + [
        policy["Properties"]["PolicyDocument"]
        for policy in template.find_resources("AWS::IAM::Policy").values()
    ]
    resources: list[Any] = []
    for document in documents:
        for statement in document["Statement"]:
            if statement.get("Sid") == "ManageKinesisVideoStreamPools":
                found = statement["Resource"]
                resources.extend(found if isinstance(found, list) else [found])
    return resources


def chime_region_of(arn: Any) -> str:
    """The Region part of a rendered pool ARN pattern (a Fn::Join of the partition and a literal)."""
    text = arn["Fn::Join"][1][2]
    return str(text.split(":")[2])


# ----- events -----


def test_on_state_change_matches_this_pools_events_only() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool(stack, "Pool")
    KinesisVideoStreamPool(stack, "OtherPool")
    topic = sns.Topic(stack, "Topic")
    pool.on_state_change("StateChange", target=targets.SnsTopic(topic))
    template = Template.from_stack(stack)
    pool_id = next(
        logical_id
        for logical_id, resource in template.find_resources("Custom::ChimeKinesisVideoStreamPool").items()
        if "OtherPool" not in logical_id
    )
    (rule,) = template.find_resources("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.chime"],
        "detail-type": [STATE_CHANGE_DETAIL_TYPE],
        "detail": {"poolArn": [{"Ref": pool_id}]},
    }
    assert rule["Properties"]["State"] == "ENABLED"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": next(iter(template.find_resources("AWS::SNS::Topic")))}


def test_on_state_change_of_an_imported_pool_uses_its_literal_arn_and_takes_targets_later() -> None:
    stack = env_stack()
    arn = f"arn:aws:chime:us-east-1:{ACCOUNT}:media-pipeline-kinesis-video-stream-pool/shared"
    pool = KinesisVideoStreamPool.from_pool_arn(stack, "Imported", arn)
    rule = pool.on_state_change("Changes", rule_name="shared-pool-changes")
    rule.add_target(targets.SnsTopic(sns.Topic(stack, "Topic")))
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Name": "shared-pool-changes",
            "EventPattern": Match.object_like({"detail": {"poolArn": [arn]}}),
            "Targets": Match.any_value(),
        },
    )
    assert not Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp(EVENTS_REGION_WARNING)
    )


def test_a_rule_outside_the_pools_api_region_is_warned_about() -> None:
    stack = env_stack("us-east-1")
    pool = KinesisVideoStreamPool(stack, "Pool", api_region="eu-central-1")
    pool.on_state_change("Changes")
    Annotations.from_stack(stack).has_warning(
        "/TestStack/Pool/Changes", Match.string_like_regexp(r"arrive in eu-central-1.*rule is in us-east-1")
    )


def only_rule_pattern(stack: cdk.Stack) -> Any:
    (rule,) = Template.from_stack(stack).find_resources("AWS::Events::Rule").values()
    return rule["Properties"]


def test_pool_event_types_are_the_documented_ones() -> None:
    assert [event_type.value for event_type in PoolEventType] == [
        "chime:MediaPipelineKinesisVideoStreamPoolActive",
        "chime:MediaPipelineKinesisVideoStreamPoolUpdated",
        "chime:MediaPipelineKinesisVideoStreamPoolDeleted",
        "chime:MediaPipelineKinesisVideoStreamPoolTemporaryFailure",
        "chime:MediaPipelineKinesisVideoStreamPoolPermanentFailure",
    ]


def test_on_event_matches_every_event_of_this_pool_with_on_event_options() -> None:
    """aws-cdk-lib's OnEventOptions: target, description, rule_name, event_pattern (merged)."""
    stack = env_stack()
    pool = KinesisVideoStreamPool(stack, "Pool")
    topic = sns.Topic(stack, "Topic")
    pool.on_event(
        "AllEvents",
        target=targets.SnsTopic(topic),
        description="every pool event",
        rule_name="pool-events",
        event_pattern=events.EventPattern(detail={"mediaRegion": ["eu-west-2"]}, account=[ACCOUNT]),
    )
    properties = only_rule_pattern(stack)
    assert properties["EventPattern"] == {
        "source": ["aws.chime"],
        "account": [ACCOUNT],
        "detail": {"mediaRegion": ["eu-west-2"], "poolArn": [stack.resolve(pool.pool_arn)]},
    }
    assert properties["Description"] == "every pool event"
    assert properties["Name"] == "pool-events"
    assert len(properties["Targets"]) == 1


def test_on_state_change_can_match_some_event_types_only() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool(stack, "Pool")
    pool.on_state_change(
        "Gone", event_types=[PoolEventType.DELETED, "chime:MediaPipelineKinesisVideoStreamPoolDeleted"]
    )
    detail = only_rule_pattern(stack)["EventPattern"]["detail"]
    assert detail == {
        "poolArn": [stack.resolve(pool.pool_arn)],
        "eventType": ["chime:MediaPipelineKinesisVideoStreamPoolDeleted"],
    }


def test_on_failure_matches_both_documented_failure_types() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool(stack, "Pool")
    pool.on_failure("Failures")
    properties = only_rule_pattern(stack)
    assert properties["EventPattern"]["detail-type"] == [STATE_CHANGE_DETAIL_TYPE]
    assert properties["EventPattern"]["detail"]["eventType"] == [t.value for t in FAILURE_EVENT_TYPES]
    assert "Failures of the Kinesis Video Stream pool" in properties["Description"]


@pytest.mark.parametrize(
    ("event_types", "message"),
    [
        (["Active"], r"invalid event_types 'Active': a pool's events are chime:"),
        (["chime:MediaPipelineKinesisVideoStreamPoolActiv"], r"invalid event_types"),
        ([], r"event_types is empty"),
    ],
)
def test_unknown_or_no_event_types_are_refused_at_synth(event_types: list[str], message: str) -> None:
    pool = KinesisVideoStreamPool(env_stack(), "Pool")
    with pytest.raises(ValueError, match=message):
        pool.on_state_change("Rule", event_types=event_types)


def test_a_rule_for_a_pool_in_another_account_uses_cross_stack_scope() -> None:
    """As with aws-cdk-lib's on_event: the rule stays in the pool's scope; cross_stack_scope is
    where CDK puts the event bus rule when the target lives in another account."""
    app = cdk.App()
    pool_stack = cdk.Stack(app, "PoolStack", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    target_stack = cdk.Stack(
        app, "TargetStack", env=cdk.Environment(account="444455556666", region="us-east-1")
    )
    pool = KinesisVideoStreamPool(pool_stack, "Pool")
    topic = sns.Topic(target_stack, "Topic")
    pool.on_state_change("ToOtherAccount", target=targets.SnsTopic(topic), cross_stack_scope=target_stack)
    rules = Template.from_stack(pool_stack).find_resources("AWS::Events::Rule")
    (rule,) = rules.values()
    # The pool's stack forwards the events to the other account's default bus.
    (target,) = rule["Properties"]["Targets"]
    assert "444455556666" in json.dumps(pool_stack.resolve(target["Arn"]))


# ----- api_region -----


def test_api_region_is_sent_to_the_handler_and_allowed_once_per_region() -> None:
    stack = env_stack("us-east-1")
    KinesisVideoStreamPool(stack, "A", api_region="eu-central-1")
    KinesisVideoStreamPool(stack, "B", api_region="eu-central-1")
    KinesisVideoStreamPool(stack, "C", api_region="us-west-2")
    KinesisVideoStreamPool(stack, "D")
    template = Template.from_stack(stack)
    regions = sorted(chime_region_of(arn) for arn in handler_pool_resources(template))
    assert regions == ["eu-central-1", "us-east-1", "us-west-2"]
    sent = {
        logical_id[:1]: resource["Properties"].get("ApiRegion")
        for logical_id, resource in template.find_resources("Custom::ChimeKinesisVideoStreamPool").items()
    }
    assert sent == {"A": "eu-central-1", "B": "eu-central-1", "C": "us-west-2", "D": None}


def test_without_api_region_the_template_keeps_the_stack_region_only() -> None:
    stack = env_stack("us-east-1")
    pool = KinesisVideoStreamPool(stack, "Pool")
    template = Template.from_stack(stack)
    assert "ApiRegion" not in only_pool(template)["Properties"]
    assert [chime_region_of(arn) for arn in handler_pool_resources(template)] == ["us-east-1"]
    assert pool.api_region == "us-east-1"


def test_api_region_equal_to_the_stack_region_adds_no_resource() -> None:
    stack = env_stack("us-east-1")
    KinesisVideoStreamPool(stack, "Pool", api_region="us-east-1")
    assert len(handler_pool_resources(Template.from_stack(stack))) == 1


def test_an_invalid_api_region_is_refused_with_the_rule_message() -> None:
    with pytest.raises(
        ValueError, match=r"invalid api_region 'Europe': ApiRegion must be an AWS Region code"
    ):
        KinesisVideoStreamPool(env_stack(), "Pool", api_region="Europe")


# ----- opt-in Regions -----


def test_opt_in_meeting_region_needs_the_same_stream_region() -> None:
    with pytest.raises(
        ValueError, match=r"invalid stream_region 'us-east-1'.*opt-in Region af-south-1"
    ) as error:
        KinesisVideoStreamPool(
            env_stack("us-east-1"), "Pool", meeting_media_regions=["us-west-2", "af-south-1"]
        )
    assert "stream_region='af-south-1'" in str(error.value)


def test_opt_in_meeting_region_with_the_same_stream_region_is_accepted() -> None:
    stack = env_stack("us-east-1")
    KinesisVideoStreamPool(stack, "Pool", stream_region="af-south-1", meeting_media_regions=["af-south-1"])
    assert (
        only_pool(Template.from_stack(stack))["Properties"]["StreamConfiguration"]["Region"] == "af-south-1"
    )


def test_default_meeting_regions_can_use_streams_anywhere() -> None:
    stack = env_stack("us-east-1")
    KinesisVideoStreamPool(
        stack, "Pool", stream_region="eu-south-1", meeting_media_regions=["ca-central-1", "eu-west-2"]
    )
    Template.from_stack(stack)


def test_two_opt_in_meeting_regions_cannot_share_a_pool() -> None:
    with pytest.raises(ValueError, match=r"af-south-1, me-south-1 .*one pool per opt-in Region"):
        KinesisVideoStreamPool(
            env_stack("af-south-1"), "Pool", meeting_media_regions=["me-south-1", "af-south-1"]
        )


def test_an_invalid_meeting_region_is_refused() -> None:
    with pytest.raises(ValueError, match=r"invalid meeting_media_regions 'mars'"):
        KinesisVideoStreamPool(env_stack(), "Pool", meeting_media_regions=["mars"])


def test_an_unknown_stream_region_is_warned_about_not_refused() -> None:
    stack = new_stack()  # environment-agnostic: the stream Region is the deployment's
    KinesisVideoStreamPool(stack, "Pool", meeting_media_regions=["il-central-1"])
    Annotations.from_stack(stack).has_warning(
        "/TestStack/Pool", Match.string_like_regexp(OPT_IN_UNCHECKED_WARNING)
    )


def test_opt_in_list_holds_region_codes_and_no_default_region() -> None:
    for region in opt_in_regions():
        assert pool_rules.region_error(region) is None, region
    for default_region in (
        "us-east-1",
        "us-west-2",
        "eu-west-1",
        "ap-northeast-3",
        "ca-central-1",
        "sa-east-1",
    ):
        assert not is_opt_in_region(default_region)
    assert required_stream_region(["us-east-1", "ap-southeast-3"]) == "ap-southeast-3"
    assert required_stream_region(["us-east-1"]) is None


# Opt-in Regions as the AWS Account Management Reference Guide ("Enable or disable AWS Regions in
# your account": Regions launched after March 20, 2019) and the AWS Regions table listed them, checked
# 2025: the list this project kept by hand before it used aws-cdk-lib's Region facts.
DOCUMENTED_OPT_IN_REGIONS = {
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
}


def test_aws_cdk_libs_region_facts_agree_with_the_documented_opt_in_regions() -> None:
    """The construct asks aws_cdk.region_info; with the pinned aws-cdk-lib its commercial opt-in
    Regions are exactly the documented ones (a newer release may add Regions, never drop these)."""
    assert opt_in_regions() >= DOCUMENTED_OPT_IN_REGIONS
    assert all(is_opt_in_region(region) for region in DOCUMENTED_OPT_IN_REGIONS)
    assert opt_in_regions() == DOCUMENTED_OPT_IN_REGIONS
    assert not is_opt_in_region("xx-nowhere-9")  # unknown to aws-cdk-lib: not refused


def test_every_opt_in_region_aws_cdk_lib_knows_is_enforced_at_synth() -> None:
    for region in sorted(opt_in_regions()):
        with pytest.raises(ValueError, match=rf"opt-in Region {region}"):
            KinesisVideoStreamPool(env_stack("us-east-1"), "Pool", meeting_media_regions=[region])
