"""IAM is enforced in the offline cloud: a deliberately narrowed handler policy fails the real handler.

The synthesized template is copied and one action is taken out of every policy document in it (the
role's inline policy and any AWS::IAM::Policy). Deployed through the offline CloudFormation driver
with the default settings, the real handler under awslambdaric calls the emulator with its execution
role's credentials and meets the service's own ForbiddenException, which CloudFormation's event
reason shows.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from local.chime_emulator import ChimeEmulator
from local.offline import OfflineCloud
from local.state import StateStore

from .conftest import Cloud
from .stacks import REGION

CREATE = "chime:CreateMediaPipelineKinesisVideoStreamPool"
DELETE = "chime:DeleteMediaPipelineKinesisVideoStreamPool"
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")


def without_action(assembly: Path, target: Path, stack: str, action: str) -> Path:
    """A copy of the cloud assembly in which ``stack``'s policies no longer grant ``action``."""
    shutil.copytree(assembly, target)
    manifest = json.loads((target / "manifest.json").read_text())
    template_file = target / manifest["artifacts"][stack]["properties"]["templateFile"]
    template = json.loads(template_file.read_text())
    removed = 0
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        documents: list[dict[str, Any]] = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [inline["PolicyDocument"] for inline in properties.get("Policies", [])]
        elif resource["Type"] in POLICY_TYPES:
            documents = [properties["PolicyDocument"]]
        for document in documents:
            kept = []
            for statement in document["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                removed += actions.count(action)
                remaining = [a for a in actions if a != action]
                if remaining:
                    kept.append({**statement, "Action": remaining})
            document["Statement"] = kept
    assert removed, f"{action} is in no policy of {stack}"
    template_file.write_text(json.dumps(template))
    return target


def function_log(cloud: Cloud) -> str:
    """What the stack's handler function logged (CloudWatch Logs' stand-in)."""
    return "".join(path.read_text() for path in sorted(cloud.state.log_dir.glob("E2eBasic-*.log")))


def pool_events(cloud: Cloud, status: str) -> list[str]:
    return [e.reason or "" for e in cloud.events if e.logical_id.startswith("Pool") and e.status == status]


def test_a_narrowed_policy_fails_the_create_with_the_services_forbidden_exception(
    cloud: Cloud, tmp_path: Path
) -> None:
    narrowed = without_action(cloud.assembly, tmp_path / "narrowed.out", "Basic", CREATE)
    stack = cloud.cloud.deploy(narrowed, "Basic")
    assert stack.status == "ROLLBACK_COMPLETE"
    (reason,) = pool_events(cloud, "CREATE_FAILED")
    # The reason (kept short by the handler) names the service's error and the caller: the
    # function's execution role, as AWS names an assumed role's session.
    assert "ForbiddenException: User: arn:aws:sts::123456789012:assumed-role/E2eBasic-" in reason
    # The function's log holds the whole message, in AWS's words.
    log = function_log(cloud)
    assert (
        f"is not authorized to perform: {CREATE} on resource: "
        "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/e2e-basic "
        f"because no identity-based policy allows the {CREATE} action"
    ) in log
    denied = [r for r in cloud.emulator.calls("CreateMediaPipelineKinesisVideoStreamPool") if r.error]
    assert [(r.status, r.error) for r in denied] == [(403, "ForbiddenException")]
    assert cloud.pool_names() == []


def test_permissions_removed_by_an_update_are_gone_when_the_stack_is_destroyed(
    cloud: Cloud, tmp_path: Path
) -> None:
    assert cloud.deploy("Basic").status == "CREATE_COMPLETE"
    narrowed = without_action(cloud.assembly, tmp_path / "narrowed.out", "Basic", DELETE)
    updated = cloud.cloud.deploy(narrowed, "Basic")
    assert updated.status == "UPDATE_COMPLETE"
    left = cloud.destroy("E2eBasic")
    assert left is not None and left.status == "DELETE_FAILED"
    (reason,) = pool_events(cloud, "DELETE_FAILED")
    assert "ForbiddenException: User: arn:aws:sts::123456789012:assumed-role/E2eBasic-" in reason
    assert f"is not authorized to perform: {DELETE} on resource: " in function_log(cloud)
    assert cloud.pool_names() == ["e2e-basic"]  # the pool stays, as the denied Delete left it


def test_every_handler_call_is_signed_by_its_execution_role(assembly: Path, tmp_path: Path) -> None:
    """With callers the store does not know refused, a whole lifecycle still succeeds: the handler
    never calls with anything but its role's session, so the role's policy is what was checked."""
    emulator = ChimeEmulator(create_delay=0.05, update_delay=0.05, delete_delay=0.05)
    with OfflineCloud(
        StateStore(tmp_path / "state"), region=REGION, emulator=emulator, unknown_principals="deny"
    ) as cloud:
        assert cloud.deploy(assembly, "Basic").status == "CREATE_COMPLETE"
        assert cloud.deploy(assembly, "BasicRetention").status == "UPDATE_COMPLETE"
        left = cloud.destroy("E2eBasic")
        assert left is not None and left.status == "DELETE_COMPLETE"
    assert {r.operation for r in emulator.request_log} >= {
        "CreateMediaPipelineKinesisVideoStreamPool",
        "UpdateMediaPipelineKinesisVideoStreamPool",
        "DeleteMediaPipelineKinesisVideoStreamPool",
    }
    assert [r for r in emulator.request_log if r.status in (401, 403)] == []
