"""The Lambda entry point: crhelper wiring around ``lifecycle``, kept thin.

The Lambda's handler string is ``chime_kvs_pool.runtime.index.handler``. crhelper sends the CloudFormation
response; this module adapts it to our needs (see ``_SingleResponseResource``) and turns each request
into one ``lifecycle`` call.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from http.client import HTTPException, HTTPSConnection
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config
from crhelper import CfnResource
from crhelper.resource_helper import FAILED

from . import lifecycle, pool_rules, service_role, streams, throttling
from .ownership import Owner
from .properties import (
    InvalidPropertiesError,
    delete_streams_of,
    parse_properties,
    shorten,
    wait_timeout_of,
)

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_media_pipelines import ChimeSDKMediaPipelinesClient

logger = logging.getLogger(__name__)

# Seconds kept back from the Lambda's remaining time when waiting: enough for one more API call and
# the response PUT, so the handler itself reports a timeout instead of crhelper's last-moment timer.
RESPONSE_MARGIN_SECONDS = 5.0

# Retries: "legacy" mode on purpose. This service throttles with ThrottledClientException (HTTP 429),
# a modeled error that botocore's "standard" and "adaptive" modes do not treat as retryable; legacy
# mode retries every 429, every 5xx and dropped or timed-out connections, with exponential backoff.
# Throttling is retried longer than these five attempts: throttling.py, installed on the pool and
# IAM clients (the stream client's calls retry in streams.py).
# Explicit timeouts keep a silent endpoint from hanging the invocation until Lambda kills it. Their
# sum is one attempt's worst case: no call starts unless it fits before the answer is due
# (``lifecycle.Budget.fits``, ``throttling.install``), so they are short (the pool API answers in
# well under a second; a slow answer is retried by botocore while time is left).
CLIENT_CONFIG = Config(
    retries={"mode": "legacy", "total_max_attempts": 5},
    connect_timeout=2,
    read_timeout=5,
    user_agent_extra="chime-kvs-pool-handler",
)


# Kinesis Video Streams: one attempt per call, with short timeouts, because streams.py retries itself
# within the invocation's budget and must know how long one call can take (streams.CALL_SECONDS).
STREAM_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=2,
    read_timeout=streams.CALL_SECONDS - 2,
    user_agent_extra="chime-kvs-pool-handler",
)

# The response PUT to the ResponseURL: attempts, the pause before the first retry (doubling), and
# how long before the Lambda's end no new attempt starts.
RESPONSE_ATTEMPTS = 5
RESPONSE_FIRST_RETRY_DELAY = 0.5
RESPONSE_ATTEMPT_TIMEOUT = 10.0
RESPONSE_DEADLINE_MARGIN = 0.2


@functools.cache
def pool_client(region: str | None = None) -> ChimeSDKMediaPipelinesClient:
    """One client per Lambda container and control-plane Region, built on first use.

    ``region`` is a pool's ApiRegion (None: the function's own Region). boto3 reads the standard
    AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES variable, which is how the offline emulator is
    reached; nothing here knows about it.
    """
    client = boto3.client("chime-sdk-media-pipelines", region_name=region, config=CLIENT_CONFIG)
    return throttling.install(client)


def region_of_pool(physical_id: object) -> str | None:
    """The Region in a pool ARN (where its API lives); None for an id that is not a pool ARN."""
    return str(physical_id).split(":")[3] if pool_rules.is_pool_arn(physical_id) else None


@functools.cache
def iam_client() -> Any:
    """For the pools' service-linked role; boto3 reads AWS_ENDPOINT_URL_IAM like any endpoint."""
    return throttling.install(boto3.client("iam", config=CLIENT_CONFIG))


@functools.cache
def stream_client(region: str) -> Any:
    """Kinesis Video Streams in the pool's stream Region (AWS_ENDPOINT_URL_KINESIS_VIDEO honoured).

    No throttling rule here: streams.py retries throttling itself, bounded by the stream phase's
    budget (one attempt per call, STREAM_CLIENT_CONFIG), and a second retry loop inside botocore
    would let one call run past that bound."""
    return boto3.client("kinesisvideo", region_name=region, config=STREAM_CLIENT_CONFIG)


class _SingleResponseResource(CfnResource):
    """crhelper's ``CfnResource`` (pinned 2.0.12) with three of its habits changed.

    - Its constructor builds lambda, events and logs clients that serve only its polling mode, which
      we never use; they dominate cold start. This constructor sets the same attributes without them.
    - Its timeout timer and the request's own completion can both send a response; here the first
      one wins and later ones are dropped, so CloudFormation gets exactly one.
    - A response always carries a PhysicalResourceId: the pool ARN once known, else the request's.
    - Its sender counts any HTTP status as delivered and retries a connection failure forever; here
      a 4xx/5xx answer or a failed connection is retried a bounded number of times within the
      invocation's deadline, and the log says what happened (never the URL: it is presigned).
    """

    def __init__(self, log_level: str = "INFO", boto_level: str = "ERROR") -> None:
        # Mirrors CfnResource.__init__ (crhelper 2.0.12) minus the polling clients; a test compares
        # the attribute set with crhelper's own so an upgrade that adds one cannot go unnoticed.
        self._sleep_on_delete = 0  # crhelper sleeps 120 s before a Delete response by default
        self._create_func: Callable[..., Any] | None = None
        self._update_func: Callable[..., Any] | None = None
        self._delete_func: Callable[..., Any] | None = None
        self._poll_create_func = None
        self._poll_update_func = None
        self._poll_delete_func = None
        self._timer: threading.Timer | None = None
        self._init_failed = None
        self._json_logging = False
        self._log_level = log_level
        self._boto_level = boto_level
        self._send_response = False
        self._polling_interval = 2
        self.Status = ""
        self.Reason = ""
        self.PhysicalResourceId = ""
        self.StackId = ""
        self.RequestId = ""
        self.LogicalResourceId = ""
        self.Data: dict[str, str] = {}
        self.NoEcho = False
        self._event: dict[str, Any] = {}
        self._context: Any = None
        self._response_url = ""
        self._sam_local = None
        self._region = None
        self._ssl_verify = None
        self._lambda_client = None
        self._events_client = None
        self._logs_client = None
        self._response_lock = threading.Lock()
        self._responded = False

    def _poll_enabled(self) -> bool:
        # crhelper looks up a poll function named after the RequestType, which raises an unhelpful
        # AttributeError for an unknown type; this handler never polls.
        return False

    def _get_func(self) -> Callable[..., Any]:
        """The function for the event's RequestType; an unknown type fails with a Reason naming it."""
        request_type = self._event.get("RequestType")
        functions = {"Create": self._create_func, "Update": self._update_func, "Delete": self._delete_func}
        function = functions.get(str(request_type))
        if function is not None:
            return function

        def unknown(event: dict[str, Any], context: Any) -> str:
            raise ValueError(
                f"unknown RequestType {shorten(repr(request_type), 40)} (expected Create, Update or Delete)"
            )

        return unknown

    def _crhelper_init(self, event: dict[str, Any], context: Any) -> bool:
        with self._response_lock:
            self._responded = False
        return bool(super()._crhelper_init(event, context))  # type: ignore[misc]

    def _send(self, status: str | None = None, reason: str = "") -> None:
        with self._response_lock:
            if self._responded:
                logger.warning("Already responded to request %s; not sending another", self.RequestId)
                return
            self._responded = True
            if not self.PhysicalResourceId:
                self.PhysicalResourceId = self._event.get("PhysicalResourceId") or self.generate_physical_id(
                    self._event
                )
            outcome = status or self.Status
            logger.info(
                "Responding %s for %s request %s (PhysicalResourceId %s)",
                outcome,
                self._event.get("RequestType"),
                self.RequestId,
                self.PhysicalResourceId,
            )
            if outcome == FAILED:
                # crhelper keeps the END of a long reason; keep its start (the useful part) instead.
                self.Reason = shorten(str(self.Reason))
                reason = shorten(reason)
            super()._send(status, reason, send_response=self._put_response)  # type: ignore[misc]

    def _put_response(self, response_url: str, body: dict[str, Any], ssl_verify: object = None) -> None:
        """PUT the response to the presigned ResponseURL; bounded retries, within the deadline."""
        try:
            payload = json.dumps(body).encode()
        except (TypeError, ValueError) as error:
            logger.error("Response Data is not JSON (%s); sending FAILED without it", error)
            body = {**body, "Status": FAILED, "Data": {}, "Reason": "the handler's response was not JSON"}
            payload = json.dumps(body).encode()
        parts = urlsplit(response_url)
        target = urlunsplit(("", "", parts.path, parts.query, ""))
        headers = {"Content-Type": "", "Content-Length": str(len(payload))}
        # Trusts the default CAs (and SSL_CERT_FILE, as OpenSSL does), like crhelper's sender.
        context = ssl.create_default_context()
        delay = RESPONSE_FIRST_RETRY_DELAY
        for attempt in range(1, RESPONSE_ATTEMPTS + 1):
            remaining = self._seconds_left() - RESPONSE_DEADLINE_MARGIN
            if remaining <= 0:
                logger.error("Response not sent: the invocation's deadline came first")
                return
            outcome = _put_once(
                parts.netloc, target, payload, headers, context, min(remaining, RESPONSE_ATTEMPT_TIMEOUT)
            )
            if outcome is None:
                logger.info("Response delivered (attempt %d)", attempt)
                return
            if attempt == RESPONSE_ATTEMPTS or self._seconds_left() - RESPONSE_DEADLINE_MARGIN <= delay:
                logger.error(
                    "Response not delivered after %d attempts (last: %s); CloudFormation will report "
                    "that it received no response",
                    attempt,
                    outcome,
                )
                return
            logger.warning("Response PUT attempt %d failed (%s); retrying in %.1f s", attempt, outcome, delay)
            time.sleep(delay)
            delay *= 2

    def _seconds_left(self) -> float:
        """Seconds until the Lambda ends this invocation (no context: one attempt's worth)."""
        if self._context is None:
            return RESPONSE_ATTEMPT_TIMEOUT
        return float(self._context.get_remaining_time_in_millis()) / 1000.0


def _put_once(
    host: str, target: str, payload: bytes, headers: dict[str, str], context: ssl.SSLContext, timeout: float
) -> str | None:
    """One PUT; None when delivered (2xx), else what went wrong, fit for a log (no URL in it)."""
    connection = HTTPSConnection(host, context=context, timeout=timeout)
    try:
        connection.request("PUT", target, body=payload, headers=headers)
        response = connection.getresponse()
        response.read()
    except (OSError, HTTPException) as error:  # refused, reset, TLS, timeout, bad status line
        return f"{type(error).__name__}: {error}"
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return None
    return f"HTTP {response.status} {response.reason}"


helper = _SingleResponseResource()


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda handler: one CloudFormation custom resource request, one response."""
    logger.info(
        "%s request %s for %s (PhysicalResourceId %s)",
        event.get("RequestType"),
        event.get("RequestId"),
        event.get("LogicalResourceId"),
        event.get("PhysicalResourceId", "-"),
    )
    # Everything, throttled retries included (throttling.py), ends in time to answer within the
    # Lambda's deadline and CloudFormation's ServiceTimeout alike.
    try:
        wait_seconds = wait_timeout_of(event.get("ResourceProperties"))
    except ValueError:
        # Not a number Python can hold (thousands of digits): the request fails on its properties
        # inside crhelper, with a response; until then, the default wait stands for it.
        wait_seconds = pool_rules.WAIT_TIMEOUT_DEFAULT
    answer_by = time.monotonic() + pool_rules.answer_within_seconds(wait_seconds)
    _ANSWER_BY[0] = answer_by
    throttling.start_invocation(lambda: _remaining_seconds(context), RESPONSE_MARGIN_SECONDS)
    helper(event, context)


def _short_reason(func: Callable[[dict[str, Any], Any], str]) -> Callable[[dict[str, Any], Any], str]:
    """Give every failure a short message: crhelper uses str(exception) as the Reason."""

    @functools.wraps(func)
    def wrapper(event: dict[str, Any], context: Any) -> str:
        try:
            return func(event, context)
        except (lifecycle.PoolError, InvalidPropertiesError):
            raise
        except Exception as error:
            raise RuntimeError(shorten(f"{type(error).__name__}: {error}")) from error

    return wrapper


@helper.create
@_short_reason
def create(event: dict[str, Any], context: Any) -> str:
    spec = parse_properties(event.get("ResourceProperties"))
    # On Create only: once the account has a pool, it has the role, and updates never need it.
    role = service_role.ensure_service_linked_role(iam_client()) if spec.ensure_service_linked_role else None
    try:
        configuration = lifecycle.create_pool(
            pool_client(spec.api_region),
            spec,
            _token(event),
            _budget(spec.wait_timeout_seconds, context),
            _report_physical_id,
            _owner(event),
        )
    except lifecycle.PoolError as error:
        if role is None or role in (service_role.CREATED, service_role.ALREADY_EXISTS):
            raise
        # The role may be why the pool failed: say so, before the details that may get cut.
        raise lifecycle.PoolError(f"service-linked role {role}; {error}") from error
    helper.Data.update(lifecycle.pool_data(configuration))
    return configuration["PoolArn"]


@helper.update
@_short_reason
def update(event: dict[str, Any], context: Any) -> str:
    new_spec = parse_properties(event.get("ResourceProperties"))
    try:
        old_spec = parse_properties(event.get("OldResourceProperties"))
    except InvalidPropertiesError:
        old_spec = None  # lifecycle then diffs against the pool's live state
    # The pool lives where its ARN says; moving it to another API Region is not an in-place update.
    pool_region = region_of_pool(event["PhysicalResourceId"])
    api_region = new_spec.api_region or pool_client().meta.region_name
    if pool_region is not None and pool_region != api_region:
        raise lifecycle.PoolError(
            f"ApiRegion cannot change from {pool_region} to {api_region}: the pool stays in the Region "
            "whose API created it; define a new pool (another construct id) in the new Region instead"
        )
    configuration = lifecycle.update_pool(
        pool_client(new_spec.api_region),
        event["PhysicalResourceId"],
        old_spec,
        new_spec,
        _token(event),
        _budget(new_spec.wait_timeout_seconds, context),
        _report_physical_id,
        _owner(event),
    )
    helper.Data.update(lifecycle.pool_data(configuration))
    return configuration["PoolArn"]


@helper.delete
@_short_reason
def delete(event: dict[str, Any], context: Any) -> str:
    physical_id = event["PhysicalResourceId"]
    properties = event.get("ResourceProperties")
    budget = _budget(wait_timeout_of(properties), context)
    # The ARN's Region, not the properties': a Delete must reach the pool wherever it was created.
    # With a made-up physical id (a Create whose response was lost), the properties say where the
    # Create went and which PoolName it asked for.
    # Properties that do not parse never reached the service: no pool to look for then.
    region = region_of_pool(physical_id)
    name = None
    if region is None:
        try:
            spec = parse_properties(properties)
        except InvalidPropertiesError:
            spec = None
        if spec is not None:
            region, name = spec.api_region, spec.pool_name
    outcome = lifecycle.delete_pool(
        pool_client(region),
        physical_id,
        budget,
        stream_client if delete_streams_of(properties) else None,
        owner=_owner(event),
        # Once the pool is gone its streams may use the rest of the invocation, not just the wait budget.
        stream_budget=_budget(pool_rules.WAIT_TIMEOUT_MAX, context),
        pool_name=name,
    )
    logger.info("Delete: %s", outcome)
    helper.Reason = shorten(outcome)
    return str(physical_id)


# When the current invocation must have answered (time.monotonic()); set at its start. A list, so
# that the handler sets it without a global statement; one invocation at a time per environment.
_ANSWER_BY = [float("inf")]


def _report_physical_id(arn: str) -> None:
    helper.PhysicalResourceId = arn


def _owner(event: Mapping[str, Any]) -> Owner:
    return Owner.of(str(event["StackId"]), str(event["LogicalResourceId"]))


def _token(event: Mapping[str, Any]) -> str:
    return lifecycle.client_request_token(event["StackId"], event["LogicalResourceId"], event["RequestId"])


def _remaining_seconds(context: Any) -> float:
    """How long this invocation may still work: the Lambda's remaining time, or less when
    CloudFormation's ServiceTimeout ends first (``pool_rules.answer_within_seconds``)."""
    lambda_seconds = float(context.get_remaining_time_in_millis()) / 1000.0
    return min(lambda_seconds, _ANSWER_BY[0] - time.monotonic())


def _budget(wait_timeout_seconds: int, context: Any) -> lifecycle.Budget:
    def call_room() -> float:
        # No call may run into the response margin, however long the wait budget still is.
        return _remaining_seconds(context) - RESPONSE_MARGIN_SECONDS

    return lifecycle.Budget.for_seconds(min(float(wait_timeout_seconds), call_room()), call_room=call_room)
