"""Every pool operation through the real boto3 client over loopback HTTP: results and state rules."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.chime_emulator import ChimeEmulator

REGION = "us-east-1"  # the fixture's client region

WAIT_LIMIT = 10.0  # seconds: a bound on polling, never an assertion about speed


def create(client: Any, name: str, region: str = "us-west-2", **extra: Any) -> dict[str, Any]:
    response = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName=name, StreamConfiguration={"Region": region, **extra.pop("stream", {})}, **extra
    )
    configuration: dict[str, Any] = response["KinesisVideoStreamPoolConfiguration"]
    return configuration


def get(client: Any, identifier: str) -> dict[str, Any]:
    response = client.get_media_pipeline_kinesis_video_stream_pool(Identifier=identifier)
    configuration: dict[str, Any] = response["KinesisVideoStreamPoolConfiguration"]
    return configuration


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


@pytest.fixture
def slow_emulator(chime_emulator: Any) -> tuple[Any, Any]:
    """An emulator whose status changes take a moment, so intermediate states can be observed."""
    backend = chime_emulator.backend
    backend.create_delay = backend.update_delay = backend.delete_delay = 0.3
    return backend, chime_emulator.client


def test_create_returns_creating_pool_with_realistic_identity(chime_emulator: Any) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    pool = create(chime_emulator.client, "my-pool_1.a", stream={"DataRetentionInHours": 24})

    assert pool["PoolArn"] == (
        f"arn:aws:chime:{REGION}:{chime_emulator.backend.account_id}:"
        "media-pipeline-kinesis-video-stream-pool/my-pool_1.a"
    )
    assert pool["PoolName"] == "my-pool_1.a"
    assert re.fullmatch(r"[0-9a-zA-Z._-]+", pool["PoolId"])
    assert pool["PoolStatus"] == "CREATING"
    assert pool["PoolSize"] == 0
    assert pool["StreamConfiguration"] == {"Region": "us-west-2", "DataRetentionInHours": 24}
    # botocore parsed the wire timestamps back into aware datetimes.
    assert isinstance(pool["CreatedTimestamp"], datetime)
    assert before <= pool["CreatedTimestamp"] <= datetime.now(UTC) + timedelta(seconds=1)
    assert pool["UpdatedTimestamp"] >= pool["CreatedTimestamp"]


def test_each_pool_gets_its_own_id(chime_emulator: Any) -> None:
    first = create(chime_emulator.client, "a")
    second = create(chime_emulator.client, "b")
    assert first["PoolId"] != second["PoolId"]


def test_retention_defaults_when_omitted(chime_emulator: Any) -> None:
    pool = create(chime_emulator.client, "no-retention")
    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 0


def test_get_by_name_and_by_arn_after_zero_delay_is_active(chime_emulator: Any) -> None:
    created = create(chime_emulator.client, "lookup")
    by_name = get(chime_emulator.client, "lookup")
    by_arn = get(chime_emulator.client, created["PoolArn"])
    assert by_name == by_arn
    assert by_name["PoolStatus"] == "ACTIVE"
    assert by_name["PoolId"] == created["PoolId"]


def test_get_unknown_pool_is_not_found(chime_emulator: Any) -> None:
    client = chime_emulator.client
    with pytest.raises(client.exceptions.NotFoundException) as raised:
        get(client, "nobody")
    assert "nobody" in raised.value.response["Error"]["Message"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_name_is_unique_per_region(chime_emulator: Any) -> None:
    client = chime_emulator.client
    create(client, "taken")
    with pytest.raises(client.exceptions.ConflictException) as raised:
        create(client, "taken", region="eu-west-1")
    assert "taken" in raised.value.response["Error"]["Message"]
    other_region = chime_emulator.client_for("eu-central-1")
    elsewhere = create(other_region, "taken")
    assert elsewhere["PoolArn"].startswith("arn:aws:chime:eu-central-1:")
    assert len(chime_emulator.backend.leftover_pools()) == 2


def test_pools_are_seen_only_from_their_region(chime_emulator: Any) -> None:
    create(chime_emulator.client, "regional")
    other_region = chime_emulator.client_for("eu-central-1")
    with pytest.raises(other_region.exceptions.NotFoundException):
        get(other_region, "regional")
    listed = other_region.list_media_pipeline_kinesis_video_stream_pools()
    assert listed["KinesisVideoStreamPools"] == []


def test_same_token_same_request_returns_the_same_pool(chime_emulator: Any) -> None:
    client = chime_emulator.client
    first = create(client, "idem", ClientRequestToken="token-1", Tags=[{"Key": "k", "Value": "v"}])
    again = create(client, "idem", ClientRequestToken="token-1", Tags=[{"Key": "k", "Value": "v"}])
    assert again["PoolArn"] == first["PoolArn"]
    assert again["PoolId"] == first["PoolId"]
    assert again["PoolStatus"] == "ACTIVE"  # the current state, not a replay of the first answer
    assert len(chime_emulator.backend.leftover_pools()) == 1


def test_same_token_different_request_is_a_conflict(chime_emulator: Any) -> None:
    client = chime_emulator.client
    create(client, "idem", ClientRequestToken="token-2")
    with pytest.raises(client.exceptions.ConflictException) as raised:
        create(client, "other-name", ClientRequestToken="token-2")
    assert "ClientRequestToken" in raised.value.response["Error"]["Message"]
    assert [p["PoolName"] for p in chime_emulator.backend.leftover_pools()] == ["idem"]


def test_token_of_a_deleted_pool_starts_afresh(chime_emulator: Any) -> None:
    client = chime_emulator.client
    first = create(client, "again", ClientRequestToken="token-3")
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="again")
    second = create(client, "again", ClientRequestToken="token-3")
    assert second["PoolStatus"] == "CREATING"
    assert second["PoolId"] != first["PoolId"]


def test_different_tokens_same_name_conflict(chime_emulator: Any) -> None:
    client = chime_emulator.client
    create(client, "twice", ClientRequestToken="token-a")
    with pytest.raises(client.exceptions.ConflictException):
        create(client, "twice", ClientRequestToken="token-b")


def test_update_changes_retention_through_updating(slow_emulator: Any) -> None:
    _, client = slow_emulator
    created = create(client, "upd", stream={"DataRetentionInHours": 1})
    wait_until(lambda: get(client, "upd")["PoolStatus"] == "ACTIVE", "ACTIVE after create")
    response = client.update_media_pipeline_kinesis_video_stream_pool(
        Identifier=created["PoolArn"], StreamConfiguration={"DataRetentionInHours": 48}
    )
    updated = response["KinesisVideoStreamPoolConfiguration"]
    assert updated["PoolStatus"] == "UPDATING"
    assert updated["StreamConfiguration"]["DataRetentionInHours"] == 48
    assert updated["UpdatedTimestamp"] > created["UpdatedTimestamp"]
    assert updated["CreatedTimestamp"] == created["CreatedTimestamp"]
    with pytest.raises(client.exceptions.ConflictException):
        client.update_media_pipeline_kinesis_video_stream_pool(
            Identifier="upd", StreamConfiguration={"DataRetentionInHours": 2}
        )
    wait_until(lambda: get(client, "upd")["PoolStatus"] == "ACTIVE", "ACTIVE after update")
    assert get(client, "upd")["StreamConfiguration"] == {"Region": "us-west-2", "DataRetentionInHours": 48}


def test_status_goes_creating_then_active(slow_emulator: Any) -> None:
    _, client = slow_emulator
    assert create(client, "slow")["PoolStatus"] == "CREATING"
    assert get(client, "slow")["PoolStatus"] == "CREATING"
    seen: list[str] = []

    def left_creating() -> bool:
        seen.append(get(client, "slow")["PoolStatus"])
        return seen[-1] != "CREATING"

    wait_until(left_creating, "the pool to leave CREATING")
    assert seen[-1] == "ACTIVE"


def test_no_update_or_delete_while_creating(slow_emulator: Any) -> None:
    _, client = slow_emulator
    create(client, "busy")
    with pytest.raises(client.exceptions.ConflictException) as raised:
        client.update_media_pipeline_kinesis_video_stream_pool(
            Identifier="busy", StreamConfiguration={"DataRetentionInHours": 2}
        )
    assert "CREATING" in raised.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.ConflictException):
        client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="busy")


def test_delete_goes_deleting_then_gone(slow_emulator: Any) -> None:
    backend, client = slow_emulator
    create(client, "doomed")
    wait_until(lambda: get(client, "doomed")["PoolStatus"] == "ACTIVE", "ACTIVE")
    response = client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="doomed")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert get(client, "doomed")["PoolStatus"] == "DELETING"
    # A second Delete while DELETING is accepted and changes nothing.
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="doomed")
    with pytest.raises(client.exceptions.ConflictException):
        client.update_media_pipeline_kinesis_video_stream_pool(
            Identifier="doomed", StreamConfiguration={"DataRetentionInHours": 2}
        )

    def gone() -> bool:
        try:
            get(client, "doomed")
        except client.exceptions.NotFoundException:
            return True
        return False

    wait_until(gone, "the pool to disappear")
    assert backend.leftover_pools() == []
    with pytest.raises(client.exceptions.NotFoundException):
        client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="doomed")


def test_held_deletion_waits_for_release(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    arn = create(client, "in-use")["PoolArn"]
    backend.hold_deletion("in-use")
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier=arn)
    assert get(client, arn)["PoolStatus"] == "DELETING"
    assert get(client, arn)["PoolStatus"] == "DELETING"  # still, however often it is read
    assert [p["PoolStatus"] for p in backend.leftover_pools()] == ["DELETING"]
    backend.release_deletion("in-use")
    with pytest.raises(client.exceptions.NotFoundException):
        get(client, arn)


def test_hold_by_arn(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    arn = create(client, "held-by-arn")["PoolArn"]
    backend.hold_deletion(arn)
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="held-by-arn")
    assert get(client, "held-by-arn")["PoolStatus"] == "DELETING"
    backend.release_deletion(arn)
    assert backend.leftover_pools() == []


def test_pool_configured_to_fail_ends_failed(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.fail_pool_on_create("broken", reason="no streams for you")
    assert create(client, "broken")["PoolStatus"] == "CREATING"
    assert get(client, "broken")["PoolStatus"] == "FAILED"
    assert backend.failure_reason("broken") == "no streams for you"
    with pytest.raises(client.exceptions.ConflictException):
        client.update_media_pipeline_kinesis_video_stream_pool(
            Identifier="broken", StreamConfiguration={"DataRetentionInHours": 2}
        )
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="broken")
    assert backend.leftover_pools() == []
    # Only the next pool of that name fails.
    create(client, "broken")
    assert get(client, "broken")["PoolStatus"] == "ACTIVE"


def test_pool_quota_per_region(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    backend.pool_quota_per_region = 2
    create(client, "q1")
    create(client, "q2")
    with pytest.raises(client.exceptions.ResourceLimitExceededException) as raised:
        create(client, "q3")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    other_region = chime_emulator.client_for("eu-central-1")
    create(other_region, "q3")  # the quota is per region
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="q1")
    create(client, "q3")


def test_list_pagination_visits_every_pool_once(chime_emulator: Any) -> None:
    client = chime_emulator.client
    names = [f"pool-{index:02d}" for index in range(7)]
    for name in names:
        create(client, name)
    seen: list[str] = []
    pages = 0
    kwargs: dict[str, Any] = {"MaxResults": 3}
    while True:
        page = client.list_media_pipeline_kinesis_video_stream_pools(**kwargs)
        pages += 1
        assert len(page["KinesisVideoStreamPools"]) <= 3
        for summary in page["KinesisVideoStreamPools"]:
            assert set(summary) == {"PoolName", "PoolId", "PoolArn"}
            seen.append(summary["PoolName"])
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == names
    assert pages == 3


def test_list_without_max_results_returns_one_page(chime_emulator: Any) -> None:
    client = chime_emulator.client
    for index in range(5):
        create(client, f"p{index}")
    whole = client.list_media_pipeline_kinesis_video_stream_pools()
    assert [s["PoolName"] for s in whole["KinesisVideoStreamPools"]] == [f"p{index}" for index in range(5)]
    assert "NextToken" not in whole


def test_pagination_survives_deletion_between_pages(chime_emulator: Any) -> None:
    client = chime_emulator.client
    for index in range(4):
        create(client, f"d{index}")
    first = client.list_media_pipeline_kinesis_video_stream_pools(MaxResults=2)
    client.delete_media_pipeline_kinesis_video_stream_pool(Identifier="d0")
    rest = client.list_media_pipeline_kinesis_video_stream_pools(MaxResults=2, NextToken=first["NextToken"])
    assert [s["PoolName"] for s in rest["KinesisVideoStreamPools"]] == ["d2", "d3"]


def test_a_forged_next_token_is_bad_request(chime_emulator: Any) -> None:
    """A token shaped like the ones it once minted (base64 JSON of a position) was never issued."""
    client = chime_emulator.client
    create(client, "real")
    forged = base64.urlsafe_b64encode(json.dumps({"after": -5}).encode()).decode()
    with pytest.raises(client.exceptions.BadRequestException):
        client.list_media_pipeline_kinesis_video_stream_pools(NextToken=forged)


def test_a_next_token_of_another_region_is_bad_request(chime_emulator: Any) -> None:
    home, away = chime_emulator.client_for("us-east-1"), chime_emulator.client_for("us-west-2")
    for index in range(3):
        create(home, f"h{index}")
        create(away, f"a{index}")
    token = home.list_media_pipeline_kinesis_video_stream_pools(MaxResults=1)["NextToken"]
    with pytest.raises(away.exceptions.BadRequestException):
        away.list_media_pipeline_kinesis_video_stream_pools(MaxResults=1, NextToken=token)
    rest = home.list_media_pipeline_kinesis_video_stream_pools(NextToken=token)
    assert [s["PoolName"] for s in rest["KinesisVideoStreamPools"]] == ["h1", "h2"]


def test_next_tokens_survive_save_and_load(chime_emulator: Any, tmp_path: Any) -> None:
    client = chime_emulator.client
    for index in range(3):
        create(client, f"s{index}")
    token = client.list_media_pipeline_kinesis_video_stream_pools(MaxResults=1)["NextToken"]
    chime_emulator.backend.save(tmp_path / "state.json")
    loaded = ChimeEmulator.load(tmp_path / "state.json")
    rest = loaded.list_pools(REGION, {"NextToken": token})
    assert [s["PoolName"] for s in rest["KinesisVideoStreamPools"]] == ["s1", "s2"]


def test_invalid_next_token_is_bad_request(chime_emulator: Any) -> None:
    client = chime_emulator.client
    with pytest.raises(client.exceptions.BadRequestException) as raised:
        client.list_media_pipeline_kinesis_video_stream_pools(NextToken="not-a-token")
    assert "NextToken" in raised.value.response["Error"]["Message"]


def test_tags_on_create_tag_untag_and_list(chime_emulator: Any) -> None:
    client = chime_emulator.client
    arn = create(client, "tagged", Tags=[{"Key": "team", "Value": "media"}, {"Key": "env", "Value": ""}])[
        "PoolArn"
    ]
    tags = client.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "media", "env": ""}
    client.tag_resource(
        ResourceARN=arn, Tags=[{"Key": "team", "Value": "video"}, {"Key": "cost", "Value": "1"}]
    )
    client.untag_resource(ResourceARN=arn, TagKeys=["env", "never-set"])
    tags = client.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "video", "cost": "1"}


def test_tag_operations_on_unknown_arn_are_not_found(chime_emulator: Any) -> None:
    client = chime_emulator.client
    arn = chime_emulator.backend.pool_arn(REGION, "ghost")
    with pytest.raises(client.exceptions.NotFoundException):
        client.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v"}])
    with pytest.raises(client.exceptions.NotFoundException):
        client.untag_resource(ResourceARN=arn, TagKeys=["k"])
    with pytest.raises(client.exceptions.NotFoundException):
        client.list_tags_for_resource(ResourceARN=arn)


def test_reserved_and_duplicate_tag_keys_are_refused(chime_emulator: Any) -> None:
    client = chime_emulator.client
    with pytest.raises(client.exceptions.BadRequestException) as raised:
        create(client, "aws-tag", Tags=[{"Key": "AWS:owner", "Value": "x"}])
    assert "reserved" in raised.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.BadRequestException):
        create(client, "dup-tag", Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}])
    assert chime_emulator.backend.leftover_pools() == []
    arn = create(client, "ok")["PoolArn"]
    with pytest.raises(client.exceptions.BadRequestException):
        client.tag_resource(ResourceARN=arn, Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "s"}])
    with pytest.raises(client.exceptions.BadRequestException):
        client.untag_resource(ResourceARN=arn, TagKeys=["aws:cloudformation:stack-name"])


def test_tag_limit_counts_existing_tags(chime_emulator: Any) -> None:
    client = chime_emulator.client
    arn = create(client, "full", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(150)])["PoolArn"]
    with pytest.raises(client.exceptions.BadRequestException) as raised:
        client.tag_resource(ResourceARN=arn, Tags=[{"Key": f"n{i}", "Value": "v"} for i in range(51)])
    assert "200" in raised.value.response["Error"]["Message"]
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": f"n{i}", "Value": "v"} for i in range(50)])
    assert len(client.list_tags_for_resource(ResourceARN=arn)["Tags"]) == 200


def test_request_log_counts_calls(chime_emulator: Any) -> None:
    client, backend = chime_emulator.client, chime_emulator.backend
    create(client, "logged", ClientRequestToken="tok-log")
    get(client, "logged")
    with pytest.raises(client.exceptions.NotFoundException):
        get(client, "missing")
    creates = backend.calls("CreateMediaPipelineKinesisVideoStreamPool")
    assert len(creates) == 1
    assert creates[0].params["PoolName"] == "logged"
    assert creates[0].params["ClientRequestToken"] == "tok-log"
    assert creates[0].status == 201 and creates[0].error is None and creates[0].region == REGION
    gets = backend.calls("GetMediaPipelineKinesisVideoStreamPool")
    assert [(g.status, g.error) for g in gets] == [(200, None), (404, "NotFoundException")]
    assert len(backend.calls(succeeded=False)) == 1
    assert [entry.operation for entry in backend.request_log] == [
        "CreateMediaPipelineKinesisVideoStreamPool",
        "GetMediaPipelineKinesisVideoStreamPool",
        "GetMediaPipelineKinesisVideoStreamPool",
    ]
    assert all(isinstance(entry.time, float) for entry in backend.request_log)


def test_environment_variable_reaches_the_emulator(chime_emulator: Any) -> None:
    import boto3

    client = boto3.client("chime-sdk-media-pipelines")  # endpoint, region and keys from the fixture's env
    client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="via-env", StreamConfiguration={"Region": "us-east-1"}
    )
    assert [p["PoolName"] for p in chime_emulator.backend.leftover_pools()] == ["via-env"]
