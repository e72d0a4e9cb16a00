"""The Lambda Runtime API server when the function process goes away in the middle of an exchange."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from local.lambda_runtime import RuntimeApiServer, _Invocation

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:probe"
NEXT_PATH = "/2018-06-01/runtime/invocation/next"
JOIN_SECONDS = 10.0


@pytest.fixture
def server() -> Iterator[RuntimeApiServer]:
    api = RuntimeApiServer(FUNCTION_ARN).start()
    try:
        yield api
    finally:
        api.stop()


def _request_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if "process_request_thread" in thread.name}


def _hang_up_waiting_for_next(server: RuntimeApiServer) -> None:
    """A runtime client asks for the next invocation, then dies: the kernel resets the connection."""
    host, port = server.address.split(":")
    client = socket.create_connection((host, int(port)), timeout=5)
    client.sendall(f"GET {NEXT_PATH} HTTP/1.1\r\nHost: {server.address}\r\n\r\n".encode())
    # Give the server's thread time to read the request and start waiting for work (a bounded pause,
    # not an assertion: either way the server then meets a connection that is gone).
    time.sleep(0.3)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


def test_a_client_that_hung_up_is_not_reported_as_a_server_error(
    server: RuntimeApiServer, capfd: pytest.CaptureFixture[str]
) -> None:
    before = _request_threads()
    _hang_up_waiting_for_next(server)
    # Work arrives after the client is gone: the server's reply goes to a reset connection.
    server.enqueue(_Invocation("lost-request", b"{}", timeout_seconds=3))
    for thread in _request_threads() - before:
        thread.join(JOIN_SECONDS)
        assert not thread.is_alive(), "the request thread did not finish"

    assert "Traceback" not in capfd.readouterr().err

    # The server still serves the next client.
    server.enqueue(_Invocation("next-request", b'{"n": 2}', timeout_seconds=3))
    with urllib.request.urlopen(f"http://{server.address}{NEXT_PATH}", timeout=JOIN_SECONDS) as reply:
        assert reply.headers["Lambda-Runtime-Aws-Request-Id"] in {"lost-request", "next-request"}
        assert json.loads(reply.read()) in ({}, {"n": 2})
