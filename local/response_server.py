"""CloudFormation's side of the custom-resource response: a presigned-style HTTPS URL on loopback.

crhelper PUTs its response over HTTPS only, so the server speaks TLS with a certificate from a CA
made on the spot (trustme). The handler's process trusts that CA through the standard
``SSL_CERT_FILE`` variable, exactly as it would trust a real CA: nothing in product code knows.

Every response body is checked the way CloudFormation does (fields, status, 4,096 bytes, one
response per request); what breaks the protocol is kept in ``problems`` for tests to assert on.
"""

from __future__ import annotations

import json
import secrets
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import trustme

from local.http_server import LoopbackHTTPServer

MAX_RESPONSE_BYTES = 4096
REQUIRED_FIELDS = ("Status", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId")
_PATH_PREFIX = "/cloudformation-custom-resource-response/"


@dataclass
class _Expected:
    """What CloudFormation knows about a request it sent, to check the response against."""

    stack_id: str | None
    logical_resource_id: str | None
    signature: str
    responses: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


class ResponseServer:
    """Loopback HTTPS endpoint that receives custom-resource responses, one URL per request."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, cert_dir: Path | None = None) -> None:
        self._tmp = None if cert_dir else tempfile.TemporaryDirectory(prefix="cfn-response-ca-")
        self.cert_dir = Path(cert_dir or self._tmp.name)  # type: ignore[union-attr]
        self.cert_dir.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        self.ca_file = str(self.cert_dir / "local-ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(host, "localhost").configure_cert(server_context)

        self.problems: list[str] = []
        self._expected: dict[str, _Expected] = {}
        self._lock = threading.Lock()
        self._drop_next = 0
        self._refuse_next: list[int] = []  # HTTP statuses to answer with, one per coming PUT
        self.puts = 0  # every PUT that reached the server, dropped and refused ones included

        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                outer._handle_put(self)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the URL carries a signature: never log it

        self._httpd = LoopbackHTTPServer((host, port), _Handler)
        self._httpd.socket = server_context.wrap_socket(self._httpd.socket, server_side=True)
        self.host = host
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="cfn-response", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ResponseServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> ResponseServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what CloudFormation does ------------------------------------------------------------

    def url_for(
        self, request_id: str, *, stack_id: str | None = None, logical_resource_id: str | None = None
    ) -> str:
        """A fresh presigned-style URL for one request; the response must match what is given."""
        signature = secrets.token_hex(32)
        with self._lock:
            self._expected[request_id] = _Expected(stack_id, logical_resource_id, signature)
        return (
            f"https://{self.host}:{self.port}{_PATH_PREFIX}{request_id}"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature={signature}"
        )

    def signatures(self) -> list[str]:
        """Every signature handed out: tests look for them in logs, where they must never be."""
        with self._lock:
            return [expected.signature for expected in self._expected.values()]

    def wait_for(self, request_id: str, timeout: float) -> dict[str, Any] | None:
        """The first response to a request, or None if none came within ``timeout`` seconds."""
        with self._lock:
            expected = self._expected[request_id]
        if not expected.done.wait(timeout):
            return None
        return expected.responses[0]

    def responses(self, request_id: str) -> list[dict[str, Any]]:
        """Every response body received for a request (more than one is a protocol violation)."""
        with self._lock:
            return list(self._expected[request_id].responses)

    def drop_next(self, count: int) -> None:
        """Close the next ``count`` connections without answering, as a network fault would."""
        with self._lock:
            self._drop_next = count

    def refuse_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` PUTs with ``status`` without accepting them, as S3 does when it
        fails (500, 503) or when a presigned URL is refused (403); the body is not recorded."""
        with self._lock:
            self._refuse_next = [status] * count

    # -- the HTTP side -----------------------------------------------------------------------

    def _handle_put(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.puts += 1
            refused = self._refuse_next.pop(0) if self._refuse_next else None
            if refused is not None:
                request.rfile.read(int(request.headers.get("Content-Length") or 0))
                request.send_response(refused)
                request.send_header("Content-Length", "0")
                request.end_headers()
                return
            if self._drop_next > 0:
                self._drop_next -= 1
                request.close_connection = True
                request.connection.close()
                return
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        status, problem = self._accept(request.path, raw)
        if problem:
            with self._lock:
                self.problems.append(problem)
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _accept(self, url_path: str, raw: bytes) -> tuple[int, str | None]:
        parts = urlsplit(url_path)
        request_id = parts.path.removeprefix(_PATH_PREFIX)
        with self._lock:
            expected = self._expected.get(request_id)
        if expected is None or f"X-Amz-Signature={expected.signature}" not in parts.query:
            return 403, f"response to an unknown request or with a bad signature: {request_id!r}"
        if len(raw) > MAX_RESPONSE_BYTES:
            return 400, f"{request_id}: response is {len(raw)} bytes, over {MAX_RESPONSE_BYTES}"
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, f"{request_id}: response body is not JSON"
        problem = _body_problem(body, request_id, expected)
        if problem:
            return 400, problem
        with self._lock:
            expected.responses.append(body)
            if len(expected.responses) > 1:
                # S3 accepts a second PUT to a presigned URL (200, the object is overwritten); it is
                # the protocol, not the transport, that it breaks: a problem for the tests, not an error.
                return 200, f"{request_id}: a second response to the same request"
        expected.done.set()
        return 200, None


def _body_problem(body: Any, request_id: str, expected: _Expected) -> str | None:
    if not isinstance(body, dict):
        return f"{request_id}: response body is not a JSON object"
    missing = [name for name in REQUIRED_FIELDS if not body.get(name)]
    if missing:
        return f"{request_id}: response lacks {', '.join(missing)}"
    if body["Status"] not in ("SUCCESS", "FAILED"):
        return f"{request_id}: Status must be SUCCESS or FAILED, got {body['Status']!r}"
    if body["Status"] == "FAILED" and not body.get("Reason"):
        return f"{request_id}: a FAILED response needs a Reason"
    if body["RequestId"] != request_id:
        return f"{request_id}: response names RequestId {body['RequestId']!r}"
    if expected.stack_id is not None and body["StackId"] != expected.stack_id:
        return f"{request_id}: response names another StackId"
    if expected.logical_resource_id is not None and body["LogicalResourceId"] != expected.logical_resource_id:
        return f"{request_id}: response names another LogicalResourceId"
    data = body.get("Data")
    if data is not None and not isinstance(data, dict):
        return f"{request_id}: Data must be a JSON object"
    return None
