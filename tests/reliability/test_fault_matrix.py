"""The fault matrix: every lifecycle operation under every injected fault, one stack per cell.

Each cell builds a stack without faults, arms one fault, runs the operation (the "faulted step",
with whatever CloudFormation does next: rollback, cleanup), then checks that

- every request got exactly one response (a duplicated delivery: one per delivery, all alike),
- the stack is in the state CloudFormation would reach, and the pool matches the stack,
- there is never more than one live pool for the stack (no duplicate),
- once the stack is destroyed (faults off, meetings ended), the emulator holds no pool at all.

The table of outcomes is printed at the end of the run (see ``conftest.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rel_cloudformation import SERVICE_TOKEN, Delivery, OneResourceStack
from rel_report import MATRIX, NOT_APPLICABLE

# Emulated service delays while a "Lambda timeout" cell runs: longer than the invocation's budget.
SLOW_SERVICE_SECONDS = 3.0
# The invocation's whole life in a "Lambda timeout" cell: the handler keeps 5 s back for its response
# (index.RESPONSE_MARGIN_SECONDS), so about 1.5 s of waiting is left, well short of the service.
SHORT_LAMBDA_SECONDS = 6.5
# The custom resource's WaitTimeoutSeconds: ample in every cell, except where a held deletion makes
# the handler wait for its whole budget; there a user-chosen short budget keeps the cell quick.
WAIT_TIMEOUT_SECONDS = "30"
HELD_WAIT_TIMEOUT_SECONDS = "3"
SETTLE_SECONDS = 15.0  # bound on waiting for DELETING pools to disappear after the stack is gone

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
    ("retention update", "Lambda timeout"): "UPDATE_ROLLBACK_COMPLETE",
    ("replacement", "Lambda timeout"): "UPDATE_ROLLBACK_COMPLETE",
    # The rollback update itself runs out of time: CloudFormation stops in UPDATE_ROLLBACK_FAILED
    # (an operator continues the rollback); the stack can still be deleted without a leak.
    ("update rollback", "Lambda timeout"): "UPDATE_ROLLBACK_FAILED",
}


def pool_properties(
    name: str, retention: int = 24, tags: dict[str, str] | None = None, wait: str = WAIT_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Properties as CloudFormation sends them: every scalar a string."""
    tags = {"team": "media", "stage": "test"} if tags is None else tags
    return {
        "ServiceToken": SERVICE_TOKEN,
        "PoolName": name,
        "StreamConfiguration": {"Region": "us-east-1", "DataRetentionInHours": str(retention)},
        "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
        "WaitTimeoutSeconds": wait,
    }


@dataclass
class Cell:
    operation: str
    fault: str
    stack: OneResourceStack
    emulator: Any  # tests/conftest.py RunningEmulator

    @property
    def backend(self) -> Any:
        return self.emulator.backend

    @property
    def name(self) -> str:
        # Numbers, not words: a fault's name (e.g. "ResponseURL") must not appear in the logs.
        return f"rel-{OPERATIONS.index(self.operation)}-{FAULTS.index(self.fault)}"

    # -- the fault ---------------------------------------------------------------------------

    def arm(self, created_name: str | None) -> None:
        """Arm the cell's fault just before the faulted step."""
        faults, fault = self.backend.faults, self.fault
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
            assert created_name is not None
            self.backend.fail_pool_on_create(created_name)
        elif fault == "delete held":
            for pool in self.backend.leftover_pools():
                self.backend.hold_deletion(pool["PoolArn"])
        elif fault == "Lambda timeout":
            self.backend.create_delay = self.backend.update_delay = SLOW_SERVICE_SECONDS
            self.backend.delete_delay = SLOW_SERVICE_SECONDS
            self.stack.next_delivery = Delivery(lambda_seconds=SHORT_LAMBDA_SECONDS)
        elif fault == "ResponseURL PUT fails":
            self.stack.next_delivery = Delivery(dropped_response_puts=2)
        elif fault == "duplicate delivery":
            self.stack.next_delivery = Delivery(copies=2)
        else:  # pragma: no cover - a new column without a definition
            raise AssertionError(f"unknown fault {fault}")

    def disarm(self) -> None:
        self.backend.faults.clear()
        self.backend.create_delay = self.backend.update_delay = self.backend.delete_delay = 0.0
        for pool in self.backend.leftover_pools():
            self.backend.release_deletion(pool["PoolArn"])

    # -- the operation -----------------------------------------------------------------------

    def run(self) -> None:
        wait = HELD_WAIT_TIMEOUT_SECONDS if self.fault == "delete held" else WAIT_TIMEOUT_SECONDS
        base = pool_properties(self.name, wait=wait)
        changed_retention = pool_properties(self.name, retention=48, wait=wait)
        changed_tags = pool_properties(self.name, tags={"team": "video", "owner": "ops"}, wait=wait)
        both = pool_properties(self.name, retention=72, tags={"team": "video"}, wait=wait)
        renamed = pool_properties(self.name + "-v2", wait=wait)
        stack, op = self.stack, self.operation
        steps: dict[str, Callable[[], None]] = {
            "create": lambda: (self.arm(self.name), stack.create(base)),
            "retention update": lambda: (self.setup(base), self.arm(None), stack.update(changed_retention)),
            "tag update": lambda: (self.setup(base), self.arm(None), stack.update(changed_tags)),
            "replacement": lambda: (self.setup(base), self.arm(self.name + "-v2"), stack.update(renamed)),
            "delete": lambda: (self.setup(base), self.arm(None), stack.delete()),
            "create rollback": lambda: self.create_then_fail_elsewhere(base),
            "update rollback": lambda: self.update_then_fail_elsewhere(base, both),
            "replacement rollback": lambda: self.update_then_fail_elsewhere(base, renamed),
        }
        steps[op]()

    def setup(self, properties: dict[str, Any]) -> None:
        assert self.stack.create(properties) == "CREATE_COMPLETE"
        self.assert_pool_matches_stack()

    def create_then_fail_elsewhere(self, properties: dict[str, Any]) -> None:
        """The pool is created, another resource fails: the rollback deletes the pool (faulted)."""
        self.setup(properties)
        self.arm(None)
        stack = self.stack
        stack.status = "ROLLBACK_IN_PROGRESS"
        exchange = stack.deliver(
            stack.event("Delete", properties, physical_id=stack.physical_id), stack.next_delivery
        )
        stack.next_delivery = Delivery()
        stack.physical_id = stack.properties = None
        stack.status = "ROLLBACK_COMPLETE" if exchange.succeeded else "ROLLBACK_FAILED"

    def update_then_fail_elsewhere(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """The pool is updated, another resource fails: CloudFormation's rollback is faulted."""
        self.setup(before)
        stack = self.stack
        # Arm after the forward update, so the fault hits the rollback's requests.
        original_send = stack._send
        armed = False

        def send(*args: Any, **kwargs: Any) -> Any:
            nonlocal armed
            if stack.status.startswith("UPDATE_ROLLBACK") and not armed:
                armed = True
                self.arm(None)
            return original_send(*args, **kwargs)

        stack._send = send  # type: ignore[method-assign]
        try:
            stack.update(after, fails_later=True)
        finally:
            del stack._send

    # -- the checks --------------------------------------------------------------------------

    def live_pools(self) -> list[dict[str, Any]]:
        return [p for p in self.backend.leftover_pools() if p["PoolStatus"] != "DELETING"]

    def assert_pool_matches_stack(self) -> None:
        live = self.live_pools()
        if self.stack.physical_id is None:
            assert live == [], f"a pool outlives its stack resource: {[p['PoolArn'] for p in live]}"
            return
        assert [p["PoolArn"] for p in live] == [self.stack.physical_id], "not exactly the stack's pool"
        pool, props = live[0], self.stack.properties
        assert props is not None
        assert pool["PoolName"] == props["PoolName"]
        assert pool["StreamConfiguration"]["Region"] == props["StreamConfiguration"]["Region"]
        assert (
            str(pool["StreamConfiguration"]["DataRetentionInHours"])
            == props["StreamConfiguration"]["DataRetentionInHours"]
        )
        assert pool["Tags"] == {tag["Key"]: tag["Value"] for tag in props["Tags"]}

    def assert_one_response_per_request(self) -> None:
        for exchange in self.stack.exchanges:
            request = f"{exchange.event['RequestType']} {exchange.event['RequestId']}"
            assert len(exchange.responses) == exchange.deliveries, (
                f"{request}: {len(exchange.responses)} responses"
            )
            first = exchange.responses[0]
            for later in exchange.responses[1:]:
                assert (later["Status"], later["PhysicalResourceId"]) == (
                    first["Status"],
                    first["PhysicalResourceId"],
                ), f"{request}: a repeated delivery answered differently"

    def destroy_and_count_leftovers(self) -> list[dict[str, Any]]:
        self.disarm()
        if self.stack.physical_id is not None:
            assert self.stack.delete() == "DELETE_COMPLETE"
        deadline = time.monotonic() + SETTLE_SECONDS  # DELETING pools go once their delay passes
        while self.backend.leftover_pools() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.backend.leftover_pools()


@pytest.fixture
def cell(request: pytest.FixtureRequest, stack: OneResourceStack, chime_emulator: Any) -> Iterator[Cell]:
    operation, fault = request.param
    # conftest.py's report hook turns this test's setup, call and teardown results into the cell's.
    request.node.user_properties.append(("fault_matrix_cell", (operation, fault)))
    yield Cell(operation, fault, stack, chime_emulator)


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
    cell.run()
    expected = FAILING_END.get((cell.operation, cell.fault), CLEAN_END[cell.operation])
    failures = [
        f"{e.event['RequestType']}: {e.first.get('Reason')}"
        for e in cell.stack.exchanges
        if e.first and not e.succeeded
    ]
    assert cell.stack.status == expected, f"stack ended {cell.stack.status}; failures: {failures}"
    cell.disarm()
    if expected == "UPDATE_ROLLBACK_FAILED":
        # What an operator does next: ContinueUpdateRollback, which sends the rollback update again.
        assert cell.stack.continue_update_rollback() == "UPDATE_ROLLBACK_COMPLETE"
    cell.assert_one_response_per_request()
    cell.assert_pool_matches_stack()
    assert cell.destroy_and_count_leftovers() == [], "the emulator still holds pools after the stack is gone"


for _pair in NOT_APPLICABLE_CELLS:
    MATRIX.record(*_pair, NOT_APPLICABLE)
