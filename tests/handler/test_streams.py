"""streams.py's budget and retry rules on a simulated clock: every call costs time, nothing sleeps."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from chime_kvs_pool.runtime import lifecycle, streams

POOL_ID = "ChimeMediaPipelines-p-0b7c6a58-9f7e-4d7e-8a43-2f0c1d5e6a7b"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class Streams:
    """Kinesis Video Streams with ``count`` streams of the pool; each call costs ``call_seconds``."""

    def __init__(self, clock: Clock, count: int, call_seconds: float = 1.0) -> None:
        self.clock = clock
        self.call_seconds = call_seconds
        self.names = [f"{POOL_ID}-{n}" for n in range(count)]
        self.failures: list[Exception] = []  # raised by the next DeleteStream calls, in order
        self.started_with: list[float] = []  # the budget left when each call started
        self.budget: lifecycle.Budget | None = None

    def _call(self) -> None:
        assert self.budget is not None
        self.started_with.append(self.budget.remaining_seconds())
        self.clock.now += self.call_seconds

    def list_streams(self, **request: Any) -> dict[str, Any]:
        self._call()
        infos = [
            {"StreamName": name, "StreamARN": f"arn:kvs/{name}", "Status": "ACTIVE"} for name in self.names
        ]
        return {"StreamInfoList": infos}

    def delete_stream(self, StreamARN: str) -> None:
        self._call()
        if self.failures:
            raise self.failures.pop(0)
        self.names.remove(StreamARN.removeprefix("arn:kvs/"))


def _run(service: Streams, clock: Clock, seconds: float) -> streams.StreamCleanup:
    budget = lifecycle.Budget.for_seconds(seconds, clock=lambda: clock.now, sleep=clock.sleep)
    service.budget = budget
    return streams.delete_pool_streams(service, POOL_ID, budget)


def test_no_call_starts_unless_a_whole_call_fits_in_the_budget() -> None:
    clock = Clock()
    service = Streams(clock, count=100)

    cleanup = _run(service, clock, seconds=30)

    assert min(service.started_with) >= streams.CALL_SECONDS
    assert clock.now <= 30
    assert 0 < cleanup.deleted < 100 and cleanup.left == service.names
    assert "time budget" in cleanup.cause
    sentence = cleanup.sentence("deleted pool arn")
    assert f"PoolId {POOL_ID}" in sentence and f"left: {len(service.names)}" in sentence


def test_throttling_and_transport_errors_are_retried_and_the_job_finishes() -> None:
    clock = Clock()
    service = Streams(clock, count=3, call_seconds=0.05)
    throttled = ClientError(
        {"Error": {"Code": "ClientLimitExceededException", "Message": "slow down"}}, "Delete"
    )
    service.failures = [throttled, EndpointConnectionError(endpoint_url="https://kvs"), throttled]

    cleanup = _run(service, clock, seconds=60)

    assert cleanup.complete and cleanup.deleted == 3 and service.names == []


def test_a_refused_stream_is_named_and_the_others_are_deleted() -> None:
    clock = Clock()
    service = Streams(clock, count=3, call_seconds=0.05)
    service.failures = [ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Delete")]

    cleanup = _run(service, clock, seconds=60)

    assert cleanup.deleted == 2 and cleanup.left == [f"{POOL_ID}-0"]
    assert cleanup.cause == "DeleteStream: AccessDeniedException"
