"""Fidelity rules that clients notice (issue 12): whole-value patterns, regional isolation, known
Regions only, and the front door's answer to unsigned requests, through real boto3 clients."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError

from local.chime_emulator.server import NO_ENDPOINT
from local.chime_emulator.service_model import known_regions, partition_of, pool_api_regions

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
    # botocore lists no endpoint of the pool API in aws-cn: the switch plays a later launch there.
    chime_emulator.backend.switches.extra_api_regions = ["cn-north-1"]
    pool = create(chime_emulator.client_for("cn-north-1"), "east", region="cn-north-1")
    assert pool["PoolArn"].startswith("arn:aws-cn:chime:cn-north-1:")


@pytest.mark.parametrize("stream_region", ["cn-north-1", "us-gov-west-1", "us-iso-east-1"])
def test_a_stream_region_of_another_partition_is_a_bad_request(
    chime_emulator: Any, stream_region: str
) -> None:
    assert partition_of(stream_region) != partition_of(HOME)
    with pytest.raises(ClientError) as raised:
        create(chime_emulator.client, "elsewhere", region=stream_region)
    assert error_of(raised) == ("BadRequestException", 400)
    message = raised.value.response["Error"]["Message"]
    assert stream_region in message and partition_of(stream_region) in message
    assert chime_emulator.backend.leftover_pools() == []


def test_a_stream_region_of_the_same_partition_is_accepted(chime_emulator: Any) -> None:
    chime_emulator.backend.switches.extra_api_regions = ["cn-north-1"]
    china = chime_emulator.client_for("cn-north-1")
    assert create(china, "east", region="cn-northwest-1")["StreamConfiguration"]["Region"] == "cn-northwest-1"
    with pytest.raises(ClientError) as raised:
        create(china, "west", region="us-east-1")
    assert error_of(raised) == ("BadRequestException", 400)


# ----- retention: a Kinesis video stream keeps data ten years at most -----


def test_retention_above_the_kvs_maximum_is_a_bad_request(chime_emulator: Any) -> None:
    client = chime_emulator.client
    stream = {"Region": HOME, "DataRetentionInHours": 87601}
    with pytest.raises(ClientError) as raised:
        client.create_media_pipeline_kinesis_video_stream_pool(PoolName="forever", StreamConfiguration=stream)
    assert error_of(raised) == ("BadRequestException", 400)
    assert "87601" in raised.value.response["Error"]["Message"]
    assert chime_emulator.backend.leftover_pools() == []
    stream["DataRetentionInHours"] = 87600
    made = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="decade", StreamConfiguration=stream
    )
    assert made["KinesisVideoStreamPoolConfiguration"]["StreamConfiguration"]["DataRetentionInHours"] == 87600
    with pytest.raises(ClientError) as raised:
        client.update_media_pipeline_kinesis_video_stream_pool(
            Identifier="decade", StreamConfiguration={"DataRetentionInHours": 87601}
        )
    assert error_of(raised) == ("BadRequestException", 400)


def test_retention_above_the_kvs_maximum_can_end_failed(chime_emulator: Any) -> None:
    backend, client = chime_emulator.backend, chime_emulator.client
    backend.switches.retention_above_maximum = "fail"
    stream = {"Region": HOME, "DataRetentionInHours": 2**31 - 1}
    client.create_media_pipeline_kinesis_video_stream_pool(PoolName="forever", StreamConfiguration=stream)
    pool = client.get_media_pipeline_kinesis_video_stream_pool(Identifier="forever")
    assert pool["KinesisVideoStreamPoolConfiguration"]["PoolStatus"] == "FAILED"
    assert "87600" in str(backend.failure_reason("forever"))


# ----- a request signed for another service -----


@pytest.mark.parametrize("signing_name", ["s3", "chime-sdk-meetings", "execute-api"])
def test_a_request_signed_for_another_service_is_refused(chime_emulator: Any, signing_name: str) -> None:
    """AWS answers a credential scoped to the wrong service at the door, as for a wrong Region."""
    url = chime_emulator.endpoint_url + "/media-pipeline-kinesis-video-stream-pools"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("testing", "testing"), signing_name, HOME).add_auth(request)
    prepared = urllib.request.Request(url, headers=dict(request.headers.items()), method="GET")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(prepared, timeout=10)
    assert raised.value.code == 403
    assert raised.value.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    body = json.loads(raised.value.read())
    assert body == {"message": "Credential should be scoped to correct service: 'chime'. "}
    assert chime_emulator.backend.request_log[-1].error == "InvalidSignatureException"


# ----- the pool API is served only where botocore lists its endpoint -----


def test_the_served_regions_are_botocores_endpoints() -> None:
    served = pool_api_regions()
    session = boto3.session.Session()
    assert served == set(session.get_available_regions("chime-sdk-media-pipelines"))
    assert {"us-east-1", "us-west-2", "eu-central-1", "ap-southeast-1"} <= served
    assert not {"eu-west-1", "cn-north-1", "us-gov-west-1"} & served


@pytest.mark.parametrize("region", ["eu-west-1", "cn-north-1", "us-gov-west-1"])
def test_a_region_without_the_pool_api_is_refused(chime_emulator: Any, region: str) -> None:
    """On AWS the client finds no host there; the emulator says so instead of serving a pool."""
    client = chime_emulator.client_for(region)
    with pytest.raises(ClientError) as raised:
        create(client, "nowhere", region=region)
    assert error_of(raised) == ("InvalidSignatureException", 403)
    message = raised.value.response["Error"]["Message"]
    assert f"no endpoint in {region}" in message and "extra_api_regions" in message
    assert chime_emulator.backend.leftover_pools() == []
    # The stream Region may still be one without the pool API: only the API's Region is refused.
    assert create(chime_emulator.client, "to-dublin", region="eu-west-1")["PoolStatus"] == "CREATING"


def test_a_region_without_the_pool_api_can_drop_the_connection(chime_emulator: Any) -> None:
    chime_emulator.backend.switches.unserved_region = "drop"
    with pytest.raises(ConnectionClosedError):
        chime_emulator.client_for("eu-west-1").list_media_pipeline_kinesis_video_stream_pools()
    assert chime_emulator.backend.request_log[-1].error == NO_ENDPOINT


def test_the_switch_serves_a_later_launch(chime_emulator: Any) -> None:
    chime_emulator.backend.switches.extra_api_regions = ["eu-west-1"]
    pool = create(chime_emulator.client_for("eu-west-1"), "dublin", region="eu-west-1")
    assert pool["PoolArn"].split(":")[3] == "eu-west-1"


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
