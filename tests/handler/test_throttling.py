"""Throttled calls are retried while the invocation can afford it, against the emulator's rate limits."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from chime_kvs_pool.runtime import throttling
from local.chime_emulator.rate_limits import Quota, RateLimiter

from .conftest import CloudFormation, pool_properties

CREATE = "CreateMediaPipelineKinesisVideoStreamPool"
GET = "GetMediaPipelineKinesisVideoStreamPool"
LIST = "ListMediaPipelineKinesisVideoStreamPools"
BOTOCORE_ATTEMPTS = 5


@pytest.fixture
def short_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the test quick: the same rule with delays of at most 0.1 s."""
    monkeypatch.setattr(throttling, "MAX_DELAY_SECONDS", 0.1)


@pytest.mark.usefixtures("short_delays")
def test_a_create_throttled_beyond_botocores_attempts_succeeds_once_the_rate_allows(
    cfn: CloudFormation,
) -> None:
    # One Create token every 4 s; the test takes the first, so the handler's Create waits for the next.
    limiter = RateLimiter({CREATE: Quota(rate=0.25, burst=1.0), GET: Quota(rate=10.0, burst=10.0)})
    cfn.emulator.server.rate_limiter = limiter
    cfn.emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="took-the-token", StreamConfiguration={"Region": "us-east-1"}
    )

    response = cfn.create(pool_properties(name="patient"))

    assert response["Status"] == "SUCCESS", response["Reason"]
    handler_creates = [c for c in cfn.backend.calls(CREATE) if c.params["PoolName"] == "patient"]
    assert len(handler_creates) > BOTOCORE_ATTEMPTS + 1
    assert {c.status for c in handler_creates[:-1]} == {429}
    assert len({c.params["ClientRequestToken"] for c in handler_creates}) == 1
    assert sorted(p["PoolName"] for p in cfn.backend.leftover_pools()) == ["patient", "took-the-token"]


@pytest.mark.usefixtures("short_delays")
def test_a_throttled_wait_keeps_polling(cfn: CloudFormation) -> None:
    cfn.backend.create_delay = 0.5
    cfn.backend.faults.add(GET, "throttle", count=3 * BOTOCORE_ATTEMPTS)

    response = cfn.create(pool_properties())

    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["Data"]["PoolStatus"] == "ACTIVE"


def test_throttling_that_outlasts_the_invocation_fails_in_time_to_report(cfn: CloudFormation) -> None:
    cfn.backend.faults.add(CREATE, "throttle", count=None)

    # 14 s left, 5 s kept back to report and 7 s for one more attempt at worst (2 s connect, 5 s
    # read): about 2 s of retries, then a FAILED response.
    response = cfn.create(pool_properties(), lambda_seconds=14.0)

    assert response["Status"] == "FAILED"
    assert "ThrottledClientException" in response["Reason"]
    assert cfn.backend.leftover_pools() == []
    assert len(cfn.backend.calls(CREATE)) > 1


def test_other_errors_are_left_to_botocore(cfn: CloudFormation) -> None:
    cfn.backend.faults.add(CREATE, "unavailable", count=BOTOCORE_ATTEMPTS)

    response = cfn.create(pool_properties())

    assert response["Status"] == "FAILED"
    assert len(cfn.backend.calls(CREATE)) == BOTOCORE_ATTEMPTS


def test_delays_are_jittered_and_capped() -> None:
    assert throttling.retry_delay(1, rng=lambda: 1.0) == throttling.BASE_DELAY_SECONDS
    assert throttling.retry_delay(3, rng=lambda: 0.5) == throttling.BASE_DELAY_SECONDS * 2
    assert throttling.retry_delay(40, rng=lambda: 1.0) == throttling.MAX_DELAY_SECONDS
    assert throttling.retry_delay(40, rng=lambda: 0.0) == 0.0


def test_outside_an_invocation_botocore_decides(chime_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttling, "_INVOCATION", throttling._Invocation())
    client = throttling.install(
        chime_emulator.client_for(retries={"mode": "legacy", "total_max_attempts": 3})
    )
    chime_emulator.backend.faults.add(LIST, "throttle", count=None)

    with pytest.raises(client.exceptions.ThrottledClientException):
        client.list_media_pipeline_kinesis_video_stream_pools()

    assert len(chime_emulator.backend.calls(LIST)) == 3


def test_no_retry_starts_unless_one_more_attempt_fits_before_the_margin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rule in front of botocore's: a retry (throttled or not) must leave room for its delay and
    one more attempt's worst case (the client's connect + read timeouts) before the margin."""
    monkeypatch.setattr(throttling, "_INVOCATION", throttling._Invocation())
    monkeypatch.setattr(throttling, "MAX_DELAY_SECONDS", 0.1)
    throttling.start_with_deadline(time.monotonic() + 10.0, margin_seconds=1.0)  # 9 s affordable
    throttled = (SimpleNamespace(status_code=429), {"Error": {"Code": "ThrottledClientException"}})
    unavailable = (SimpleNamespace(status_code=503), {"Error": {"Code": "ServiceUnavailable"}})

    retry = throttling._needs_retry(1, throttled, attempt_seconds=7.0)
    assert retry is not False and isinstance(retry, float)
    assert throttling._needs_retry(1, throttled, attempt_seconds=9.5) is False
    # Not throttled: botocore decides while an attempt (and its at most 2 ** (n - 1) s delay) fits ...
    assert throttling._needs_retry(1, unavailable, attempt_seconds=7.0) is None
    # ... and never once it does not: a slow endpoint cannot carry a call past the deadline.
    assert throttling._needs_retry(3, unavailable, attempt_seconds=7.0) is False
    assert throttling._needs_retry(1, unavailable, attempt_seconds=8.5) is False
