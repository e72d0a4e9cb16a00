"""Issue 10, item 1: a pool's Delete still has its permissions when CloudFormation sends it.

CloudFormation updates the resources that stay (the handler's role among them) before its cleanup
phase deletes the ones that left the template, in reverse dependency order, and a rollback plays the
same phases. The construct keeps what only some pools' Deletes need (another API Region's pool ARNs,
the stream cleanup calls) in policies of their own that those pools depend on. These tests play the
sequences through the offline driver (IAM enforced against the role's policies as the driver
holds them at each moment) and the handler under the real Lambda runtime: the issue's
example (pools {A: api_region, B, C: delete_streams_on_delete}, then {B} alone), and an update that
adds such pools and rolls back.
"""

from __future__ import annotations

import json
from typing import Any

from local.cloudformation import StackEvent

from .conftest import Cloud
from .stacks import OTHER_API_REGION

POLICY_TYPE = "AWS::IAM::Policy"


def template_of(cloud: Cloud, version: str) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((cloud.assembly / f"{version}.template.json").read_text())
    return template


def pool_logical_id(template: dict[str, Any], name: str) -> str:
    found: str
    (found,) = [
        lid
        for lid, resource in template["Resources"].items()
        if resource["Type"].startswith("Custom::") and resource["Properties"].get("PoolName") == name
    ]
    return found


def policy_logical_id(template: dict[str, Any], allows: str) -> str:
    """The handler's optional policy whose statements mention ``allows`` (an action or a Region)."""
    found: str
    (found,) = [
        lid
        for lid, resource in template["Resources"].items()
        if resource["Type"] == POLICY_TYPE and allows in json.dumps(resource["Properties"]["PolicyDocument"])
    ]
    return found


def event_index(events: list[StackEvent], logical_id: str, status: str) -> int:
    (found,) = [
        n for n, event in enumerate(events) if event.logical_id == logical_id and event.status == status
    ]
    return found


def assert_deleted_before(events: list[StackEvent], pool: str, policy: str) -> None:
    """The pool's Delete answered SUCCESS, and only then did the policy's deletion begin."""
    assert not [e for e in events if e.logical_id == pool and e.status == "DELETE_FAILED"]
    assert event_index(events, pool, "DELETE_COMPLETE") < event_index(events, policy, "DELETE_IN_PROGRESS")


def deletes_of(cloud: Cloud, logical_id: str) -> list[dict[str, Any]]:
    return [
        r for r in cloud.requests() if r["RequestType"] == "Delete" and r["LogicalResourceId"] == logical_id
    ]


def test_removing_an_api_region_pool_and_the_last_stream_cleanup_pool(cloud: Cloud) -> None:
    """The issue's example: {A: api_region, B, C: delete_streams_on_delete}, then {B} alone."""
    before = template_of(cloud, "Options")
    far, cleaned = pool_logical_id(before, "e2e-far"), pool_logical_id(before, "e2e-cleaned")
    first = cloud.deploy("Options")
    assert first.status == "CREATE_COMPLETE"
    assert f":chime:{OTHER_API_REGION}:" in first.outputs["AArn"]
    cloud.emulator.add_streams("e2e-cleaned", 3)
    cloud.emulator.add_stream("another-applications-stream")

    stack = cloud.deploy("OptionsPlain")

    # A's Delete reached its own API Region and deleted it; C's deleted the pool and its streams
    # (and no other stream). One comparison, so that a failure shows all of it.
    assert (stack.status, cloud.pool_names(), cloud.emulator.stream_names()) == (
        "UPDATE_COMPLETE",
        ["e2e-plain"],
        ["another-applications-stream"],
    )
    (far_delete,) = deletes_of(cloud, far)
    assert far_delete["PhysicalResourceId"] == first.outputs["AArn"]
    assert len(deletes_of(cloud, cleaned)) == 1
    # Each in the cleanup phase, while the policy it needs was still there (deleted after it).
    cleanup = event_index(cloud.events, "E2eOptions", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    assert cleanup < event_index(cloud.events, far, "DELETE_IN_PROGRESS")
    assert_deleted_before(cloud.events, far, policy_logical_id(before, f":chime:{OTHER_API_REGION}:"))
    assert_deleted_before(cloud.events, cleaned, policy_logical_id(before, "kinesisvideo:DeleteStream"))
    assert not [r for r in stack.resources.values() if r.resource_type == POLICY_TYPE]
    cloud.assert_no_leak("E2eOptions")

    assert cloud.destroy("E2eOptions").status == "DELETE_COMPLETE"  # type: ignore[union-attr]
    assert cloud.pool_names() == []


def test_destroying_the_stack_deletes_every_pool_before_the_policies(cloud: Cloud) -> None:
    before = template_of(cloud, "Options")
    cloud.deploy("Options")
    cloud.emulator.add_streams("e2e-cleaned", 2)

    stack = cloud.destroy("E2eOptions")

    assert stack is not None and stack.status == "DELETE_COMPLETE"
    assert cloud.pool_names() == []
    assert cloud.emulator.stream_names() == []
    assert_deleted_before(
        cloud.events,
        pool_logical_id(before, "e2e-far"),
        policy_logical_id(before, f":chime:{OTHER_API_REGION}:"),
    )
    assert_deleted_before(
        cloud.events,
        pool_logical_id(before, "e2e-cleaned"),
        policy_logical_id(before, "kinesisvideo:DeleteStream"),
    )


def test_rolling_back_an_update_that_added_such_pools(cloud: Cloud) -> None:
    """{B}, then {B, A: api_region, C: delete_streams_on_delete, Broken}: Broken fails after A and C
    exist (and C's pool has streams); the rollback restores the role first, then deletes Broken, C
    and A, and only then the policies the update created."""
    added = template_of(cloud, "OptionsAddedBroken")
    far, cleaned = pool_logical_id(added, "e2e-far"), pool_logical_id(added, "e2e-cleaned")
    assert cloud.deploy("OptionsPlain").status == "CREATE_COMPLETE"
    cloud.emulator.fail_pool_on_create("e2e-options-broken")
    driver = cloud.cloud.driver
    assert driver is not None
    record = driver.on_event
    assert record is not None

    def meetings_use_the_new_pool(event: StackEvent) -> None:
        record(event)
        if event.logical_id == cleaned and event.status == "CREATE_COMPLETE":
            cloud.emulator.add_streams("e2e-cleaned", 2)

    driver.on_event = meetings_use_the_new_pool

    stack = cloud.deploy("OptionsAddedBroken")

    assert (stack.status, cloud.pool_names(), cloud.emulator.stream_names()) == (
        "UPDATE_ROLLBACK_COMPLETE",
        ["e2e-plain"],
        [],
    )
    assert len(deletes_of(cloud, far)) == len(deletes_of(cloud, cleaned)) == 1
    assert_deleted_before(cloud.events, far, policy_logical_id(added, f":chime:{OTHER_API_REGION}:"))
    assert_deleted_before(cloud.events, cleaned, policy_logical_id(added, "kinesisvideo:DeleteStream"))
    assert not [r for r in stack.resources.values() if r.resource_type == POLICY_TYPE]
    cloud.assert_no_leak("E2eOptions")
