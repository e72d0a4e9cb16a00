"""The pools' Kinesis video streams and service-linked role: kinesisvideo and iam over the same port.

Real boto3 clients for each service, pointed at the one emulator URL: the server tells the services
apart by the SigV4 credential scope, reads IAM's form-encoded query protocol and answers it in XML.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from local.chime_emulator import ChimeEmulator, EmulatorServer

REGION = "us-east-1"
ROLE = "AWSServiceRoleForAmazonChimeSDKMediaPipelines"
SERVICE = "mediapipelines.chime.amazonaws.com"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def client(service: str, endpoint_url: str, region: str = REGION) -> Any:
    session: Any = boto3.session.Session()
    return session.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 1}),
    )


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


@pytest.fixture
def kvs(chime_emulator: Any) -> Any:
    return client("kinesisvideo", chime_emulator.endpoint_url)


@pytest.fixture
def iam(chime_emulator: Any) -> Any:
    return client("iam", chime_emulator.endpoint_url)


def active_pool(chime_emulator: Any, name: str, region: str = REGION) -> dict[str, Any]:
    chime_emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=name, StreamConfiguration={"Region": region}
    )
    response = chime_emulator.client.get_media_pipeline_kinesis_video_stream_pool(Identifier=name)
    configuration: dict[str, Any] = response["KinesisVideoStreamPoolConfiguration"]
    assert configuration["PoolStatus"] == "ACTIVE"
    return configuration


def names_with_prefix(kvs: Any, prefix: str, **extra: Any) -> list[str]:
    response = kvs.list_streams(
        StreamNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": prefix}, **extra
    )
    return [info["StreamName"] for info in response["StreamInfoList"]]


# ----- pools and their streams -----


def test_pool_id_has_the_real_format(chime_emulator: Any) -> None:
    pool = active_pool(chime_emulator, "MyDemoKvsPool")
    assert re.fullmatch(f"ChimeMediaPipelines-MyDemoKvsPool-{UUID}", pool["PoolId"])


def test_streams_taken_by_meetings_are_named_after_the_pool_id_and_counted(
    chime_emulator: Any, kvs: Any
) -> None:
    pool = active_pool(chime_emulator, "demo", region="us-west-2")
    names = chime_emulator.backend.add_streams("demo", 3)

    assert len(set(names)) == 3 and all(name.startswith(pool["PoolId"] + "-") for name in names)
    again = chime_emulator.client.get_media_pipeline_kinesis_video_stream_pool(Identifier="demo")
    assert again["KinesisVideoStreamPoolConfiguration"]["PoolSize"] == 3
    # In the pool's stream Region, not the Region the pool API was called in.
    assert names_with_prefix(kvs, pool["PoolId"]) == []
    west = client("kinesisvideo", chime_emulator.endpoint_url, "us-west-2")
    assert names_with_prefix(west, pool["PoolId"]) == sorted(names)


def test_streams_are_only_taken_from_an_active_pool(chime_emulator: Any) -> None:
    chime_emulator.backend.create_delay = 60.0
    chime_emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="busy", StreamConfiguration={"Region": REGION}
    )
    with pytest.raises(ValueError, match="CREATING"):
        chime_emulator.backend.add_streams("busy", 1)


def test_list_streams_filters_by_exact_prefix_and_pages(chime_emulator: Any, kvs: Any) -> None:
    backend = chime_emulator.backend
    for name in ("app-a-1", "app-a-2", "app-a-3", "app-ab-1", "other"):
        backend.add_stream(name)

    assert names_with_prefix(kvs, "app-a-") == ["app-a-1", "app-a-2", "app-a-3"]
    first = kvs.list_streams(
        StreamNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "app-a"},
        MaxResults=2,
    )
    assert [i["StreamName"] for i in first["StreamInfoList"]] == ["app-a-1", "app-a-2"]
    second = kvs.list_streams(
        StreamNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "app-a"},
        MaxResults=2,
        NextToken=first["NextToken"],
    )
    assert [i["StreamName"] for i in second["StreamInfoList"]] == ["app-a-3", "app-ab-1"]
    assert "NextToken" not in second
    everything = kvs.list_streams()["StreamInfoList"]
    assert len(everything) == 5


def test_server_side_page_size_caps_a_page(chime_emulator: Any, kvs: Any) -> None:
    chime_emulator.backend.stream_page_size = 2
    for index in range(3):
        chime_emulator.backend.add_stream(f"s-{index}")
    page = kvs.list_streams()
    assert len(page["StreamInfoList"]) == 2 and page["NextToken"]


def test_describe_stream_by_name_or_arn(chime_emulator: Any, kvs: Any) -> None:
    arn = chime_emulator.backend.add_stream("camera-1", retention_hours=5)
    by_name = kvs.describe_stream(StreamName="camera-1")["StreamInfo"]
    by_arn = kvs.describe_stream(StreamARN=arn)["StreamInfo"]
    assert by_name == by_arn
    assert by_name["StreamARN"] == arn and by_name["Status"] == "ACTIVE"
    assert by_name["DataRetentionInHours"] == 5
    assert re.fullmatch(r"arn:aws:kinesisvideo:us-east-1:\d{12}:stream/camera-1/\d+", arn)
    with pytest.raises(ClientError) as raised:
        kvs.describe_stream(StreamName="nope")
    assert error_code(raised.value) == "ResourceNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_delete_stream_by_arn_with_optional_version(chime_emulator: Any, kvs: Any) -> None:
    arn = chime_emulator.backend.add_stream("camera-1")
    version = kvs.describe_stream(StreamARN=arn)["StreamInfo"]["Version"]
    with pytest.raises(ClientError) as raised:
        kvs.delete_stream(StreamARN=arn, CurrentVersion="0" + version)
    assert error_code(raised.value) == "VersionMismatchException"

    kvs.delete_stream(StreamARN=arn, CurrentVersion=version)
    assert chime_emulator.backend.stream_names() == []
    with pytest.raises(ClientError) as raised:
        kvs.delete_stream(StreamARN=arn)
    assert error_code(raised.value) == "ResourceNotFoundException"


def test_a_pools_streams_cannot_be_deleted_before_the_pool_is_gone(chime_emulator: Any, kvs: Any) -> None:
    pool = active_pool(chime_emulator, "demo")
    (name,) = chime_emulator.backend.add_streams("demo", 1)
    arn = kvs.describe_stream(StreamName=name)["StreamInfo"]["StreamARN"]
    chime_emulator.backend.hold_deletion("demo")
    chime_emulator.client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="demo")

    with pytest.raises(ClientError) as raised:
        kvs.delete_stream(StreamARN=arn)
    assert error_code(raised.value) == "ResourceInUseException"
    assert pool["PoolArn"] in raised.value.response["Error"]["Message"]

    chime_emulator.backend.release_deletion("demo")
    kvs.delete_stream(StreamARN=arn)  # the pool is gone; its streams stayed until now
    assert chime_emulator.backend.stream_names() == []


def test_stream_inputs_are_validated_from_the_model(kvs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        kvs.list_streams(
            StreamNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "x" * 257}
        )
    assert error_code(raised.value) == "InvalidArgumentException"
    assert "ComparisonValue" in raised.value.response["Error"]["Message"]


# ----- the service-linked role (IAM, query protocol) -----


def test_a_fresh_account_has_no_role_until_created(chime_emulator: Any, iam: Any) -> None:
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=ROLE)

    role = iam.create_service_linked_role(AWSServiceName=SERVICE)["Role"]

    assert role["RoleName"] == ROLE
    assert role["Path"] == f"/aws-service-role/{SERVICE}/"
    assert (
        role["Arn"]
        == f"arn:aws:iam::{chime_emulator.backend.account_id}:role/aws-service-role/{SERVICE}/{ROLE}"
    )
    assert iam.get_role(RoleName=ROLE)["Role"]["Arn"] == role["Arn"]
    assert chime_emulator.backend.role_names() == [ROLE]


def test_creating_the_role_twice_is_the_real_invalid_input_error(chime_emulator: Any, iam: Any) -> None:
    chime_emulator.backend.add_service_linked_role()
    with pytest.raises(iam.exceptions.InvalidInputException) as raised:
        iam.create_service_linked_role(AWSServiceName=SERVICE)
    assert raised.value.response["Error"]["Code"] == "InvalidInput"
    assert "has been taken" in raised.value.response["Error"]["Message"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_iam_refuses_other_services_and_custom_suffixes(iam: Any) -> None:
    with pytest.raises(iam.exceptions.InvalidInputException):
        iam.create_service_linked_role(AWSServiceName="elasticmapreduce.amazonaws.com")
    with pytest.raises(iam.exceptions.InvalidInputException, match="Custom suffix"):
        iam.create_service_linked_role(AWSServiceName=SERVICE, CustomSuffix="mine")


def test_iam_inputs_are_validated_from_the_model(iam: Any) -> None:
    with pytest.raises(iam.exceptions.InvalidInputException, match="AWSServiceName"):
        iam.create_service_linked_role(AWSServiceName="x" * 129)


def test_denied_operation_gets_access_denied(chime_emulator: Any, iam: Any) -> None:
    chime_emulator.backend.deny_access_key("testing", "CreateServiceLinkedRole")
    with pytest.raises(ClientError) as raised:
        iam.create_service_linked_role(AWSServiceName=SERVICE)
    assert error_code(raised.value) == "AccessDenied"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Only that operation: the pool API still answers the same key.
    assert (
        chime_emulator.client.list_media_pipeline_kinesis_video_stream_pools()["KinesisVideoStreamPools"]
        == []
    )


# ----- one port, three services -----


def test_the_request_log_names_each_requests_service(chime_emulator: Any, kvs: Any, iam: Any) -> None:
    chime_emulator.client.list_media_pipeline_kinesis_video_stream_pools()
    kvs.list_streams()
    iam.create_service_linked_role(AWSServiceName=SERVICE)
    assert [(r.service, r.operation) for r in chime_emulator.backend.request_log] == [
        ("chime", "ListMediaPipelineKinesisVideoStreamPools"),
        ("kinesisvideo", "ListStreams"),
        ("iam", "CreateServiceLinkedRole"),
    ]


def test_a_path_of_another_service_is_unknown_to_the_pool_api(chime_emulator: Any) -> None:
    # Signed for the pool API ("chime"), a Kinesis Video Streams path is no operation of it.
    request = AWSRequest(method="POST", url=chime_emulator.endpoint_url + "/listStreams", data=b"{}")
    SigV4Auth(Credentials("testing", "testing"), "chime", REGION).add_auth(request)
    prepared = urllib.request.Request(
        str(request.url), data=b"{}", headers=dict(request.headers.items()), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(prepared, timeout=10)
    assert raised.value.code == 404
    assert raised.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_streams_and_role_survive_a_save_and_load(tmp_path: Path) -> None:
    backend = ChimeEmulator()
    with EmulatorServer(backend) as server:
        pools = client("chime-sdk-media-pipelines", server.endpoint_url)
        pools.create_media_pipeline_kinesis_video_stream_pool(
            PoolName="kept", StreamConfiguration={"Region": REGION}
        )
        names = backend.add_streams("kept", 2)
        backend.add_service_linked_role()
    backend.save(tmp_path / "state.json")

    loaded = ChimeEmulator.load(tmp_path / "state.json")

    assert loaded.stream_names() == sorted(names)
    assert loaded.role_names() == [ROLE]
    assert loaded.leftover_pools()[0]["PoolSize"] == 2
