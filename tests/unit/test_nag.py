"""cdk-nag's AwsSolutions pack on a user's stack: the construct acknowledges its own findings.

A user who runs cdk-nag must not have to acknowledge anything for the pools: the handler's role
carries an acknowledgment for each wildcard resource it needs, and nothing wider. These tests add no
acknowledgment of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.handler import flattened_reference, pool_arns_in
from tests.cdk_nag_report import unacknowledged_findings


def nag_findings(stack: cdk.Stack) -> set[tuple[str, str]]:
    """(finding, construct path) for every unacknowledged cdk-nag finding of the stack's app."""
    app = stack.node.root
    assert isinstance(app, cdk.App)
    return {
        (violation["ruleName"], resource["constructPath"])
        for violation in unacknowledged_findings(app)
        for resource in violation["violatingConstructs"]
    }


def new_stack(tmp_path: Path, **kwargs: Any) -> cdk.Stack:
    return cdk.Stack(cdk.App(outdir=str(tmp_path / "cdk.out")), "NagStack", **kwargs)


def test_a_stack_of_pools_with_every_option_has_no_unacknowledged_finding(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    KinesisVideoStreamPool(stack, "Plain")
    KinesisVideoStreamPool(stack, "Far", api_region="ap-southeast-1", delete_streams_on_delete=True)

    assert nag_findings(stack) == set()


def test_a_concrete_environment_has_no_unacknowledged_finding(tmp_path: Path) -> None:
    stack = new_stack(tmp_path, env=cdk.Environment(account="123456789012", region="eu-central-1"))
    KinesisVideoStreamPool(stack, "Pool", delete_streams_on_delete=True)

    assert nag_findings(stack) == set()


def test_the_same_wildcard_on_another_role_is_still_reported(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    KinesisVideoStreamPool(stack, "Pool")
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    pool_arns = pool_arns_in(stack, stack.region)
    reader.add_to_policy(
        iam.PolicyStatement(actions=["chime:GetMediaPipelineKinesisVideoStreamPool"], resources=[pool_arns])
    )

    finding = f"AwsSolutions-IAM5[Resource::{flattened_reference(stack.resolve(pool_arns))}]"
    assert nag_findings(stack) == {(finding, "NagStack/Reader/DefaultPolicy/Resource")}


def test_an_option_left_off_leaves_its_acknowledgment_off(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    pool = KinesisVideoStreamPool(stack, "Pool")
    role = pool.handler.role.node.default_child
    assert role is not None
    acknowledged = [
        rule
        for entry in role.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    ]
    assert acknowledged == [
        "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:chime:<AWS::Region>:"
        "<AWS::AccountId>:media-pipeline-kinesis-video-stream-pool/*]"
    ]


def test_references_are_flattened_as_policy_checkers_name_them() -> None:
    joined = {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":logs:", {"Fn::GetAtt": ["Group", "Arn"]}]]
    }
    assert flattened_reference(joined) == "arn:<AWS::Partition>:logs:<Group.Arn>"
    assert (
        flattened_reference({"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"}) == "arn:<AWS::Partition>:s3:::b/*"
    )
    assert flattened_reference("*") == "*"


def acknowledged_on(construct: Construct) -> list[str]:
    resource = construct.node.default_child
    assert resource is not None
    return [
        rule
        for entry in resource.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    ]


def test_an_options_acknowledgments_sit_on_its_own_policy(tmp_path: Path) -> None:
    """Each wildcard is acknowledged on the resource whose statement holds it, and nowhere else."""
    stack = new_stack(tmp_path)
    pool = KinesisVideoStreamPool(stack, "Pool", api_region="ap-southeast-1", delete_streams_on_delete=True)
    role_rules = acknowledged_on(pool.handler.role)
    assert len(role_rules) == 1 and ":chime:<AWS::Region>:" in role_rules[0]
    policies = [c for c in pool.handler.node.children if isinstance(c, iam.Policy)]
    by_policy = sorted(acknowledged_on(policy) for policy in policies)
    assert by_policy == sorted(
        [
            [
                "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:chime:ap-southeast-1:"
                "<AWS::AccountId>:media-pipeline-kinesis-video-stream-pool/*]"
            ],
            [
                "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kinesisvideo:*:"
                "<AWS::AccountId>:stream/ChimeMediaPipelines-*/*]",
            ],
        ]
    )
