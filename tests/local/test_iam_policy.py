"""The offline IAM evaluator (local/iam_policy.py): IAM's matching and decision rules, no HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from local.iam_policy import (
    Decision,
    PolicyError,
    action_matches,
    arn_matches,
    denial_message,
    evaluate,
    parse_policy,
)

POOL = "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/alpha"
POOLS = "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/*"
CREATE = "chime:CreateMediaPipelineKinesisVideoStreamPool"


def policy(*statements: dict[str, Any]) -> Any:
    return parse_policy("test", {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(
    statements: list[dict[str, Any]],
    action: str = CREATE,
    resource: str = POOL,
    context: dict[str, Any] | None = None,
) -> Decision:
    keys = {
        key.lower(): value if isinstance(value, list) else [value] for key, value in (context or {}).items()
    }
    return evaluate([policy(*statements)], action, resource, keys)


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("chime:CreateMediaPipelineKinesisVideoStreamPool", CREATE, True),
        ("CHIME:createmediapipelinekinesisvideostreampool", CREATE, True),  # case-insensitive
        ("chime:Create*", CREATE, True),
        ("chime:*Pool", CREATE, True),
        ("chime:?reateMediaPipelineKinesisVideoStreamPool", CREATE, True),
        ("chime:Create?", CREATE, False),  # ? is exactly one character
        ("chime:Delete*", CREATE, False),
        ("kinesisvideo:*", CREATE, False),
        ("*", CREATE, True),
        ("chime:Create", CREATE, False),  # no prefix match without a wildcard
    ],
)
def test_action_wildcards(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        (POOLS, POOL, True),
        (POOL, POOL, True),
        (POOL.upper(), POOL, False),  # resource ARNs are case-sensitive
        ("arn:aws:chime:*:123456789012:media-pipeline-kinesis-video-stream-pool/*", POOL, True),
        ("arn:aws:chime:eu-west-1:123456789012:media-pipeline-kinesis-video-stream-pool/*", POOL, False),
        ("arn:aws:chime:us-east-1:210987654321:media-pipeline-kinesis-video-stream-pool/*", POOL, False),
        ("arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/alph?", POOL, True),
        ("arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/al", POOL, False),
        # A wildcard inside an ARN part stays there: it cannot swallow the colons between parts...
        ("arn:aws:chime:us-*-1:media-pipeline-kinesis-video-stream-pool/*", POOL, False),
        ("arn:aws:chime:u?:123456789012:media-pipeline-kinesis-video-stream-pool/*", POOL, False),
        # ...but a "*" that ends a part reaches across the colons after it (IAM User Guide, "Using
        # wildcards in resource ARNs").
        ("arn:aws:chime:*:media-pipeline-kinesis-video-stream-pool/*", POOL, True),
        ("arn:aws:chime:*", POOL, True),
        ("arn:aws:kinesisvideo:*", POOL, False),
        # ...but the resource part is matched whole, colons and slashes included.
        ("arn:aws:logs:us-east-1:1:log-group:*", "arn:aws:logs:us-east-1:1:log-group:g:*", True),
        (
            "arn:aws:kinesisvideo:*:123456789012:stream/ChimeMediaPipelines-*/*",
            "arn:aws:kinesisvideo:eu-west-1:123456789012:stream/ChimeMediaPipelines-p-1/1700000000000",
            True,
        ),
        (
            "arn:aws:kinesisvideo:*:123456789012:stream/ChimeMediaPipelines-*/*",
            "arn:aws:kinesisvideo:eu-west-1:123456789012:stream/other-app/1700000000000",
            False,
        ),
        ("*", "*", True),
        (POOLS, "*", False),  # an action with no resource type needs "*" in the policy
    ],
)
def test_resource_wildcards(pattern: str, arn: str, expected: bool) -> None:
    assert arn_matches(pattern, arn) is expected


def test_no_matching_allow_is_an_implicit_deny() -> None:
    decision = decide([allow("chime:GetMediaPipelineKinesisVideoStreamPool", POOLS)])
    assert decision == Decision(False, False)
    assert decide([]).allowed is False


def test_an_allow_grants_and_names_its_statement() -> None:
    decision = decide([allow(["chime:Get*", CREATE], POOLS, Sid="Pools")])
    assert decision.allowed and decision.sid == "Pools" and decision.policy == "test"


def test_explicit_deny_wins_over_any_allow_in_any_order() -> None:
    for statements in ([allow("*"), deny("chime:Create*", POOL)], [deny("chime:Create*", POOL), allow("*")]):
        decision = decide(statements)
        assert not decision.allowed and decision.explicit_deny
    # A deny that does not match this request leaves the allow in force.
    assert decide([allow("*"), deny("chime:Delete*")]).allowed


def test_deny_in_one_policy_wins_over_allow_in_another() -> None:
    granted = policy(allow(CREATE, POOLS))
    denied = parse_policy("guard", {"Version": "2012-10-17", "Statement": deny("chime:*", POOL)})
    decision = evaluate([granted, denied], CREATE, POOL, {})
    assert decision.explicit_deny and decision.policy == "guard"


def test_not_action_and_not_resource() -> None:
    everything_but_delete = {"Effect": "Allow", "NotAction": "chime:Delete*", "Resource": POOLS}
    assert decide([everything_but_delete]).allowed
    assert not decide(
        [everything_but_delete], action="chime:DeleteMediaPipelineKinesisVideoStreamPool"
    ).allowed
    not_alpha = {"Effect": "Allow", "Action": "chime:*", "NotResource": POOL}
    assert not decide([not_alpha]).allowed
    assert decide([not_alpha], resource=POOL.replace("alpha", "beta")).allowed


def test_string_conditions_on_a_request_context_key() -> None:
    slr = "arn:aws:iam::123456789012:role/aws-service-role/mediapipelines.chime.amazonaws.com/R"
    statement = allow(
        "iam:CreateServiceLinkedRole",
        slr,
        Condition={"StringEquals": {"iam:AWSServiceName": "mediapipelines.chime.amazonaws.com"}},
    )
    action = "iam:CreateServiceLinkedRole"
    # Condition keys are case-insensitive; values of StringEquals are not.
    assert decide(
        [statement], action, slr, context={"iam:awsservicename": "mediapipelines.chime.amazonaws.com"}
    ).allowed
    assert not decide(
        [statement], action, slr, context={"iam:AWSServiceName": "MEDIAPIPELINES.chime.amazonaws.com"}
    ).allowed
    assert not decide([statement], action, slr, context={"iam:AWSServiceName": "other.amazonaws.com"}).allowed
    assert not decide([statement], action, slr).allowed  # key absent: the condition fails
    like = allow(action, slr, Condition={"StringLike": {"iam:AWSServiceName": "*.chime.amazonaws.com"}})
    assert decide(
        [like], action, slr, context={"iam:AWSServiceName": "mediapipelines.chime.amazonaws.com"}
    ).allowed
    assert not decide([like], action, slr, context={"iam:AWSServiceName": "lambda.amazonaws.com"}).allowed


def test_negated_and_if_exists_operators_on_an_absent_key() -> None:
    not_equals = allow("*", Condition={"StringNotEquals": {"aws:RequestTag/env": "prod"}})
    assert decide([not_equals]).allowed  # absent key: a negated operator holds
    assert not decide([not_equals], context={"aws:RequestTag/env": "prod"}).allowed
    if_exists = allow("*", Condition={"StringEqualsIfExists": {"aws:RequestTag/env": "dev"}})
    assert decide([if_exists]).allowed
    assert not decide([if_exists], context={"aws:RequestTag/env": "prod"}).allowed


def test_every_key_and_operator_of_a_condition_must_hold() -> None:
    statement = allow(
        "*",
        Condition={
            "StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]},
            "Null": {"aws:RequestTag/team": "false"},
        },
    )
    assert decide(
        [statement], context={"aws:RequestedRegion": "eu-west-1", "aws:RequestTag/team": "a"}
    ).allowed
    assert not decide([statement], context={"aws:RequestedRegion": "eu-west-1"}).allowed  # Null fails
    assert not decide(
        [statement], context={"aws:RequestedRegion": "ap-south-1", "aws:RequestTag/team": "a"}
    ).allowed


def test_set_operators_on_a_multivalued_key() -> None:
    only_known = allow("*", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}})
    assert decide([only_known], context={"aws:TagKeys": ["team"]}).allowed
    assert not decide([only_known], context={"aws:TagKeys": ["team", "owner"]}).allowed
    assert decide([only_known]).allowed  # ForAllValues holds when the key is absent
    any_team = allow("*", Condition={"ForAnyValue:StringLike": {"aws:TagKeys": "te*"}})
    assert decide([any_team], context={"aws:TagKeys": ["owner", "team"]}).allowed
    assert not decide([any_team], context={"aws:TagKeys": ["owner"]}).allowed
    assert not decide([any_team]).allowed


def test_bool_and_arn_operators() -> None:
    statement = allow(
        "*",
        Condition={
            "Bool": {"aws:SecureTransport": True},
            "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/H*"},
        },
    )
    good = {"aws:SecureTransport": "true", "aws:PrincipalArn": "arn:aws:iam::123456789012:role/Handler"}
    assert decide([statement], context=good).allowed
    assert not decide([statement], context={**good, "aws:SecureTransport": "false"}).allowed
    assert not decide(
        [statement], context={**good, "aws:PrincipalArn": "arn:aws:iam::123456789012:role/Other"}
    ).allowed


@pytest.mark.parametrize(
    ("statement", "complaint"),
    [
        (allow("*", Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}), "not supported"),
        (allow("*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), "not supported"),
        (
            allow("*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
            "not supported",
        ),
        (allow("*", "arn:aws:chime:*:*:pool/${aws:username}"), "policy variable"),
        ({"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}, "Principal"),
        ({"Effect": "allow", "Action": "*", "Resource": "*"}, "Effect"),
        ({"Effect": "Allow", "Action": "*"}, "Resource"),
        ({"Effect": "Allow", "Action": "*", "NotAction": "x:y", "Resource": "*"}, "exactly one"),
        (allow("CreatePool"), "service:Name"),
        (allow("*", {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}]]}), "unresolved intrinsic"),
    ],
)
def test_what_cannot_be_evaluated_is_refused_loudly(statement: dict[str, Any], complaint: str) -> None:
    with pytest.raises(PolicyError, match=complaint):
        policy(statement)


def test_a_single_statement_object_is_a_policy() -> None:
    parsed = parse_policy("one", {"Version": "2012-10-17", "Statement": allow(CREATE, POOLS)})
    assert evaluate([parsed], CREATE, POOL, {}).allowed


def test_denial_messages_in_aws_style() -> None:
    principal = "arn:aws:sts::123456789012:assumed-role/HandlerRole/handler-fn"
    implicit = denial_message(principal, CREATE, POOL, Decision(False))
    assert implicit == (
        f"User: {principal} is not authorized to perform: {CREATE} on resource: {POOL} "
        f"because no identity-based policy allows the {CREATE} action"
    )
    explicit = denial_message(principal, CREATE, POOL, Decision(False, True, "p"))
    assert explicit.endswith("with an explicit deny in an identity-based policy")
