"""The offline IAM store changes exactly when the CloudFormation driver plays each IAM resource.

A hand-written template (no Lambda: only simulated resources, and a custom resource whose service
token is no function, which fails) is deployed, updated and rolled back through the real driver; at
each stack event the test asks the store what the role may do at that moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.cloudformation import CloudFormationDriver, StackEvent, StackRecord
from local.iam_policy import evaluate
from local.iam_store import IamStore
from local.response_server import ResponseServer
from local.template import StackArtifact

ACCOUNT = "123456789012"
ROLE = "Timing-Role"
POOL = "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/p"
ACTIONS = ("Get", "List", "Delete", "Tag")


def statement(verb: str) -> dict[str, Any]:
    resource: Any = {
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
    return {"Effect": "Allow", "Action": f"chime:{verb}*", "Resource": resource}


def role(verb: str) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": ROLE,
            "AssumeRolePolicyDocument": {},
            "Policies": [
                {
                    "PolicyName": "Inline",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement(verb)]},
                }
            ],
        },
    }


def policy(verb: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": f"{verb}Policy",
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement(verb)]},
        },
        **extra,
    }


def marker(depends_on: str) -> dict[str, Any]:
    return {"Type": "AWS::SNS::Topic", "Properties": {}, "DependsOn": depends_on}


class Timeline:
    """Drives the driver and records, at every stack event, which actions the role is granted."""

    def __init__(self, tmp_path: Path, responses: ResponseServer) -> None:
        self.tmp_path = tmp_path
        self.store = IamStore(ACCOUNT)
        self.seen: list[tuple[str, str, frozenset[str]]] = []
        self.driver = CloudFormationDriver(
            response_server=responses,
            code_store=tmp_path / "code",
            log_dir=tmp_path / "logs",
            account=ACCOUNT,
            on_event=self._on_event,
            iam=self.store,
        )

    def granted(self) -> frozenset[str]:
        policies = self.store.policies_of(ROLE)
        return frozenset(
            verb for verb in ACTIONS if evaluate(policies, f"chime:{verb}Something", POOL, {}).allowed
        )

    def _on_event(self, event: StackEvent) -> None:
        self.seen.append((event.logical_id, event.status, self.granted()))

    def at(self, logical_id: str, status: str) -> frozenset[str]:
        found = [granted for lid, st, granted in self.seen if (lid, st) == (logical_id, status)]
        assert found, f"no {status} event of {logical_id}"
        return found[-1]

    def deploy(self, resources: dict[str, Any], previous: StackRecord | None) -> StackRecord:
        template = {"Resources": resources}
        return self.driver.deploy(StackArtifact("Timing", template, self.tmp_path), previous)


@pytest.fixture
def timeline(tmp_path: Path) -> Iterator[Timeline]:
    with ResponseServer() as responses:
        line = Timeline(tmp_path, responses)
        yield line
        line.driver.close()


def test_update_changes_kept_policies_first_and_removes_the_others_in_cleanup(timeline: Timeline) -> None:
    first = timeline.deploy({"Role": role("Get"), "Extra": policy("Delete"), "Marker": marker("Extra")}, None)
    assert first.status == "CREATE_COMPLETE"
    assert timeline.at("Role", "CREATE_COMPLETE") == {"Get"}
    assert timeline.at("Extra", "CREATE_COMPLETE") == {"Get", "Delete"}

    timeline.seen.clear()
    second = timeline.deploy({"Role": role("List")}, first)
    assert second.status == "UPDATE_COMPLETE"
    # The update phase changes the role's own policy at once...
    assert timeline.at("Role", "UPDATE_COMPLETE") == {"List", "Delete"}
    # ...and the policy that left the template is still in force while what depends on it is
    # deleted in the cleanup phase; it goes only with its own deletion.
    assert timeline.at("Marker", "DELETE_IN_PROGRESS") == {"List", "Delete"}
    assert timeline.at("Extra", "DELETE_IN_PROGRESS") == {"List", "Delete"}
    assert timeline.at("Extra", "DELETE_COMPLETE") == {"List"}
    assert timeline.granted() == {"List"}


def test_rollback_restores_the_old_policy_and_then_deletes_the_new_one(timeline: Timeline) -> None:
    first = timeline.deploy({"Role": role("Get")}, None)
    broken = {
        "Role": role("List"),
        "Added": policy("Tag"),
        "Fails": {
            "Type": "Custom::Fails",
            "Properties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:none"},
            "DependsOn": "Added",
        },
    }
    timeline.seen.clear()
    rolled_back = timeline.deploy(broken, first)
    # (The failed resource's own rollback Delete fails too: it has no function to go to.)
    assert rolled_back.status in ("UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED")
    assert timeline.at("Fails", "CREATE_FAILED") == {"List", "Tag"}
    # The rollback restores the role's old policy first; the policy the update created is deleted
    # in the rollback's cleanup phase.
    assert timeline.at("Timing", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") == {"Get", "Tag"}
    assert timeline.at("Added", "DELETE_COMPLETE") == {"Get"}
    assert timeline.granted() == {"Get"}


def test_destroy_removes_permissions_in_reverse_dependency_order(timeline: Timeline) -> None:
    stack = timeline.deploy({"Role": role("Get"), "Extra": policy("Delete"), "Marker": marker("Extra")}, None)
    timeline.seen.clear()
    assert timeline.driver.destroy(stack).status == "DELETE_COMPLETE"
    assert timeline.at("Marker", "DELETE_COMPLETE") == {"Get", "Delete"}
    assert timeline.at("Extra", "DELETE_COMPLETE") == {"Get"}
    assert timeline.at("Role", "DELETE_COMPLETE") == frozenset()


def test_a_later_run_starts_from_the_saved_stack(timeline: Timeline, tmp_path: Path) -> None:
    stack = timeline.deploy({"Role": role("Get"), "Extra": policy("Delete")}, None)
    saved = StackRecord.from_json(stack.to_json())
    with ResponseServer() as responses:
        later = Timeline(tmp_path, responses)  # a new process: an empty store
        assert later.granted() == frozenset()
        later.driver.destroy(saved)
        assert later.at("Timing", "DELETE_IN_PROGRESS") == {"Get", "Delete"}
        later.driver.close()


def test_a_policy_that_cannot_be_evaluated_fails_its_resource(timeline: Timeline) -> None:
    unsupported = policy("Get")
    unsupported["Properties"]["PolicyDocument"]["Statement"][0]["Condition"] = {
        "NumericLessThan": {"aws:MultiFactorAuthAge": "60"}
    }
    stack = timeline.deploy({"Role": role("List"), "Odd": unsupported}, None)
    assert stack.status == "ROLLBACK_COMPLETE"
    reasons = [
        e.reason or "" for e in timeline.driver.events if (e.logical_id, e.status) == ("Odd", "CREATE_FAILED")
    ]
    assert reasons and "NumericLessThan is not supported by the offline IAM evaluator" in reasons[0]
    assert timeline.granted() == frozenset()
