"""The offline cloud for one session: the Chime emulator, the ResponseURL server and CloudFormation.

``OfflineCloud`` starts the three on loopback, loads the saved state, and saves it after every
stack operation, so that separate CLI runs (and test steps) see one continuous account. IAM is
enforced by default: each function calls the emulator as its execution role, and each call is
authorized against that role's policies as the stack holds them at that moment (``local.iam_store``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from local.chime_emulator import ChimeEmulator, EmulatorServer
from local.chime_emulator.rate_limits import RateLimiter
from local.cloudformation import (
    DEFAULT_LAMBDA_CONCURRENCY,
    DEFAULT_MAX_CONCURRENCY,
    CloudFormationDriver,
    OperationFailed,
    StackEvent,
    StackRecord,
)
from local.iam_store import IamStore, UnknownPrincipals
from local.native_resources import identifier_problem, native_pool_reader
from local.response_server import ResponseServer
from local.state import StateStore
from local.template import load_stack

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES"
# The emulator's one port serves the pool API, the pools' streams and their service-linked role.
ENDPOINT_VARIABLES = (ENDPOINT_VARIABLE, "AWS_ENDPOINT_URL_KINESIS_VIDEO", "AWS_ENDPOINT_URL_IAM")


class OfflineCloud:
    """A context manager: the local account's services, running, with state loaded and saved."""

    def __init__(
        self,
        state: StateStore,
        *,
        region: str = "us-east-1",
        emulator: ChimeEmulator | None = None,
        emulator_settings: dict[str, Any] | None = None,
        on_event: Callable[[StackEvent], None] | None = None,
        rate_limiter: RateLimiter | None = None,
        enforce_iam: bool = True,
        unknown_principals: UnknownPrincipals = "allow",
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        lambda_concurrency: int = DEFAULT_LAMBDA_CONCURRENCY,
    ) -> None:
        self.state = state
        self.max_concurrency = max_concurrency
        self.lambda_concurrency = lambda_concurrency
        self.region = region
        self.emulator = emulator or state.load_emulator(**(emulator_settings or {}))
        self.on_event = on_event
        # The account's IAM: the driver writes roles and policies as it plays them; with
        # enforce_iam the emulator authorizes each function's calls against its role's policies.
        self.iam = IamStore(self.emulator.account_id, unknown_principals=unknown_principals)
        self._save_lock = threading.Lock()
        # API rate limits (off by default): the scale tests and the bench switch them on.
        self._emulator_server = EmulatorServer(
            self.emulator,
            on_change=self._save_emulator,
            rate_limiter=rate_limiter,
            iam=self.iam if enforce_iam else None,
        )
        self._response_server = ResponseServer()
        self.driver: CloudFormationDriver | None = None

    def __enter__(self) -> OfflineCloud:
        self._emulator_server.start()
        self._response_server.start()
        self.driver = CloudFormationDriver(
            response_server=self._response_server,
            code_store=self.state.code_store,
            log_dir=self.state.log_dir,
            region=self.region,
            account=self.emulator.account_id,
            function_env={name: self._emulator_server.endpoint_url for name in ENDPOINT_VARIABLES},
            on_event=self.on_event,
            iam=self.iam,
            max_concurrency=self.max_concurrency,
            lambda_concurrency=self.lambda_concurrency,
        )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.driver is not None:
            self.driver.close()
        self._response_server.stop()
        self._emulator_server.stop()
        self._save_emulator()

    @property
    def endpoint_url(self) -> str:
        return self._emulator_server.endpoint_url

    @property
    def response_server(self) -> ResponseServer:
        return self._response_server

    def deploy(
        self, assembly_dir: Path, stack_name: str | None = None, *, retain_except_on_create: bool = False
    ) -> StackRecord:
        """``cdk deploy`` of a synthesized stack: a create the first time, an update afterwards.
        ``retain_except_on_create``: CloudFormation's stack operation flag of that name."""
        artifact = load_stack(Path(assembly_dir), stack_name)
        stack = self._driver().deploy(
            artifact, self.state.load_stack(artifact.name), retain_except_on_create=retain_except_on_create
        )
        self.state.save_stack(stack)
        self._save_emulator()
        return stack

    def destroy(self, stack_name: str) -> StackRecord | None:
        """``cdk destroy``: None when there was no such stack."""
        stack = self.state.load_stack(stack_name)
        if stack is None:
            return None
        stack = self._driver().destroy(stack)
        self.state.save_stack(stack)
        self._save_emulator()
        return stack

    def continue_update_rollback(self, stack_name: str) -> StackRecord:
        """``aws cloudformation continue-update-rollback`` for a stack in UPDATE_ROLLBACK_FAILED."""
        stack = self.state.load_stack(stack_name)
        if stack is None:
            raise LookupError(f"no stack {stack_name!r} in {self.state.root}")
        stack = self._driver().continue_update_rollback(stack)
        self.state.save_stack(stack)
        self._save_emulator()
        return stack

    def import_resources(
        self, assembly_dir: Path, stack_name: str, identifiers: dict[str, dict[str, str]]
    ) -> StackRecord:
        """``cdk import``: bring existing pools into a deployed stack as the native resource type
        (``identifiers``: logical id -> ``{"Arn": pool ARN}``)."""
        artifact = load_stack(Path(assembly_dir), stack_name)
        previous = self.state.load_stack(artifact.name)
        if previous is None:
            raise LookupError(f"no stack {artifact.name!r} in {self.state.root}: deploy it before importing")
        # CloudFormation refuses, before any read, an identifier that does not fit the type's schema
        # and a resource that another stack already holds.
        taken = [
            f"{logical_id}: {problem}"
            for logical_id, identifier in identifiers.items()
            if (problem := identifier_problem(identifier)) is not None
        ]
        held = {
            resource.physical_id: other.stack_name
            for other in self.state.load_stacks()
            for resource in other.resources.values()
        }
        taken += [
            f"{logical_id}: {value} already exists in stack {held[value]}"
            for logical_id, identifier in identifiers.items()
            for value in identifier.values()
            if value in held
        ]
        if taken:
            raise OperationFailed(f"{artifact.name}: the import change set is invalid: " + "; ".join(taken))
        stack = self._driver().import_resources(
            artifact, previous, identifiers, native_pool_reader(self.endpoint_url, self.region)
        )
        self.state.save_stack(stack)
        return stack

    def stack(self, stack_name: str) -> StackRecord | None:
        return self.state.load_stack(stack_name)

    def _driver(self) -> CloudFormationDriver:
        if self.driver is None:
            raise RuntimeError("OfflineCloud is used outside its 'with' block")
        return self.driver

    def _save_emulator(self) -> None:
        # The emulator serves concurrent requests (parallel resources, several Lambda environments),
        # and each change saves the state through one temporary file: one save at a time.
        with self._save_lock:
            self.state.save_emulator(self.emulator)
