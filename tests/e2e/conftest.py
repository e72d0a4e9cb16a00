"""End-to-end fixtures: one synthesized cloud assembly, and a fresh offline cloud per test.

The assembly is synthesized once per run (pytest-xdist's workers share it) by the real aws-cdk-lib
(in process, writing a ``cdk.out`` folder with the locally bundled handler asset). Stack versions
share a CloudFormation stack name (``Stack(stack_name=...)``), so deploying ``Basic`` then
``BasicRetention`` is an update of one stack, exactly as two ``cdk deploy`` runs with different
context would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from local.chime_emulator import ChimeEmulator
from local.cloudformation import StackEvent, StackRecord
from local.offline import OfflineCloud
from local.state import StateStore
from tests.shared_work import build_once

from .stacks import OTHER_API_REGION, REGION, pool_stack, synthesize

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Short enough that the "no response" case of a Lambda timeout ends quickly.
SHORT_SERVICE_TIMEOUT_SECONDS = 20
SHORT_FUNCTION_TIMEOUT_SECONDS = 6
SHORT_LIVED_FUNCTION_TIMEOUT_SECONDS = 15


def _define_stacks(app: cdk.App) -> None:
    """Every stack version the tests deploy."""
    basic = {"name": "e2e-basic", "retention_hours": 24, "tags": {"team": "media"}}
    pool_stack(app, "Basic", "E2eBasic", {"Pool": basic})
    pool_stack(app, "BasicRetention", "E2eBasic", {"Pool": {**basic, "retention_hours": 48}})
    pool_stack(app, "BasicTags", "E2eBasic", {"Pool": {**basic, "tags": {"team": "video", "env": "test"}}})
    pool_stack(app, "BasicRenamed", "E2eBasic", {"Pool": {**basic, "name": "e2e-basic-renamed"}})
    pool_stack(app, "FailedCreate", "E2eFailedCreate", {"Pool": {"name": "e2e-fails"}})
    pool_stack(
        app,
        "TimedOut",
        "E2eTimedOut",
        {"Pool": {"name": "e2e-slow", "wait_seconds": 3}},
        function_timeout=SHORT_FUNCTION_TIMEOUT_SECONDS,
        service_timeout=SHORT_SERVICE_TIMEOUT_SECONDS,
    )
    first = {"name": "e2e-first", "retention_hours": 24}
    pool_stack(app, "Pair", "E2ePair", {"First": first})
    pool_stack(
        app,
        "PairBroken",
        "E2ePair",
        {"First": {**first, "retention_hours": 72}, "Second": {"name": "e2e-second-fails"}},
    )
    pool_stack(
        app, "Kept", "E2eKept", {"Pool": {"name": "e2e-kept", "removal_policy": cdk.RemovalPolicy.RETAIN}}
    )
    pool_stack(
        app,
        "Two",
        "E2eTwo",
        {"Alpha": {"name": "e2e-alpha"}, "Beta": {"name": "e2e-beta", "tags": {"k": "v"}}},
    )
    # Issue 10, item 1: pools whose Delete needs an optional policy (another API Region, stream
    # cleanup), removed from the template or added by an update that rolls back.
    far = {"name": "e2e-far", "api_region": OTHER_API_REGION}
    plain = {"name": "e2e-plain"}
    cleaned = {"name": "e2e-cleaned", "delete_streams_on_delete": True}
    pool_stack(app, "Options", "E2eOptions", {"A": far, "B": plain, "C": cleaned})
    # Issue 10, item 7: generated names, deployed by same-named stacks in two Regions.
    pool_stack(app, "Generated", "E2eGenerated", {"Far": {"api_region": OTHER_API_REGION}, "Near": {}})
    pool_stack(app, "OptionsPlain", "E2eOptions", {"B": plain})
    pool_stack(
        app,
        "OptionsAddedBroken",
        "E2eOptions",
        {
            "B": plain,
            "A": far,
            "C": cleaned,
            "Broken": {"name": "e2e-options-broken", "depends_on": ("A", "C")},
        },
    )
    _define_safety_stacks(app)


def _define_safety_stacks(app: cdk.App) -> None:
    """Issue 10 items 3, 4, 6 and 8 (test_safety.py)."""
    moved = {"name": "e2e-moved", "adopt_existing": True, "delete_streams_on_delete": True}
    pool_stack(app, "MovedFrom", "E2eMoved", {"PoolX": moved})
    pool_stack(app, "MovedTo", "E2eMoved", {"PoolY": moved})
    adopting = {"name": "e2e-preexisting", "adopt_existing": True}
    broken = {"name": "e2e-adopt-broken", "depends_on": ("Pool",)}
    pool_stack(app, "AdoptBroken", "E2eAdoptBroken", {"Pool": adopting, "Broken": broken})
    retained = {**adopting, "removal_policy": cdk.RemovalPolicy.RETAIN}
    pool_stack(app, "AdoptBrokenRetained", "E2eAdoptBroken", {"Pool": retained, "Broken": broken})
    kept = {"name": "e2e-retention", "retention_hours": 24}
    pool_stack(app, "Retention", "E2eRetention", {"Pool": kept})
    pool_stack(app, "RetentionZero", "E2eRetention", {"Pool": {**kept, "retention_hours": 0}})
    # Retention 0 -> 24 with a resource that fails: the pool refuses the change, the stack rolls back.
    zero = {"name": "e2e-zero", "retention_hours": 0}
    pool_stack(app, "FromZero", "E2eFromZero", {"Pool": zero})
    pool_stack(
        app,
        "FromZeroBroken",
        "E2eFromZero",
        {"Pool": {**zero, "retention_hours": 24}, "Broken": {"name": "e2e-zero-broken"}},
    )
    # A Create whose response never arrives: the driver makes up an id once ServiceTimeout passes.
    pool_stack(
        app,
        "LostResponse",
        "E2eLostResponse",
        {"Pool": {"name": "e2e-lost"}},
        service_timeout=SHORT_SERVICE_TIMEOUT_SECONDS,
    )
    # A short-lived function: the stream phase and the response PUT must end within its deadline.
    pool_stack(
        app,
        "ShortLived",
        "E2eShortLived",
        {"Pool": {"name": "e2e-short", "wait_seconds": 3, "delete_streams_on_delete": True}},
        function_timeout=SHORT_LIVED_FUNCTION_TIMEOUT_SECONDS,
        service_timeout=SHORT_SERVICE_TIMEOUT_SECONDS,
    )


def build_assembly(outdir: Path) -> Path:
    """Every stack version the tests deploy, in one synth."""
    return synthesize(outdir, _define_stacks)


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only, and shared by every xdist worker: a test's cloud copies the asset it runs."""
    return build_once(tmp_path_factory, "e2e-cdk.out", build_assembly)


@dataclass
class Cloud:
    """A running offline cloud, with what the tests look at."""

    cloud: OfflineCloud
    assembly: Path
    state: StateStore
    events: list[StackEvent] = field(default_factory=list)

    @property
    def emulator(self) -> ChimeEmulator:
        return self.cloud.emulator

    def deploy(self, version: str, *, retain_except_on_create: bool = False) -> StackRecord:
        return self.cloud.deploy(self.assembly, version, retain_except_on_create=retain_except_on_create)

    def destroy(self, stack_name: str) -> StackRecord | None:
        return self.cloud.destroy(stack_name)

    def requests(self) -> list[dict[str, Any]]:
        assert self.cloud.driver is not None
        return self.cloud.driver.requests

    def statuses(self, logical_prefix: str) -> list[str]:
        return [e.status for e in self.events if e.logical_id.startswith(logical_prefix)]

    def pool_names(self) -> list[str]:
        return [pool["PoolName"] for pool in self.emulator.leftover_pools()]

    def assert_no_leak(self, stack_name: str, also_kept: tuple[str, ...] = ()) -> None:
        """The leak accounting: every pool left belongs to the stack (or was kept on purpose)."""
        stack = self.state.load_stack(stack_name)
        owned = {
            r.physical_id
            for r in (stack.resources.values() if stack else [])
            if r.resource_type.startswith("Custom::")
        }
        leftovers = {pool["PoolArn"] for pool in self.emulator.leftover_pools()}
        kept = {self.emulator.pool_arn(REGION, name) for name in also_kept}
        assert leftovers == owned | kept
        assert self.cloud.response_server.problems == []


@pytest.fixture
def cloud(assembly: Path, tmp_path: Path) -> Iterator[Cloud]:
    state = StateStore(tmp_path / "state")
    events: list[StackEvent] = []
    emulator = ChimeEmulator(create_delay=0.05, update_delay=0.05, delete_delay=0.05)
    with OfflineCloud(state, region=REGION, emulator=emulator, on_event=events.append) as running:
        yield Cloud(running, assembly, state, events)
