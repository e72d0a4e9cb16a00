"""What IAM is asked about each emulated request (local/iam_actions.py): action, resource, context."""

from __future__ import annotations

from local.chime_emulator import service_model as sm
from local.iam_actions import Lookups, authorization_request

ACCOUNT = "123456789012"
POOL_ARN = f"arn:aws:chime:eu-west-1:{ACCOUNT}:media-pipeline-kinesis-video-stream-pool/alpha"
STREAM_ARN = f"arn:aws:kinesisvideo:eu-west-1:{ACCOUNT}:stream/ChimeMediaPipelines-alpha-1/1700000000000"


def test_the_action_prefix_is_each_services_signing_name_from_its_model() -> None:
    assert [service.signing_name for service in sm.SERVICES] == ["chime", "kinesisvideo", "iam"]
    request = authorization_request(
        sm.CHIME.signing_name,
        "DeleteMediaPipelineKinesisVideoStreamPool",
        {"Identifier": POOL_ARN},
        "eu-west-1",
        ACCOUNT,
    )
    assert request.action == "chime:DeleteMediaPipelineKinesisVideoStreamPool"


def test_a_pool_named_by_name_is_authorized_on_its_arn_in_the_signed_region() -> None:
    by_name = authorization_request(
        "chime", "GetMediaPipelineKinesisVideoStreamPool", {"Identifier": "alpha"}, "eu-west-1", ACCOUNT
    )
    by_arn = authorization_request(
        "chime", "GetMediaPipelineKinesisVideoStreamPool", {"Identifier": POOL_ARN}, "eu-west-1", ACCOUNT
    )
    create = authorization_request(
        "chime", "CreateMediaPipelineKinesisVideoStreamPool", {"PoolName": "alpha"}, "eu-west-1", ACCOUNT
    )
    assert by_name.resource == by_arn.resource == create.resource == POOL_ARN
    assert by_name.context["aws:requestedregion"] == ["eu-west-1"]
    listing = authorization_request(
        "chime", "ListMediaPipelineKinesisVideoStreamPools", {}, "eu-west-1", ACCOUNT
    )
    assert listing.resource == "*"


def test_tags_in_a_request_become_condition_keys() -> None:
    create = authorization_request(
        "chime",
        "CreateMediaPipelineKinesisVideoStreamPool",
        {"PoolName": "alpha", "Tags": [{"Key": "Team", "Value": "media"}, {"Key": "env", "Value": "dev"}]},
        "eu-west-1",
        ACCOUNT,
    )
    assert create.context["aws:requesttag/team"] == ["media"]
    assert create.context["aws:tagkeys"] == ["Team", "env"]
    untag = authorization_request(
        "chime", "UntagResource", {"ResourceARN": POOL_ARN, "TagKeys": ["env"]}, "eu-west-1", ACCOUNT
    )
    assert untag.resource == POOL_ARN and untag.context["aws:tagkeys"] == ["env"]


def test_streams_are_authorized_on_their_arn_and_listing_on_star() -> None:
    lookups = Lookups(
        stream_arn=lambda region, name: STREAM_ARN if name == "ChimeMediaPipelines-alpha-1" else None
    )
    by_name = authorization_request(
        "kinesisvideo",
        "DescribeStream",
        {"StreamName": "ChimeMediaPipelines-alpha-1"},
        "eu-west-1",
        ACCOUNT,
        lookups,
    )
    assert by_name.resource == STREAM_ARN
    unknown = authorization_request(
        "kinesisvideo", "DescribeStream", {"StreamName": "gone"}, "eu-west-1", ACCOUNT, lookups
    )
    assert unknown.resource == f"arn:aws:kinesisvideo:eu-west-1:{ACCOUNT}:stream/gone/*"
    assert (
        authorization_request(
            "kinesisvideo", "DeleteStream", {"StreamARN": STREAM_ARN}, "eu-west-1", ACCOUNT
        ).resource
        == STREAM_ARN
    )
    assert authorization_request("kinesisvideo", "ListStreams", {}, "eu-west-1", ACCOUNT).resource == "*"


def test_service_linked_role_creation_names_the_role_and_the_service() -> None:
    service = "mediapipelines.chime.amazonaws.com"
    request = authorization_request(
        "iam", "CreateServiceLinkedRole", {"AWSServiceName": service}, "us-east-1", ACCOUNT
    )
    assert request.resource == (
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/AWSServiceRoleForAmazonChimeSDKMediaPipelines"
    )
    assert request.context["iam:awsservicename"] == [service]
    lookups = Lookups(role_arn=lambda name: f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/{name}")
    get_role = authorization_request("iam", "GetRole", {"RoleName": "R"}, "us-east-1", ACCOUNT, lookups)
    assert get_role.resource == f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{service}/R"
