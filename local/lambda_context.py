"""Lambda's context object for a handler called in-process, with a real deadline.

``local.lambda_runtime`` runs a function in its own process, where ``awslambdaric`` builds the
context. A handler called directly in this process (many requests, no process per call) needs the
same object: the attributes Lambda sets and ``get_remaining_time_in_millis`` counting down to the
invocation's timeout, so that crhelper's timer and the handler's own time budget behave as in Lambda.
"""

from __future__ import annotations

import time
import uuid

DEFAULT_FUNCTION_NAME = "kvs-pool-handler"
DEFAULT_MEMORY_MB = 256


class LambdaContext:
    """The attributes of ``awslambdaric``'s context object, and a deadline ``timeout_seconds`` away."""

    def __init__(
        self,
        timeout_seconds: float,
        *,
        function_name: str = DEFAULT_FUNCTION_NAME,
        memory_limit_in_mb: int = DEFAULT_MEMORY_MB,
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        # Monotonic, unlike Lambda's wall-clock deadline: a clock step must not end an invocation.
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the deadline, never negative (as Lambda reports it)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))
