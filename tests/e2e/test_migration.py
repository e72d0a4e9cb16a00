"""Moving a pool between this construct and the native resource without losing it (docs/migration.md).

Both paths through the offline driver, the real Lambda runtime and the emulator:

- custom -> native: ``RemovalPolicy.RETAIN`` on the construct, remove it (CloudFormation skips the
  pool's deletion), then ``cdk import`` the L1 ``CfnMediaPipelineKinesisVideoStreamPool`` with the same
  name, identified by the pool's ARN (the type's primary identifier);
- native -> custom: the L1 retained and removed, then the construct with ``adopt_existing``.

After each path the pool is the same pool (same PoolId, creation time, streams). What the driver does
not play: the native type's own create, update and delete handlers, and CloudFormation's drift check
after an import (see docs/migration.md, "proved offline / only on AWS").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_chime as chime

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.runtime import pool_rules
from local.chime_emulator import ChimeEmulator
from local.cloudformation import OperationFailed, StackEvent, StackRecord
from local.native_resources import NATIVE_POOL_TYPE
from local.offline import OfflineCloud
from local.state import StateStore
from tests.conftest import emulator_client

from .stacks import REGION, synthesize

TO_NATIVE = "E2eToNative"
FROM_NATIVE = "E2eFromNative"
TO_NATIVE_POOL = "e2e-to-native"
FROM_NATIVE_POOL = "e2e-from-native"
NATIVE_ID = "NativePool"
CUSTOM_TYPE = "Custom::ChimeKinesisVideoStreamPool"


def migration_stack(
    app: cdk.App,
    construct_id: str,
    stack_name: str,
    *,
    custom: dict[str, Any] | None = None,
    native: dict[str, Any] | None = None,
) -> None:
    """A stack version: an anchor resource (a stack is never empty), the construct, and/or the L1."""
    stack = cdk.Stack(app, construct_id, stack_name=stack_name)
    cdk.CfnResource(stack, "Anchor", type="AWS::CloudFormation::WaitConditionHandle")
    if custom is not None:
        pool = KinesisVideoStreamPool(
            stack,
            "Pool",
            pool_name=custom["name"],
            stream_region=REGION,
            data_retention=cdk.Duration.hours(24),
            removal_policy=custom.get("removal_policy"),
            adopt_existing=custom.get("adopt_existing"),
            wait_timeout=cdk.Duration.seconds(60),
        )
        cdk.CfnOutput(stack, "PoolArn", value=pool.pool_arn)
        cdk.CfnOutput(stack, "PoolId", value=pool.pool_id)
    if native is not None:
        resource = chime.CfnMediaPipelineKinesisVideoStreamPool(
            stack,
            NATIVE_ID,
            pool_name=native["name"],
            stream_configuration=chime.CfnMediaPipelineKinesisVideoStreamPool.StreamConfigurationProperty(
                region=REGION, data_retention_in_hours=24
            ),
        )
        if native.get("retain", True):
            resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)


def define(app: cdk.App) -> None:
    migration_stack(app, "ToNativeOwned", TO_NATIVE, custom={"name": TO_NATIVE_POOL})
    retained = {"name": TO_NATIVE_POOL, "removal_policy": cdk.RemovalPolicy.RETAIN}
    migration_stack(app, "ToNativeRetained", TO_NATIVE, custom=retained)
    migration_stack(app, "ToNativeReleased", TO_NATIVE)
    migration_stack(app, "ToNativeImported", TO_NATIVE, native={"name": TO_NATIVE_POOL})
    migration_stack(app, "ToNativeNoPolicy", TO_NATIVE, native={"name": TO_NATIVE_POOL, "retain": False})
    migration_stack(app, "FromNativeBase", FROM_NATIVE)
    migration_stack(app, "FromNativeImported", FROM_NATIVE, native={"name": FROM_NATIVE_POOL})
    migration_stack(app, "FromNativeReleased", FROM_NATIVE)
    migration_stack(
        app, "FromNativeAdopted", FROM_NATIVE, custom={"name": FROM_NATIVE_POOL, "adopt_existing": True}
    )


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("migration-cdk.out"), define)


@dataclass
class Cloud:
    cloud: OfflineCloud
    assembly: Path
    events: list[StackEvent] = field(default_factory=list)

    @property
    def emulator(self) -> ChimeEmulator:
        return self.cloud.emulator

    def deploy(self, version: str) -> StackRecord:
        return self.cloud.deploy(self.assembly, version)

    def import_native(self, version: str, arn: str) -> StackRecord:
        return self.cloud.import_resources(self.assembly, version, {NATIVE_ID: {"Arn": arn}})

    def requests(self) -> list[dict[str, Any]]:
        assert self.cloud.driver is not None
        return self.cloud.driver.requests

    def statuses(self, logical_id_prefix: str) -> list[str]:
        return [e.status for e in self.events if e.logical_id.startswith(logical_id_prefix)]

    def pool(self, name: str) -> dict[str, Any]:
        (pool,) = [p for p in self.emulator.leftover_pools() if p["PoolName"] == name]
        return pool


@pytest.fixture
def cloud(assembly: Path, tmp_path: Path) -> Iterator[Cloud]:
    events: list[StackEvent] = []
    emulator = ChimeEmulator(create_delay=0.05, update_delay=0.05, delete_delay=0.05)
    state = StateStore(tmp_path / "state")
    with OfflineCloud(state, region=REGION, emulator=emulator, on_event=events.append) as running:
        yield Cloud(running, assembly, events)


def identity(pool: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a pool the same pool, and unchanged."""
    return (pool["PoolArn"], pool["PoolId"], pool["CreatedTimestamp"], pool["UpdatedTimestamp"])


def test_custom_to_native_retain_remove_and_import_keep_the_same_pool(cloud: Cloud) -> None:
    owned = cloud.deploy("ToNativeOwned")
    arn = owned.outputs["PoolArn"]
    streams = cloud.emulator.add_streams(arn, 2)  # the meetings' streams, which must survive
    before = cloud.pool(TO_NATIVE_POOL)

    # 1. RETAIN: only the DeletionPolicy changes, so CloudFormation sends the handler nothing.
    sent = len(cloud.requests())
    assert cloud.deploy("ToNativeRetained").status == "UPDATE_COMPLETE"
    assert cloud.requests()[sent:] == []

    # 2. Remove the construct: the pool's deletion is skipped; its handler function goes.
    released = cloud.deploy("ToNativeReleased")
    assert released.status == "UPDATE_COMPLETE"
    assert "DELETE_SKIPPED" in cloud.statuses("Pool")
    assert [r.resource_type for r in released.resources.values()] == [
        "AWS::CloudFormation::WaitConditionHandle"
    ]
    assert cloud.requests()[sent:] == []
    assert identity(cloud.pool(TO_NATIVE_POOL)) == identity(before)

    # 3. cdk import of the L1 with the same name, identified by the pool's ARN.
    imported = cloud.import_native("ToNativeImported", arn)
    assert imported.status == "IMPORT_COMPLETE"
    record = imported.resources[NATIVE_ID]
    assert (record.resource_type, record.physical_id, record.deletion_policy) == (
        NATIVE_POOL_TYPE,
        arn,
        "Retain",
    )
    assert record.properties["PoolName"] == TO_NATIVE_POOL
    assert record.attributes["PoolId"] == before["PoolId"]
    assert cloud.statuses(NATIVE_ID) == ["IMPORT_IN_PROGRESS", "IMPORT_COMPLETE"]
    after = cloud.pool(TO_NATIVE_POOL)
    assert identity(after) == identity(before)
    assert after["PoolStatus"] == "ACTIVE"
    assert cloud.emulator.stream_names() == sorted(streams)
    # The construct's owner tag is still on the pool: harmless to the native resource, and it tells
    # a later adopt_existing where the pool came from (docs/migration.md says to keep or drop it).
    assert pool_rules.OWNER_TAG_KEY in after["Tags"]
    assert cloud.requests()[sent:] == []


def test_an_import_of_a_missing_pool_rolls_back_and_a_bad_change_set_is_refused(cloud: Cloud) -> None:
    cloud.deploy("ToNativeReleased")
    missing = cloud.emulator.pool_arn(REGION, "no-such-pool")
    stack = cloud.import_native("ToNativeImported", missing)
    assert stack.status == "IMPORT_ROLLBACK_COMPLETE"
    assert NATIVE_ID not in stack.resources
    assert cloud.statuses(NATIVE_ID) == ["IMPORT_IN_PROGRESS", "IMPORT_FAILED"]
    # A read that is refused (CloudFormation's own permissions) fails the import the same way.
    some_arn = cloud.emulator.pool_arn(REGION, TO_NATIVE_POOL)
    cloud.emulator.deny_access_key("cloudformation", "GetMediaPipelineKinesisVideoStreamPool")
    refused = cloud.import_native("ToNativeImported", some_arn)
    assert refused.status == "IMPORT_ROLLBACK_COMPLETE"
    assert NATIVE_ID not in refused.resources
    assert any(
        e.reason and "ForbiddenException" in e.reason for e in cloud.events if e.status == "IMPORT_FAILED"
    )
    # CloudFormation refuses an import change set whose resource has no DeletionPolicy.
    with pytest.raises(OperationFailed, match="has no DeletionPolicy"):
        cloud.import_native("ToNativeNoPolicy", missing)
    # One whose identifier is not an ARN (a pool's name), before any read.
    with pytest.raises(OperationFailed, match="does not match the type schema's pattern"):
        cloud.import_native("ToNativeImported", TO_NATIVE_POOL)
    # And one that changes anything else: here the construct's resources would leave the stack.
    cloud.deploy("ToNativeRetained")
    with pytest.raises(OperationFailed, match="changes in the same operation"):
        cloud.import_native("ToNativeImported", missing)


def test_native_to_custom_retain_remove_and_adopt_keep_the_same_pool(cloud: Cloud) -> None:
    client = emulator_client(cloud.cloud.endpoint_url)
    # The pool as the native resource's create handler made it (the driver does not play that handler).
    created = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=FROM_NATIVE_POOL, StreamConfiguration={"Region": REGION, "DataRetentionInHours": 24}
    )["KinesisVideoStreamPoolConfiguration"]
    arn = created["PoolArn"]
    for _ in range(100):
        if cloud.pool(FROM_NATIVE_POOL)["PoolStatus"] == "ACTIVE":
            break
        time.sleep(0.05)
    streams = cloud.emulator.add_streams(arn, 2)
    cloud.deploy("FromNativeBase")
    assert cloud.import_native("FromNativeImported", arn).status == "IMPORT_COMPLETE"
    before = cloud.pool(FROM_NATIVE_POOL)
    # A resource that one stack holds cannot be imported into another as well.
    cloud.deploy("ToNativeReleased")
    with pytest.raises(OperationFailed, match=f"already exists in stack {FROM_NATIVE}"):
        cloud.import_native("ToNativeImported", arn)

    # 1-2. The L1 retained (its DeletionPolicy from the import) and removed: deletion skipped.
    released = cloud.deploy("FromNativeReleased")
    assert released.status == "UPDATE_COMPLETE"
    assert cloud.statuses(NATIVE_ID)[-1] == "DELETE_SKIPPED"
    assert identity(cloud.pool(FROM_NATIVE_POOL)) == identity(before)

    # 3. The construct with adopt_existing takes the same pool over instead of failing on the name.
    adopted = cloud.deploy("FromNativeAdopted")
    assert adopted.status == "UPDATE_COMPLETE"
    assert adopted.outputs["PoolArn"] == arn
    assert adopted.outputs["PoolId"] == before["PoolId"]
    (create,) = [r for r in cloud.requests() if r["RequestType"] == "Create"]
    assert create["ResourceProperties"]["AdoptExisting"] == "true"
    pool = cloud.pool(FROM_NATIVE_POOL)
    assert (pool["PoolId"], pool["CreatedTimestamp"]) == (before["PoolId"], before["CreatedTimestamp"])
    assert "mode=adopted" in pool["Tags"][pool_rules.OWNER_TAG_KEY]
    assert cloud.emulator.stream_names() == sorted(streams)

    # An adopted pool is never deleted by the stack (docs/migration.md): destroying it lets go.
    destroyed = cloud.cloud.destroy(FROM_NATIVE)
    assert destroyed is not None and destroyed.status == "DELETE_COMPLETE"
    left = cloud.pool(FROM_NATIVE_POOL)
    assert left["PoolStatus"] == "ACTIVE" and left["PoolId"] == before["PoolId"]
    # Released, not untagged: it had no owner before, and no later Delete may mistake it for a pool
    # from before owner tags (which its stack would delete).
    assert "owner=- mode=released" in left["Tags"][pool_rules.OWNER_TAG_KEY]
    assert cloud.emulator.stream_names() == sorted(streams)
