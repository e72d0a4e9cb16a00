"""What IAM evaluates for each request the emulator serves: the action, the resource ARN, the context.

The action is ``<prefix>:<OperationName>``, where the prefix is the service's SigV4 signing name from
its botocore model (``chime`` for chime-sdk-media-pipelines, ``kinesisvideo``, ``iam``): for these
three services the IAM service prefix and the signing name are the same, and each API operation is
authorized by the action of the same name (Service Authorization Reference).

The resource is the ARN of what the request names, as the Service Authorization Reference lists it:
- pool API: the pool ARN (``Identifier``, which may be the name, ``PoolName`` or ``ResourceARN``);
  ``ListMediaPipelineKinesisVideoStreamPools`` names no pool: ``*``. That Create is authorized on
  the ARN of the pool it would create is an assumption (the construct's policy makes it too): if
  AWS required ``*`` for it, the emulator would not catch that;
- Kinesis Video Streams: ``DescribeStream``/``DeleteStream`` the stream ARN (a ``StreamName`` is
  looked up; an unknown name is authorized as ``.../stream/<name>/*``); ``ListStreams`` has no
  resource type: ``*``;
- IAM: ``CreateServiceLinkedRole`` the role it would create,
  ``arn:aws:iam::<account>:role/aws-service-role/<service>/<role name>``, with the condition key
  ``iam:AWSServiceName``; ``GetRole`` the role's ARN.

Context keys: ``aws:RequestedRegion``, and where the request carries tags ``aws:RequestTag/<key>``
and ``aws:TagKeys``; ``iam:AWSServiceName``. The principal's keys are added by ``local.iam_store``.
Not evaluated: dependent actions the service itself needs (the service-linked role does that work).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The service-linked roles this account knows the names of: service principal -> role name.
SERVICE_LINKED_ROLE_NAMES = {
    "mediapipelines.chime.amazonaws.com": "AWSServiceRoleForAmazonChimeSDKMediaPipelines",
}
_POOL_RESOURCE = "media-pipeline-kinesis-video-stream-pool"


@dataclass(frozen=True)
class AuthorizationRequest:
    """One request as IAM sees it."""

    action: str
    resource: str
    context: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Lookups:
    """How to find the ARNs of things a request names only by name (None: no such thing)."""

    stream_arn: Callable[[str, str], str | None] = lambda region, name: None
    role_arn: Callable[[str], str | None] = lambda name: None


def authorization_request(
    prefix: str,
    operation: str,
    params: Mapping[str, Any],
    region: str,
    account: str,
    lookups: Lookups | None = None,
) -> AuthorizationRequest:
    """The action, resource and context of one parsed request to an emulated service."""
    lookups = lookups or Lookups()
    context: dict[str, list[str]] = {"aws:requestedregion": [region]}
    resource = "*"
    if prefix == "chime":
        resource = _pool_resource(operation, params, region, account)
        tags = params.get("Tags")
        if isinstance(tags, list):
            for tag in tags:
                context[f"aws:requesttag/{tag['Key']}".lower()] = [str(tag["Value"])]
            context["aws:tagkeys"] = [str(tag["Key"]) for tag in tags]
        if isinstance(params.get("TagKeys"), list):
            context["aws:tagkeys"] = [str(key) for key in params["TagKeys"]]
    elif prefix == "kinesisvideo":
        if "StreamARN" in params:
            resource = str(params["StreamARN"])
        elif "StreamName" in params:
            name = str(params["StreamName"])
            resource = lookups.stream_arn(region, name) or (
                f"arn:aws:kinesisvideo:{region}:{account}:stream/{name}/*"
            )
    elif prefix == "iam":
        if "AWSServiceName" in params:
            service = str(params["AWSServiceName"])
            context["iam:awsservicename"] = [service]
            role_name = SERVICE_LINKED_ROLE_NAMES.get(service, "*")
            resource = f"arn:aws:iam::{account}:role/aws-service-role/{service}/{role_name}"
        elif "RoleName" in params:
            name = str(params["RoleName"])
            resource = lookups.role_arn(name) or f"arn:aws:iam::{account}:role/{name}"
    return AuthorizationRequest(f"{prefix}:{operation}", resource, context)


def _pool_resource(operation: str, params: Mapping[str, Any], region: str, account: str) -> str:
    named = params.get("ResourceARN") or params.get("Identifier") or params.get("PoolName")
    if not named:
        return "*"  # ListMediaPipelineKinesisVideoStreamPools: no resource
    text = str(named)
    if text.startswith("arn:"):
        return text
    return f"arn:aws:chime:{region}:{account}:{_POOL_RESOURCE}/{text}"
