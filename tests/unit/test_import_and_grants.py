"""Imported pools (by ARN, name or attributes) and the grants both owned and imported pools offer."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from chime_kvs_pool import IKinesisVideoStreamPool, KinesisVideoStreamPool
from chime_kvs_pool.pool import POOL_READ_ACTIONS, STREAM_CONSUMER_ACTIONS
from tests.unit.conftest import POOL_TYPE, new_stack

ACCOUNT = "111122223333"
POOL_ARN = f"arn:aws:chime:eu-west-1:{ACCOUNT}:media-pipeline-kinesis-video-stream-pool/Imported.Pool-1"
POOL_ID = "ChimeMediaPipelines-Imported.Pool-1-6f1c2a3e-9b0d-4c5e-8f7a-1b2c3d4e5f60"


def env_stack(region: str = "us-east-1") -> cdk.Stack:
    return new_stack(env=cdk.Environment(account=ACCOUNT, region=region))


def reader(stack: cdk.Stack) -> iam.Role:
    return iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))


def granted_statements(template: Template) -> list[dict[str, Any]]:
    """The statements of the AWS::IAM::Policy resources that grants create (not the handler's role)."""
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ----- imports -----


def test_from_pool_arn_takes_name_and_environment_from_the_arn() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool.from_pool_arn(stack, "Imported", POOL_ARN)
    assert pool.pool_arn == POOL_ARN
    assert pool.pool_name == "Imported.Pool-1"
    assert pool.env.region == "eu-west-1"
    assert pool.env.account == ACCOUNT
    assert pool.stream_region == "eu-west-1"
    assert pool.pool_id is None


@pytest.mark.parametrize(
    "bad_arn",
    [
        "not-an-arn",
        "arn:aws:chime:eu-west-1:111122223333:meeting/abc",
        "arn:aws:chime:eu-west-1:1234:media-pipeline-kinesis-video-stream-pool/Pool",
        "arn:aws:sns:eu-west-1:111122223333:media-pipeline-kinesis-video-stream-pool/Pool",
        "arn:aws:chime:eu-west-1:111122223333:media-pipeline-kinesis-video-stream-pool/has space",
    ],
)
def test_a_malformed_literal_arn_is_refused_clearly(bad_arn: str) -> None:
    with pytest.raises(ValueError, match=r"TestStack/Imported: invalid pool_arn .*media-pipeline-kinesis"):
        KinesisVideoStreamPool.from_pool_arn(env_stack(), "Imported", bad_arn)


def test_a_token_arn_is_accepted_and_its_name_split_by_cloudformation() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool.from_pool_arn(stack, "Imported", cdk.Fn.import_value("SharedPoolArn"))
    cdk.CfnOutput(stack, "Name", value=pool.pool_name)
    name = Template.from_stack(stack).to_json()["Outputs"]["Name"]["Value"]
    # The ARN's sixth field (media-pipeline-kinesis-video-stream-pool/<name>), then the part after "/".
    arn = {"Fn::ImportValue": "SharedPoolArn"}
    resource = {"Fn::Select": [5, {"Fn::Split": [":", arn]}]}
    assert name == {"Fn::Select": [1, {"Fn::Split": ["/", resource]}]}


def test_from_pool_name_builds_the_arn_in_the_stack_account_and_region() -> None:
    stack = env_stack("ap-southeast-2")
    pool = KinesisVideoStreamPool.from_pool_name(stack, "Imported", "team-pool")
    assert stack.resolve(pool.pool_arn) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":chime:ap-southeast-2:{ACCOUNT}:media-pipeline-kinesis-video-stream-pool/team-pool",
            ],
        ]
    }
    assert pool.pool_name == "team-pool"


def test_from_pool_name_refuses_an_invalid_name() -> None:
    with pytest.raises(ValueError, match=r"invalid pool_name 'a/b'"):
        KinesisVideoStreamPool.from_pool_name(env_stack(), "Imported", "a/b")


def test_from_pool_attributes_needs_an_arn_or_a_name() -> None:
    with pytest.raises(ValueError, match="needs pool_arn or pool_name"):
        KinesisVideoStreamPool.from_pool_attributes(env_stack(), "Imported")


def test_from_pool_attributes_refuses_a_name_that_contradicts_the_arn() -> None:
    with pytest.raises(ValueError, match=r"pool_name 'Other' differs from the name in pool_arn"):
        KinesisVideoStreamPool.from_pool_attributes(
            env_stack(), "Imported", pool_arn=POOL_ARN, pool_name="Other"
        )


@pytest.mark.parametrize(
    "bad_id",
    [
        "Imported.Pool-1-6f1c2a3e",  # no service prefix
        "ChimeMediaPipelines-OtherPool-6f1c2a3e",  # another pool's id
        "ChimeMediaPipelines-Imported.Pool-1-",  # nothing after the name
    ],
)
def test_from_pool_attributes_refuses_a_pool_id_of_the_wrong_shape(bad_id: str) -> None:
    with pytest.raises(ValueError, match=r"invalid pool_id .*ChimeMediaPipelines-Imported\.Pool-1-"):
        KinesisVideoStreamPool.from_pool_attributes(
            env_stack(), "Imported", pool_arn=POOL_ARN, pool_id=bad_id
        )


def test_imported_and_owned_pools_share_one_interface() -> None:
    stack = env_stack()
    pools: list[IKinesisVideoStreamPool] = [
        KinesisVideoStreamPool(stack, "Owned"),
        KinesisVideoStreamPool.from_pool_arn(stack, "Imported", POOL_ARN),
    ]
    for pool in pools:
        pool.grant_read(reader(stack) if pool is pools[0] else iam.User(stack, "User"))
    Template.from_stack(stack).resource_count_is("AWS::IAM::Policy", 2)


# ----- grants -----


def test_grant_read_on_an_imported_pool_is_scoped_to_its_arn() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool.from_pool_arn(stack, "Imported", POOL_ARN)
    grant = pool.grant_read(reader(stack))
    assert grant.success
    (statement,) = granted_statements(Template.from_stack(stack))
    assert set(as_list(statement["Action"])) == set(POOL_READ_ACTIONS)
    assert statement["Resource"] == POOL_ARN


def test_grant_of_an_owned_pool_names_the_pool_resource() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool(stack, "Pool", pool_name="owned")
    pool.grant(reader(stack), "chime:UpdateMediaPipelineKinesisVideoStreamPool")
    template = Template.from_stack(stack)
    (pool_id,) = template.find_resources(POOL_TYPE)
    (statement,) = granted_statements(template)
    assert statement["Action"] == "chime:UpdateMediaPipelineKinesisVideoStreamPool"
    assert statement["Resource"] == {"Ref": pool_id}


def test_grant_without_actions_is_refused() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool(stack, "Pool")
    with pytest.raises(ValueError, match="at least one action"):
        pool.grant(reader(stack))


def test_stream_consumer_grant_of_an_owned_pool_uses_its_pool_id_and_stream_region() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool(stack, "Pool", stream_region="eu-central-1")
    pool.grant_stream_consumer(reader(stack))
    template = Template.from_stack(stack)
    (pool_logical_id,) = template.find_resources(POOL_TYPE)
    (statement,) = granted_statements(template)
    assert set(as_list(statement["Action"])) == set(STREAM_CONSUMER_ACTIONS)
    assert all(action.startswith("kinesisvideo:") for action in STREAM_CONSUMER_ACTIONS)
    # The pool's own id and stream Region, from the handler's answer, never a prefix of all pools.
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":kinesisvideo:",
                {"Fn::GetAtt": [pool_logical_id, "StreamRegion"]},
                f":{ACCOUNT}:stream/",
                {"Fn::GetAtt": [pool_logical_id, "PoolId"]},
                "-*/*",
            ],
        ]
    }


def test_stream_consumer_grant_of_an_imported_pool_with_its_id() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool.from_pool_attributes(
        stack, "Imported", pool_arn=POOL_ARN, pool_id=POOL_ID, stream_region="af-south-1"
    )
    pool.grant_stream_consumer(reader(stack))
    (statement,) = granted_statements(Template.from_stack(stack))
    assert stack.resolve(statement["Resource"]) == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, f":kinesisvideo:af-south-1:{ACCOUNT}:stream/{POOL_ID}-*/*"],
        ]
    }


def test_stream_consumer_grant_is_refused_without_a_pool_id() -> None:
    stack = env_stack()
    pool = KinesisVideoStreamPool.from_pool_arn(stack, "Imported", POOL_ARN)
    with pytest.raises(ValueError, match=r"needs the pool's PoolId.*from_pool_attributes"):
        pool.grant_stream_consumer(reader(stack))


def test_grants_add_nothing_to_the_handler_role() -> None:
    """A grant goes to the grantee's policy; the handler's single inline policy is unchanged."""
    plain = Template.from_stack(_pool_with_grants(grants=False))
    granted = Template.from_stack(_pool_with_grants(grants=True))
    (plain_role,) = plain.find_resources(
        "AWS::IAM::Role", {"Properties": {"Description": _HANDLER_ROLE}}
    ).values()
    (granted_role,) = granted.find_resources(
        "AWS::IAM::Role", {"Properties": {"Description": _HANDLER_ROLE}}
    ).values()
    assert plain_role == granted_role


_HANDLER_ROLE = "Manages the stack's Chime SDK Media Pipelines Kinesis Video Stream pools"


def _pool_with_grants(grants: bool) -> cdk.Stack:
    stack = env_stack()
    pool = KinesisVideoStreamPool(stack, "Pool", pool_name="p")
    role = reader(stack)
    if grants:
        pool.grant_read(role)
        pool.grant_stream_consumer(role)
    return stack
