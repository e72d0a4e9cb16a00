"""The offline driver plays independent resources in parallel, as CloudFormation does.

Through the real handler in real Lambda environments (several at once), with the emulator's API
rate limits on: every pool of a ten-pool stack succeeds, a failure lets the operations in flight
finish and starts no new one before the rollback, and one operation at a time is still possible.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
import pytest

from local.chime_emulator import ChimeEmulator
from local.chime_emulator.rate_limits import RateLimiter
from local.cloudformation import StackEvent
from local.offline import OfflineCloud
from local.state import StateStore

from .stacks import pool_stack, synthesize

POOLS = 10
POOL_TYPE = "Custom::ChimeKinesisVideoStreamPool"


def _define(app: cdk.App) -> None:
    pools = {f"Pool{i:02d}": {"name": f"scale-{i:02d}", "retention_hours": 24} for i in range(POOLS)}
    pool_stack(app, "Scale", "E2eScale", pools)
    pool_stack(
        app,
        "ScaleRetention",
        "E2eScale",
        {pool_id: {**settings, "retention_hours": 48} for pool_id, settings in pools.items()},
    )
    pool_stack(
        app,
        "Chain",
        "E2eChain",
        {
            "Broken": {"name": "chain-broken", "property_overrides": {"PoolName": "not a valid name!"}},
            "Slow": {"name": "chain-slow"},
            "After": {"name": "chain-after", "depends_on": ("Slow",)},
        },
    )


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("cdk") / "cdk.out", _define)


def _cloud(tmp_path: Path, events: list[StackEvent], **settings: object) -> OfflineCloud:
    emulator = ChimeEmulator(create_delay=1.0, update_delay=1.0, delete_delay=1.0)
    return OfflineCloud(
        StateStore(tmp_path / "state"),
        emulator=emulator,
        on_event=events.append,
        rate_limiter=RateLimiter(),
        **settings,  # type: ignore[arg-type]
    )


@pytest.fixture
def events() -> Iterator[list[StackEvent]]:
    yield []


def _pool_events(events: list[StackEvent], status: str) -> list[StackEvent]:
    return [e for e in events if e.resource_type == POOL_TYPE and e.status == status]


def test_ten_pools_deploy_update_and_destroy_in_parallel_under_rate_limits(
    assembly: Path, tmp_path: Path, events: list[StackEvent]
) -> None:
    with _cloud(tmp_path, events, lambda_concurrency=POOLS) as cloud:
        stack = cloud.deploy(assembly, "Scale")
        assert stack.status == "CREATE_COMPLETE", [e.reason for e in events if e.reason]
        assert len(_pool_events(events, "CREATE_COMPLETE")) == POOLS
        # All ten were started before the first finished (each takes at least the 1 s create delay).
        first_done = events.index(_pool_events(events, "CREATE_COMPLETE")[0])
        assert len(_pool_events(events[:first_done], "CREATE_IN_PROGRESS")) == POOLS
        assert cloud.driver is not None
        (function,) = (f for _, f in cloud.driver._functions.values())
        assert function.environments > 1

        stack = cloud.deploy(assembly, "ScaleRetention")
        assert stack.status == "UPDATE_COMPLETE", [e.reason for e in events if e.reason]
        pools = cloud.emulator.leftover_pools()
        assert len(pools) == POOLS
        assert {p["StreamConfiguration"]["DataRetentionInHours"] for p in pools} == {48}

        destroyed = cloud.destroy("E2eScale")
        assert destroyed is not None and destroyed.status == "DELETE_COMPLETE"
        assert cloud.emulator.leftover_pools() == []
    # Every resource's own events are in order.
    for logical_id in {e.logical_id for e in events if e.resource_type == POOL_TYPE}:
        statuses = [e.status for e in events if e.logical_id == logical_id]
        assert statuses == [
            "CREATE_IN_PROGRESS",
            "CREATE_COMPLETE",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE",
            "DELETE_IN_PROGRESS",
            "DELETE_COMPLETE",
        ]


def test_a_failure_lets_operations_in_flight_finish_starts_no_new_one_then_rolls_back(
    assembly: Path, tmp_path: Path, events: list[StackEvent]
) -> None:
    with _cloud(tmp_path, events) as cloud:
        # Broken fails in its handler's validation (no call); Slow's Create (the first Create) is held
        # long enough that Slow is surely still in flight then, however the cold starts go.
        cloud.emulator.faults.add("CreateMediaPipelineKinesisVideoStreamPool", "slow", delay=6)
        stack = cloud.deploy(assembly, "Chain")

        assert stack.status == "ROLLBACK_COMPLETE"
        statuses = [
            (e.logical_id.rstrip("0123456789ABCDEF"), e.status)
            for e in events
            if e.resource_type == POOL_TYPE
        ]
        broken_failed = statuses.index(("Broken", "CREATE_FAILED"))
        # Slow was in flight when Broken failed: it finished; After (waiting for Slow) never started.
        assert ("Slow", "CREATE_IN_PROGRESS") in statuses[:broken_failed]
        assert ("Slow", "CREATE_COMPLETE") in statuses[broken_failed:]
        assert not [s for s in statuses if s[0] == "After"]
        # Then the rollback deletes what was created, the real pool included.
        assert ("Slow", "DELETE_COMPLETE") in statuses
        assert cloud.emulator.leftover_pools() == []


def test_one_operation_at_a_time_when_asked(assembly: Path, tmp_path: Path, events: list[StackEvent]) -> None:
    with _cloud(tmp_path, events, max_concurrency=1) as cloud:
        stack = cloud.deploy(assembly, "Chain")

    assert stack.status == "ROLLBACK_COMPLETE"
    pool_statuses = [e.status for e in events if e.resource_type == POOL_TYPE]
    # Broken comes first in the template: it fails before anything else starts.
    assert pool_statuses[:2] == ["CREATE_IN_PROGRESS", "CREATE_FAILED"]
    assert len(_pool_events(events, "CREATE_IN_PROGRESS")) == 1
