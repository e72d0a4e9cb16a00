"""A handler under the real Lambda runtime client, against the emulator, answering a local ResponseURL.

The handler-side cases (cold start, wait latency, API calls, memory) all run a function this way,
built from the offline stand-ins in ``local/``: the Chime emulator, the ResponseURL server and the
local Lambda (Runtime API + ``awslambdaric``). The function's settings come from the synthesized
template, its code from the synthesized asset folder, as CloudFormation would deploy them.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from local.chime_emulator import ChimeEmulator, EmulatorServer
from local.events import custom_resource_event
from local.lambda_runtime import FunctionConfig, LocalLambda
from local.response_server import ResponseServer
from local.template import load_stack

STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/BenchStack/11111111-2222-3333-4444-555555555555"
)
RESOURCE_TYPE = "Custom::ChimeKinesisVideoStreamPool"
STREAM_REGION = "us-east-1"
# A bound on every wait for a response: the D=30 case plus generous slack for a loaded machine.
RESPONSE_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True)
class Answer:
    """A custom-resource response, when its request was sent and when it arrived (``time.time``)."""

    body: dict[str, Any]
    sent: float
    arrived: float

    @property
    def succeeded(self) -> bool:
        return self.body.get("Status") == "SUCCESS"


def handler_function(assembly: Path, function_name: str = "pool-handler") -> FunctionConfig:
    """Our handler's settings and code folder, read from a synthesized cloud assembly."""
    stack = load_stack(assembly)
    functions = [
        resource["Properties"]
        for resource in stack.template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    if len(functions) != 1:
        raise ValueError(f"expected one Lambda function in {assembly}, found {len(functions)}")
    properties = functions[0]
    variables = properties.get("Environment", {}).get("Variables", {})
    return FunctionConfig(
        function_name=function_name,
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
        handler=properties["Handler"],
        code_dir=stack.asset_dir_for_code(properties["Code"]),
        timeout_seconds=int(properties.get("Timeout", 3)),
        memory_mb=int(properties.get("MemorySize", 128)),
        environment={key: value for key, value in variables.items() if isinstance(value, str)},
    )


def pool_properties(
    name: str, *, retention_hours: int = 24, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    """ResourceProperties as CloudFormation sends them: every scalar a string."""
    properties: dict[str, Any] = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:pool-handler",
        "PoolName": name,
        "StreamConfiguration": {"Region": STREAM_REGION, "DataRetentionInHours": str(retention_hours)},
        # The pools' service-linked role (on unless turned off) is one IAM call per account, not part
        # of a pool's lifecycle; these cases count and time the pool's own calls.
        "EnsureServiceLinkedRole": "false",
    }
    if tags:
        properties["Tags"] = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
    return properties


class HandlerBench:
    """One function process (warm across invocations) with its emulator and ResponseURL server."""

    def __init__(self, function: FunctionConfig, *, create_delay: float = 0.0) -> None:
        self.function = function
        self.emulator = ChimeEmulator(create_delay=create_delay)
        self._stack = ExitStack()
        self.responses = self._stack.enter_context(ResponseServer())
        self.endpoint = self._stack.enter_context(EmulatorServer(self.emulator))
        self.local_lambda = LocalLambda(
            function,
            extra_env={
                "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES": self.endpoint.endpoint_url,
                "SSL_CERT_FILE": self.responses.ca_file,
            },
        )
        self._stack.enter_context(self.local_lambda)

    def __enter__(self) -> HandlerBench:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def request(
        self,
        request_type: str,
        properties: dict[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
        logical_id: str = "Pool",
    ) -> Answer:
        """Send one CloudFormation request through Lambda and wait (bounded) for its response."""
        event = custom_resource_event(
            self.responses,
            request_type,
            properties,
            stack_id=STACK_ID,
            logical_id=logical_id,
            resource_type=RESOURCE_TYPE,
            physical_id=physical_id,
            old_properties=old_properties,
        )
        sent = time.time()
        self.local_lambda.invoke_async(event)
        body = self.responses.wait_for(event["RequestId"], RESPONSE_TIMEOUT_SECONDS)
        arrived = time.time()
        if body is None:
            raise TimeoutError(f"no response to {request_type} within {RESPONSE_TIMEOUT_SECONDS:.0f} s")
        return Answer(body, sent, arrived)
