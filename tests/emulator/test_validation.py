"""Every member constraint of the pool operations' inputs, read from botocore's model, is enforced.

For each constraint the test builds a request that is valid except for that one member, sends it
with botocore's own client-side validation switched off (so the server, not the client, must
catch it), and expects ``BadRequestException`` naming the member. Nothing about the constraints is
written here: they all come from the service model.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.model import Shape

from local.chime_emulator.service_model import POOL_OPERATIONS

MODEL = botocore.session.get_session().get_service_model("chime-sdk-media-pipelines")

# Candidate text from which a valid, or a pattern-violating, value is picked for a string shape.
VALID_TEXT = (
    "pool-1",
    "us-east-1",
    "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/pool-1",
    "token-1",
)
# The first ones break a pattern only past their first character: a start-anchored match accepts them.
INVALID_TEXT = ("a b", "pool-1!", "us-east-1x", "!", " ", "\t", "us-east", "-")
INT32_MAX = 2**31 - 1


def matches(shape: Shape, text: str) -> bool:
    pattern = shape.metadata.get("pattern")
    # The service matches the pattern against the whole value.
    return pattern is None or re.fullmatch(str(pattern), text, re.ASCII) is not None


def fits(shape: Shape, text: str) -> bool:
    low: int = shape.metadata.get("min", 0)
    high: int = shape.metadata.get("max", len(text))
    return low <= len(text) <= high


def valid_value(shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return {name: valid_value(shape.members[name]) for name in shape.required_members}  # type: ignore[attr-defined]
    if kind == "list":
        return [valid_value(shape.member)] * max(1, shape.metadata.get("min", 0))  # type: ignore[attr-defined]
    if kind in ("integer", "long"):
        return max(shape.metadata.get("min", 1), 1)
    if kind == "string":
        for text in VALID_TEXT:
            if fits(shape, text) and matches(shape, text):
                return text
        raise AssertionError(f"no valid sample text for {shape.name}")
    raise AssertionError(f"unexpected shape type {kind}")


@dataclass
class Case:
    operation: str
    path: tuple[str | int, ...]
    value: Any  # the violating value; REMOVE means the member is left out
    expected: str  # a phrase the error message must contain

    @property
    def display(self) -> str:
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text

    def __str__(self) -> str:
        return f"{self.operation}:{self.display}:{self.expected[:40]}"


REMOVE = object()


def cases_for(
    operation: str, shape: Shape, path: tuple[str | int, ...], location: str | None
) -> Iterator[Case]:
    kind = shape.type_name
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if kind == "structure":
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            member_location = member.serialization.get("location")
            if name in shape.required_members and member_location != "uri":
                # A URI label cannot be left out of a path; it is checked through its own constraints.
                yield Case(operation, (*path, name), REMOVE, "Member must not be null")
            yield from cases_for(operation, member, (*path, name), member_location)
    elif kind == "list":
        sample = valid_value(shape.member)  # type: ignore[attr-defined]
        if low is not None and low > 0:
            yield Case(operation, path, [sample] * (low - 1), f"length greater than or equal to {low}")
        if high is not None:
            yield Case(operation, path, [sample] * (high + 1), f"length less than or equal to {high}")
        yield from cases_for(operation, shape.member, (*path, 0), None)  # type: ignore[attr-defined]
    elif kind == "string":
        base = valid_value(shape)
        if low is not None and low > 0:
            yield Case(operation, path, base[: low - 1], f"length greater than or equal to {low}")
        if high is not None:
            yield Case(
                operation, path, base + "a" * (high + 1 - len(base)), f"length less than or equal to {high}"
            )
        pattern = shape.metadata.get("pattern")
        if pattern is not None:
            bad = [t for t in INVALID_TEXT if fits(shape, t) and not matches(shape, t)]
            if bad:
                yield Case(operation, path, bad[0], "regular expression pattern")
            else:
                # A pattern no candidate breaks must accept every string: it matches the empty one.
                assert re.fullmatch(pattern, "") is not None, f"no violating sample for {pattern}"
        if location is None:
            yield Case(operation, path, 12345, "expected a string")
    elif kind in ("integer", "long"):
        if low is not None:
            yield Case(operation, path, low - 1, f"greater than or equal to {low}")
        top = high if high is not None else INT32_MAX
        yield Case(operation, path, top + 1, f"less than or equal to {top}")
        yield Case(operation, path, "12" if location is None else "twelve", "integer")


def all_cases() -> list[Case]:
    found: list[Case] = []
    for name in POOL_OPERATIONS:
        shape = MODEL.operation_model(name).input_shape
        assert shape is not None
        found.extend(cases_for(name, shape, (), None))
    return found


CASES = all_cases()


def input_shape(operation: str) -> Any:
    shape = MODEL.operation_model(operation).input_shape
    assert shape is not None
    return shape


def build_request(case: Case) -> dict[str, Any]:
    shape = input_shape(case.operation)
    request: Any = valid_value(shape)
    node: Any = request
    node_shape: Any = shape
    for index, part in enumerate(case.path):
        last = index == len(case.path) - 1
        child_shape = node_shape.member if isinstance(part, int) else node_shape.members[part]
        if last:
            if case.value is REMOVE:
                del node[part]
            else:
                node[part] = copy.deepcopy(case.value)
        else:
            if isinstance(part, str) and part not in node:
                node[part] = valid_value(child_shape)
            node, node_shape = node[part], child_shape
    return dict(request)


def python_name(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def test_the_walk_covers_every_kind_of_constraint() -> None:
    phrases = {case.expected.split(" ")[0] for case in CASES}
    operations = {case.operation for case in CASES}
    assert operations == set(POOL_OPERATIONS)
    assert {"Member", "length", "regular", "expected", "greater", "less", "integer"} <= phrases
    assert len(CASES) > 40


@pytest.mark.parametrize("case", CASES, ids=str)
def test_constraint_is_enforced_by_the_server(chime_emulator: Any, case: Case) -> None:
    client = chime_emulator.client_for(parameter_validation=False)
    request = build_request(case)
    with pytest.raises(client.exceptions.BadRequestException) as raised:
        getattr(client, python_name(case.operation))(**request)
    message = raised.value.response["Error"]["Message"]
    assert case.expected in message
    assert case.display in message
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert chime_emulator.backend.leftover_pools() == []
    [entry] = chime_emulator.backend.request_log
    assert (entry.operation, entry.status, entry.error) == (case.operation, 400, "BadRequestException")


@pytest.mark.parametrize("operation", POOL_OPERATIONS)
def test_valid_baseline_passes_validation(chime_emulator: Any, operation: str) -> None:
    """The control: the same requests without the violation are not BadRequest."""
    client = chime_emulator.client_for(parameter_validation=False)
    request = valid_value(input_shape(operation))
    with contextlib.suppress(client.exceptions.NotFoundException):  # valid, for a pool that is not there
        getattr(client, python_name(operation))(**request)


def test_sensitive_values_are_not_echoed(chime_emulator: Any) -> None:
    client = chime_emulator.client_for(parameter_validation=False)
    with pytest.raises(client.exceptions.BadRequestException) as raised:
        client.create_media_pipeline_kinesis_video_stream_pool(
            PoolName="p", StreamConfiguration={"Region": "us-east-1"}, ClientRequestToken="s" * 65
        )
    assert "ClientRequestToken" in raised.value.response["Error"]["Message"]
    assert "sss" not in raised.value.response["Error"]["Message"]


def test_all_violations_are_reported_at_once(chime_emulator: Any) -> None:
    client = chime_emulator.client_for(parameter_validation=False)
    with pytest.raises(client.exceptions.BadRequestException) as raised:
        client.create_media_pipeline_kinesis_video_stream_pool(
            PoolName="!bad", StreamConfiguration={"Region": "nowhere", "DataRetentionInHours": -1}
        )
    message = raised.value.response["Error"]["Message"]
    assert message.startswith("3 validation error")
    for member in ("PoolName", "StreamConfiguration.Region", "StreamConfiguration.DataRetentionInHours"):
        assert member in message


def raw_request(
    endpoint_url: str, method: str, path: str, body: bytes = b"", signed: bool = True
) -> tuple[int, dict[str, str], bytes]:
    """One request without botocore, for what a client would never send."""
    url = urlsplit(endpoint_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/chime/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_malformed_json_body_is_bad_request(chime_emulator: Any) -> None:
    status, headers, body = raw_request(
        chime_emulator.endpoint_url, "POST", "/media-pipeline-kinesis-video-stream-pools", b"{not json"
    )
    assert status == 400
    assert headers["x-amzn-errortype"] == "BadRequestException"
    assert json.loads(body)["Code"] == "BadRequest"
    assert "JSON" in json.loads(body)["Message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/media-pipeline-kinesis-video-stream-pools"), ("GET", "/sdk-media-capture-pipelines")],
    ids=["a-route", "no-route"],
)
def test_unsigned_request_gets_the_front_doors_answer(chime_emulator: Any, method: str, path: str) -> None:
    """What an AWS REST-JSON endpoint answers a request with no signature, route or not."""
    status, headers, body = raw_request(chime_emulator.endpoint_url, method, path, signed=False)
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    assert json.loads(body) == {"message": "Missing Authentication Token"}
    assert chime_emulator.backend.leftover_pools() == []


def test_unknown_route_is_unknown_operation(chime_emulator: Any) -> None:
    status, headers, _ = raw_request(chime_emulator.endpoint_url, "GET", "/sdk-media-capture-pipelines")
    assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")
    assert chime_emulator.backend.request_log[-1].operation == "UnknownOperation"


def test_denied_access_key_is_forbidden(chime_emulator: Any) -> None:
    chime_emulator.backend.deny_access_key("testing")
    client = chime_emulator.client
    with pytest.raises(client.exceptions.ForbiddenException) as raised:
        client.list_media_pipeline_kinesis_video_stream_pools()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_arn_with_slash_routes_through_the_uri_label(chime_emulator: Any) -> None:
    client = chime_emulator.client
    created = client.create_media_pipeline_kinesis_video_stream_pool(
        PoolName="slashed", StreamConfiguration={"Region": "us-east-1"}
    )["KinesisVideoStreamPoolConfiguration"]
    # botocore percent-encodes the ARN's '/' in the label; the server must split before decoding.
    got = client.get_media_pipeline_kinesis_video_stream_pool(Identifier=created["PoolArn"])
    assert got["KinesisVideoStreamPoolConfiguration"]["PoolName"] == "slashed"
