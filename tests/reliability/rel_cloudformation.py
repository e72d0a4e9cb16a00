"""CloudFormation's side of one custom resource, played in-process against ``index.handler``.

The fault matrix needs many short stacks, so instead of the offline driver (a Lambda runtime
process per stack) it plays the same rules as ``local/cloudformation.py`` for a stack holding one
pool: a failed create is rolled back by deleting the reported PhysicalResourceId; a new
PhysicalResourceId in an Update response is a replacement whose old pool is deleted in the cleanup
phase; a failed update is rolled back in place (old and new properties swapped) and a pool the
failed update reported is deleted. Every request goes to the real handler with a real deadline and
its response comes back over HTTPS to the loopback ``ResponseServer``, as from CloudFormation.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kvs_stream_pool import index
from local.response_server import ResponseServer

STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/reliability/0c9e4d60-8a1f-11ef-8a3e-0e2b4c6d8f10"
)
SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:reliability-KvsPoolHandler"
RESOURCE_TYPE = "Custom::ChimeKinesisVideoStreamPool"
LOGICAL_ID = "Pool"
# How long CloudFormation waits for a response in these tests: far below its one hour, far above
# anything a healthy request needs here, so a missing response fails the test instead of hanging it.
RESPONSE_WAIT_SECONDS = 60.0
NORMAL_LAMBDA_SECONDS = 60.0


class LambdaContext:
    """The parts of Lambda's context object the handler uses, with a real deadline."""

    function_name = "reliability-KvsPoolHandler"
    memory_limit_in_mb = 256

    def __init__(self, timeout_seconds: float) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Exchange:
    """One request CloudFormation sent, how often it was delivered, and every response it got."""

    event: dict[str, Any]
    deliveries: int
    responses: list[dict[str, Any]]

    @property
    def first(self) -> dict[str, Any] | None:
        return self.responses[0] if self.responses else None

    @property
    def succeeded(self) -> bool:
        return self.first is not None and self.first["Status"] == "SUCCESS"


@dataclass
class Delivery:
    """How the next request is delivered: the faults that belong to CloudFormation and Lambda."""

    copies: int = 1  # CloudFormation/Lambda delivering the same request more than once
    lambda_seconds: float = NORMAL_LAMBDA_SECONDS
    dropped_response_puts: int = 0  # the ResponseURL closes this many PUTs before accepting one


@dataclass
class OneResourceStack:
    """A stack holding one pool custom resource, with CloudFormation's status and rollback rules."""

    responses: ResponseServer
    status: str = "NONE"
    physical_id: str | None = None
    properties: dict[str, Any] | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    # The properties of an update whose rollback failed, for ContinueUpdateRollback.
    attempted_properties: dict[str, Any] | None = None
    # Applied to the next request only (the faulted step's first request), then reset.
    next_delivery: Delivery = field(default_factory=Delivery)

    # -- stack operations ----------------------------------------------------------------

    def create(self, properties: Mapping[str, Any]) -> str:
        self.status = "CREATE_IN_PROGRESS"
        exchange = self._send("Create", properties)
        reported = _physical_id(exchange)
        if exchange.succeeded:
            self.physical_id, self.properties = reported, dict(properties)
            self.status = "CREATE_COMPLETE"
            return self.status
        # The rollback deletes what was reported (CloudFormation makes an id up when none came).
        self.status = "ROLLBACK_IN_PROGRESS"
        rollback = self._send(
            "Delete", properties, physical_id=reported or f"reliability-Pool-{uuid.uuid4().hex[:8]}"
        )
        self.physical_id, self.properties = None, None
        self.status = "ROLLBACK_COMPLETE" if rollback.succeeded else "ROLLBACK_FAILED"
        return self.status

    def update(self, properties: Mapping[str, Any], *, fails_later: bool = False) -> str:
        """Update the pool; ``fails_later``: another resource of the stack then fails the update."""
        assert self.physical_id is not None and self.properties is not None
        old_id, old_properties = self.physical_id, self.properties
        self.status = "UPDATE_IN_PROGRESS"
        exchange = self._send("Update", properties, physical_id=old_id, old_properties=old_properties)
        new_id = _physical_id(exchange) or old_id
        replaced = new_id != old_id
        if exchange.succeeded and not fails_later:
            self.physical_id, self.properties = new_id, dict(properties)
            self.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
            if replaced:  # CloudFormation ignores cleanup failures
                self._send("Delete", old_properties, physical_id=old_id)
            self.status = "UPDATE_COMPLETE"
            return self.status
        self.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        failed = False
        if not (exchange.succeeded and replaced):
            # In place (or a failed update): update back, old and new properties swapped.
            back = self._send("Update", old_properties, physical_id=old_id, old_properties=properties)
            failed = not back.succeeded
        self.physical_id, self.properties = old_id, old_properties
        self.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
        if replaced:
            removed = self._send("Delete", properties, physical_id=new_id)
            failed = failed or not removed.succeeded
        self.status = "UPDATE_ROLLBACK_FAILED" if failed else "UPDATE_ROLLBACK_COMPLETE"
        self.attempted_properties = dict(properties) if failed else None
        return self.status

    def continue_update_rollback(self) -> str:
        """ContinueUpdateRollback: the rollback update of the pool is sent again."""
        assert self.status == "UPDATE_ROLLBACK_FAILED" and self.attempted_properties is not None
        assert self.physical_id is not None and self.properties is not None
        self.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        back = self._send(
            "Update", self.properties, physical_id=self.physical_id, old_properties=self.attempted_properties
        )
        self.status = "UPDATE_ROLLBACK_COMPLETE" if back.succeeded else "UPDATE_ROLLBACK_FAILED"
        return self.status

    def delete(self) -> str:
        if self.physical_id is None or self.properties is None:
            self.status = "DELETE_COMPLETE"
            return self.status
        self.status = "DELETE_IN_PROGRESS"
        exchange = self._send("Delete", self.properties, physical_id=self.physical_id)
        if exchange.succeeded:
            self.physical_id, self.properties = None, None
            self.status = "DELETE_COMPLETE"
        else:
            self.status = "DELETE_FAILED"
        return self.status

    # -- one request -----------------------------------------------------------------------

    def event(
        self,
        request_type: str,
        properties: Mapping[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": SERVICE_TOKEN,
            "ResponseURL": self.responses.url_for(
                request_id, stack_id=STACK_ID, logical_resource_id=LOGICAL_ID
            ),
            "StackId": STACK_ID,
            "RequestId": request_id,
            "LogicalResourceId": LOGICAL_ID,
            "ResourceType": RESOURCE_TYPE,
            "ResourceProperties": dict(properties),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = dict(old_properties)
        return event

    def deliver(self, event: dict[str, Any], delivery: Delivery | None = None) -> Exchange:
        """Invoke the handler as Lambda would (possibly more than once) and collect the responses."""
        delivery = delivery or Delivery()
        if delivery.dropped_response_puts:
            self.responses.drop_next(delivery.dropped_response_puts)
        for _ in range(delivery.copies):
            index.handler(event, LambdaContext(delivery.lambda_seconds))
            _join_response_timers()
        self.responses.wait_for(event["RequestId"], RESPONSE_WAIT_SECONDS)
        exchange = Exchange(event, delivery.copies, self.responses.responses(event["RequestId"]))
        self.exchanges.append(exchange)
        return exchange

    def _send(
        self,
        request_type: str,
        properties: Mapping[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
    ) -> Exchange:
        delivery, self.next_delivery = self.next_delivery, Delivery()
        event = self.event(request_type, properties, physical_id=physical_id, old_properties=old_properties)
        return self.deliver(event, delivery)


def _physical_id(exchange: Exchange) -> str | None:
    first = exchange.first
    return None if first is None else str(first.get("PhysicalResourceId") or "") or None


def _join_response_timers(timeout: float = 15.0) -> None:
    """Wait for crhelper's timeout timers to end (cancelled ones end at once; one that fired ends
    after its send), so that a late second response would be counted, not missed."""
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer) and thread is not threading.current_thread():
            thread.join(timeout)
