"""A local Lambda: the Runtime API on loopback, and the real ``awslambdaric`` client running the handler.

Lambda runs a function's code in a long-lived process that pulls one invocation at a time from the
Runtime API (``/2018-06-01/runtime/...``). This module plays the service's side of that API and
starts ``python -m awslambdaric <handler>`` in the function's code folder, so the handler runs the
way it does in the cloud: same client library, same context object, a real deadline
(``get_remaining_time_in_millis`` counts down to the function's timeout), a warm process reused
across invocations, and a killed-and-restarted process after a timeout or a crash.

Concurrent invocations run in separate execution environments (up to ``max_environments``, each
its own process and Runtime API endpoint, one invocation at a time each), started on demand with
their cold start and reused warm afterwards.

What it does not emulate: the Python version of the Lambda runtime (the process runs this
interpreter), memory limits (only reported to the handler), environments retired after idling, and
the retries of asynchronous invocations.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from local.http_server import LoopbackHTTPServer
from local.iam_store import Credentials

_API_PREFIX = "/2018-06-01/runtime"
# Lambda gives a new execution environment 10 s to initialise; a cold start here also pays for the
# interpreter and boto3 imports on a busy machine, so allow more before calling it a failure.
INIT_TIMEOUT_SECONDS = 30.0
# Environments started together share this machine's cores (in Lambda each has its own): each one
# initialising at the same time adds this much to the others' allowance.
INIT_SECONDS_PER_CONCURRENT_START = 1.0
# How long a killed process may take to go away before it is killed harder.
_KILL_GRACE_SECONDS = 5.0

# Keys of no role: the emulator treats their requests as an unknown caller's (unrestricted by default).
_PLACEHOLDER_CREDENTIALS = Credentials(
    "ASIALOCALEXAMPLE0000", "local-secret-access-key", "local-session-token"
)

Outcome = Literal["success", "error", "timeout", "init_error", "crashed"]


@dataclass(frozen=True)
class FunctionConfig:
    """What Lambda knows about a function: the parts of ``AWS::Lambda::Function`` that matter here."""

    function_name: str
    function_arn: str
    handler: str
    code_dir: Path
    timeout_seconds: int = 3
    memory_mb: int = 128
    runtime: str = "python3.14"
    region: str = "us-east-1"
    environment: Mapping[str, str] = field(default_factory=dict)
    log_group: str | None = None
    # The execution role's session (local.iam_store); None: placeholder keys that identify no role.
    credentials: Credentials | None = None


@dataclass(frozen=True)
class InvocationResult:
    """How one invocation ended, as Lambda would report it."""

    request_id: str
    outcome: Outcome
    payload: Any = None
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


@dataclass
class _Invocation:
    request_id: str
    body: bytes
    timeout_seconds: int
    deadline_ms: int = 0
    picked_up: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    result: InvocationResult | None = None

    def finish(self, result: InvocationResult) -> None:
        """Record the first outcome only: the runtime may not report twice."""
        if self.result is None:
            self.result = result
            self.done.set()


class RuntimeApiServer:
    """The service's side of the Lambda Runtime API for one function, on loopback."""

    def __init__(self, function_arn: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.function_arn = function_arn
        self._pending: queue.Queue[_Invocation] = queue.Queue()
        self._by_id: dict[str, _Invocation] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.init_error: dict[str, Any] | None = None
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer._handle_get(self)

            def do_POST(self) -> None:
                outer._handle_post(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = LoopbackHTTPServer((host, port), _Handler)
        self.address = f"{host}:{self._httpd.server_address[1]}"
        # A short poll interval: stopping the server (a function deleted or restarted) waits for it.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="lambda-runtime-api", daemon=True
        )

    def start(self) -> RuntimeApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def enqueue(self, invocation: _Invocation) -> None:
        with self._lock:
            self._by_id[invocation.request_id] = invocation
        self._pending.put(invocation)

    def forget(self, invocation: _Invocation) -> None:
        with self._lock:
            self._by_id.pop(invocation.request_id, None)

    # -- HTTP ------------------------------------------------------------------------------

    def _handle_get(self, request: BaseHTTPRequestHandler) -> None:
        if request.path != f"{_API_PREFIX}/invocation/next":
            _reply(request, 404, {"errorMessage": "unknown path"})
            return
        # Lambda's "next" blocks until there is work; a shutdown ends the wait.
        while not self._closing.is_set():
            try:
                invocation = self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
            if invocation.done.is_set():
                continue  # given up on before any process took it
            invocation.deadline_ms = int(time.time() * 1000) + invocation.timeout_seconds * 1000
            request.send_response(200)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(invocation.body)))
            request.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
            request.send_header("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms))
            request.send_header("Lambda-Runtime-Invoked-Function-Arn", self.function_arn)
            request.send_header("Lambda-Runtime-Trace-Id", _trace_id())
            request.end_headers()
            request.wfile.write(invocation.body)
            invocation.picked_up.set()
            return
        _reply(request, 503, {"errorMessage": "runtime shutting down"})

    def _handle_post(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        path = request.path
        if path == f"{_API_PREFIX}/init/error":
            self.init_error = _json_or_text(raw)
            _reply(request, 202, {"status": "OK"})
            return
        parts = path.removeprefix(f"{_API_PREFIX}/invocation/").split("/")
        if not path.startswith(f"{_API_PREFIX}/invocation/") or len(parts) != 2:
            _reply(request, 404, {"errorMessage": "unknown path"})
            return
        request_id, kind = parts
        with self._lock:
            invocation = self._by_id.get(request_id)
        if invocation is None or invocation.done.is_set():
            # Lambda refuses a report for an invocation that is over (timed out, already reported).
            _reply(request, 400, {"errorMessage": f"invalid request id {request_id}"})
            return
        if kind == "response":
            invocation.finish(InvocationResult(request_id, "success", _json_or_text(raw)))
        elif kind == "error":
            payload = _json_or_text(raw)
            error_type = request.headers.get("Lambda-Runtime-Function-Error-Type")
            if not error_type and isinstance(payload, dict):
                error_type = payload.get("errorType")
            invocation.finish(InvocationResult(request_id, "error", payload, error_type))
        else:
            _reply(request, 404, {"errorMessage": "unknown path"})
            return
        _reply(request, 202, {"status": "OK"})


class _Environment:
    """One execution environment: its own Runtime API endpoint and ``awslambdaric`` process.

    It runs one invocation at a time; its process stays warm between invocations and is killed
    (and started again, cold, on the next one) after a timeout or a crash.
    """

    def __init__(self, owner: LocalLambda, number: int) -> None:
        self.owner = owner
        self.number = number
        self.server = RuntimeApiServer(owner.config.function_arn)
        self.process: subprocess.Popen[bytes] | None = None
        self.init_allowance = 0.0
        self.initialising = False
        self._started = False

    def start(self) -> None:
        if not self._started:
            self.server.start()
            self._started = True

    def close(self) -> None:
        self.kill()
        if self._started:
            self.server.stop()

    def run(self, body: bytes) -> InvocationResult:
        invocation = _Invocation(str(uuid.uuid4()), body, self.owner.config.timeout_seconds)
        self.ensure_process()
        self.server.enqueue(invocation)
        try:
            return self._await(invocation)
        finally:
            self.server.forget(invocation)
            self._initialised()

    def _initialised(self) -> None:
        """This environment no longer competes with the others' initialisation."""
        if self.initialising:
            self.owner.starting(-1)
            self.initialising = False
            self.init_allowance = 0.0

    def _await(self, invocation: _Invocation) -> InvocationResult:
        request_id = invocation.request_id
        init_deadline = time.monotonic() + INIT_TIMEOUT_SECONDS + self.init_allowance
        while not invocation.picked_up.wait(0.05):
            if invocation.done.is_set():
                break
            if self.exited() or time.monotonic() > init_deadline:
                self.kill()
                failure = self.server.init_error
                invocation.finish(InvocationResult(request_id, "init_error", failure, "Runtime.InitError"))
                return invocation.result  # type: ignore[return-value]
        self._initialised()
        # The deadline is the one the handler was given; a little slack covers the report's trip.
        while not invocation.done.wait(0.05):
            if self.exited():
                invocation.finish(InvocationResult(request_id, "crashed", None, "Runtime.ExitError"))
                self.kill()
                break
            if time.time() * 1000 > invocation.deadline_ms + 100:
                invocation.finish(
                    InvocationResult(
                        request_id,
                        "timeout",
                        {"errorMessage": f"Task timed out after {invocation.timeout_seconds:.2f} seconds"},
                        "Sandbox.Timedout",
                    )
                )
                # Lambda freezes and discards the environment of a timed-out invocation.
                self.kill()
                break
        return invocation.result  # type: ignore[return-value]

    def ensure_process(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.init_allowance = 0.0
            return
        self.initialising = True
        self.init_allowance = INIT_SECONDS_PER_CONCURRENT_START * self.owner.starting(+1)
        self.start()
        self.server.init_error = None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", self.owner.config.handler],
            cwd=self.owner.config.code_dir,
            env=self.owner.process_environment(self.server.address),
            stdin=subprocess.DEVNULL,
            stdout=self.owner.log_output(),
            stderr=subprocess.STDOUT,
        )
        self.owner.count_cold_start()

    def exited(self) -> bool:
        return self.process is None or self.process.poll() is not None

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        try:
            process.wait(timeout=_KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.terminate()


class LocalLambda:
    """One function: up to ``max_environments`` execution environments, each warm and restartable.

    Lambda runs concurrent invocations in separate execution environments, each handling one
    invocation at a time. An invocation here takes an idle environment (the one used most recently:
    warm reuse), or starts a new one (a cold start: a new ``awslambdaric`` process with its own
    Runtime API endpoint) while fewer than ``max_environments`` exist; beyond that it queues, as
    invocations beyond a function's concurrency wait (asynchronous ones are queued by Lambda).

    ``extra_env`` is what the surroundings add to the function's own environment: here, where the
    AWS APIs are (``AWS_ENDPOINT_URL_*``) and which CA to trust (``SSL_CERT_FILE``), the way a VPC
    endpoint or a corporate proxy's CA would be configured for a real function.
    """

    def __init__(
        self,
        config: FunctionConfig,
        *,
        extra_env: Mapping[str, str] | None = None,
        log_file: Path | None = None,
        max_environments: int = 1,
    ) -> None:
        if max_environments < 1:
            raise ValueError("max_environments must be at least 1")
        self.config = config
        self.extra_env = dict(extra_env or {})
        self.log_file = log_file
        self.max_environments = max_environments
        self.cold_starts = 0
        self._lock = threading.Lock()
        self._environments: list[_Environment] = []
        self._idle: list[_Environment] = []  # most recently used last
        self._starting = 0
        self._log_handle: IO[bytes] | None = None
        self._queue = ThreadPoolExecutor(
            max_workers=max_environments, thread_name_prefix=f"lambda-{config.function_name}"
        )
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalLambda:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Nothing to do ahead of the first invocation: environments start on demand."""

    def close(self) -> None:
        self._closed = True
        self._queue.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            environments, self._environments, self._idle = self._environments, [], []
        for environment in environments:
            environment.close()
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    @property
    def environments(self) -> int:
        """How many execution environments exist (warm or busy)."""
        with self._lock:
            return len(self._environments)

    # -- invoking --------------------------------------------------------------------------

    def invoke_async(self, event: Mapping[str, Any]) -> Future[InvocationResult]:
        """An ``Event`` invocation: queued, run in the next free environment, result in the future."""
        body = json.dumps(event).encode()
        return self._queue.submit(self._run, body)

    def invoke(self, event: Mapping[str, Any]) -> InvocationResult:
        """A ``RequestResponse`` invocation: waits for the outcome."""
        return self.invoke_async(event).result()

    def process_environment(self, runtime_api: str = "") -> dict[str, str]:
        """The environment the function's process sees: Lambda's reserved variables, then the function's."""
        config = self.config
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(config.code_dir),
            "PYTHONPATH": str(config.code_dir),
            "_HANDLER": config.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(config.timeout_seconds),
            "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group or f"/aws/lambda/{config.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
        }
        # The execution role's temporary credentials: they tell the emulator which role is calling.
        credentials = config.credentials or _PLACEHOLDER_CREDENTIALS
        env["AWS_ACCESS_KEY_ID"] = credentials.access_key_id
        env["AWS_SECRET_ACCESS_KEY"] = credentials.secret_access_key
        env["AWS_SESSION_TOKEN"] = credentials.session_token
        env.update(config.environment)
        env.update(self.extra_env)
        return env

    def log_output(self) -> IO[bytes] | int:
        """Where every environment's output goes: one file (what CloudWatch Logs would hold)."""
        with self._lock:
            if self._log_handle is None and self.log_file is not None:
                self.log_file.parent.mkdir(parents=True, exist_ok=True)
                self._log_handle = self.log_file.open("ab")
            return self._log_handle if self._log_handle is not None else subprocess.DEVNULL

    def starting(self, change: int) -> int:
        """Count environments initialising (``change`` +1 or -1); returns how many others are."""
        with self._lock:
            self._starting += change
            return max(self._starting - 1, 0)

    def count_cold_start(self) -> None:
        with self._lock:
            self.cold_starts += 1

    def _run(self, body: bytes) -> InvocationResult:
        environment = self._acquire()
        try:
            return environment.run(body)
        finally:
            self._release(environment)

    def _acquire(self) -> _Environment:
        """The most recently used idle environment, or a new one (the executor bounds how many)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            environment = _Environment(self, len(self._environments) + 1)
            self._environments.append(environment)
            return environment

    def _release(self, environment: _Environment) -> None:
        with self._lock:
            if environment in self._environments and not self._closed:
                self._idle.append(environment)
                return
        environment.close()


def _reply(request: BaseHTTPRequestHandler, status: int, body: Mapping[str, Any]) -> None:
    raw = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(raw)))
    request.end_headers()
    request.wfile.write(raw)


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _trace_id() -> str:
    """An X-Ray trace header in the shape Lambda sends (Root=1-<epoch hex>-<96-bit hex>)."""
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
