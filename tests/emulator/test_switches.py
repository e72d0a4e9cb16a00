"""The switches: where the service's docs leave a behaviour open, the emulator plays either side.

Each switch is exercised on both sides through real boto3 clients, set in-process, by the admin API
and by the command line, and survives a save and load.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.chime_emulator import ChimeEmulator, Switches

REGION = "us-east-1"


def kvs_client(endpoint_url: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client(
        "kinesisvideo",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 1}),
    )


def deleting_pool(chime_emulator: Any, name: str) -> dict[str, Any]:
    """An ACTIVE pool whose Delete was accepted and is held (as while meetings still use it)."""
    client, backend = chime_emulator.client, chime_emulator.backend
    client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=name, StreamConfiguration={"Region": REGION}
    )
    backend.hold_deletion(name)
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier=name)
    pool: dict[str, Any] = client.get_media_pipeline_kinesis_video_stream_pool(Identifier=name)[
        "KinesisVideoStreamPoolConfiguration"
    ]
    assert pool["PoolStatus"] == "DELETING"
    return pool


def test_defaults_are_the_documented_ones() -> None:
    assert Switches().to_dict() == {
        "delete_deleting_pool": "accept",
        "delete_stream_of_deleting_pool": "refuse",
        "pool_id_identifier": "refuse",
        "extra_regions": [],
        "extra_api_regions": [],
        "unserved_region": "error",
        "retention_above_maximum": "refuse",
        "delete_stream_of_active_pool": "refuse",
    }


def test_delete_of_a_deleting_pool_is_accepted_by_default(chime_emulator: Any) -> None:
    client = chime_emulator.client
    deleting_pool(chime_emulator, "twice")
    response = client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="twice")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    pool = client.get_media_pipeline_kinesis_video_stream_pool(Identifier="twice")
    assert pool["KinesisVideoStreamPoolConfiguration"]["PoolStatus"] == "DELETING"


def test_delete_of_a_deleting_pool_can_be_a_conflict(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    deleting_pool(chime_emulator, "twice")
    backend.switches.delete_deleting_pool = "conflict"
    with pytest.raises(client.exceptions.ConflictException) as raised:
        client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="twice")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert "DELETING" in raised.value.response["Error"]["Message"]
    # The refused Delete changed nothing: the pool is still on its way out, and goes once released.
    assert [p["PoolStatus"] for p in backend.leftover_pools()] == ["DELETING"]
    backend.release_deletion("twice")
    assert backend.leftover_pools() == []


def test_an_active_pool_is_deleted_whatever_the_switch(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.switches.delete_deleting_pool = "conflict"
    client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="once", StreamConfiguration={"Region": REGION}
    )
    response = client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="once")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert backend.leftover_pools() == []


@pytest.mark.parametrize("side", ["refuse", "allow"])
def test_delete_stream_of_a_deleting_pool(chime_emulator: Any, side: str) -> None:
    backend = chime_emulator.backend
    backend.switches.delete_stream_of_deleting_pool = side
    chime_emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="recorded", StreamConfiguration={"Region": REGION}
    )
    first, second = backend.add_streams("recorded", 2)
    kvs = kvs_client(chime_emulator.endpoint_url)
    # While the pool is ACTIVE its streams are refused on either side of the switch.
    with pytest.raises(ClientError) as raised:
        kvs.delete_stream(StreamARN=kvs.describe_stream(StreamName=first)["StreamInfo"]["StreamARN"])
    assert raised.value.response["Error"]["Code"] == "ResourceInUseException"

    backend.hold_deletion("recorded")
    chime_emulator.client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="recorded")
    arn = kvs.describe_stream(StreamName=first)["StreamInfo"]["StreamARN"]
    if side == "refuse":
        with pytest.raises(ClientError) as raised:
            kvs.delete_stream(StreamARN=arn)
        assert raised.value.response["Error"]["Code"] == "ResourceInUseException"
        assert backend.stream_names() == [first, second]
    else:
        kvs.delete_stream(StreamARN=arn)
        assert backend.stream_names() == [second]


@pytest.mark.parametrize("side", ["refuse", "allow"])
def test_delete_stream_of_an_active_pool(chime_emulator: Any, side: str) -> None:
    backend = chime_emulator.backend
    backend.switches.delete_stream_of_active_pool = side
    chime_emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="live", StreamConfiguration={"Region": REGION}
    )
    first, second = backend.add_streams("live", 2)
    kvs = kvs_client(chime_emulator.endpoint_url)
    arn = kvs.describe_stream(StreamName=first)["StreamInfo"]["StreamARN"]
    if side == "refuse":
        with pytest.raises(ClientError) as raised:
            kvs.delete_stream(StreamARN=arn)
        assert raised.value.response["Error"]["Code"] == "ResourceInUseException"
        assert backend.stream_names() == [first, second]
    else:
        kvs.delete_stream(StreamARN=arn)
        assert backend.stream_names() == [second]
    # The switch for a DELETING pool is separate: still refused by default.
    backend.hold_deletion("live")
    chime_emulator.client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="live")
    with pytest.raises(ClientError) as raised:
        kvs.delete_stream(StreamARN=kvs.describe_stream(StreamName=second)["StreamInfo"]["StreamARN"])
    assert raised.value.response["Error"]["Code"] == "ResourceInUseException"


@pytest.mark.parametrize("side", ["refuse", "accept"])
def test_pool_id_as_identifier(chime_emulator: Any, side: str) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.switches.pool_id_identifier = side
    created = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="by-id", StreamConfiguration={"Region": REGION, "DataRetentionInHours": 3}
    )["KinesisVideoStreamPoolConfiguration"]
    pool_id = created["PoolId"]

    def get() -> dict[str, Any]:
        response = client.get_media_pipeline_kinesis_video_stream_pool(Identifier=pool_id)
        return dict(response["KinesisVideoStreamPoolConfiguration"])

    def update() -> dict[str, Any]:
        response = client.update_media_pipeline_kinesis_video_stream_pool(
            Identifier=pool_id, StreamConfiguration={"DataRetentionInHours": 4}
        )
        return dict(response["KinesisVideoStreamPoolConfiguration"])

    def delete() -> dict[str, Any]:
        return dict(client.delete_media_pipeline_kinesis_video_stream_pool(Identifier=pool_id))

    if side == "refuse":
        for operation in (get, update, delete):
            with pytest.raises(client.exceptions.NotFoundException):
                operation()
        assert [p["PoolName"] for p in backend.leftover_pools()] == ["by-id"]
    else:
        assert get()["PoolArn"] == created["PoolArn"]
        assert update()["StreamConfiguration"]["DataRetentionInHours"] == 4
        delete()
        assert backend.leftover_pools() == []


def test_a_pool_id_of_another_region_is_not_found_even_when_accepted(chime_emulator: Any) -> None:
    chime_emulator.backend.switches.pool_id_identifier = "accept"
    created = chime_emulator.client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="here", StreamConfiguration={"Region": REGION}
    )["KinesisVideoStreamPoolConfiguration"]
    elsewhere = chime_emulator.client_for("us-west-2")
    with pytest.raises(elsewhere.exceptions.NotFoundException):
        elsewhere.get_media_pipeline_kinesis_video_stream_pool(Identifier=created["PoolId"])


def test_unknown_switches_and_values_are_refused() -> None:
    switches = Switches()
    with pytest.raises(ValueError, match="must be one of"):
        switches.delete_deleting_pool = "maybe"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="unknown switch"):
        switches.set("delete_everything", "accept")
    with pytest.raises(ValueError, match="must be one of"):
        Switches(pool_id_identifier="sometimes")  # type: ignore[arg-type]
    assert switches.to_dict() == Switches().to_dict()
    # A Region list given as text (command line, admin API) is split, not taken letter by letter.
    switches.extra_regions = "xx-west-9, yy-east-8"  # type: ignore[assignment]
    assert switches.extra_regions == ["xx-west-9", "yy-east-8"]
    switches.extra_api_regions = "eu-west-1,eu-west-3"  # type: ignore[assignment]
    assert switches.extra_api_regions == ["eu-west-1", "eu-west-3"]


def admin(endpoint_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint_url}/_emulator{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def test_admin_api_reads_and_sets_switches(chime_emulator: Any) -> None:
    url, backend = chime_emulator.endpoint_url, chime_emulator.backend
    assert admin(url, "GET", "/switches")["switches"]["delete_deleting_pool"] == "accept"
    answer = admin(
        url, "POST", "/switches", {"delete_deleting_pool": "conflict", "extra_regions": ["xx-west-9"]}
    )
    assert answer["switches"]["delete_deleting_pool"] == "conflict"
    assert backend.switches.delete_deleting_pool == "conflict"
    assert backend.switches.extra_regions == ["xx-west-9"]
    with pytest.raises(urllib.error.HTTPError) as raised:
        admin(url, "POST", "/switches", {"pool_id_identifier": "accept", "delete_deleting_pool": "perhaps"})
    assert raised.value.code == 400
    # Nothing of a refused request is applied.
    assert (backend.switches.delete_deleting_pool, backend.switches.pool_id_identifier) == (
        "conflict",
        "refuse",
    )


def test_switches_survive_a_save_and_load(tmp_path: Path) -> None:
    backend = ChimeEmulator(switches=Switches(delete_deleting_pool="conflict", extra_regions=["xx-west-9"]))
    backend.save(tmp_path / "state.json")
    restored = ChimeEmulator.load(tmp_path / "state.json")
    assert restored.switches == backend.switches


def test_the_command_line_sets_switches() -> None:
    import argparse

    from local.chime_emulator import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments("chime", parser)
    args = parser.parse_args(
        [
            "--switch",
            "delete_deleting_pool=conflict",
            "--switch",
            "extra_regions=xx-west-9,yy-east-8",
            "--switch",
            "extra_api_regions=eu-west-1",
            "--switch",
            "unserved_region=drop",
            "--switch",
            "retention_above_maximum=fail",
            "--switch",
            "delete_stream_of_active_pool=allow",
        ]
    )
    backend = cli.build_backend(args)
    assert backend.switches.delete_deleting_pool == "conflict"
    assert backend.switches.extra_regions == ["xx-west-9", "yy-east-8"]
    assert backend.switches.extra_api_regions == ["eu-west-1"]
    assert backend.serves_pool_api("eu-west-1") and not backend.serves_pool_api("eu-west-3")
    assert (
        backend.switches.unserved_region,
        backend.switches.retention_above_maximum,
        backend.switches.delete_stream_of_active_pool,
    ) == ("drop", "fail", "allow")
    with pytest.raises(SystemExit, match="must be one of"):
        cli.build_backend(parser.parse_args(["--switch", "pool_id_identifier=yes"]))
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        cli.build_backend(parser.parse_args(["--switch", "pool_id_identifier"]))
