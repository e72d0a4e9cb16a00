"""The shared custom-resource event and in-process Lambda context, checked against their consumers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# crhelper's bundled stubs list only its public names; the private sender is the code path under test.
from crhelper.utils import _send_response  # type: ignore[attr-defined]

from local.events import custom_resource_event
from local.lambda_context import LambdaContext
from local.response_server import ResponseServer

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/Demo/11111111-2222-3333-4444-555555555555"
TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:handler"
PROPERTIES = {"ServiceToken": TOKEN, "PoolName": "p", "StreamConfiguration": {"Region": "us-east-1"}}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ResponseServer]:
    with ResponseServer() as srv:
        monkeypatch.setenv("SSL_CERT_FILE", srv.ca_file)
        yield srv


def _answer(event: dict[str, object], **overrides: object) -> dict[str, object]:
    """The response a provider builds from the event, as crhelper does."""
    body: dict[str, object] = {
        "Status": "SUCCESS",
        "PhysicalResourceId": "pool-arn",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Reason": "",
        "Data": {},
    }
    body.update(overrides)
    return body


def test_a_create_event_has_cloudformations_fields_and_no_update_fields(server: ResponseServer) -> None:
    event = custom_resource_event(
        server, "Create", PROPERTIES, stack_id=STACK_ID, logical_id="Pool", resource_type="Custom::X"
    )
    assert event["ServiceToken"] == TOKEN  # taken from the properties, as CloudFormation does
    assert event["ResourceProperties"] == PROPERTIES
    assert event["ResourceProperties"] is not PROPERTIES
    assert "PhysicalResourceId" not in event and "OldResourceProperties" not in event
    assert event["RequestId"] in event["ResponseURL"]


def test_each_event_gets_its_own_request_id_unless_one_is_given(server: ResponseServer) -> None:
    def make(
        request_id: str | None = None, physical_id: str | None = None, service_token: str | None = None
    ) -> dict[str, object]:
        return custom_resource_event(
            server,
            "Delete",
            PROPERTIES,
            stack_id=STACK_ID,
            logical_id="Pool",
            resource_type="C",
            request_id=request_id,
            physical_id=physical_id,
            service_token=service_token,
        )

    assert make()["RequestId"] != make()["RequestId"]
    given = make(request_id="req-given", physical_id="pool-arn", service_token="other-token")
    assert (given["RequestId"], given["PhysicalResourceId"]) == ("req-given", "pool-arn")
    assert given["ServiceToken"] == "other-token"


def test_the_response_url_checks_the_answer_against_the_event(server: ResponseServer) -> None:
    update = custom_resource_event(
        server,
        "Update",
        PROPERTIES,
        stack_id=STACK_ID,
        logical_id="Pool",
        resource_type="Custom::X",
        physical_id="pool-arn",
        old_properties={"PoolName": "old"},
    )
    assert update["OldResourceProperties"] == {"PoolName": "old"}
    _send_response(update["ResponseURL"], _answer(update))
    assert server.wait_for(str(update["RequestId"]), timeout=5) is not None

    other = custom_resource_event(
        server, "Create", PROPERTIES, stack_id=STACK_ID, logical_id="Pool", resource_type="Custom::X"
    )
    _send_response(other["ResponseURL"], _answer(other, LogicalResourceId="SomethingElse"))
    assert server.wait_for(str(other["RequestId"]), timeout=0.2) is None
    assert any("another LogicalResourceId" in problem for problem in server.problems)


def test_the_context_counts_down_from_its_timeout_and_stops_at_zero() -> None:
    context = LambdaContext(60, function_name="fn", region="eu-west-1", account="111122223333")
    assert 0 < context.get_remaining_time_in_millis() <= 60_000
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:111122223333:function:fn"
    assert context.log_group_name == "/aws/lambda/fn"
    assert LambdaContext(0).get_remaining_time_in_millis() == 0
    assert LambdaContext(-5).get_remaining_time_in_millis() == 0
    assert LambdaContext(1).aws_request_id != LambdaContext(1).aws_request_id
