"""IAM enforced by the emulator: real boto3 clients signed with a role session's keys, over loopback.

The store (local/iam_store.py) holds a role as the CloudFormation driver would register it; the
emulator authorizes each request of that role's session against the role's policies and answers a
denied one with the service's own error shape: chime-sdk-media-pipelines ForbiddenException (403),
kinesisvideo AccessDeniedException, iam AccessDenied in its XML query error.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.chime_emulator import ChimeEmulator, EmulatorServer
from local.chime_emulator.model import POOL_SERVICE_LINKED_ROLE, POOL_SERVICE_PRINCIPAL, RequestRecord
from local.cli import print_api_calls
from local.iam_store import Credentials, IamStore
from local.lambda_runtime import FunctionConfig, LocalLambda

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/S/1"
ROLE_NAME = "S-HandlerRole-ABC"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
SESSION = "S-HandlerFunction-XYZ"
POOLS = f"arn:aws:chime:{REGION}:{ACCOUNT}:media-pipeline-kinesis-video-stream-pool/*"
SLR_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{POOL_SERVICE_PRINCIPAL}/{POOL_SERVICE_LINKED_ROLE}"
CREATE = "chime:CreateMediaPipelineKinesisVideoStreamPool"


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def put_role(store: IamStore, *statements: dict[str, Any], managed: list[str] | None = None) -> None:
    properties: dict[str, Any] = {
        "Policies": [{"PolicyName": "Inline", "PolicyDocument": document(*statements)}]
    }
    if managed:
        properties["ManagedPolicyArns"] = managed
    store.put_resource(STACK, "Role", "AWS::IAM::Role", ROLE_NAME, properties, {"Arn": ROLE_ARN})


class Emulated:
    def __init__(self, backend: ChimeEmulator, store: IamStore, endpoint: str) -> None:
        self.backend = backend
        self.store = store
        self.endpoint = endpoint
        self.credentials = store.credentials_for(ROLE_ARN, SESSION)

    def client(self, service: str, credentials: Credentials | None = None) -> Any:
        keys = credentials or self.credentials
        session: Any = boto3.session.Session()
        return session.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            aws_session_token=keys.session_token,
            config=Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 1}),
        )


@pytest.fixture
def emulated() -> Iterator[Emulated]:
    backend = ChimeEmulator(account_id=ACCOUNT)
    store = IamStore(ACCOUNT)
    with EmulatorServer(backend, iam=store) as server:
        yield Emulated(backend, store, server.endpoint_url)


def denied(call: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value


def test_chime_call_outside_the_policy_is_forbidden_in_the_services_shape(emulated: Emulated) -> None:
    put_role(
        emulated.store,
        {"Effect": "Allow", "Action": "chime:GetMediaPipelineKinesisVideoStreamPool", "Resource": POOLS},
    )
    chime = emulated.client("chime-sdk-media-pipelines")
    error = denied(
        chime.create_media_pipeline_kinesis_video_stream_pool,
        PoolName="alpha",
        StreamConfiguration={"Region": REGION},
    )
    assert error.response["Error"]["Code"] == "ForbiddenException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    pool_arn = POOLS.replace("*", "alpha")
    assert error.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE_NAME}/{SESSION} is not authorized to perform: "
        f"{CREATE} on resource: {pool_arn} because no identity-based policy allows the {CREATE} action"
    )
    assert emulated.backend.leftover_pools() == []  # the model never saw the request
    # The allowed action on a name (not an ARN) is authorized on the pool's ARN and reaches the model.
    missing = denied(chime.get_media_pipeline_kinesis_video_stream_pool, Identifier="alpha")
    assert missing.response["Error"]["Code"] == "NotFoundException"


def test_the_policy_in_force_is_read_at_each_request(emulated: Emulated) -> None:
    chime = emulated.client("chime-sdk-media-pipelines")
    allow_create = {"Effect": "Allow", "Action": "chime:Create*", "Resource": POOLS}
    put_role(emulated.store, allow_create)
    chime.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="alpha", StreamConfiguration={"Region": REGION}
    )
    emulated.store.put_resource(
        STACK,
        "Guard",
        "AWS::IAM::Policy",
        "Guard",
        {
            "PolicyName": "Guard",
            "Roles": [ROLE_NAME],
            "PolicyDocument": document({"Effect": "Deny", "Action": "chime:*", "Resource": "*"}),
        },
        {},
    )
    error = denied(
        chime.create_media_pipeline_kinesis_video_stream_pool,
        PoolName="beta",
        StreamConfiguration={"Region": REGION},
    )
    assert error.response["Error"]["Message"].endswith("with an explicit deny in an identity-based policy")
    emulated.store.remove_resource(STACK, "Guard")
    chime.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="beta", StreamConfiguration={"Region": REGION}
    )
    emulated.store.remove_resource(STACK, "Role")  # the role is gone: its sessions can do nothing
    assert (
        denied(chime.list_media_pipeline_kinesis_video_stream_pools).response["Error"]["Code"]
        == "ForbiddenException"
    )


def test_kinesis_video_denial_is_access_denied(emulated: Emulated) -> None:
    put_role(emulated.store, {"Effect": "Allow", "Action": "kinesisvideo:ListStreams", "Resource": "*"})
    emulated.backend.add_stream("ChimeMediaPipelines-p-1")
    kvs = emulated.client("kinesisvideo")
    assert [s["StreamName"] for s in kvs.list_streams()["StreamInfoList"]] == ["ChimeMediaPipelines-p-1"]
    error = denied(kvs.delete_stream, StreamARN=kvs.list_streams()["StreamInfoList"][0]["StreamARN"])
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    # Kinesis Video Streams' model gives AccessDeniedException HTTP 401, not 403.
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert (
        "kinesisvideo:DeleteStream on resource: arn:aws:kinesisvideo:us-east-1:"
        in error.response["Error"]["Message"]
    )
    assert emulated.backend.stream_names() == ["ChimeMediaPipelines-p-1"]


def test_kinesis_video_list_needs_star_and_delete_is_scoped_to_the_stream_arn(emulated: Emulated) -> None:
    pool_streams = f"arn:aws:kinesisvideo:*:{ACCOUNT}:stream/ChimeMediaPipelines-*/*"
    put_role(
        emulated.store,
        {"Effect": "Allow", "Action": "kinesisvideo:ListStreams", "Resource": pool_streams},
        {"Effect": "Allow", "Action": "kinesisvideo:DeleteStream", "Resource": pool_streams},
    )
    emulated.backend.add_stream("ChimeMediaPipelines-p-1")
    emulated.backend.add_stream("other-app")
    kvs = emulated.client("kinesisvideo")
    assert (
        denied(kvs.list_streams).response["Error"]["Code"] == "AccessDeniedException"
    )  # ListStreams: "*" only
    arns = {
        s["StreamName"]: s["StreamARN"] for s in emulated.backend.list_streams(REGION, {})["StreamInfoList"]
    }
    kvs.delete_stream(StreamARN=arns["ChimeMediaPipelines-p-1"])
    assert (
        denied(kvs.delete_stream, StreamARN=arns["other-app"]).response["Error"]["Code"]
        == "AccessDeniedException"
    )
    assert emulated.backend.stream_names() == ["other-app"]


def test_service_linked_role_creation_is_authorized_with_its_condition(emulated: Emulated) -> None:
    condition = {"StringEquals": {"iam:AWSServiceName": POOL_SERVICE_PRINCIPAL}}
    put_role(
        emulated.store,
        {
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": SLR_ARN,
            "Condition": condition,
        },
    )
    iam = emulated.client("iam")
    error = denied(iam.create_service_linked_role, AWSServiceName="lambda.amazonaws.com")
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "iam:CreateServiceLinkedRole" in error.response["Error"]["Message"]
    assert emulated.backend.role_names() == []
    iam.create_service_linked_role(AWSServiceName=POOL_SERVICE_PRINCIPAL)
    assert emulated.backend.role_names() == [POOL_SERVICE_LINKED_ROLE]
    # The same statement without the role's own ARN grants nothing.
    put_role(
        emulated.store,
        {
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/other",
            "Condition": condition,
        },
    )
    error = denied(iam.create_service_linked_role, AWSServiceName=POOL_SERVICE_PRINCIPAL)
    assert f"on resource: {SLR_ARN} because" in error.response["Error"]["Message"]


def test_unknown_credentials_stay_unrestricted_unless_configured(emulated: Emulated) -> None:
    put_role(emulated.store)
    dummy = Credentials("testing", "testing", "")
    chime = emulated.client("chime-sdk-media-pipelines", dummy)
    chime.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="alpha", StreamConfiguration={"Region": REGION}
    )
    emulated.store.unknown_principals = "deny"
    error = denied(chime.list_media_pipeline_kinesis_video_stream_pools)
    assert error.response["Error"]["Code"] == "ForbiddenException"
    assert error.response["Error"]["Message"] == "The security token included in the request is invalid."


def test_policies_attached_in_every_supported_form(emulated: Emulated) -> None:
    """Inline, AWS::IAM::Policy (Roles), AWS::IAM::RolePolicy, AWS::IAM::ManagedPolicy by Roles and
    by the role's ManagedPolicyArns: each grants; an unknown AWS managed policy grants nothing."""
    store = emulated.store
    managed_arn = f"arn:aws:iam::{ACCOUNT}:policy/Managed"
    put_role(
        store,
        {"Effect": "Allow", "Action": "chime:Get*", "Resource": POOLS},
        managed=[managed_arn, "arn:aws:iam::aws:policy/AdministratorAccess"],
    )
    grants: dict[str, tuple[str, str, dict[str, Any]]] = {
        "chime:List*": ("AWS::IAM::Policy", "P", {"PolicyName": "P", "Roles": [ROLE_NAME]}),
        "chime:Create*": ("AWS::IAM::RolePolicy", "RP", {"PolicyName": "RP", "RoleName": ROLE_NAME}),
        "chime:Tag*": ("AWS::IAM::ManagedPolicy", managed_arn, {}),
        "chime:Untag*": (
            "AWS::IAM::ManagedPolicy",
            f"arn:aws:iam::{ACCOUNT}:policy/ByRoles",
            {"Roles": [ROLE_NAME]},
        ),
    }
    for index, (action, (resource_type, physical_id, properties)) in enumerate(grants.items()):
        statement = {"Effect": "Allow", "Action": action, "Resource": "*"}
        store.put_resource(
            STACK,
            f"G{index}",
            resource_type,
            physical_id,
            {**properties, "PolicyDocument": document(statement)},
            {},
        )
    chime = emulated.client("chime-sdk-media-pipelines")
    chime.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="alpha", StreamConfiguration={"Region": REGION}
    )
    arn = POOLS.replace("*", "alpha")
    chime.list_media_pipeline_kinesis_video_stream_pools()
    chime.get_media_pipeline_kinesis_video_stream_pool(Identifier=arn)
    chime.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v"}])
    chime.untag_resource(ResourceARN=arn, TagKeys=["k"])
    # AdministratorAccess is not known offline: nothing grants UpdateMediaPipelineKinesisVideoStreamPool.
    error = denied(
        chime.update_media_pipeline_kinesis_video_stream_pool,
        Identifier=arn,
        StreamConfiguration={"DataRetentionInHours": 2},
    )
    assert error.response["Error"]["Code"] == "ForbiddenException"


def test_the_cli_names_the_calls_iam_denied() -> None:
    out = io.StringIO()
    records = [
        RequestRecord("GetMediaPipelineKinesisVideoStreamPool", {}, 200, None, 0.0, REGION),
        RequestRecord(
            "CreateMediaPipelineKinesisVideoStreamPool", {}, 403, "ForbiddenException", 0.0, REGION
        ),
        RequestRecord("DeleteStream", {}, 401, "AccessDeniedException", 0.0, REGION, service="kinesisvideo"),
        RequestRecord(
            "DeleteStream", {}, 404, "ResourceNotFoundException", 0.0, REGION, service="kinesisvideo"
        ),
    ]
    print_api_calls(records, out)
    lines = out.getvalue().strip().splitlines()
    assert lines[-1] == (
        "Denied (not allowed by the caller's IAM policies): "
        "CreateMediaPipelineKinesisVideoStreamPool x1, DeleteStream x1"
    )


def test_each_role_session_gets_its_own_stable_credentials_in_the_function_environment(tmp_path: Any) -> None:
    store = IamStore(ACCOUNT)
    first = store.credentials_for(ROLE_ARN, SESSION)
    assert first == store.credentials_for(ROLE_ARN, SESSION)  # stable: a restarted function keeps its keys
    other_function = store.credentials_for(ROLE_ARN, "OtherFunction")
    other_role = store.credentials_for(f"arn:aws:iam::{ACCOUNT}:role/Other", SESSION)
    assert len({first.access_key_id, other_function.access_key_id, other_role.access_key_id}) == 3
    assert first.access_key_id.startswith("ASIA") and len(first.access_key_id) == 20
    principal = store.principal(first.access_key_id)
    assert (
        principal is not None
        and principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE_NAME}/{SESSION}"
    )
    config = FunctionConfig(
        SESSION, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{SESSION}", "h", tmp_path, credentials=first
    )
    with LocalLambda(config) as function:
        environment = function.process_environment()
    assert (
        environment["AWS_ACCESS_KEY_ID"],
        environment["AWS_SECRET_ACCESS_KEY"],
        environment["AWS_SESSION_TOKEN"],
    ) == (
        first.access_key_id,
        first.secret_access_key,
        first.session_token,
    )
    assert store.principal("ASIALOCALEXAMPLE0000") is None  # the runtime's placeholder keys: no role


def test_a_role_with_aws_managed_policies_is_reported_when_deployed(caplog: pytest.LogCaptureFixture) -> None:
    store = IamStore(ACCOUNT)
    with caplog.at_level("WARNING", logger="local.iam_store"):
        put_role(store, managed=["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"])
    assert "AWSLambdaBasicExecutionRole" in caplog.text and "not known offline" in caplog.text


def test_a_role_no_stack_deployed_here_is_an_unknown_caller(emulated: Emulated) -> None:
    """An imported role's policies are not known offline: its sessions are treated as unknown callers,
    unlike a role that was deployed here and then deleted, which may do nothing."""
    imported = emulated.store.credentials_for(f"arn:aws:iam::{ACCOUNT}:role/Imported", SESSION)
    chime = emulated.client("chime-sdk-media-pipelines", imported)
    chime.list_media_pipeline_kinesis_video_stream_pools()
    emulated.store.unknown_principals = "deny"
    assert denied(chime.list_media_pipeline_kinesis_video_stream_pools).response["Error"]["Message"] == (
        "The security token included in the request is invalid."
    )
