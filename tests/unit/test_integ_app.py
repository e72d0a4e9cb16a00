"""The real-AWS integ test app (integ/integ_kvs_pool.py) synthesizes into what integ-runner needs.

The app itself only runs against an AWS account (``make integ``); here its template is checked:
the stack under test, and the assertion stack's create / ACTIVE / update / ACTIVE-again chain.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import aws_cdk as cdk
import pytest

from chime_kvs_pool.handler import FUNCTION_LOGICAL_ID

INTEG_FILE = Path(__file__).resolve().parents[2] / "integ" / "integ_kvs_pool.py"
# integ-runner's default discovery pattern for Python test files.
INTEG_RUNNER_PYTHON_PATTERN = re.compile(r"^integ_.*\.py$")


def load_integ_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("integ_kvs_pool", INTEG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("integ-out")
    module = load_integ_module()
    module.build_app(cdk.App(outdir=str(outdir))).synth()
    integ_manifest = json.loads((outdir / "integ.json").read_text())
    (case,) = integ_manifest["testCases"].values()
    return {
        "module": module,
        "case": case,
        "test": json.loads((outdir / f"{module.TEST_STACK_NAME}.template.json").read_text()),
        "assert": json.loads((outdir / f"{case['assertionStackName']}.template.json").read_text()),
    }


def sdk_calls(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"].startswith("Custom::DeployAssert@SdkCall")
    }


def test_file_name_is_discovered_by_integ_runner() -> None:
    assert INTEG_RUNNER_PYTHON_PATTERN.match(INTEG_FILE.name)


def test_the_case_deploys_the_pool_stack(assembly: dict[str, Any]) -> None:
    assert assembly["case"]["stacks"] == [assembly["module"].TEST_STACK_NAME]
    resources = assembly["test"]["Resources"].values()
    (pool,) = [r for r in resources if r["Type"] == "Custom::ChimeKinesisVideoStreamPool"]
    retention = pool["Properties"]["StreamConfiguration"]["DataRetentionInHours"]
    assert retention == {"Ref": "RetentionHours"}
    assert assembly["test"]["Parameters"]["RetentionHours"]["Default"] == 24
    assert "DeletionPolicy" not in pool  # CloudFormation's default: Delete


def test_assertions_create_active_update_active_in_order(assembly: dict[str, Any]) -> None:
    calls = sdk_calls(assembly["assert"])
    by_api: dict[tuple[str, str], list[str]] = {
        (c["Properties"]["service"], c["Properties"]["api"]): [] for c in calls.values()
    }
    for logical_id, call in calls.items():
        by_api[(call["Properties"]["service"], call["Properties"]["api"])].append(logical_id)
    gets = by_api[("ChimeSDKMediaPipelines", "getMediaPipelineKinesisVideoStreamPool")]
    (update,) = by_api[("CloudFormation", "updateStack")]
    assert len(gets) == 2

    expected = {
        logical_id: json.loads(calls[logical_id]["Properties"]["expected"])["$ObjectLike"]
        for logical_id in gets
    }
    configurations = {
        logical_id: value["KinesisVideoStreamPoolConfiguration"] for logical_id, value in expected.items()
    }
    assert all(c["PoolStatus"] == "ACTIVE" for c in configurations.values())
    retention = {lid: c["StreamConfiguration"]["DataRetentionInHours"] for lid, c in configurations.items()}
    (created,) = [lid for lid, hours in retention.items() if hours == 24]
    (updated,) = [lid for lid, hours in retention.items() if hours == 48]

    parameters = json.loads(calls[update]["Properties"]["parameters"]["Parameters"])
    assert parameters == [{"ParameterKey": "RetentionHours", "ParameterValue": "48"}]
    # The chain: the update waits for ACTIVE, and the second check waits for the update.
    assert created in as_list(calls[update].get("DependsOn"))
    assert update in as_list(calls[updated].get("DependsOn"))
    for logical_id in gets:  # both checks poll (a state machine), not a single call
        assert "stateMachineArn" in calls[logical_id]["Properties"]


def test_the_update_step_can_pass_the_cdk_execution_role_and_invoke_the_handler(
    assembly: dict[str, Any],
) -> None:
    """integ-tests-alpha grants each called API on ``*`` by itself; what we add is scoped."""
    statements = [
        statement
        for resource in assembly["assert"]["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
        for policy in resource["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]

    def resources_for(action: str) -> list[str]:
        return [json.dumps(s["Resource"]) for s in statements if action in as_list(s["Action"])]

    (pass_role,) = resources_for("iam:PassRole")
    assert ":role/cdk-*-cfn-exec-role-*" in pass_role
    # The pool handler of the test stack, imported into the assertion stack.
    assert any(
        "ImportValue" in invoke and FUNCTION_LOGICAL_ID in invoke
        for invoke in resources_for("lambda:InvokeFunction")
    )


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
