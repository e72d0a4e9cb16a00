"""The emulator's HTTP front end: the service's REST-JSON protocol on loopback, plus an admin API.

Routing, parsing and output serialisation follow botocore's service model (``service_model.py``);
the state and rules live in ``model.py``. Requests pass through, in order: routing, authentication
(an unsigned request, or one signed for a Region botocore does not know, is refused at the door; the
signature itself is not checked), unknown operations, parsing, denied keys, authorization (with an
``IamStore``: a role session's request against the role's policies, see docs/emulator.md), the API
rate limits when switched on (``rate_limits.py``), fault injection, validation, then the model.
Every request is logged, faulted and invalid ones included.

Admin endpoints (JSON, for a separate process such as the CLI emulator; see docs/emulator.md):
``GET /_emulator/pools``, ``GET|DELETE /_emulator/requests``, ``GET|POST|DELETE /_emulator/faults``,
``POST /_emulator/hold``, ``POST /_emulator/release``, ``POST /_emulator/fail-on-create``,
``GET|POST /_emulator/switches``, ``GET /_emulator/health``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.chime_emulator import service_model as sm
from local.chime_emulator.faults import Fault
from local.chime_emulator.model import ChimeEmulator, ChimeError, RequestRecord, Switches
from local.chime_emulator.rate_limits import THROTTLING_MESSAGE, RateLimiter
from local.iam_actions import Lookups, authorization_request
from local.iam_store import IamStore

LOG = logging.getLogger(__name__)

ADMIN_PREFIX = "/_emulator"
UNKNOWN_OPERATION = "UnknownOperation"
_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/")
# Each service's own name for a request it cannot read, and for a caller lacking permission.
_BAD_REQUEST = {
    sm.CHIME.name: "BadRequestException",
    sm.KINESIS_VIDEO.name: "InvalidArgumentException",
    sm.IAM.name: "InvalidInputException",
}
# What the front end of an AWS REST-JSON service answers before the service sees a request: no
# SigV4 signature at all, or a credential scoped to a Region that does not exist (HTTP 403 both).
MISSING_TOKEN = "MissingAuthenticationTokenException"
INVALID_SIGNATURE = "InvalidSignatureException"
_GATEWAY_ERRORS = frozenset({MISSING_TOKEN, INVALID_SIGNATURE})
# The request log's error for a pool API request dropped because its Region has no endpoint.
NO_ENDPOINT = "NoEndpointForRegion"
_FORBIDDEN = {
    sm.CHIME.name: "ForbiddenException",
    sm.KINESIS_VIDEO.name: "AccessDeniedException",
    sm.IAM.name: "AccessDenied",
}


class _EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        backend: ChimeEmulator,
        on_change: Callable[[], None] | None,
        stopping: threading.Event,
        rate_limiter: RateLimiter | None = None,
        iam: IamStore | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.backend = backend
        self.on_change = on_change
        self.stopping = stopping
        self.rate_limiter = rate_limiter
        self.iam = iam


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive, as botocore's connection pool expects; every response has a length.
    protocol_version = "HTTP/1.1"
    server: _EmulatorHTTPServer
    server_version = "ChimeEmulator"
    # The service of the request being served (set per request; the pool API until then).
    _service: sm.ServiceApi = sm.CHIME

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every call, which would distort the benchmarks.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s %s", self.address_string(), format % args)

    # ----- the service API -----

    def _dispatch(self) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if url.path == ADMIN_PREFIX or url.path.startswith(ADMIN_PREFIX + "/"):
            self._admin(url.path[len(ADMIN_PREFIX) :] or "/", body)
            return
        backend = self.server.backend
        access_key, region, signing_name = self._credential()
        # One port for three services: the SigV4 credential scope names the one a request is for.
        service = sm.service_for_signing_name(signing_name)
        self._service = service
        region = region or backend.default_region
        params: dict[str, Any] = {}
        operation_name: str | None
        form: dict[str, list[str]] = {}
        labels: dict[str, str] = {}
        if service.protocol == "query":
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            action = (form.get("Action") or [""])[0]
            operation_name = action if action in service.operations else None
        else:
            found = service.find_route(self.command, url.path, query)
            operation_name, labels = (found[0].operation, found[1]) if found is not None else (None, {})
        # Authentication comes first, as at the service's front door: before routing errors and
        # before the input is read.
        unauthenticated = self._authentication_error(access_key, region, signing_name)
        if unauthenticated is not None:
            self._reply_error(operation_name or UNKNOWN_OPERATION, params, region, unauthenticated)
            return
        if service is sm.CHIME and not backend.serves_pool_api(region):
            self._no_endpoint(operation_name or UNKNOWN_OPERATION, region)
            return
        assert access_key is not None  # an unsigned request was refused just above
        if operation_name is None:
            if service.protocol == "query":
                action = (form.get("Action") or [""])[0]
                message = f"No operation of this emulator serves {service.name} action {action!r}"
                self._log(UNKNOWN_OPERATION, {}, 400, "InvalidAction", region)
                self._send_error("InvalidAction", message, status=400)
            else:
                message = f"No operation of this emulator serves {self.command} {url.path}"
                self._log(UNKNOWN_OPERATION, {}, 404, "UnknownOperationException", region)
                self._send_error("UnknownOperationException", message, status=404)
            return
        operation = service.operation_model(operation_name)
        try:
            if service.protocol == "query":
                params = sm.parse_query_input(operation, form)
            else:
                params = sm.parse_input(operation, labels, query, dict(self.headers.items()), body)
        except sm.RequestParseError as error:
            self._reply_error(
                operation_name, params, region, ChimeError(_BAD_REQUEST[service.name], str(error))
            )
            return
        if backend.is_denied(access_key, operation_name):
            denied = ChimeError(
                _FORBIDDEN[service.name],
                f"The access key {access_key} is not allowed to call {operation_name}",
            )
            self._reply_error(operation_name, params, region, denied)
            return
        refusal = self._authorize(access_key, service, operation_name, params, region)
        if refusal is not None:
            self._reply_error(operation_name, params, region, ChimeError(_FORBIDDEN[service.name], refusal))
            return
        limiter = self.server.rate_limiter
        if limiter is not None and not limiter.allow(backend.account_id, region, operation_name):
            throttled = ChimeError(limiter.error_code(service.name), THROTTLING_MESSAGE)
            self._reply_error(operation_name, params, region, throttled)
            return
        fault = backend.faults.take(operation_name)
        if fault is not None and not self._apply_fault(operation_name, params, region, fault):
            return
        problems = sm.validate(operation.input_shape, params) if operation.input_shape is not None else []
        if problems:
            message = f"{len(problems)} validation error(s) detected: " + "; ".join(problems)
            self._reply_error(
                operation_name, params, region, ChimeError(_BAD_REQUEST[service.name], message), fault
            )
            return
        try:
            output = backend.handler_for(operation_name)(region, params)
        except ChimeError as error:
            self._reply_error(operation_name, params, region, error, fault)
            return
        status = int(operation.http.get("responseCode", 200))
        fault_kind = fault.kind if fault is not None else None
        self._log(operation_name, params, status, None, region, fault_kind)
        if not operation_name.startswith(sm.READ_ONLY_PREFIXES) and self.server.on_change is not None:
            self.server.on_change()
        if fault is not None and fault.kind == "drop_after":
            self._drop()
            return
        if service.protocol == "query":
            request_id = str(uuid.uuid4())
            xml = sm.serialize_query_response(service, operation, output, request_id)
            self._send_body(status, xml, "text/xml", {}, request_id)
            return
        payload = sm.serialize(operation.output_shape, output) if operation.output_shape is not None else {}
        self._send_json(status, payload if status != 204 else None)

    def _authorize(
        self, access_key: str, service: sm.ServiceApi, operation: str, params: dict[str, Any], region: str
    ) -> str | None:
        """IAM's verdict on the caller (see local/iam_store.py): None allows, else AWS's message."""
        iam = self.server.iam
        if iam is None:
            return None
        request = authorization_request(
            service.signing_name,
            operation,
            params,
            region,
            self.server.backend.account_id,
            _lookups(self.server.backend),
        )
        return iam.authorize(access_key, request)

    def _apply_fault(self, operation: str, params: dict[str, Any], region: str, fault: Fault) -> bool:
        """Play the fault; True when the request should then be served (slow, drop_after)."""
        if fault.kind == "slow":
            self.server.stopping.wait(fault.delay)
            return True
        if fault.kind == "drop_after":
            return True
        if fault.kind == "drop":
            self._log(operation, params, 0, None, region, fault.kind)
            self._drop()
            return False
        code = fault.error_code or "ServiceFailureException"
        message = fault.message or f"Injected fault: {fault.kind}"
        self._reply_error(operation, params, region, ChimeError(code, message), fault)
        return False

    def _authentication_error(
        self, access_key: str | None, region: str, signing_name: str | None
    ) -> ChimeError | None:
        """What the service's front end answers before any operation runs (the signature itself is
        not checked): an unsigned request, one signed for a Region botocore does not know, or one
        signed for another service (its credential scope names, say, ``s3``)."""
        if access_key is None:
            if self._service.protocol == "query":
                return ChimeError("MissingAuthenticationToken", "Request is missing Authentication Token")
            return ChimeError(MISSING_TOKEN, "Missing Authentication Token")
        if not self.server.backend.is_known_region(region):
            code = "SignatureDoesNotMatch" if self._service.protocol == "query" else INVALID_SIGNATURE
            return ChimeError(code, f"Credential should be scoped to a valid region, not '{region}'. ")
        if signing_name not in {service.signing_name for service in sm.SERVICES}:
            code = "SignatureDoesNotMatch" if self._service.protocol == "query" else INVALID_SIGNATURE
            expected = self._service.signing_name
            return ChimeError(code, f"Credential should be scoped to correct service: '{expected}'. ")
        return None

    def _no_endpoint(self, operation: str, region: str) -> None:
        """A pool API request signed for a Region where the service has no endpoint. On AWS it never
        leaves the client (the host name does not resolve); the emulator, one endpoint for every
        Region, answers what an endpoint says of a credential scoped to a Region it does not serve,
        or closes the connection (switch ``unserved_region``)."""
        if self.server.backend.switches.unserved_region == "drop":
            LOG.warning("%s has no endpoint in %s: connection closed", sm.CHIME.name, region)
            self._log(operation, {}, 0, NO_ENDPOINT, region)
            self._drop()
            return
        host = f"{sm.CHIME.model.endpoint_prefix}.{region}.amazonaws.com"
        message = (
            f"Credential should be scoped to a valid region, not '{region}'. "
            f"({sm.CHIME.name} has no endpoint in {region}: botocore's endpoint data lists it in "
            f"{', '.join(sorted(sm.pool_api_regions()))}; on AWS the host {host} does not resolve. "
            "Emulator switch extra_api_regions serves a Region where the service launched later.)"
        )
        self._log(operation, {}, 403, INVALID_SIGNATURE, region)
        self._send_error(INVALID_SIGNATURE, message, 403)

    def _credential(self) -> tuple[str | None, str | None, str | None]:
        """Access key id, region and service from a SigV4 ``Authorization`` header (not verified)."""
        match = _CREDENTIAL_RE.search(self.headers.get("Authorization", ""))
        return (match.group(1), match.group(2), match.group(3)) if match else (None, None, None)

    def _reply_error(
        self,
        operation: str,
        params: dict[str, Any],
        region: str,
        error: ChimeError,
        fault: Fault | None = None,
    ) -> None:
        status = self._service.error_status(error.code)
        self._log(operation, params, status, error.code, region, fault.kind if fault else None)
        self._send_error(error.code, error.message, status)

    def _log(
        self,
        operation: str,
        params: dict[str, Any],
        status: int,
        error: str | None,
        region: str,
        fault: str | None = None,
    ) -> None:
        self.server.backend.record(
            RequestRecord(
                operation, params, status, error, time.time(), region, fault, self._service.signing_name
            )
        )

    # ----- the wire -----

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_error(self, code: str, message: str, status: int) -> None:
        request_id = str(uuid.uuid4())
        if self._service.protocol == "query":
            xml = sm.serialize_query_error(self._service, code, message, request_id)
            self._send_body(status, xml, "text/xml", {}, request_id)
            return
        if code in _GATEWAY_ERRORS:
            # Answered by the front end, not the service: its own body, a lower-case "message" only.
            self._send_json(status, {"message": message}, {"x-amzn-ErrorType": code}, request_id)
            return
        body: dict[str, Any] = {"Message": message, "RequestId": request_id}
        enum_code = sm.error_code_value(code) if self._service is sm.CHIME else None
        if enum_code is not None:
            body["Code"] = enum_code
        self._send_json(status, body, {"x-amzn-ErrorType": code}, request_id)

    def _send_json(
        self,
        status: int,
        payload: Any,
        extra_headers: dict[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        data = b"" if payload is None else json.dumps(payload, default=_json_default).encode()
        self._send_body(status, data, "application/json", extra_headers or {}, request_id)

    def _send_body(
        self,
        status: int,
        data: bytes,
        content_type: str,
        extra_headers: dict[str, str],
        request_id: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("x-amzn-RequestId", request_id or str(uuid.uuid4()))
        for key, value in extra_headers.items():
            self.send_header(key, value)
        if data:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (its read timeout ran out during a slow fault): nobody to tell.
            self.close_connection = True

    def _drop(self) -> None:
        """Close the connection with no response at all, as a failing load balancer might."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # ----- the admin API -----

    def _admin(self, path: str, body: bytes) -> None:
        backend = self.server.backend
        try:
            request = json.loads(body) if body.strip() else {}
            if not isinstance(request, dict):
                raise ValueError("the body must be a JSON object")
            key = (self.command, path.rstrip("/") or "/")
            if key == ("GET", "/health"):
                self._send_json(200, {"status": "ok", "account_id": backend.account_id})
            elif key == ("GET", "/pools"):
                self._send_json(200, {"pools": backend.leftover_pools()})
            elif key == ("GET", "/requests"):
                self._send_json(200, {"requests": [entry.to_dict() for entry in backend.request_log]})
            elif key == ("DELETE", "/requests"):
                backend.clear_request_log()
                self._send_json(200, {})
            elif key == ("GET", "/faults"):
                self._send_json(200, {"faults": [fault.to_dict() for fault in backend.faults.pending()]})
            elif key == ("POST", "/faults"):
                fault = backend.faults.add(
                    str(request.get("operation", "*")),
                    str(request["kind"]),
                    count=request.get("count", 1),
                    delay=float(request.get("delay", 0.0)),
                    message=request.get("message"),
                )
                self._send_json(200, {"fault": fault.to_dict()})
            elif key == ("DELETE", "/faults"):
                backend.faults.clear(request.get("operation"))
                self._send_json(200, {})
            elif key == ("POST", "/hold"):
                backend.hold_deletion(str(request["pool"]))
                self._send_json(200, {})
            elif key == ("POST", "/release"):
                backend.release_deletion(str(request["pool"]))
                self._send_json(200, {})
            elif key == ("GET", "/switches"):
                self._send_json(200, {"switches": backend.switches.to_dict()})
            elif key == ("POST", "/switches"):
                candidate = Switches(**backend.switches.to_dict())
                for name, value in request.items():
                    candidate.set(name, value)  # all checked before any is applied
                for name, value in candidate.to_dict().items():
                    setattr(backend.switches, name, value)
                self._send_json(200, {"switches": backend.switches.to_dict()})
            elif key == ("POST", "/fail-on-create"):
                backend.fail_pool_on_create(str(request["name"]), **_reason(request))
                self._send_json(200, {})
            else:
                self._send_json(404, {"error": f"no admin endpoint {self.command} {ADMIN_PREFIX}{path}"})
        except (ValueError, KeyError, TypeError) as error:
            self._send_json(400, {"error": f"bad admin request: {error!r}"})


def _lookups(backend: ChimeEmulator) -> Lookups:
    """Find a stream's or a role's ARN from its name, for the IAM resource of a request."""

    def stream_arn(region: str, name: str) -> str | None:
        try:
            return str(backend.describe_stream(region, {"StreamName": name})["StreamInfo"]["StreamARN"])
        except ChimeError:
            return None

    def role_arn(name: str) -> str | None:
        try:
            return str(backend.get_role(backend.default_region, {"RoleName": name})["Role"]["Arn"])
        except ChimeError:
            return None

    return Lookups(stream_arn, role_arn)


def _reason(request: dict[str, Any]) -> dict[str, str]:
    return {"reason": str(request["reason"])} if "reason" in request else {}


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return sm.serialize(sm.service_model().shape_for("Iso8601Timestamp"), value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


class EmulatorServer:
    """The emulator served on a background thread; a context manager that stops it on exit."""

    def __init__(
        self,
        backend: ChimeEmulator,
        host: str = "127.0.0.1",
        port: int = 0,
        on_change: Callable[[], None] | None = None,
        rate_limiter: RateLimiter | None = None,
        iam: IamStore | None = None,
    ) -> None:
        self.backend = backend
        self._stopping = threading.Event()
        # With ``iam``, requests signed by a role's session are authorized against its policies.
        self._httpd = _EmulatorHTTPServer((host, port), backend, on_change, self._stopping, rate_limiter, iam)
        self._thread: threading.Thread | None = None

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The API rate limits in force (None: unlimited, the default)."""
        return self._httpd.rate_limiter

    @rate_limiter.setter
    def rate_limiter(self, limiter: RateLimiter | None) -> None:
        self._httpd.rate_limiter = limiter

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="chime-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until ``stop`` is called from another thread or a signal."""
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self._stopping.set()  # wakes slow-fault sleepers so shutdown is prompt
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
