"""The fault matrix: every lifecycle operation under every injected fault, one stack per cell.

Each cell deploys versions of a real synthesized stack (the construct, its singleton handler, its
custom resource) through the offline CloudFormation driver (``local.offline.OfflineCloud``): the
handler runs from the ``cdk.out`` asset under the real ``awslambdaric`` with the function's own
timeout, calls the emulator over loopback HTTP and answers over HTTPS to the ResponseURL server.
The cell's fault is armed by the driver's own stack events, just before the request it is meant to
hit (a rollback's request included), and the cell then checks that

- every request got exactly one response (a duplicated delivery: one per delivery, all alike),
  and every invocation ended by itself (the handler answered before Lambda's deadline),
- the stack is in the state CloudFormation reaches, and the live pool matches the stack's record,
- there is never more than the stack's one live pool (no duplicate),
- once the stack is destroyed (faults off, meetings ended), the emulator holds no pool at all,
- the function's log holds no secret.

The table of outcomes is printed at the end of the run (see ``conftest.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from chime_kvs_pool.runtime import pool_rules
from local.chime_emulator import ChimeEmulator
from local.chime_emulator.model import POOL_SERVICE_LINKED_ROLE, POOL_SERVICE_PRINCIPAL
from local.cloudformation import ResourceRecord, StackEvent, StackRecord, invoke_asynchronously
from local.lambda_runtime import InvocationResult, LocalLambda
from local.offline import OfflineCloud
from local.state import StateStore
from local.template import is_custom_resource, load_stack
from tests.e2e.stacks import REGION, pool_stack, synthesize
from tests.shared_work import build_once

from .rel_report import MATRIX, NOT_APPLICABLE, secrets_in

STACK_NAME = "RelPool"
POOL_NAME = "rel-pool"
RENAMED_POOL_NAME = "rel-pool-v2"
# Emulated service delays while a "Lambda timeout" cell runs: longer than the invocation's budget.
SLOW_SERVICE_SECONDS = 3.0
# The handler's Lambda timeout in "Lambda timeout" cells: the handler keeps 5 s back for its
# response (index.RESPONSE_MARGIN_SECONDS) and starts no call unless its worst case (the pool
# client's 2 s connect + 5 s read timeouts, and up to 1 s of poll delay) fits before that, so about
# 2 s of waiting are left, short of the service's 3 s.
SHORT_FUNCTION_TIMEOUT_SECONDS = 15
# The custom resource's WaitTimeoutSeconds: ample in every cell, except where a held deletion makes
# the handler wait for its whole budget; there a user-chosen short budget keeps the cell quick.
WAIT_SECONDS = 30
HELD_WAIT_SECONDS = 3
# CloudFormation's wait for each response: a lost response fails the cell instead of hanging it.
SERVICE_TIMEOUT_SECONDS = 60
SETTLE_SECONDS = 15.0  # bound on waiting for DELETING pools to disappear after the stack is gone
INVOCATION_WAIT_SECONDS = 60.0  # bound on waiting for a repeated delivery to finish

OPERATIONS = [
    "create",
    "retention update",
    "tag update",
    "replacement",
    "delete",
    "create rollback",
    "update rollback",
    "replacement rollback",
]
FAULTS = [
    "throttling",
    "5xx",
    "dropped conn",
    "dropped after commit",
    "slow responses",
    "FAILED status",
    "delete held",
    "Lambda timeout",
    "ResponseURL PUT fails",
    "duplicate delivery",
]
MATRIX.declare(OPERATIONS, FAULTS)

# The operation's mutating API call, which "dropped after commit" hits: applied, then no answer.
COMMITTING_CALL = {
    "create": "CreateMediaPipelineKinesisVideoStreamPool",
    "retention update": "UpdateMediaPipelineKinesisVideoStreamPool",
    "tag update": "TagResource",
    "replacement": "CreateMediaPipelineKinesisVideoStreamPool",
    "delete": "DeleteMediaPipelineKinesisVideoStreamPool",
    "create rollback": "DeleteMediaPipelineKinesisVideoStreamPool",
    "update rollback": "UpdateMediaPipelineKinesisVideoStreamPool",
    "replacement rollback": "DeleteMediaPipelineKinesisVideoStreamPool",
}
# Where a fault cannot arise: no pool is created (FAILED status), none is deleted (held deletion),
# nothing is waited for (Lambda timeout: a tag change is two calls and no wait).
NOT_APPLICABLE_CELLS = {
    ("retention update", "FAILED status"),
    ("tag update", "FAILED status"),
    ("delete", "FAILED status"),
    ("create rollback", "FAILED status"),
    ("update rollback", "FAILED status"),
    ("replacement rollback", "FAILED status"),
    ("create", "delete held"),
    ("retention update", "delete held"),
    ("tag update", "delete held"),
    ("update rollback", "delete held"),
    ("tag update", "Lambda timeout"),
}
# The state CloudFormation reaches when nothing fails, and where a fault makes the operation fail.
CLEAN_END = {
    "create": "CREATE_COMPLETE",
    "retention update": "UPDATE_COMPLETE",
    "tag update": "UPDATE_COMPLETE",
    "replacement": "UPDATE_COMPLETE",
    "delete": "DELETE_COMPLETE",
    "create rollback": "ROLLBACK_COMPLETE",
    "update rollback": "UPDATE_ROLLBACK_COMPLETE",
    "replacement rollback": "UPDATE_ROLLBACK_COMPLETE",
}
FAILING_END = {
    ("create", "FAILED status"): "ROLLBACK_COMPLETE",
    ("replacement", "FAILED status"): "UPDATE_ROLLBACK_COMPLETE",
    ("create", "Lambda timeout"): "ROLLBACK_COMPLETE",
    # The rollback update runs in the same short-lived function against the still slow service, so
    # it runs out of time too: UPDATE_ROLLBACK_FAILED until ContinueUpdateRollback (faults off).
    ("retention update", "Lambda timeout"): "UPDATE_ROLLBACK_FAILED",
    ("replacement", "Lambda timeout"): "UPDATE_ROLLBACK_COMPLETE",
    # The rollback update itself runs out of time: CloudFormation stops in UPDATE_ROLLBACK_FAILED
    # (an operator continues the rollback); the stack can still be deleted without a leak.
    ("update rollback", "Lambda timeout"): "UPDATE_ROLLBACK_FAILED",
}

# -- the stack's versions --------------------------------------------------------------------------

BASE = {"name": POOL_NAME, "retention_hours": 24, "tags": {"team": "media", "stage": "test"}}
# A second pool, deployed after the first, that the handler refuses (a negative retention slips past
# the construct's own check through an escape hatch): "another resource fails" for the rollbacks.
# Its failed create reports no pool, so its own rollback Delete makes no API call.
FAILING_OTHER = {
    "name": "rel-other",
    "property_overrides": {"StreamConfiguration.DataRetentionInHours": -1},
    "depends_on": ["Pool"],
}
VERSIONS: dict[str, dict[str, dict[str, Any]]] = {
    "Base": {"Pool": BASE},
    "Retention": {"Pool": {**BASE, "retention_hours": 48}},
    "Tags": {"Pool": {**BASE, "tags": {"team": "video", "owner": "ops"}}},
    "Renamed": {"Pool": {**BASE, "name": RENAMED_POOL_NAME}},
    "BaseOtherFails": {"Pool": BASE, "Other": FAILING_OTHER},
    "BothOtherFails": {
        "Pool": {**BASE, "retention_hours": 72, "tags": {"team": "video"}},
        "Other": FAILING_OTHER,
    },
    "RenamedOtherFails": {"Pool": {**BASE, "name": RENAMED_POOL_NAME}, "Other": FAILING_OTHER},
}
# Each cell deploys one profile's versions: the wait budget and the Lambda timeout its fault needs.
PROFILES: dict[str, dict[str, Any]] = {
    "Normal": {"wait_seconds": WAIT_SECONDS},
    "Held": {"wait_seconds": HELD_WAIT_SECONDS},
    "Short": {"wait_seconds": WAIT_SECONDS, "function_timeout": SHORT_FUNCTION_TIMEOUT_SECONDS},
}


def profile_of(fault: str) -> str:
    return {"delete held": "Held", "Lambda timeout": "Short"}.get(fault, "Normal")


def _define_stacks(app: cdk.App) -> None:
    for profile, settings in PROFILES.items():
        for version, pools in VERSIONS.items():
            pool_stack(
                app,
                f"{profile}{version}",
                STACK_NAME,
                {
                    pool_id: {**pool, "wait_seconds": settings["wait_seconds"]}
                    for pool_id, pool in pools.items()
                },
                function_timeout=settings.get("function_timeout"),
                service_timeout=SERVICE_TIMEOUT_SECONDS,
            )


@dataclass(frozen=True)
class Assembly:
    path: Path
    pool_logical_id: str  # the custom resource of construct "Pool", the same in every version


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """Synthesized once per run, whichever xdist worker runs a cell first; read-only afterwards."""
    path = build_once(
        tmp_path_factory, "reliability-cdk.out", lambda outdir: synthesize(outdir, _define_stacks)
    )
    resources = load_stack(path, "NormalBase").template["Resources"]
    (pool_logical_id,) = [
        logical_id
        for logical_id, resource in resources.items()
        if is_custom_resource(resource["Type"]) and resource["Properties"].get("PoolName") == POOL_NAME
    ]
    return Assembly(path, pool_logical_id)


# -- a cell ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """Arm the fault at the pool's first ``resource_status`` event once the stack was ``stack_status``."""

    stack_status: str
    resource_status: str


# When each operation's faulted request is sent: the pool's event just before it.
TRIGGERS = {
    "create": Trigger("CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS"),
    "retention update": Trigger("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"),
    "tag update": Trigger("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"),
    "replacement": Trigger("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"),
    "delete": Trigger("DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS"),
    "create rollback": Trigger("ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS"),
    "update rollback": Trigger("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS"),
    "replacement rollback": Trigger("UPDATE_ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS"),
}
# The stack version each operation's faulted step deploys (after "Base", unless it is the first).
FAULTED_VERSION = {
    "create": "Base",
    "retention update": "Retention",
    "tag update": "Tags",
    "replacement": "Renamed",
    "create rollback": "BaseOtherFails",
    "update rollback": "BothOtherFails",
    "replacement rollback": "RenamedOtherFails",
}
FIRST_STEPS = {"create", "create rollback"}  # operations that start from no stack
# The name of the pool a "FAILED status" fault makes fail: the one the faulted step creates.
CREATED_NAME = {"create": POOL_NAME, "replacement": RENAMED_POOL_NAME}


@dataclass
class Cell:
    operation: str
    fault: str
    assembly: Assembly
    cloud: OfflineCloud
    stack_statuses: list[str] = field(default_factory=list)
    trigger: Trigger | None = None
    armed: bool = False
    duplicate_next: bool = False
    deliveries: dict[str, int] = field(default_factory=dict)  # request id -> times delivered
    invocations: list[Future[InvocationResult]] = field(default_factory=list)
    # Where this cell's part of the shared cloud's request list and protocol problems begin.
    first_request: int = 0
    first_problem: int = 0

    @property
    def backend(self) -> ChimeEmulator:
        return self.cloud.emulator

    def version(self, name: str) -> str:
        return f"{profile_of(self.fault)}{name}"

    # -- what the driver calls -----------------------------------------------------------------

    def on_event(self, event: StackEvent) -> None:
        if event.resource_type == "AWS::CloudFormation::Stack":
            self.stack_statuses.append(event.status)
            return
        trigger = self.trigger
        if (
            trigger is not None
            and event.logical_id == self.assembly.pool_logical_id
            and event.status == trigger.resource_status
            and trigger.stack_status in self.stack_statuses
        ):
            self.trigger = None
            self.arm()

    def deliver(self, function: LocalLambda, event: dict[str, Any]) -> None:
        """Lambda's asynchronous invocation; a "duplicate delivery" delivers the event twice.

        Both copies run before CloudFormation reads the response, so that the second one cannot be
        dropped unrun when the stack's next step retires the function (a rollback deletes it).
        """
        copies = 2 if self.duplicate_next else 1
        self.duplicate_next = False
        self.deliveries[event["RequestId"]] = copies
        futures = [function.invoke_async(event) for _ in range(copies)]
        self.invocations.extend(futures)
        if copies > 1:
            for future in futures:
                future.result(timeout=INVOCATION_WAIT_SECONDS)

    # -- the fault -------------------------------------------------------------------------------

    def arm(self) -> None:
        """Arm the cell's fault just before the faulted request."""
        faults, fault, backend = self.backend.faults, self.fault, self.backend
        self.armed = True
        if fault == "throttling":
            faults.add("*", "throttle", count=3)
        elif fault == "5xx":
            faults.add("*", "unavailable", count=1)
            faults.add("*", "service_failure", count=1)
        elif fault == "dropped conn":
            faults.add("*", "drop", count=2)
        elif fault == "dropped after commit":
            faults.add(COMMITTING_CALL[self.operation], "drop_after", count=1)
        elif fault == "slow responses":
            faults.add("*", "slow", count=3, delay=1.0)
        elif fault == "FAILED status":
            backend.fail_pool_on_create(CREATED_NAME[self.operation])
        elif fault == "delete held":
            for pool in backend.leftover_pools():
                backend.hold_deletion(pool["PoolArn"])
        elif fault == "Lambda timeout":
            backend.create_delay = backend.update_delay = backend.delete_delay = SLOW_SERVICE_SECONDS
        elif fault == "ResponseURL PUT fails":
            self.cloud.response_server.drop_next(2)
        elif fault == "duplicate delivery":
            self.duplicate_next = True
        else:  # pragma: no cover - a new column without a definition
            raise AssertionError(f"unknown fault {fault}")

    def disarm(self) -> None:
        self.backend.faults.clear()
        self.backend.create_delay = self.backend.update_delay = self.backend.delete_delay = 0.0
        for pool in self.backend.leftover_pools():
            self.backend.release_deletion(pool["PoolArn"])

    # -- the operation ---------------------------------------------------------------------------

    def deploy(self, version: str) -> StackRecord:
        return self.cloud.deploy(self.assembly.path, self.version(version))

    def run(self) -> StackRecord:
        """The faulted step, with what CloudFormation does next (rollback, cleanup); the stack after."""
        if self.operation not in FIRST_STEPS:
            assert self.deploy("Base").status == "CREATE_COMPLETE"
            self.assert_pool_matches_stack()
        self.trigger = TRIGGERS[self.operation]
        self.stack_statuses.clear()
        if self.operation == "delete":
            stack = self.cloud.destroy(STACK_NAME)
            assert stack is not None
        else:
            stack = self.deploy(FAULTED_VERSION[self.operation])
        assert self.armed, f"the fault was never armed: no pool event {TRIGGERS[self.operation]}"
        return stack

    # -- the checks ------------------------------------------------------------------------------

    def pool_record(self) -> ResourceRecord | None:
        """The pool as the stack knows it (none once the stack is deleted or its creation rolled back)."""
        stack = self.cloud.stack(STACK_NAME)  # a deleted stack is listed no more
        return stack.resources.get(self.assembly.pool_logical_id) if stack is not None else None

    def live_pools(self) -> list[dict[str, Any]]:
        return [p for p in self.backend.leftover_pools() if p["PoolStatus"] != "DELETING"]

    def assert_pool_matches_stack(self) -> None:
        live = self.live_pools()
        record = self.pool_record()
        if record is None:
            assert live == [], f"a pool outlives its stack resource: {[p['PoolArn'] for p in live]}"
            return
        assert [p["PoolArn"] for p in live] == [record.physical_id], "not exactly the stack's pool"
        pool, props = live[0], record.properties
        assert pool["PoolName"] == props["PoolName"]
        assert pool["StreamConfiguration"]["Region"] == props["StreamConfiguration"]["Region"]
        assert (
            str(pool["StreamConfiguration"]["DataRetentionInHours"])
            == props["StreamConfiguration"]["DataRetentionInHours"]
        )
        # The declared tags, plus the owner record that the handler keeps on every pool it creates.
        tags = dict(pool["Tags"])
        assert pool_rules.OWNER_TAG_KEY in tags, "a pool the stack created without its owner record"
        del tags[pool_rules.OWNER_TAG_KEY]
        assert tags == {tag["Key"]: tag["Value"] for tag in props["Tags"]}

    def assert_one_response_per_request(self) -> None:
        for future in self.invocations:
            result = future.result(timeout=INVOCATION_WAIT_SECONDS)
            assert result.outcome == "success", f"an invocation ended {result.outcome}: {result.payload}"
        server = self.cloud.response_server
        driver = self.cloud.driver
        assert driver is not None
        for event in driver.requests[self.first_request :]:
            request_id = event["RequestId"]
            request = f"{event['RequestType']} of {event['LogicalResourceId']}"
            responses = server.responses(request_id)
            assert len(responses) == self.deliveries[request_id], f"{request}: {len(responses)} responses"
            first = responses[0]
            for later in responses[1:]:
                assert (later["Status"], later["PhysicalResourceId"]) == (
                    first["Status"],
                    first["PhysicalResourceId"],
                ), f"{request}: a repeated delivery answered differently"
        # The ResponseURL server reports each repeated delivery's response; only those are expected.
        repeated = tuple(f"{rid}: a second response" for rid, copies in self.deliveries.items() if copies > 1)
        problems = server.problems[self.first_problem :]
        unexpected = [problem for problem in problems if not problem.startswith(repeated)]
        assert unexpected == []

    def wait_until_pools_settle(self) -> None:
        """Bounded wait for the service's changes in flight (CREATING, UPDATING) to finish."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline and any(
            pool["PoolStatus"] in ("CREATING", "UPDATING") for pool in self.backend.leftover_pools()
        ):
            time.sleep(0.1)

    def destroy_and_count_leftovers(self) -> list[dict[str, Any]]:
        self.disarm()
        if self.cloud.stack(STACK_NAME) is not None:
            destroyed = self.cloud.destroy(STACK_NAME)
            assert destroyed is not None and destroyed.status == "DELETE_COMPLETE"
        deadline = time.monotonic() + SETTLE_SECONDS  # DELETING pools go once their delay passes
        while self.backend.leftover_pools() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.backend.leftover_pools()

    def function_logs(self) -> str:
        return "\n".join(
            log.read_text(errors="replace") for log in sorted(self.cloud.state.log_dir.glob("*.log"))
        )


class CellClouds:
    """One offline cloud (emulator, ResponseURL server, driver) shared by the module's cells.

    A cell ends with its stack deleted and no pool left, so the next cell starts from an empty
    account; a cell that leaves anything behind gets its cloud replaced, so a failure cannot spill
    into the next cells.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cloud: OfflineCloud | None = None
        self.started = 0

    def clean_cloud(self) -> OfflineCloud:
        cloud = self.cloud
        if cloud is not None and (cloud.stack(STACK_NAME) is not None or cloud.emulator.leftover_pools()):
            self.close()
        if self.cloud is None:
            self.started += 1
            self.cloud = OfflineCloud(StateStore(self.root / f"state-{self.started}"), region=REGION)
            self.cloud.__enter__()
        return self.cloud

    def close(self) -> None:
        if self.cloud is not None:
            self.cloud.__exit__(None, None, None)
            self.cloud = None


@pytest.fixture(scope="module")
def cell_clouds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CellClouds]:
    clouds = CellClouds(tmp_path_factory.mktemp("cells"))
    yield clouds
    clouds.close()


@pytest.fixture
def cell(request: pytest.FixtureRequest, assembly: Assembly, cell_clouds: CellClouds) -> Iterator[Cell]:
    operation, fault = request.param
    # conftest.py's report hook turns this test's setup, call and teardown results into the cell's.
    request.node.user_properties.append(("fault_matrix_cell", (operation, fault)))
    cloud = cell_clouds.clean_cloud()
    driver = cloud.driver
    assert driver is not None
    running = Cell(
        operation,
        fault,
        assembly,
        cloud,
        first_request=len(driver.requests),
        first_problem=len(cloud.response_server.problems),
    )
    driver.on_event, driver.deliver = running.on_event, running.deliver
    try:
        yield running
        for future in running.invocations:  # let repeated deliveries end before the next cell
            future.result(timeout=INVOCATION_WAIT_SECONDS)
    finally:
        running.disarm()
        driver.on_event, driver.deliver = None, invoke_asynchronously
    logs = running.function_logs()
    assert logs, "the function wrote no log"
    assert secrets_in(logs) == [], "the function's log holds a secret or a raw event"


ALL_CELLS = [(op, fault) for op in OPERATIONS for fault in FAULTS]


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(
            pair,
            id=f"{pair[0]}--{pair[1]}".replace(" ", "_"),
            marks=[pytest.mark.skip(reason="fault cannot arise here")]
            if pair in NOT_APPLICABLE_CELLS
            else [],
        )
        for pair in ALL_CELLS
    ],
    indirect=True,
)
def test_fault_matrix_cell(cell: Cell) -> None:
    stack = cell.run()
    expected = FAILING_END.get((cell.operation, cell.fault), CLEAN_END[cell.operation])
    failures = [f"{e.logical_id} {e.status}: {e.reason}" for e in cell.cloud.driver.events if e.reason]  # type: ignore[union-attr]
    assert stack.status == expected, f"stack ended {stack.status}; events with a reason: {failures}"
    cell.disarm()
    if expected == "UPDATE_ROLLBACK_FAILED":
        # What an operator does next, once the service is healthy again: ContinueUpdateRollback,
        # which sends the rollback update again.
        cell.wait_until_pools_settle()
        assert cell.cloud.continue_update_rollback(STACK_NAME).status == "UPDATE_ROLLBACK_COMPLETE"
    cell.assert_one_response_per_request()
    cell.assert_pool_matches_stack()
    assert cell.destroy_and_count_leftovers() == [], "the emulator still holds pools after the stack is gone"


for _pair in NOT_APPLICABLE_CELLS:
    MATRIX.record(*_pair, NOT_APPLICABLE)


def test_the_deployed_function_creates_the_service_linked_role(assembly: Assembly, tmp_path: Path) -> None:
    """In a fresh account, the function the stack deployed creates the pools' service-linked role."""
    with OfflineCloud(StateStore(tmp_path / "state"), region=REGION) as cloud:
        assert cloud.emulator.role_names() == []

        stack = cloud.deploy(assembly.path, "NormalBase")

        assert stack.status == "CREATE_COMPLETE"
        assert cloud.emulator.role_names() == [POOL_SERVICE_LINKED_ROLE]
        (request,) = cloud.emulator.calls("CreateServiceLinkedRole", succeeded=True)
        assert request.service == "iam"
        assert request.params["AWSServiceName"] == POOL_SERVICE_PRINCIPAL
        # The role outlives the stack, as a service-linked role does; the pool does not.
        destroyed = cloud.destroy(STACK_NAME)
        assert destroyed is not None and destroyed.status == "DELETE_COMPLETE"
        assert cloud.emulator.role_names() == [POOL_SERVICE_LINKED_ROLE]
        assert cloud.emulator.leftover_pools() == []
