"""CloudFormation's read of the native pool type, for resource imports played offline.

``cdk import`` of ``AWS::Chime::MediaPipelineKinesisVideoStreamPool`` asks for the type's primary
identifier, ``Arn`` (its registry schema: ``primaryIdentifier: /properties/Arn``), and CloudFormation
reads the pool through the type's read handler (GetMediaPipelineKinesisVideoStreamPool) before it
records it. Here that read is a real boto3 call to the emulator. The native type's create, update
and delete handlers are not played: the driver keeps such a resource as a record only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local.cloudformation import ImportedResource, ImportReader, OperationFailed

NATIVE_POOL_TYPE = "AWS::Chime::MediaPipelineKinesisVideoStreamPool"
NATIVE_POOL_IDENTIFIER = "Arn"
# The Arn property's pattern in the type's registry schema (as cfn-lint ships it): CloudFormation
# checks an import's identifier against it before any read.
NATIVE_POOL_ARN_PATTERN = re.compile(r"arn[/:\-_.a-zA-Z0-9]+")


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def identifier_problem(identifier: Mapping[str, str]) -> str | None:
    """Why CloudFormation would refuse ``identifier`` for the native pool type, or None."""
    arn = identifier.get(NATIVE_POOL_IDENTIFIER, "")
    if NATIVE_POOL_ARN_PATTERN.fullmatch(arn) is None:
        return (
            f"the {NATIVE_POOL_IDENTIFIER} {arn!r} does not match the type schema's pattern "
            f"^{NATIVE_POOL_ARN_PATTERN.pattern}$ (a pool's name is not its identifier)"
        )
    return None


def native_pool_reader(endpoint_url: str, region: str) -> ImportReader:
    """A reader for imports of the native pool type, calling the pool API at ``endpoint_url`` in the
    stack's ``region`` (where CloudFormation runs the type's read handler)."""

    def read(resource_type: str, identifier: Mapping[str, str]) -> ImportedResource | None:
        if resource_type != NATIVE_POOL_TYPE:
            raise OperationFailed(
                f"importing {resource_type} is not played offline (only {NATIVE_POOL_TYPE})"
            )
        arn = identifier.get(NATIVE_POOL_IDENTIFIER)
        if not arn or set(identifier) != {NATIVE_POOL_IDENTIFIER}:
            raise OperationFailed(
                f"the identifier of {NATIVE_POOL_TYPE} is its {NATIVE_POOL_IDENTIFIER} alone; "
                f"got {dict(identifier)}"
            )
        problem = identifier_problem(identifier)
        if problem is not None:
            raise OperationFailed(problem)
        client = boto3.session.Session().client(
            "chime-sdk-media-pipelines",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id="cloudformation",
            aws_secret_access_key="cloudformation",
            config=Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 2}),
        )
        try:
            response = client.get_media_pipeline_kinesis_video_stream_pool(Identifier=arn)
        except client.exceptions.NotFoundException:
            return None
        except ClientError as error:  # CloudFormation's read was refused: the import fails
            code = error.response.get("Error", {}).get("Code", "error")
            raise OperationFailed(f"reading {arn} for the import failed: {code}") from error
        pool = response["KinesisVideoStreamPoolConfiguration"]
        attributes = {
            "Arn": pool["PoolArn"],
            "PoolId": pool["PoolId"],
            "PoolStatus": pool["PoolStatus"],
            "CreatedTimestamp": _text(pool["CreatedTimestamp"]),
            "UpdatedTimestamp": _text(pool["UpdatedTimestamp"]),
        }
        return ImportedResource(pool["PoolArn"], attributes)

    return read
