"""The request CloudFormation sends a custom resource's provider, built in one place.

The offline CloudFormation driver, the benchmarks and the handler tests all send the same event:
a fresh RequestId, a presigned-style ResponseURL from the loopback ``ResponseServer`` that checks
the response against this request, the stack and resource it is about, and the resource's
properties as given (CloudFormation has already turned every scalar into a string).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from local.response_server import ResponseServer


def custom_resource_event(
    response_server: ResponseServer,
    request_type: str,
    properties: Mapping[str, Any],
    *,
    stack_id: str,
    logical_id: str,
    resource_type: str,
    physical_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    service_token: str | None = None,
) -> dict[str, Any]:
    """One request as CloudFormation sends it.

    ``ServiceToken`` defaults to the one in ``properties``, where CloudFormation takes it from.
    ``PhysicalResourceId`` goes with Update and Delete, ``OldResourceProperties`` with Update only:
    pass them when the request type carries them.
    """
    request_id = request_id or str(uuid.uuid4())
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token
        if service_token is not None
        else str(properties.get("ServiceToken", "")),
        "ResponseURL": response_server.url_for(request_id, stack_id=stack_id, logical_resource_id=logical_id),
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": dict(properties),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = dict(old_properties)
    return event
