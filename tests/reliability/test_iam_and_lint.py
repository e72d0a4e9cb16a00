"""IAM least privilege, cdk-nag's AwsSolutions pack and cfn-lint on the synthesized templates."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.runtime import pool_rules
from tests.cdk_nag_report import unacknowledged_findings

from .rel_synth import (
    as_list,
    demo_app_module,
    demo_assembly_dir,
    handler_api_calls,
    new_app,
    policy_statements,
    render,
    substitute,
    template_of,
)

POOL_ARN_RESOURCE = pool_rules.POOL_ARN_RESOURCE


def demo_stack(app: cdk.App, **kwargs: Any) -> cdk.Stack:
    module = demo_app_module()
    stack: cdk.Stack = module["ChimeKvsPoolDemoStack"](app, module["STACK_NAME"], **kwargs)
    return stack


def pools_stack(app: cdk.App, count: int, env: cdk.Environment | None = None) -> cdk.Stack:
    stack = cdk.Stack(app, f"Pools{count}", env=env)
    for number in range(count):
        KinesisVideoStreamPool(
            stack, f"Pool{number}", tags={"team": "media"}, data_retention=cdk.Duration.hours(24)
        )
    return stack


# -- IAM -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_template() -> dict[str, Any]:
    return template_of(demo_stack(new_app()))


def test_no_statement_has_a_wildcard_action_or_an_unscoped_resource(demo_template: dict[str, Any]) -> None:
    statements = list(policy_statements(demo_template))
    assert statements, "the demo stack has no identity policy at all"
    for logical_id, statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{logical_id}: wildcard action {action}"
        for resource in as_list(statement["Resource"]):
            # None of the calls needs "*": every one acts on a pool ARN or on the function's log group.
            assert render(resource) != "*", f"{logical_id}: Resource '*' for {statement['Action']}"


def test_chime_actions_are_exactly_the_calls_the_handler_makes(demo_template: dict[str, Any]) -> None:
    granted = {
        action
        for _, statement in policy_statements(demo_template)
        for action in as_list(statement["Action"])
        if action.startswith("chime:")
    }
    called = {f"chime:{operation}" for operation in handler_api_calls()}
    assert called, "found no API call in the handler's source"
    assert granted - called == set(), "granted but never called"
    assert called - granted == set(), "called but not granted: the handler would get AccessDenied"


def test_chime_actions_stay_within_the_native_resource_handler_permissions(
    demo_template: dict[str, Any],
) -> None:
    """CloudFormation's own resource type needs no more than these; neither should we."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        "us-east-1", "AWS::Chime::MediaPipelineKinesisVideoStreamPool"
    ).schema
    native = {perm for handler in schema["handlers"].values() for perm in handler["permissions"]}
    granted = {
        action
        for _, statement in policy_statements(demo_template)
        for action in as_list(statement["Action"])
        if action.startswith("chime:")
    }
    assert granted <= native


@pytest.mark.parametrize(
    ("region", "account", "partition"),
    [
        ("us-east-1", "111122223333", "aws"),
        ("cn-north-1", "444455556666", "aws-cn"),
        ("us-gov-west-1", "777788889999", "aws-us-gov"),
    ],
)
def test_pool_statement_names_pool_arns_of_the_stack_partition_region_and_account(
    region: str, account: str, partition: str
) -> None:
    template = template_of(pools_stack(new_app(), 2, cdk.Environment(account=account, region=region)))
    pseudo = {
        "AWS::Partition": partition,
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::URLSuffix": "x",
    }
    chime = [
        s for _, s in policy_statements(template) if any(a.startswith("chime:") for a in as_list(s["Action"]))
    ]
    assert len(chime) == 1
    resources = [substitute(render(r), pseudo) for r in as_list(chime[0]["Resource"])]
    assert resources == [f"arn:{partition}:chime:{region}:{account}:{POOL_ARN_RESOURCE}/*"]
    # The wildcard stands for a pool name only: any real pool ARN of this account matches the rule.
    assert pool_rules.is_pool_arn(resources[0].replace("*", "a-pool"))


def test_environment_agnostic_stack_uses_pseudo_parameters(demo_template: dict[str, Any]) -> None:
    chime = [
        s
        for _, s in policy_statements(demo_template)
        if any(a.startswith("chime:") for a in as_list(s["Action"]))
    ]
    assert [render(r) for r in as_list(chime[0]["Resource"])] == [
        f"arn:${{AWS::Partition}}:chime:${{AWS::Region}}:${{AWS::AccountId}}:{POOL_ARN_RESOURCE}/*"
    ]


def test_logs_statement_is_scoped_to_the_function_log_group(demo_template: dict[str, Any]) -> None:
    log_groups = [lid for lid, r in demo_template["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"]
    assert len(log_groups) == 1
    logs = [
        s
        for _, s in policy_statements(demo_template)
        if any(a.startswith("logs:") for a in as_list(s["Action"]))
    ]
    for statement in logs:
        assert [render(r) for r in as_list(statement["Resource"])] == [f"${{{log_groups[0]}.Arn}}"]


def test_one_role_and_one_policy_however_many_pools() -> None:
    one, five = (template_of(pools_stack(new_app(), count)) for count in (1, 5))
    assert list(policy_statements(one)) == list(policy_statements(five))
    for template in (one, five):
        types = [r["Type"] for r in template["Resources"].values()]
        assert types.count("AWS::IAM::Role") == 1
        assert types.count("AWS::Lambda::Function") == 1


# -- cdk-nag ------------------------------------------------------------------------------------


def nag_violations() -> list[dict[str, Any]]:
    """cdk-nag's AwsSolutions findings on the demo app, with no acknowledgment from the test: only
    what the construct itself acknowledges is accepted (tests/unit/test_nag.py: that it is narrow)."""
    app = new_app()
    demo_stack(app)
    return unacknowledged_findings(app)


def test_cdk_nag_awssolutions_passes_on_the_constructs_own_acknowledgment() -> None:
    assert nag_violations() == []


# -- cfn-lint -----------------------------------------------------------------------------------


def lint_errors(template: dict[str, Any], region: str = "us-east-1") -> list[str]:
    matches = lint(json.dumps(template), config=ManualArgs(regions=[region]))
    return [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.severity == "error"
    ]


def test_cfn_lint_demo_app_assembly_has_no_errors() -> None:
    templates = sorted(demo_assembly_dir().glob("*.template.json"))
    assert templates, "python app.py wrote no template"
    for path in templates:
        assert lint_errors(json.loads(path.read_text())) == [], path.name


@pytest.mark.parametrize(
    "context",
    [
        {
            "pool_name": "demo-pool",
            "stream_region": "eu-west-2",
            "retention_hours": "24",
            "removal_policy": "retain",
        },
        {"retention_hours": "0", "removal_policy": "destroy"},
    ],
)
def test_cfn_lint_demo_app_with_context_has_no_errors(context: dict[str, str]) -> None:
    assert lint_errors(template_of(demo_stack(new_app(**context)))) == []


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "cn-north-1"])
def test_cfn_lint_multi_pool_stack_has_no_errors(region: str) -> None:
    template = template_of(pools_stack(new_app(), 3, cdk.Environment(account="111122223333", region=region)))
    assert lint_errors(template, region) == []


@pytest.mark.parametrize("env", [None, cdk.Environment(account="111122223333", region="eu-central-1")])
def test_cfn_lint_stack_with_every_option_has_no_errors(env: cdk.Environment | None) -> None:
    """The optional policies (another API Region, stream cleanup), the pools' DependsOn on them and a
    deploy-time generated name (Fn::Join) lint clean, pinned or environment-agnostic."""
    app = new_app()
    stack = cdk.Stack(app, "Options", env=env)
    KinesisVideoStreamPool(stack, "Far", api_region="us-west-2", delete_streams_on_delete=True)
    KinesisVideoStreamPool(stack, "Near")
    template = template_of(stack)
    assert sum(r["Type"] == "AWS::IAM::Policy" for r in template["Resources"].values()) == 2
    assert lint_errors(template, "eu-central-1") == []
