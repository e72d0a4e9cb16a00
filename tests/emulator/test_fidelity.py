"""Fidelity rules that clients notice (issue 12): whole-value patterns, regional isolation, known
Regions only, and the front door's answer to unsigned requests, through real boto3 clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from local.chime_emulator.service_model import known_regions, partition_of

HOME, AWAY = "us-east-1", "us-west-2"


def create(client: Any, name: str, region: str = HOME, **extra: Any) -> dict[str, Any]:
    response = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=name, StreamConfiguration={"Region": region}, **extra
    )
    return dict(response["KinesisVideoStreamPoolConfiguration"])


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = raised.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


# ----- 1. patterns are matched against the whole value -----


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("PoolName", "bad name!"),
        ("PoolName", "ok/slash"),
        ("ClientRequestToken", "a b"),
        ("ClientRequestToken", "token!"),
    ],
)
def test_a_value_valid_only_at_its_start_is_refused(chime_emulator: Any, member: str, value: str) -> None:
    client = chime_emulator.client_for(parameter_validation=False)
    request: dict[str, Any] = {"PoolName": "fine", "StreamConfiguration": {"Region": HOME}, member: value}
    with pytest.raises(client.exceptions.BadRequestException) as raised:
        client.create_media_pipeline_kinesis_video_stream_pool(**request)
    message = raised.value.response["Error"]["Message"]
    assert f"{member}:" in message and "pattern" in message
    assert chime_emulator.backend.leftover_pools() == []


def test_an_identifier_of_only_blanks_is_refused(chime_emulator: Any) -> None:
    client = chime_emulator.client_for(parameter_validation=False)
    with pytest.raises(client.exceptions.BadRequestException):
        client.get_media_pipeline_kinesis_video_stream_pool(Identifier="   ")


# ----- 2. each Region holds its own pools -----


def test_another_regions_arn_is_not_found_by_any_operation(chime_emulator: Any) -> None:
    home = chime_emulator.client
    arn = create(home, "regional", Tags=[{"Key": "k", "Value": "v"}])["PoolArn"]
    away = chime_emulator.client_for(AWAY)
    calls: dict[str, Callable[[], Any]] = {
        "Get": lambda: away.get_media_pipeline_kinesis_video_stream_pool(Identifier=arn),
        "Update": lambda: away.update_media_pipeline_kinesis_video_stream_pool(
            Identifier=arn, StreamConfiguration={"DataRetentionInHours": 2}
        ),
        "Delete": lambda: away.delete_media_pipeline_kinesis_video_stream_pool(Identifier=arn),
        "TagResource": lambda: away.tag_resource(ResourceARN=arn, Tags=[{"Key": "x", "Value": "y"}]),
        "UntagResource": lambda: away.untag_resource(ResourceARN=arn, TagKeys=["k"]),
        "ListTagsForResource": lambda: away.list_tags_for_resource(ResourceARN=arn),
    }
    for name, call in calls.items():
        with pytest.raises(away.exceptions.NotFoundException):
            call()
        assert chime_emulator.backend.request_log[-1].region == AWAY, name
    # Nothing changed at home.
    (pool,) = chime_emulator.backend.leftover_pools()
    assert (pool["PoolStatus"], pool["Tags"], pool["StreamConfiguration"]["DataRetentionInHours"]) == (
        "ACTIVE",
        {"k": "v"},
        0,
    )
    assert home.get_media_pipeline_kinesis_video_stream_pool(Identifier=arn)[
        "KinesisVideoStreamPoolConfiguration"
    ]


def test_tokens_are_per_region(chime_emulator: Any) -> None:
    """The same ClientRequestToken in two Regions makes two pools: each Region is its own service."""
    first = create(chime_emulator.client, "same", ClientRequestToken="token-1")
    second = create(chime_emulator.client_for(AWAY), "same", ClientRequestToken="token-1")
    assert first["PoolArn"] != second["PoolArn"]
    assert [p["Region"] for p in chime_emulator.backend.leftover_pools()] == [HOME, AWAY]


def test_the_quota_is_per_region(chime_emulator: Any) -> None:
    chime_emulator.backend.pool_quota_per_region = 1
    create(chime_emulator.client, "one")
    with pytest.raises(chime_emulator.client.exceptions.ResourceLimitExceededException):
        create(chime_emulator.client, "two")
    create(chime_emulator.client_for(AWAY), "two")


# ----- 3. only Regions botocore knows -----


def test_the_partition_data_is_botocores() -> None:
    regions = known_regions()
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= regions
    assert "mars-central-1" not in regions and "aws-global" not in regions
    assert (partition_of("cn-north-1"), partition_of("us-east-1")) == ("aws-cn", "aws")


def test_an_unknown_stream_region_is_a_bad_request(chime_emulator: Any) -> None:
    client = chime_emulator.client
    with pytest.raises(client.exceptions.BadRequestException) as raised:
        create(client, "martian", region="mars-central-1")
    assert error_of(raised) == ("BadRequestException", 400)
    assert "mars-central-1" in raised.value.response["Error"]["Message"]
    assert chime_emulator.backend.leftover_pools() == []


def test_the_switch_allows_a_future_region(chime_emulator: Any) -> None:
    chime_emulator.backend.switches.extra_regions = ["mars-central-1"]
    pool = create(chime_emulator.client, "martian", region="mars-central-1")
    assert pool["StreamConfiguration"]["Region"] == "mars-central-1"


def test_a_request_signed_for_an_unknown_region_is_refused_at_the_door(chime_emulator: Any) -> None:
    client = chime_emulator.client_for("mars-central-1")
    with pytest.raises(ClientError) as raised:
        client.list_media_pipeline_kinesis_video_stream_pools()
    assert error_of(raised) == ("InvalidSignatureException", 403)
    assert "mars-central-1" in raised.value.response["Error"]["Message"]
    chime_emulator.backend.switches.extra_regions = ["mars-central-1"]
    assert client.list_media_pipeline_kinesis_video_stream_pools()["KinesisVideoStreamPools"] == []


def test_a_china_region_pool_has_a_china_partition_arn(chime_emulator: Any) -> None:
    pool = create(chime_emulator.client_for("cn-north-1"), "east", region="cn-north-1")
    assert pool["PoolArn"].startswith("arn:aws-cn:chime:cn-north-1:")


# ----- unsigned requests -----


def test_an_unsigned_boto3_client_gets_missing_authentication_token(chime_emulator: Any) -> None:
    session: Any = boto3.session.Session()
    client = session.client(
        "chime-sdk-media-pipelines",
        region_name=HOME,
        endpoint_url=chime_emulator.endpoint_url,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as raised:
        create(client, "anonymous")
    assert error_of(raised) == ("MissingAuthenticationTokenException", 403)
    assert raised.value.response["Error"]["Message"] == "Missing Authentication Token"
    assert chime_emulator.backend.leftover_pools() == []
    record = chime_emulator.backend.request_log[-1]
    assert (record.operation, record.error) == (
        "CreateMediaPipelineKinesisVideoStreamPool",
        "MissingAuthenticationTokenException",
    )
