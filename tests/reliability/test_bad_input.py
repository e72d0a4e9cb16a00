"""Bad input at run time: raw CloudFormation events, generated, against the real handler.

Every case must end in exactly one response: FAILED with a Reason that names a broken property (and,
when one property is broken, carries pool_rules' own message, limits included) and no mutating API
call; or SUCCESS when the input is valid. Counts go to the end-of-run summary.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chime_kvs_pool.runtime import index, pool_rules
from local.chime_emulator import MUTATING_POOL_OPERATIONS, ChimeEmulator, EmulatorServer
from local.chime_emulator.service_model import known_regions, partition_of
from local.events import custom_resource_event
from local.lambda_context import LambdaContext
from local.offline import ENDPOINT_VARIABLES
from local.response_server import ResponseServer

from .rel_report import BAD_INPUT
from .rel_strategies import Case, malformed_physical_ids, resource_properties

REASON_MAX = 256  # what crhelper passes on untruncated; CloudFormation shows it in the console
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
BASE_NAME = "reliability-base-pool"
STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/reliability/0c9e4d60-8a1f-11ef-8a3e-0e2b4c6d8f10"
)
RESOURCE_TYPE = "Custom::ChimeKinesisVideoStreamPool"
LAMBDA_SECONDS = 60.0
RESPONSE_WAIT_SECONDS = 60.0  # a missing response fails the case instead of hanging it


class Harness:
    """One emulator and one ResponseURL server for the whole module (hypothesis runs many cases).

    Each case calls ``index.handler`` in this process (a process per case would cost a cold start
    each): the event from ``local.events``, a Lambda context with a real deadline.
    """

    def __init__(self, backend: ChimeEmulator, responses: ResponseServer) -> None:
        self.backend = backend
        self.responses = responses
        self.base_properties = {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:handler",
            "PoolName": BASE_NAME,
            "StreamConfiguration": {"Region": "us-east-1", "DataRetentionInHours": "24"},
        }
        created = self.send("Create", self.base_properties)
        assert created["Status"] == "SUCCESS", created.get("Reason")
        self.base_arn = str(created["PhysicalResourceId"])

    def send(self, request_type: str, properties: Any, **kwargs: Any) -> dict[str, Any]:
        """Deliver one request and return its one response."""
        event = custom_resource_event(
            self.responses,
            request_type,
            {},
            stack_id=STACK_ID,
            logical_id="Pool",
            resource_type=RESOURCE_TYPE,
            service_token=str(self.base_properties["ServiceToken"]),
            **kwargs,
        )
        event["ResourceProperties"] = properties  # as generated, even when not an object
        if properties is MISSING_PROPERTIES:
            del event["ResourceProperties"]
        index.handler(event, LambdaContext(LAMBDA_SECONDS))
        _join_response_timers()
        request_id = event["RequestId"]
        assert self.responses.wait_for(request_id, RESPONSE_WAIT_SECONDS) is not None, "no response"
        responses = self.responses.responses(request_id)
        assert len(responses) == 1, f"{len(responses)} responses to one request"
        return responses[0]

    def mutating_calls(self) -> list[str]:
        return [r.operation for r in self.backend.request_log if r.operation in MUTATING_POOL_OPERATIONS]

    def pools_except_base(self) -> list[dict[str, Any]]:
        return [p for p in self.backend.leftover_pools() if p["PoolArn"] != self.base_arn]

    def remove_strays(self) -> None:
        """Delete pools a failed case left behind, so one failure cannot cascade into the next cases."""
        for pool in self.pools_except_base():
            self.delete(pool["PoolArn"])

    def delete(self, physical_id: str) -> None:
        response = self.send("Delete", {}, physical_id=physical_id)
        assert response["Status"] == "SUCCESS", response.get("Reason")


MISSING_PROPERTIES: Any = object()


def _clear_client_caches() -> None:
    """The handler keeps its clients per process, as per Lambda container: start from fresh ones."""
    for cached in (index.pool_client, index.iam_client, index.stream_client):
        cached.cache_clear()


def _join_response_timers(timeout: float = 15.0) -> None:
    """Wait for crhelper's timeout timers to end (cancelled ones end at once; one that fired ends
    after its send), so that a late second response would be counted, not missed."""
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer) and thread is not threading.current_thread():
            thread.join(timeout)


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    backend = ChimeEmulator(account_id="123456789012")
    with (
        pytest.MonkeyPatch.context() as env,
        EmulatorServer(backend, port=0) as server,
        ResponseServer() as responses,
    ):
        for variable in ENDPOINT_VARIABLES:  # the pool API, and the streams and role it may touch
            env.setenv(variable, server.endpoint_url)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.delenv("AWS_SESSION_TOKEN", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_REGION", "us-east-1")
        env.setenv("SSL_CERT_FILE", responses.ca_file)
        _clear_client_caches()
        the_harness = Harness(backend, responses)
        yield the_harness
        the_harness.delete(the_harness.base_arn)
        assert responses.problems == []
        assert backend.leftover_pools() == [], "pools leaked by the bad-input cases"
    _clear_client_caches()


def check_outcome(
    harness: Harness, test: str, response: dict[str, Any], case: Case, *, refused_for: str | None = None
) -> None:
    """Valid input: SUCCESS, and a new pool (a create or a replacement) is deleted as CloudFormation
    would. Otherwise FAILED, naming the broken property (or ``refused_for``), with no mutating call."""
    unknown = unknown_stream_region(case)
    if case.valid and refused_for is None and unknown is not None:
        # Region-shaped, so the rules pass it, but no Region botocore knows: the service refuses the
        # Create (BadRequestException), no pool is made and the Reason names the Region.
        BAD_INPUT.record(test, "FAILED")
        assert response["Status"] == "FAILED", response.get("Reason")
        assert unknown in str(response.get("Reason")), response.get("Reason")
    elif case.valid and refused_for is None:
        BAD_INPUT.record(test, "SUCCESS")
        assert response["Status"] == "SUCCESS", response.get("Reason")
        arn = response["PhysicalResourceId"]
        assert pool_rules.is_pool_arn(arn)
        if arn != harness.base_arn:
            harness.delete(arn)
    else:
        BAD_INPUT.record(test, "FAILED")
        if refused_for is not None:
            assert response["Status"] == "FAILED" and refused_for in str(response.get("Reason"))
        else:
            check_failed(response, case)
        assert harness.mutating_calls() == [], "a mutating call for invalid input"
    assert harness.pools_except_base() == []


def unknown_stream_region(case: Case) -> str | None:
    """The stream Region of a valid case if botocore's partition data does not know it, or if it is
    in another partition than the pool API's us-east-1: the service refuses either."""
    stream = case.properties.get("StreamConfiguration") if isinstance(case.properties, dict) else None
    region = stream.get("Region") if isinstance(stream, dict) else None
    if not isinstance(region, str):
        return None
    return region if region not in known_regions() or partition_of(region) != "aws" else None


def check_failed(response: dict[str, Any], case: Case) -> None:
    reason = str(response.get("Reason") or "")
    assert response["Status"] == "FAILED", f"accepted invalid input: {[p.verdict for p in case.problems]}"
    assert len(reason) <= REASON_MAX, f"Reason of {len(reason)} characters"
    named = [p.verdict for p in case.problems if p.verdict and p.verdict in reason]
    assert named, f"Reason {reason!r} names none of {[p.verdict for p in case.problems]}"
    if len(case.problems) == 1 and case.problems[0].message is not None:
        assert case.problems[0].message in reason, "the Reason differs from pool_rules' message"


@SETTINGS
@given(case=resource_properties())
def test_create_with_generated_properties(harness: Harness, case: Case) -> None:
    try:
        harness.backend.clear_request_log()
        response = harness.send("Create", case.properties)
        check_outcome(harness, "Create", response, case)
    finally:
        harness.remove_strays()


@SETTINGS
@given(case=resource_properties())
def test_update_with_generated_properties(harness: Harness, case: Case) -> None:
    try:
        harness.backend.clear_request_log()
        response = harness.send(
            "Update", case.properties, physical_id=harness.base_arn, old_properties=harness.base_properties
        )
        properties = case.properties
        stream = properties.get("StreamConfiguration") if isinstance(properties, dict) else None
        same_name_new_region = (
            case.valid
            and properties.get("PoolName") == BASE_NAME
            and isinstance(stream, dict)
            and stream.get("Region") != "us-east-1"
        )
        refused_for = "Region" if same_name_new_region else None  # the names would collide
        check_outcome(harness, "Update", response, case, refused_for=refused_for)
    finally:
        harness.remove_strays()


@SETTINGS
@given(physical_id=malformed_physical_ids(), case=resource_properties())
def test_delete_of_a_malformed_physical_id_succeeds_without_a_mutating_call(
    harness: Harness, physical_id: str, case: Case
) -> None:
    harness.backend.clear_request_log()
    response = harness.send("Delete", case.properties, physical_id=physical_id)
    BAD_INPUT.record("Delete (not a pool ARN)", response["Status"])
    assert response["Status"] == "SUCCESS", response.get("Reason")
    assert response["PhysicalResourceId"] == physical_id
    # Valid properties name the pool a Create whose response was lost may have made: it is looked
    # for (Get, and its owner tag if found; none of them was created by this resource here).
    operations = {record.operation for record in harness.backend.request_log}
    assert operations <= {"GetMediaPipelineKinesisVideoStreamPool", "ListTagsForResource"}, operations
    assert harness.mutating_calls() == [], "a mutating call for a PhysicalResourceId that is no pool"


@SETTINGS
@given(
    request_type=st.one_of(
        st.sampled_from(["create", "UPDATE", "Upsert", "", "Read", "Delete "]), st.text(max_size=10)
    ).filter(lambda t: t not in ("Create", "Update", "Delete"))
)
def test_unknown_request_types_fail_with_a_reason_that_names_it(harness: Harness, request_type: str) -> None:
    harness.backend.clear_request_log()
    response = harness.send(request_type, harness.base_properties, physical_id=harness.base_arn)
    BAD_INPUT.record("unknown RequestType", response["Status"])
    assert response["Status"] == "FAILED"
    assert "RequestType" in str(response.get("Reason")), response.get("Reason")
    assert harness.mutating_calls() == []


@pytest.mark.parametrize("properties", [MISSING_PROPERTIES, None, "PoolName=x", [], 42])
def test_resource_properties_that_are_not_an_object(harness: Harness, properties: Any) -> None:
    harness.backend.clear_request_log()
    response = harness.send("Create", properties)
    BAD_INPUT.record("ResourceProperties not an object", response["Status"])
    assert response["Status"] == "FAILED"
    assert "PoolName" in str(response.get("Reason")) or "ResourceProperties" in str(response.get("Reason"))
    assert harness.mutating_calls() == []


def test_a_tag_item_with_an_unknown_field_is_refused(harness: Harness) -> None:
    # The native schema's tag items allow Key and Value only (additionalProperties: false).
    properties = {
        "PoolName": "reliability-extra-tag-field",
        "StreamConfiguration": {"Region": "us-east-1"},
        "Tags": [{"Key": "team", "Value": "media", "Extra": "x"}],
    }
    harness.backend.clear_request_log()
    try:
        response = harness.send("Create", properties)
        assert response["Status"] == "FAILED" and "Tags" in str(response.get("Reason")), response.get(
            "Reason"
        )
        assert harness.mutating_calls() == []
    finally:
        harness.remove_strays()
