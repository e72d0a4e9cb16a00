"""The shared handler: one function per stack, its least-privilege role, its log group, its asset."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint.api
import pytest
from aws_cdk.assertions import Match, Template
from constructs import Construct

from chime_kvs_pool import KinesisVideoStreamPool, PoolHandler
from chime_kvs_pool.bundling import copy_installed_distribution
from chime_kvs_pool.handler import FUNCTION_LOGICAL_ID
from tests.unit.conftest import POOL_TYPE, new_stack

HANDLER_ACTIONS = {
    "chime:CreateMediaPipelineKinesisVideoStreamPool",
    "chime:GetMediaPipelineKinesisVideoStreamPool",
    "chime:UpdateMediaPipelineKinesisVideoStreamPool",
    "chime:DeleteMediaPipelineKinesisVideoStreamPool",
    "chime:TagResource",
    "chime:UntagResource",
    "chime:ListTagsForResource",
}
POOL_ARN_PATTERN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":chime:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":media-pipeline-kinesis-video-stream-pool/*",
        ],
    ]
}


def stack_with_pools(count: int, name: str = "PoolsStack") -> cdk.Stack:
    stack = new_stack(name)
    for index in range(count):
        KinesisVideoStreamPool(stack, f"Pool{index}")
    return stack


@pytest.fixture(scope="module")
def three_pools() -> Template:
    return Template.from_stack(stack_with_pools(3))


def role_policies(template: Template) -> list[dict[str, Any]]:
    (role,) = template.find_resources("AWS::IAM::Role").values()
    policies: list[dict[str, Any]] = role["Properties"]["Policies"]
    return policies


def all_statements(template: Template) -> list[dict[str, Any]]:
    statements = [s for policy in role_policies(template) for s in policy["PolicyDocument"]["Statement"]]
    for policy in template.find_resources("AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_one_function_and_one_role_serve_three_pools(three_pools: Template) -> None:
    three_pools.resource_count_is("AWS::Lambda::Function", 1)
    three_pools.resource_count_is("AWS::IAM::Role", 1)
    three_pools.resource_count_is("AWS::Logs::LogGroup", 1)
    three_pools.resource_count_is(POOL_TYPE, 3)
    (function_id,) = three_pools.find_resources("AWS::Lambda::Function")
    tokens = {
        json.dumps(p["Properties"]["ServiceToken"]) for p in three_pools.find_resources(POOL_TYPE).values()
    }
    assert tokens == {json.dumps({"Fn::GetAtt": [function_id, "Arn"]})}
    # Short and fixed: each pool pays for it in its ServiceToken, which must never change.
    assert function_id == FUNCTION_LOGICAL_ID


def test_a_resource_that_takes_the_functions_logical_id_is_refused_at_synth() -> None:
    stack = new_stack()
    KinesisVideoStreamPool(stack, "Pool")
    cdk.CfnResource(stack, FUNCTION_LOGICAL_ID, type="AWS::SNS::Topic")
    with pytest.raises(RuntimeError, match=f"already contains '{FUNCTION_LOGICAL_ID}'"):
        Template.from_stack(stack)


def test_handler_is_found_on_the_stack_not_recreated() -> None:
    """Pools anywhere in a stack share its handler; another stack gets its own."""
    stack = new_stack()
    first = KinesisVideoStreamPool(stack, "First")
    second = KinesisVideoStreamPool(Construct(stack, "Group"), "Second")
    other = KinesisVideoStreamPool(cdk.Stack(cdk.App.of(stack), "OtherStack"), "Pool")
    assert first.handler is second.handler is PoolHandler.of(stack)
    assert other.handler is not first.handler


def test_function_settings(three_pools: Template) -> None:
    three_pools.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": "chime_kvs_pool.runtime.index.handler",
            "MemorySize": 256,
            "Timeout": 900,
            "LoggingConfig": {"LogGroup": {"Ref": Match.any_value()}},
        },
    )
    (function,) = three_pools.find_resources("AWS::Lambda::Function").values()
    assert "ReservedConcurrentExecutions" not in function["Properties"]


def test_log_group_has_a_retention_and_is_destroyed(three_pools: Template) -> None:
    (log_group_id, log_group) = next(iter(three_pools.find_resources("AWS::Logs::LogGroup").items()))
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert log_group["DeletionPolicy"] == "Delete"
    (function,) = three_pools.find_resources("AWS::Lambda::Function").values()
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}


def test_no_managed_policies_and_one_inline_policy(three_pools: Template) -> None:
    (role,) = three_pools.find_resources("AWS::IAM::Role").values()
    assert "ManagedPolicyArns" not in role["Properties"]
    assert len(role_policies(three_pools)) == 1
    three_pools.resource_count_is("AWS::IAM::Policy", 0)


def test_policy_allows_exactly_the_handler_calls_on_pool_arns_only(three_pools: Template) -> None:
    statements = all_statements(three_pools)
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert not any("*" in action for action in actions)
    assert {a for a in actions if a.startswith("chime:")} == HANDLER_ACTIONS
    for statement in statements:
        assert statement["Effect"] == "Allow"
        resources = as_list(statement["Resource"])
        assert "*" not in resources
        if any(a.startswith("chime:") for a in as_list(statement["Action"])):
            assert resources == [POOL_ARN_PATTERN]


def test_logs_are_written_to_the_own_log_group_only(three_pools: Template) -> None:
    (log_group_id,) = three_pools.find_resources("AWS::Logs::LogGroup")
    log_statements = [s for s in all_statements(three_pools) if as_list(s["Action"])[0].startswith("logs:")]
    assert len(log_statements) == 1
    assert set(as_list(log_statements[0]["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert as_list(log_statements[0]["Resource"]) == [{"Fn::GetAtt": [log_group_id, "Arn"]}]


def test_policy_does_not_grow_with_the_number_of_pools() -> None:
    one = Template.from_stack(stack_with_pools(1))
    hundred = Template.from_stack(stack_with_pools(100))
    hundred.resource_count_is(POOL_TYPE, 100)
    assert json.dumps(role_policies(one), sort_keys=True) == json.dumps(
        role_policies(hundred), sort_keys=True
    )


def test_asset_holds_the_handler_and_crhelper_but_not_boto3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another working directory: the asset is found from the installed package, as in a user's app.
    monkeypatch.chdir(tmp_path)
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "AssetStack")
    KinesisVideoStreamPool(stack, "Pool")
    assembly = app.synth()
    template = assembly.get_stack_by_name("AssetStack").template
    (function,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    # Find the function's asset as cdk-assets does: by its object key in the asset manifest.
    manifest = json.loads((Path(assembly.directory) / "AssetStack.assets.json").read_text())
    (source,) = [
        entry["source"]
        for entry in manifest["files"].values()
        if any(
            d["objectKey"] == function["Properties"]["Code"]["S3Key"] for d in entry["destinations"].values()
        )
    ]
    assert source["packaging"] == "zip"
    asset_dir = Path(assembly.directory) / source["path"]

    assert (asset_dir / "chime_kvs_pool" / "runtime" / "index.py").is_file()
    assert (asset_dir / "chime_kvs_pool" / "runtime" / "pool_rules.py").is_file()
    assert (asset_dir / "crhelper" / "__init__.py").is_file()
    assert (asset_dir / "crhelper" / "resource_helper.py").is_file()
    (dist_info,) = asset_dir.glob("crhelper-*.dist-info")
    assert (dist_info / "LICENSE").is_file()
    names = {p.relative_to(asset_dir).as_posix() for p in asset_dir.rglob("*")}
    assert not [n for n in names if n.split("/")[0] in {"boto3", "botocore"}]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    archive = tmp_path / "asset.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(asset_dir.rglob("*")):
            zipped.write(path, path.relative_to(asset_dir).as_posix())
    assert archive.stat().st_size < 100_000


def test_asset_hash_is_stable_across_apps(three_pools: Template) -> None:
    """The same handler gives the same asset key: no function update on every deployment."""
    other = Template.from_stack(stack_with_pools(1, "OtherStack"))
    keys = [
        next(iter(t.find_resources("AWS::Lambda::Function").values()))["Properties"]["Code"]["S3Key"]
        for t in (three_pools, other)
    ]
    assert keys[0] == keys[1]


def test_a_missing_distribution_is_reported_not_copied(tmp_path: Path) -> None:
    assert copy_installed_distribution("no-such-distribution-for-this-test", tmp_path) is False
    assert not any(tmp_path.iterdir())


def test_cfn_lint_finds_no_errors_in_the_template(three_pools: Template) -> None:
    matches = cfnlint.api.lint(json.dumps(three_pools.to_json()), regions=["us-east-1"])
    # W3005: CDK's explicit DependsOn on the role beside the GetAtt; harmless and standard.
    problems = [m for m in matches if m.rule.id != "W3005"]
    assert problems == [], [str(m) for m in problems]
