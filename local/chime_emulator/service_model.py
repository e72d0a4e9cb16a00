"""botocore's own service models, used for routing, parsing, validation and serialisation.

Nothing here is copied from an API reference: the operations' HTTP methods and URIs, the input
members' locations, and every length, range and pattern come from the service models that ship
with botocore, so the emulator cannot drift from the clients that talk to it.

``ServiceApi`` is one emulated service (its botocore name and the operations served). The emulator
serves three: ``chime-sdk-media-pipelines`` (the pool API, ``CHIME``), ``kinesisvideo`` (the pools'
streams, ``KINESIS_VIDEO``) and ``iam`` (the service-linked role, ``IAM``). The module-level functions
kept from the first version answer for ``CHIME``.
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
from xml.sax.saxutils import escape

import botocore.loaders
import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import NoShapeFoundError, OperationModel, ServiceModel, Shape, StructureShape

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
# What the handler needs of Kinesis Video Streams: find a pool's streams and delete them.
STREAM_OPERATIONS: tuple[str, ...] = ("ListStreams", "DescribeStream", "DeleteStream")
# What the handler needs of IAM: make sure the pools' service-linked role exists.
ROLE_OPERATIONS: tuple[str, ...] = ("CreateServiceLinkedRole", "GetRole")
# An operation named so only reads: anything else changes state.
READ_ONLY_PREFIXES: tuple[str, ...] = ("Get", "List", "Describe")
# The pool operations that change a pool or its tags: what invalid input must never reach.
MUTATING_POOL_OPERATIONS: frozenset[str] = frozenset(
    operation for operation in POOL_OPERATIONS if not operation.startswith(READ_ONLY_PREFIXES)
)

# Errors some services return without modelling them (IAM's AccessDenied is not in its model).
_UNMODELED_ERROR_STATUS = {
    "AccessDenied": 403,
    "AccessDeniedException": 403,
    # The front door's answers to a request without a signature or with a bad credential scope.
    "MissingAuthenticationTokenException": 403,
    "MissingAuthenticationToken": 403,
    "InvalidSignatureException": 403,
    "SignatureDoesNotMatch": 403,
}

# Smithy's ``integer`` and ``long`` are signed 32- and 64-bit on the wire, whatever min/max say.
_INTEGER_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}

# How much of a bad value an error message quotes.
_QUOTE_MAX = 60


@functools.cache
def _load_model(name: str) -> ServiceModel:
    """A service model as botocore loads it for a client (cached: loading parses a large file)."""
    try:
        return botocore.session.get_session().get_service_model(name)
    except UnknownServiceError as error:  # pragma: no cover - botocore always ships these three
        raise RuntimeError(f"botocore has no model for {name}") from error


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


@dataclass(frozen=True)
class ServiceApi:
    """One emulated service: its botocore model and the operations the emulator serves of it."""

    name: str
    operations: tuple[str, ...]

    @property
    def model(self) -> ServiceModel:
        return _load_model(self.name)

    @property
    def protocol(self) -> str:
        return str(self.model.metadata["protocol"])

    @property
    def signing_name(self) -> str:
        """The service name in a SigV4 credential scope, which is how the server tells services apart."""
        metadata = self.model.metadata
        return str(metadata.get("signingName") or metadata["endpointPrefix"])

    def operation_model(self, name: str) -> OperationModel:
        return self.model.operation_model(name)

    def error_status(self, code: str) -> int:
        """The HTTP status the model assigns to an error shape (e.g. 409 for ``ConflictException``).

        A code this service does not model (an injected fault borrows the pool API's throttling or
        failure codes) gets the pool API's status for it, else 400.
        """
        for model in (self.model, _load_model(SERVICE_NAME)):
            try:
                shape = model.shape_for(code)
            except NoShapeFoundError:
                continue
            return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
        return _UNMODELED_ERROR_STATUS.get(code, 400)

    def error_wire_code(self, code: str) -> str:
        """The code a query-protocol error carries: the shape's ``error.code`` (``InvalidInput``)."""
        try:
            shape = self.model.shape_for(code)
        except NoShapeFoundError:
            return code.removesuffix("Exception")
        return str(shape.metadata.get("error", {}).get("code", code.removesuffix("Exception")))

    def routes(self) -> tuple[Route, ...]:
        return _routes(self)

    def find_route(
        self, method: str, path: str, query: Mapping[str, list[str]]
    ) -> tuple[Route, dict[str, str]] | None:
        raw_segments = split_path(path)
        for route in self.routes():
            labels = route.match(method, raw_segments, query)
            if labels is not None:
                return route, labels
        return None


CHIME = ServiceApi(SERVICE_NAME, POOL_OPERATIONS)
KINESIS_VIDEO = ServiceApi("kinesisvideo", STREAM_OPERATIONS)
IAM = ServiceApi("iam", ROLE_OPERATIONS)
SERVICES: tuple[ServiceApi, ...] = (CHIME, KINESIS_VIDEO, IAM)


def service_for_signing_name(signing_name: str | None) -> ServiceApi:
    """The service a request is signed for; the pool API when unsigned or unknown (as before)."""
    for service in SERVICES:
        if service.signing_name == signing_name:
            return service
    return CHIME


def service_model() -> ServiceModel:
    """The pool API's model."""
    return CHIME.model


def operation_model(name: str) -> OperationModel:
    return CHIME.operation_model(name)


def error_status(code: str) -> int:
    return CHIME.error_status(code)


def error_code_value(code: str) -> str | None:
    """The ``Code`` member the service puts in an error body: ``ErrorCode``'s enum, when it has one."""
    enum = service_model().shape_for("ErrorCode").metadata.get("enum", [])
    candidate = code.removesuffix("Exception")
    if candidate == "ThrottledClient":
        candidate = "Throttling"
    return candidate if candidate in enum else None


def _route_for(service: ServiceApi, name: str) -> Route:
    http = service.operation_model(name).http
    path, _, literal = http["requestUri"].partition("?")
    pairs: list[tuple[str, str]] = []
    for item in filter(None, literal.split("&")):
        key, _, value = item.partition("=")
        pairs.append((key, value))
    segments = tuple(path.strip("/").split("/")) if path.strip("/") else ()
    return Route(name, http["method"], segments, tuple(pairs))


@functools.cache
def _routes(service: ServiceApi) -> tuple[Route, ...]:
    """Every served operation's route, the most specific (most literal query keys) first."""
    built = [_route_for(service, name) for name in service.operations]
    return tuple(sorted(built, key=lambda route: -len(route.literal_query)))


def routes() -> tuple[Route, ...]:
    return CHIME.routes()


def split_path(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def find_route(method: str, path: str, query: Mapping[str, list[str]]) -> tuple[Route, dict[str, str]] | None:
    return CHIME.find_route(method, path, query)


@functools.cache
def _partition_regions() -> dict[str, str]:
    """Region code -> partition (``aws``, ``aws-cn``, ...), from botocore's partition and endpoint
    data: the Regions the pinned botocore knows. The ``aws-global``-style pseudo Regions are left out
    (they are endpoints, not Regions a pool or a stream can live in)."""
    loader = botocore.loaders.create_loader()
    found: dict[str, str] = {}
    for partition in loader.load_data("partitions")["partitions"]:
        for region in partition["regions"]:
            found[region] = partition["id"]
    for partition in loader.load_data("endpoints")["partitions"]:
        for region in partition["regions"]:
            found.setdefault(region, partition["partition"])
    return {region: partition for region, partition in found.items() if not region.endswith("-global")}


def known_regions() -> frozenset[str]:
    """Every Region code in botocore's partition data."""
    return frozenset(_partition_regions())


@functools.cache
def pool_api_regions() -> frozenset[str]:
    """The Regions where botocore's endpoint data lists the pool API (``get_available_regions`` of
    every partition): ten of the ``aws`` partition at the pin, none in ``aws-cn`` or ``aws-us-gov``.
    A real client in another Region resolves a host name that does not exist."""
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions(CHIME.name, partition_name=partition)
    )


def partition_of(region: str) -> str:
    """The ARN partition of a Region (``aws`` for one botocore does not know: a future Region)."""
    return _partition_regions().get(region, "aws")


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
        # The service matches a pattern against the whole value (``^[0-9a-zA-Z._-]+`` refuses
        # "bad name!", whatever the pattern's own anchors say), so ``re.fullmatch``. ASCII: ECMA-262's
        # ``\d`` and ``\S`` are ASCII classes, Python's would be Unicode ones.
        if pattern is not None and not re.fullmatch(pattern, value, re.ASCII):
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


# ----- the query protocol (IAM): form-encoded input, XML output -----


def parse_query_input(operation: OperationModel, form: Mapping[str, list[str]]) -> dict[str, Any]:
    """The input members of a query-protocol request (``Action=...&Member=value`` form fields).

    Scalars and lists of scalars (``Name.member.N``): all that the served IAM operations take.
    """
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        wire_name = member.serialization.get("name", name)
        if member.type_name == "list":
            prefix = f"{wire_name}.member."
            indexed = sorted(
                (int(key[len(prefix) :]), values[0])
                for key, values in form.items()
                if key.startswith(prefix) and key[len(prefix) :].isdigit()
            )
            if indexed:
                params[name] = [_from_text(member.member, name, value) for _, value in indexed]  # type: ignore[attr-defined]
        elif wire_name in form:
            params[name] = _from_text(member, name, form[wire_name][0])
    return params


def serialize_query_response(
    service: ServiceApi, operation: OperationModel, output: Mapping[str, Any], request_id: str
) -> bytes:
    """A query-protocol success body: ``<OpResponse><OpResult>...</OpResult><ResponseMetadata>``."""
    shape = operation.output_shape
    wrapper = shape.serialization.get("resultWrapper", f"{operation.name}Result") if shape else None
    result = _xml_members(shape, output) if shape is not None else ""
    namespace = service.model.metadata.get("xmlNamespace", "")
    body = (
        f'<{operation.name}Response xmlns="{escape(str(namespace))}">'
        + (f"<{wrapper}>{result}</{wrapper}>" if wrapper else "")
        + f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        + f"</{operation.name}Response>"
    )
    return body.encode()


def serialize_query_error(service: ServiceApi, code: str, message: str, request_id: str) -> bytes:
    """A query-protocol error body, from which botocore reads the code and message."""
    status = service.error_status(code)
    fault = "Sender" if status < 500 else "Receiver"
    return (
        "<ErrorResponse><Error>"
        f"<Type>{fault}</Type><Code>{escape(service.error_wire_code(code))}</Code>"
        f"<Message>{escape(message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


def _xml_members(shape: Shape, value: Mapping[str, Any]) -> str:
    parts = []
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        if value.get(name) is not None:
            tag = member.serialization.get("name", name)
            parts.append(f"<{tag}>{_xml_value(member, value[name])}</{tag}>")
    return "".join(parts)


def _xml_value(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "structure":
        return _xml_members(shape, value)
    if kind == "list":
        member = shape.member  # type: ignore[attr-defined]
        return "".join(f"<member>{_xml_value(member, item)}</member>" for item in value)
    if kind == "timestamp":
        return escape(str(_timestamp(value, shape.serialization.get("timestampFormat") or "iso8601")))
    if kind == "boolean":
        return "true" if value else "false"
    return escape(str(value))
