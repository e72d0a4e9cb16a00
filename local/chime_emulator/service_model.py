"""botocore's own ``chime-sdk-media-pipelines`` model, used for routing, parsing and validation.

Nothing here is copied from the API reference: the operations' HTTP methods and URIs, the input
members' locations, and every length, range and pattern come from the service model that ships
with botocore, so the emulator cannot drift from the client that talks to it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

SERVICE_NAME = "chime-sdk-media-pipelines"

# The pool operations this emulator serves; the model's other operations (media pipelines,
# capture, concatenation, ...) are out of scope and answered as unknown.
POOL_OPERATIONS: tuple[str, ...] = (
    "CreateMediaPipelineKinesisVideoStreamPool",
    "GetMediaPipelineKinesisVideoStreamPool",
    "UpdateMediaPipelineKinesisVideoStreamPool",
    "DeleteMediaPipelineKinesisVideoStreamPool",
    "ListMediaPipelineKinesisVideoStreamPools",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
)

# Smithy's ``integer`` and ``long`` are signed 32- and 64-bit on the wire, whatever min/max say.
_INTEGER_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}

# How much of a bad value an error message quotes.
_QUOTE_MAX = 60


@functools.cache
def service_model() -> ServiceModel:
    """The service model as botocore loads it for a client (cached: loading parses a large file)."""
    return botocore.session.get_session().get_service_model(SERVICE_NAME)


def operation_model(name: str) -> OperationModel:
    return service_model().operation_model(name)


def error_status(code: str) -> int:
    """The HTTP status the model assigns to an error shape (e.g. 409 for ``ConflictException``)."""
    shape = service_model().shape_for(code)
    return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))


def error_code_value(code: str) -> str | None:
    """The ``Code`` member the service puts in an error body: ``ErrorCode``'s enum, when it has one."""
    enum = service_model().shape_for("ErrorCode").metadata.get("enum", [])
    candidate = code.removesuffix("Exception")
    if candidate == "ThrottledClient":
        candidate = "Throttling"
    return candidate if candidate in enum else None


@dataclass(frozen=True)
class Route:
    """One operation's HTTP binding: method, path segments (literal or ``{label}``), literal query."""

    operation: str
    method: str
    segments: tuple[str, ...]
    literal_query: tuple[tuple[str, str], ...]

    def match(
        self, method: str, raw_segments: list[str], query: Mapping[str, list[str]]
    ) -> dict[str, str] | None:
        """The URI labels (percent-decoded) if this route serves the request, else None."""
        if method != self.method or len(raw_segments) != len(self.segments):
            return None
        labels: dict[str, str] = {}
        for template, raw in zip(self.segments, raw_segments, strict=True):
            if template.startswith("{") and template.endswith("}"):
                # Labels are split on the raw path first: an ARN label arrives with '/' encoded.
                labels[template[1:-1].rstrip("+")] = unquote(raw)
            elif template != unquote(raw):
                return None
        for key, value in self.literal_query:
            if value not in query.get(key, []):
                return None
        return labels


def _route_for(name: str) -> Route:
    http = operation_model(name).http
    path, _, literal = http["requestUri"].partition("?")
    pairs: list[tuple[str, str]] = []
    for item in filter(None, literal.split("&")):
        key, _, value = item.partition("=")
        pairs.append((key, value))
    segments = tuple(path.strip("/").split("/")) if path.strip("/") else ()
    return Route(name, http["method"], segments, tuple(pairs))


@functools.cache
def routes() -> tuple[Route, ...]:
    """Every pool operation's route, the most specific (most literal query keys) first."""
    built = [_route_for(name) for name in POOL_OPERATIONS]
    return tuple(sorted(built, key=lambda route: -len(route.literal_query)))


def split_path(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def find_route(method: str, path: str, query: Mapping[str, list[str]]) -> tuple[Route, dict[str, str]] | None:
    raw_segments = split_path(path)
    for route in routes():
        labels = route.match(method, raw_segments, query)
        if labels is not None:
            return route, labels
    return None


class RequestParseError(ValueError):
    """A request whose members cannot even be read (bad JSON, a non-numeric integer in a query)."""


def parse_input(
    operation: OperationModel,
    labels: Mapping[str, str],
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: bytes,
) -> dict[str, Any]:
    """The operation's input members, each read from where the model says it travels."""
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    body_members = [m for m in shape.members.values() if m.serialization.get("location") is None]
    if body_members and body.strip():
        try:
            decoded = json.loads(body)
        except ValueError as error:
            raise RequestParseError(f"The request body is not valid JSON: {error}") from None
        if not isinstance(decoded, dict):
            raise RequestParseError("The request body must be a JSON object")
        payload = decoded
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in labels:
                params[name] = labels[wire_name]
        elif location == "querystring":
            values = query.get(wire_name)
            if values:
                params[name] = _from_text(member, name, values if member.type_name == "list" else values[0])
        elif location == "header":
            header = _header(headers, wire_name)
            if header is not None:
                params[name] = _from_text(member, name, header)
        elif name in payload:
            params[name] = payload[name]
    return params


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _from_text(shape: Shape, name: str, text: Any) -> Any:
    """A query or header value (always text on the wire) converted to the member's type."""
    if shape.type_name in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise RequestParseError(f"{name} must be an integer; got {_quote(text)}") from None
    if shape.type_name == "boolean":
        if text not in ("true", "false"):
            raise RequestParseError(f"{name} must be true or false; got {_quote(text)}")
        return text == "true"
    return text


def validate(shape: Shape, value: Any) -> list[str]:
    """Every constraint ``value`` breaks, each as one message naming the member's path.

    Unlike botocore's client-side ``ParamValidator`` this also checks patterns, maximums and the
    wire width of integers, which is what the service itself enforces.
    """
    return list(_violations(shape, value, shape.name, top=True))


def _violations(shape: Shape, value: Any, path: str, top: bool = False) -> Iterator[str]:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            yield f"{path}: expected an object; got {_describe(shape, value)}"
            return
        for required in shape.required_members:
            if value.get(required) is None:
                yield f"{_join(path, required, top)}: Member must not be null"
        for name, member in shape.members.items():
            if value.get(name) is not None:
                yield from _violations(member, value[name], _join(path, name, top))
    elif kind == "list":
        if not isinstance(value, list):
            yield f"{path}: expected a list; got {_describe(shape, value)}"
            return
        yield from _length_violations(shape, len(value), path, "length")
        member = shape.member  # type: ignore[attr-defined]
        for index, item in enumerate(value):
            if item is None:
                yield f"{path}[{index}]: Member must not be null"
            else:
                yield from _violations(member, item, f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            yield f"{path}: expected an object; got {_describe(shape, value)}"
            return
        yield from _length_violations(shape, len(value), path, "size")
        for key, item in value.items():
            yield from _violations(shape.key, key, f"{path}.key")  # type: ignore[attr-defined]
            yield from _violations(shape.value, item, f"{path}[{key!r}]")  # type: ignore[attr-defined]
    elif kind == "string":
        if not isinstance(value, str):
            yield f"{path}: expected a string; got {_describe(shape, value)}"
            return
        yield from _length_violations(shape, len(value), path, "length")
        pattern = shape.metadata.get("pattern")
        # Smithy patterns are ECMA-262 regular expressions and are not implicitly anchored: a value
        # conforms when the pattern matches somewhere in it (``re.search``). The model's anchors are
        # applied exactly as written, e.g. ``^[0-9a-zA-Z._-]+`` only constrains the first character.
        # ASCII: ECMA's ``\d`` and ``\S`` are ASCII classes, Python's would be Unicode ones.
        if pattern is not None and not re.search(pattern, value, re.ASCII):
            yield f"{path}: {_quote_value(shape, value)} must satisfy regular expression pattern: {pattern}"
        allowed = shape.metadata.get("enum")
        if allowed and value not in allowed:
            yield f"{path}: {_quote_value(shape, value)} must be one of {list(allowed)}"
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            yield f"{path}: expected an integer; got {_describe(shape, value)}"
            return
        low, high = _INTEGER_BOUNDS[kind]
        low = max(low, shape.metadata.get("min", low))
        high = min(high, shape.metadata.get("max", high))
        if value < low:
            yield f"{path}: Member must have value greater than or equal to {low}; got {value}"
        elif value > high:
            yield f"{path}: Member must have value less than or equal to {high}; got {value}"
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            yield f"{path}: expected a number; got {_describe(shape, value)}"
    elif kind == "boolean" and not isinstance(value, bool):
        yield f"{path}: expected true or false; got {_describe(shape, value)}"


def _length_violations(shape: Shape, length: int, path: str, what: str) -> Iterator[str]:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and length < low:
        yield f"{path}: Member must have {what} greater than or equal to {low}; got {length}"
    if high is not None and length > high:
        yield f"{path}: Member must have {what} less than or equal to {high}; got {length}"


def _join(path: str, name: str, top: bool) -> str:
    return name if top else f"{path}.{name}"


def _quote(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 3] + "..."


def _quote_value(shape: Shape, value: object) -> str:
    """The value for an error message, unless the model marks it sensitive (tokens, some ARNs)."""
    return "Value" if shape.metadata.get("sensitive") else f"Value {_quote(value)}"


def _describe(shape: Shape, value: object) -> str:
    return (
        type(value).__name__ if shape.metadata.get("sensitive") else f"{type(value).__name__} {_quote(value)}"
    )


def serialize(shape: Shape | None, value: Any) -> Any:
    """A Python value rendered as the rest-json wire format for ``shape`` (timestamps per the model)."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {
            name: serialize(member, value[name])
            for name, member in shape.members.items()  # type: ignore[attr-defined]
            if value.get(name) is not None and member.serialization.get("location") is None
        }
    if kind == "list":
        return [serialize(shape.member, item) for item in value]  # type: ignore[attr-defined]
    if kind == "map":
        return {key: serialize(shape.value, item) for key, item in value.items()}  # type: ignore[attr-defined]
    if kind == "timestamp":
        return _timestamp(value, shape.serialization.get("timestampFormat") or "unixTimestamp")
    return value


def _timestamp(value: datetime, timestamp_format: str) -> Any:
    moment = value.astimezone(UTC)
    if timestamp_format == "iso8601":
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if timestamp_format == "rfc822":
        return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return moment.timestamp()
