"""API rate limits: token buckets per account, Region and operation, seen through the real boto3 client."""

from __future__ import annotations

from typing import Any

import pytest

from local.chime_emulator.rate_limits import DEFAULT_QUOTAS, Quota, RateLimiter

CREATE = "CreateMediaPipelineKinesisVideoStreamPool"
GET = "GetMediaPipelineKinesisVideoStreamPool"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter({CREATE: Quota(rate=2.0, burst=3.0)}, clock=clock)

    assert [limiter.allow("111", "us-east-1", CREATE) for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back at 2 per second
    assert limiter.allow("111", "us-east-1", CREATE)
    assert not limiter.allow("111", "us-east-1", CREATE)
    clock.now += 60  # refills up to the burst, no further
    assert sum(limiter.allow("111", "us-east-1", CREATE) for _ in range(10)) == 3
    assert (limiter.allowed[CREATE], limiter.throttled[CREATE]) == (7, 9)


def test_buckets_are_per_account_region_and_operation() -> None:
    limiter = RateLimiter({CREATE: Quota(1.0, 1.0), GET: Quota(1.0, 1.0)}, clock=FakeClock())

    assert limiter.allow("111", "us-east-1", CREATE)
    assert not limiter.allow("111", "us-east-1", CREATE)
    assert limiter.allow("111", "us-west-2", CREATE)
    assert limiter.allow("222", "us-east-1", CREATE)
    assert limiter.allow("111", "us-east-1", GET)
    assert limiter.allow("111", "us-east-1", "ListStreams")  # not in the quotas: unlimited


def test_default_quotas_are_the_documented_assumptions() -> None:
    assert DEFAULT_QUOTAS[CREATE] == Quota(5.0, 5.0)
    assert DEFAULT_QUOTAS["TagResource"] == Quota(5.0, 5.0)
    assert DEFAULT_QUOTAS[GET] == Quota(10.0, 10.0)
    assert DEFAULT_QUOTAS["ListMediaPipelineKinesisVideoStreamPools"] == Quota(10.0, 10.0)
    assert RateLimiter.scaled(2.0).quotas[CREATE] == Quota(10.0, 10.0)


def create(client: Any, name: str) -> dict[str, Any]:
    response = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=name, StreamConfiguration={"Region": "us-east-1"}
    )
    result: dict[str, Any] = response["KinesisVideoStreamPoolConfiguration"]
    return result


def test_off_by_default(chime_emulator: Any) -> None:
    assert chime_emulator.server.rate_limiter is None
    for index in range(12):
        create(chime_emulator.client, f"unlimited-{index}")
    assert len(chime_emulator.backend.leftover_pools()) == 12


def test_a_call_over_the_rate_is_throttled_with_429_and_changes_nothing(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    # A rate so low that no token comes back during the test.
    chime_emulator.server.rate_limiter = RateLimiter({CREATE: Quota(rate=0.001, burst=2.0)})

    create(client, "first")
    create(client, "second")
    with pytest.raises(client.exceptions.ThrottledClientException) as raised:
        create(client, "third")

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert [p["PoolName"] for p in backend.leftover_pools()] == ["first", "second"]
    assert [(c.status, c.error) for c in backend.calls(CREATE)][-1] == (429, "ThrottledClientException")
    # Other operations and other Regions have their own buckets.
    client.get_media_pipeline_kinesis_video_stream_pool(Identifier="first")
    create(chime_emulator.client_for("us-west-2"), "elsewhere")
