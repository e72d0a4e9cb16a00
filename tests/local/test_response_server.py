"""The ResponseURL server, driven by crhelper's own sender (the code path the handler uses)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

# crhelper's bundled stubs list only its public names; the private sender is the code path under test.
from crhelper.utils import _send_response  # type: ignore[attr-defined]

from local.response_server import MAX_RESPONSE_BYTES, ResponseServer

POOL_ARN = "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/p"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/Demo/11111111-2222-3333-4444-555555555555"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ResponseServer]:
    with ResponseServer() as srv:
        monkeypatch.setenv("SSL_CERT_FILE", srv.ca_file)
        yield srv


def _body(request_id: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "Status": "SUCCESS",
        "PhysicalResourceId": POOL_ARN,
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "Pool",
        "Reason": "",
        "Data": {"PoolId": "abc"},
    }
    body.update(overrides)
    return body


def test_a_response_sent_by_crhelper_over_tls_is_received(server: ResponseServer) -> None:
    url = server.url_for("req-1", stack_id=STACK_ID, logical_resource_id="Pool")
    assert url.startswith("https://127.0.0.1:")
    _send_response(url, _body("req-1"))
    received = server.wait_for("req-1", timeout=5)
    assert received is not None
    assert received["Data"] == {"PoolId": "abc"}
    assert server.problems == []


def test_a_second_response_to_the_same_request_is_a_problem(server: ResponseServer) -> None:
    url = server.url_for("req-2")
    _send_response(url, _body("req-2"))
    _send_response(url, _body("req-2", Status="FAILED", Reason="late"))
    assert server.wait_for("req-2", timeout=5)["Status"] == "SUCCESS"  # type: ignore[index]
    assert len(server.responses("req-2")) == 2
    assert server.problems == ["req-2: a second response to the same request"]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"Status": "OK"}, "Status must be SUCCESS or FAILED"),
        ({"Status": "FAILED", "Reason": ""}, "a FAILED response needs a Reason"),
        ({"PhysicalResourceId": ""}, "response lacks PhysicalResourceId"),
        ({"LogicalResourceId": "Other"}, "another LogicalResourceId"),
        ({"Data": ["not", "a", "dict"]}, "Data must be a JSON object"),
        ({"Data": {"Big": "x" * MAX_RESPONSE_BYTES}}, f"over {MAX_RESPONSE_BYTES}"),
    ],
)
def test_malformed_responses_are_refused(
    server: ResponseServer, overrides: dict[str, object], problem: str
) -> None:
    url = server.url_for("req-3", stack_id=STACK_ID, logical_resource_id="Pool")
    _send_response(url, _body("req-3", **overrides))
    assert server.wait_for("req-3", timeout=0.2) is None
    assert len(server.problems) == 1
    assert problem in server.problems[0]


def test_a_forged_signature_is_refused(server: ResponseServer) -> None:
    url = server.url_for("req-4")
    forged = url.replace(server.signatures()[0], "0" * 64)
    _send_response(forged, _body("req-4"))
    assert server.wait_for("req-4", timeout=0.2) is None
    assert "bad signature" in server.problems[0]


def test_dropped_connections_are_survived_by_crhelper_retrying(server: ResponseServer) -> None:
    server.drop_next(1)
    url = server.url_for("req-5")
    sender = threading.Thread(target=_send_response, args=(url, _body("req-5")), daemon=True)
    sender.start()  # crhelper sleeps 2 s between attempts
    received = server.wait_for("req-5", timeout=15)
    assert received is not None
    assert json.dumps(received["Data"]) == '{"PoolId": "abc"}'
