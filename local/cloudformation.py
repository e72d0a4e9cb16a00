"""A local CloudFormation for one stack: deploys, updates and deletes a synthesized template.

Only custom resources do real work: each one is an asynchronous invocation of the stack's own
Lambda function (run by ``local.lambda_runtime``) that answers by an HTTPS PUT to a presigned-style
ResponseURL (``local.response_server``). Every other resource (roles, policies, log groups, the
function itself) is a simulated record with a realistic physical id and ``Arn`` attribute.

CloudFormation's rules played here:
- resources in dependency order (Ref, Fn::GetAtt, Fn::Sub, DependsOn); deletion in reverse;
- independent resources in parallel (up to ``max_concurrency`` operations at once): a resource
  starts once everything it depends on is complete (a deletion once everything that depends on it
  is deleted); after a failure no new operation starts, the ones in flight finish, then the stack
  rolls back (its rollback and cleanup deletions run in parallel in the same way). Each resource's
  events come in order; with ``max_concurrency=1`` the operations run one at a time, in the
  template's stable dependency order;
- each function runs in up to ``lambda_concurrency`` execution environments at once
  (``local.lambda_runtime``), so concurrent custom resource requests run concurrently;
- custom resource requests with string-typed properties, a fresh RequestId, OldResourceProperties
  on updates, and a wait for the response bounded by ``ServiceTimeout`` (default 3,600 s);
- a custom resource's ServiceToken cannot change ("Modifying service token is not allowed."): the
  update fails before any request is sent;
- a new PhysicalResourceId in an Update response is a replacement: the old one is deleted with
  its old properties in the cleanup phase, after every resource is updated;
- a failed create rolls back by deleting what was created, with the physical id that was reported
  (a made-up one when no response came, as CloudFormation does);
- a failed update rolls back: in-place updates are updated back (old and new properties swapped),
  resources created or replaced during the update are deleted in the rollback's cleanup phase;
- ``DeletionPolicy: Retain`` keeps the resource on stack deletion and on removal from the template,
  and a resource created by an operation that rolls back, unless the operation has the stack flag
  ``RetainExceptOnCreate``; ``DeletionPolicy: RetainExceptOnCreate`` keeps it except on that rollback;
- a rollback update that fails leaves the stack in ``UPDATE_ROLLBACK_FAILED``, and
  ``continue_update_rollback`` (ContinueUpdateRollback) sends that resource's rollback update again.
- a resource import (``import_resources``, an IMPORT change set as ``cdk import`` runs it) brings
  existing physical resources into the stack under new logical ids: each needs a DeletionPolicy and
  an identifier that fits the type's schema, names a resource which exists (``ImportReader``) and no
  other stack holds; nothing else may change in the same operation; a missing resource ends in
  ``IMPORT_ROLLBACK_COMPLETE`` with the stack as before.

Not emulated: SNS service tokens, stack policies, change sets, drift,
nested stacks. Lambda's at-least-once delivery of asynchronous events is not played by default;
``CloudFormationDriver.deliver`` is where a caller can deliver a request more than once.
"""

from __future__ import annotations

import secrets
import shutil
import string
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from local.events import custom_resource_event
from local.iam_policy import PolicyError
from local.iam_store import IAM_TYPES, IamStore
from local.lambda_runtime import FunctionConfig, LocalLambda
from local.response_server import ResponseServer
from local.template import (
    ResolveContext,
    Resolver,
    StackArtifact,
    TemplateError,
    creation_order,
    is_custom_resource,
    resource_dependencies,
    stringify,
)

_T = TypeVar("_T")
DEFAULT_SERVICE_TIMEOUT_SECONDS = 3600
# How many resource operations run at once. CloudFormation publishes no figure; it starts every
# independent resource of a stack without waiting for the others.
DEFAULT_MAX_CONCURRENCY = 64
# Execution environments per function: Lambda scales a function's environments to its account's
# concurrency (1,000 by default); here each one is a process, so the default stays modest.
DEFAULT_LAMBDA_CONCURRENCY = 10
_LAMBDA_TYPE = "AWS::Lambda::Function"


@dataclass
class ResourceRecord:
    """A deployed resource as CloudFormation remembers it."""

    logical_id: str
    resource_type: str
    physical_id: str
    properties: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)
    deletion_policy: str | None = None
    # For a function: the folder its code was published to (Lambda keeps its own copy of the code).
    code_dir: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResourceRecord:
        return cls(**data)


@dataclass
class StackRecord:
    """A deployed stack: what a later update or delete starts from."""

    stack_name: str
    stack_id: str
    region: str
    account: str
    status: str
    template: dict[str, Any]
    resources: dict[str, ResourceRecord] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    # Resources whose rollback update failed (UPDATE_ROLLBACK_FAILED): logical id -> the properties
    # of the update being rolled back, which ContinueUpdateRollback sends as OldResourceProperties.
    failed_rollback_updates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StackRecord:
        fields = dict(data)
        fields["resources"] = {k: ResourceRecord.from_json(v) for k, v in data.get("resources", {}).items()}
        return cls(**fields)


@dataclass(frozen=True)
class StackEvent:
    """One line of the stack's event log, as ``cdk deploy`` prints them."""

    timestamp: datetime
    stack_name: str
    logical_id: str
    resource_type: str
    status: str
    physical_id: str | None = None
    reason: str | None = None
    elapsed_seconds: float | None = None


@dataclass(frozen=True)
class CustomResourceOutcome:
    """How one custom resource request ended from CloudFormation's side."""

    request_id: str
    status: str  # SUCCESS or FAILED
    physical_id: str | None
    data: dict[str, Any]
    reason: str | None


@dataclass
class _Change:
    """A step of the current operation, kept so that a rollback can undo it."""

    kind: str  # created, updated, replaced
    logical_id: str
    before: ResourceRecord | None
    after: ResourceRecord | None


class OperationFailed(Exception):
    """A resource operation failed; CloudFormation rolls back."""


@dataclass(frozen=True)
class ImportedResource:
    """An existing physical resource, as a resource type's read handler finds it for an import."""

    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


# (resource type, resource identifier) -> the resource, or None when it does not exist.
ImportReader = Callable[[str, Mapping[str, str]], "ImportedResource | None"]


def invoke_asynchronously(function: LocalLambda, event: dict[str, Any]) -> None:
    """How CloudFormation calls a custom resource's function: one ``Event`` invocation, no waiting."""
    function.invoke_async(event)


class CloudFormationDriver:
    """Plays CloudFormation for stacks whose custom resources are backed by their own Lambda.

    ``deliver`` hands each custom resource request to its function (default: one asynchronous
    invocation). Lambda delivers asynchronous events at least once and retries them after errors;
    a ``deliver`` that invokes the function again with the same event plays that.
    """

    def __init__(
        self,
        *,
        response_server: ResponseServer,
        code_store: Path,
        log_dir: Path,
        region: str = "us-east-1",
        account: str = "123456789012",
        function_env: Mapping[str, str] | None = None,
        on_event: Callable[[StackEvent], None] | None = None,
        deliver: Callable[[LocalLambda, dict[str, Any]], None] = invoke_asynchronously,
        iam: IamStore | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        lambda_concurrency: int = DEFAULT_LAMBDA_CONCURRENCY,
    ) -> None:
        self.response_server = response_server
        self.code_store = code_store
        self.log_dir = log_dir
        self.region = region
        self.account = account
        # What the surroundings add to every function's environment: the emulator's endpoint, the CA.
        self.function_env = {"SSL_CERT_FILE": response_server.ca_file, **(function_env or {})}
        self.on_event = on_event
        self.deliver = deliver
        # The account's roles and policies, changed as each IAM resource is played (see _iam_put);
        # each function calls with credentials of its execution role. Enforced by the emulator
        # that shares this store (local.offline.OfflineCloud).
        self.iam = iam or IamStore(account)
        self.max_concurrency = max(1, max_concurrency)
        self.lambda_concurrency = max(1, lambda_concurrency)
        # Resource operations run on worker threads: events, records and functions are shared.
        self._lock = threading.RLock()
        self.events: list[StackEvent] = []
        self.requests: list[dict[str, Any]] = []  # every custom resource event sent, for inspection
        self._functions: dict[str, tuple[FunctionConfig, LocalLambda]] = {}

    def close(self) -> None:
        for _, function in self._functions.values():
            function.close()
        self._functions.clear()

    def __enter__(self) -> CloudFormationDriver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- stack operations ------------------------------------------------------------------

    def deploy(
        self, artifact: StackArtifact, previous: StackRecord | None, *, retain_except_on_create: bool = False
    ) -> StackRecord:
        """Create the stack, or update it from ``previous``; returns the stack as it now stands.

        ``retain_except_on_create`` is CreateStack/UpdateStack's flag of that name: a rollback then
        deletes the resources this operation created even when their DeletionPolicy is ``Retain``.
        """
        if previous is not None and previous.status == "ROLLBACK_COMPLETE":
            previous = None  # a stack whose creation rolled back holds nothing; cdk deploy recreates it
        region, account = self._environment(artifact)
        stack = StackRecord(
            stack_name=artifact.name,
            stack_id=previous.stack_id if previous else _stack_id(region, account, artifact.name),
            region=region,
            account=account,
            status="UPDATE_IN_PROGRESS" if previous else "CREATE_IN_PROGRESS",
            template=artifact.template,
            resources=dict(previous.resources) if previous else {},
        )
        self._load_iam(stack)
        self._stack_event(stack, stack.status)
        changes: list[_Change] = []
        failures = self._play(
            self._order(artifact.template),
            lambda logical_id: self._deploy_resource(stack, artifact, logical_id, changes),
            resource_dependencies(artifact.template),
            stop_on_failure=True,
        )
        if failures:
            return self._roll_back(stack, previous, changes, str(failures[0]), retain_except_on_create)

        if previous is not None:
            stack.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
            self._stack_event(stack, stack.status)
            self._cleanup(stack, previous, changes)
        stack.outputs = self._outputs(stack)
        stack.status = "UPDATE_COMPLETE" if previous else "CREATE_COMPLETE"
        self._stack_event(stack, stack.status)
        return stack

    def continue_update_rollback(self, stack: StackRecord) -> StackRecord:
        """ContinueUpdateRollback: send the rollback update of every resource whose rollback failed."""
        if stack.status != "UPDATE_ROLLBACK_FAILED":
            raise OperationFailed(f"{stack.stack_name} is {stack.status}, not UPDATE_ROLLBACK_FAILED")
        stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        self._load_iam(stack)
        self._stack_event(stack, stack.status)
        for logical_id, attempted_properties in list(stack.failed_rollback_updates.items()):
            before = stack.resources[logical_id]
            attempted = ResourceRecord(
                logical_id, before.resource_type, before.physical_id, attempted_properties
            )
            try:
                self._update_back(stack, before, attempted)
            except OperationFailed:
                continue
            del stack.failed_rollback_updates[logical_id]
        stack.status = (
            "UPDATE_ROLLBACK_FAILED" if stack.failed_rollback_updates else "UPDATE_ROLLBACK_COMPLETE"
        )
        self._stack_event(stack, stack.status)
        return stack

    def destroy(self, stack: StackRecord) -> StackRecord:
        """Delete every resource in reverse dependency order; returns what is left (if anything)."""
        stack.status = "DELETE_IN_PROGRESS"
        self._load_iam(stack)
        self._stack_event(stack, stack.status)
        order = [lid for lid in reversed(creation_order(stack.template)) if lid in stack.resources]
        order += [lid for lid in stack.resources if lid not in order]

        def delete(logical_id: str) -> None:
            self._delete_resource(stack, stack.resources[logical_id], honour_retain=True)
            with self._lock:
                del stack.resources[logical_id]

        failures = self._play(order, delete, resource_dependencies(stack.template), reverse=True)
        failed = bool(failures)
        stack.status = "DELETE_FAILED" if failed else "DELETE_COMPLETE"
        self._stack_event(stack, stack.status)
        if not failed:
            stack.outputs = {}
        return stack

    def import_resources(
        self,
        artifact: StackArtifact,
        previous: StackRecord,
        identifiers: Mapping[str, Mapping[str, str]],
        read: ImportReader,
    ) -> StackRecord:
        """A resource import into an existing stack (CreateChangeSet of type IMPORT, then execute).

        ``identifiers`` maps each new logical id of ``artifact``'s template to its resource
        identifier (the type's primary identifier, e.g. ``{"Arn": ...}``). As CloudFormation does,
        the change set is refused (``OperationFailed``, nothing changes) unless the template differs
        from the stack's only by those resources, each with a DeletionPolicy; the import then reads
        each resource, records it with the template's properties and the physical id it read, and
        calls no handler that changes it. A resource that does not exist rolls the import back.
        """
        resources = artifact.template.get("Resources", {})
        before = previous.template.get("Resources", {})
        problems = [f"{lid} is not a resource of the template" for lid in identifiers if lid not in resources]
        problems += [f"{lid} is already in the stack" for lid in identifiers if lid in previous.resources]
        problems += [
            f"{lid} has no DeletionPolicy (every imported resource needs one)"
            for lid in identifiers
            if lid in resources and "DeletionPolicy" not in resources[lid]
        ]
        problems += [
            f"{lid} changes in the same operation (an import only adds the imported resources)"
            for lid in sorted(set(resources) | set(before))
            if lid not in identifiers and resources.get(lid) != before.get(lid)
        ]
        if problems:
            raise OperationFailed(
                f"{previous.stack_name}: the import change set is invalid: " + "; ".join(problems)
            )
        stack = StackRecord(
            stack_name=previous.stack_name,
            stack_id=previous.stack_id,
            region=previous.region,
            account=previous.account,
            status="IMPORT_IN_PROGRESS",
            template=artifact.template,
            resources=dict(previous.resources),
            outputs=dict(previous.outputs),
        )
        self._stack_event(stack, stack.status)
        resolver = self._resolver(stack)
        for logical_id, identifier in identifiers.items():
            definition = resources[logical_id]
            resource_type = definition["Type"]
            self._event(stack, logical_id, resource_type, "IMPORT_IN_PROGRESS")
            reason = f"Resource of type '{resource_type}' with identifier '{dict(identifier)}' was not found"
            try:
                found = read(resource_type, identifier)
            except OperationFailed as failure:  # the read itself failed (access denied, a bad identifier)
                found, reason = None, str(failure)
            if found is None:
                self._event(stack, logical_id, resource_type, "IMPORT_FAILED", None, reason)
                previous.status = "IMPORT_ROLLBACK_IN_PROGRESS"
                self._stack_event(previous, previous.status, reason)
                previous.status = "IMPORT_ROLLBACK_COMPLETE"
                self._stack_event(previous, previous.status)
                return previous
            record = ResourceRecord(
                logical_id,
                resource_type,
                found.physical_id,
                resolver.resolve(definition.get("Properties", {})),
                dict(found.attributes),
                definition["DeletionPolicy"],
            )
            stack.resources[logical_id] = record
            self._event(stack, logical_id, resource_type, "IMPORT_COMPLETE", found.physical_id)
        stack.outputs = self._outputs(stack)
        stack.status = "IMPORT_COMPLETE"
        self._stack_event(stack, stack.status)
        return stack

    # -- per resource ----------------------------------------------------------------------

    def _deploy_resource(
        self, stack: StackRecord, artifact: StackArtifact, logical_id: str, changes: list[_Change]
    ) -> None:
        definition = artifact.template["Resources"][logical_id]
        resource_type = definition["Type"]
        properties = self._resolver(stack).resolve(definition.get("Properties", {}))
        if is_custom_resource(resource_type):
            properties = stringify(properties)
        deletion_policy = definition.get("DeletionPolicy")
        old = stack.resources.get(logical_id)
        if old is None:
            try:
                record = self._create_resource(stack, artifact, logical_id, resource_type, properties)
            except _CreateFailed as failure:
                failure.record.deletion_policy = deletion_policy
                changes.append(_Change("created", logical_id, None, failure.record))
                raise
            record.deletion_policy = deletion_policy
            stack.resources[logical_id] = record
            changes.append(_Change("created", logical_id, None, record))
            return
        if old.properties == properties and old.resource_type == resource_type:
            old.deletion_policy = deletion_policy
            return
        started = time.monotonic()
        self._event(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS", old.physical_id)
        if not is_custom_resource(resource_type):
            record = self._simulate(stack, artifact, logical_id, resource_type, properties, old.physical_id)
            record.deletion_policy = deletion_policy
            try:
                self._iam_put(stack, record)
            except PolicyError as error:
                self._event(
                    stack, logical_id, resource_type, "UPDATE_FAILED", old.physical_id, str(error), started
                )
                raise OperationFailed(f"{logical_id}: {error}") from error
            stack.resources[logical_id] = record
            changes.append(_Change("updated", logical_id, old, record))
            self._event(
                stack, logical_id, resource_type, "UPDATE_COMPLETE", record.physical_id, None, started
            )
            return
        if properties.get("ServiceToken") != old.properties.get("ServiceToken"):
            # CloudFormation's own rule: a custom resource stays with the provider that created it,
            # so a template that moves it to another function fails before any request is sent.
            reason = "Modifying service token is not allowed."
            self._event(stack, logical_id, resource_type, "UPDATE_FAILED", old.physical_id, reason, started)
            raise OperationFailed(f"{logical_id}: {reason}")
        outcome = self._invoke(
            stack, "Update", logical_id, resource_type, properties, old.physical_id, old.properties
        )
        new_physical_id = outcome.physical_id or old.physical_id
        record = ResourceRecord(
            logical_id, resource_type, new_physical_id, properties, dict(outcome.data), deletion_policy
        )
        replaced = new_physical_id != old.physical_id
        if outcome.status != "SUCCESS":
            # Roll the resource itself back in place; a new physical resource it reported is removed.
            if replaced:
                changes.append(_Change("replaced", logical_id, old, record))
            changes.append(_Change("updated", logical_id, old, record))
            reason = outcome.reason or "update failed"
            self._event(stack, logical_id, resource_type, "UPDATE_FAILED", new_physical_id, reason, started)
            raise OperationFailed(f"{logical_id}: {reason}")
        stack.resources[logical_id] = record
        changes.append(_Change("replaced" if replaced else "updated", logical_id, old, record))
        note = (
            "Requested update required the provider to create a new physical resource" if replaced else None
        )
        self._event(stack, logical_id, resource_type, "UPDATE_COMPLETE", new_physical_id, note, started)

    def _create_resource(
        self,
        stack: StackRecord,
        artifact: StackArtifact,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
    ) -> ResourceRecord:
        started = time.monotonic()
        self._event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS")
        if not is_custom_resource(resource_type):
            record = self._simulate(stack, artifact, logical_id, resource_type, properties, None)
            try:
                self._iam_put(stack, record)
            except PolicyError as error:
                # Nothing was created: the rollback has nothing of this resource to delete.
                self._event(stack, logical_id, resource_type, "CREATE_FAILED", None, str(error), started)
                raise OperationFailed(f"{logical_id}: {error}") from error
            self._event(
                stack, logical_id, resource_type, "CREATE_COMPLETE", record.physical_id, None, started
            )
            return record
        outcome = self._invoke(stack, "Create", logical_id, resource_type, properties)
        if outcome.status != "SUCCESS":
            reason = outcome.reason or "create failed"
            # What was reported is what the rollback deletes; with no response, an id is made up.
            physical_id = outcome.physical_id or _generated_name(stack.stack_name, logical_id, 64)
            record = ResourceRecord(logical_id, resource_type, physical_id, properties)
            stack.resources[logical_id] = record
            self._event(
                stack, logical_id, resource_type, "CREATE_FAILED", outcome.physical_id, reason, started
            )
            raise _CreateFailed(record, f"{logical_id}: {reason}")
        record = ResourceRecord(
            logical_id, resource_type, outcome.physical_id or "", properties, dict(outcome.data)
        )
        self._event(stack, logical_id, resource_type, "CREATE_COMPLETE", record.physical_id, None, started)
        return record

    def _delete_resource(self, stack: StackRecord, record: ResourceRecord, *, honour_retain: bool) -> None:
        resource_type = record.resource_type
        if honour_retain and record.deletion_policy in ("Retain", "RetainExceptOnCreate"):
            self._event(stack, record.logical_id, resource_type, "DELETE_SKIPPED", record.physical_id)
            return
        started = time.monotonic()
        self._event(stack, record.logical_id, resource_type, "DELETE_IN_PROGRESS", record.physical_id)
        if is_custom_resource(resource_type):
            outcome = self._invoke(
                stack,
                "Delete",
                record.logical_id,
                resource_type,
                record.properties,
                record.physical_id,
                resources=stack.resources,
            )
            if outcome.status != "SUCCESS":
                reason = outcome.reason or "delete failed"
                self._event(
                    stack,
                    record.logical_id,
                    resource_type,
                    "DELETE_FAILED",
                    record.physical_id,
                    reason,
                    started,
                )
                raise OperationFailed(f"{record.logical_id}: {reason}")
        elif resource_type == _LAMBDA_TYPE:
            self._retire_function(record.attributes.get("Arn", ""))
        elif resource_type in IAM_TYPES:
            self.iam.remove_resource(stack.stack_id, record.logical_id)
        self._event(
            stack, record.logical_id, resource_type, "DELETE_COMPLETE", record.physical_id, None, started
        )

    # -- rollback and cleanup --------------------------------------------------------------

    def _roll_back(
        self,
        stack: StackRecord,
        previous: StackRecord | None,
        changes: list[_Change],
        reason: str,
        retain_except_on_create: bool = False,
    ) -> StackRecord:
        creating = previous is None
        stack.status = "ROLLBACK_IN_PROGRESS" if creating else "UPDATE_ROLLBACK_IN_PROGRESS"
        self._stack_event(stack, stack.status, reason)
        to_delete: list[ResourceRecord] = []
        updated: list[_Change] = []
        for change in reversed(changes):
            if change.kind == "created" and change.after is not None:
                to_delete.append(change.after)
            elif change.kind == "replaced" and change.after is not None and change.before is not None:
                to_delete.append(change.after)
                stack.resources[change.logical_id] = change.before
            elif change.kind == "updated" and change.before is not None and change.after is not None:
                updated.append(change)
        dependencies = _dependencies(stack.template, previous.template if previous else None)

        def update_back(change: _Change) -> None:
            assert change.before is not None and change.after is not None
            try:
                self._update_back(stack, change.before, change.after)
            except OperationFailed:
                with self._lock:
                    stack.failed_rollback_updates[change.logical_id] = change.after.properties
                raise

        failed = bool(
            self._play(updated, update_back, dependencies, reverse=True, key=lambda c: c.logical_id)
        )
        if not creating:
            stack.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
            self._stack_event(stack, stack.status)

        def delete(record: ResourceRecord) -> None:
            # A rollback keeps a resource it created only under DeletionPolicy Retain without the
            # stack flag RetainExceptOnCreate (the policy RetainExceptOnCreate never keeps it).
            keep = record.deletion_policy == "Retain" and not retain_except_on_create
            self._delete_resource(stack, record, honour_retain=keep)
            with self._lock:
                if stack.resources.get(record.logical_id) is record:
                    del stack.resources[record.logical_id]

        if self._play(to_delete, delete, dependencies, reverse=True, key=lambda r: r.logical_id):
            failed = True
        if creating:
            stack.status = "ROLLBACK_FAILED" if failed else "ROLLBACK_COMPLETE"
            stack.outputs = {}
        else:
            stack.status = "UPDATE_ROLLBACK_FAILED" if failed else "UPDATE_ROLLBACK_COMPLETE"
            stack.template = previous.template if previous else stack.template
            stack.outputs = previous.outputs if previous else {}
        self._stack_event(stack, stack.status)
        return stack

    def _update_back(self, stack: StackRecord, before: ResourceRecord, attempted: ResourceRecord) -> None:
        """The rollback update of one resource: old and new properties swapped."""
        stack.resources[before.logical_id] = before
        if not is_custom_resource(before.resource_type):
            self._iam_put(stack, before)  # accepted when it was first deployed
            return
        started = time.monotonic()
        self._event(stack, before.logical_id, before.resource_type, "UPDATE_IN_PROGRESS", before.physical_id)
        outcome = self._invoke(
            stack,
            "Update",
            before.logical_id,
            before.resource_type,
            before.properties,
            before.physical_id,
            attempted.properties,
        )
        if outcome.status != "SUCCESS":
            reason = outcome.reason or "rollback update failed"
            self._event(
                stack,
                before.logical_id,
                before.resource_type,
                "UPDATE_FAILED",
                before.physical_id,
                reason,
                started,
            )
            raise OperationFailed(reason)
        if outcome.data:
            before.attributes = dict(outcome.data)
        self._event(
            stack,
            before.logical_id,
            before.resource_type,
            "UPDATE_COMPLETE",
            before.physical_id,
            None,
            started,
        )

    def _cleanup(self, stack: StackRecord, previous: StackRecord, changes: list[_Change]) -> None:
        """After a successful update: delete replaced physical resources and removed resources."""
        # The old halves of replacements, then the resources that left the template; in parallel in
        # reverse dependency order. CloudFormation ignores cleanup failures.
        old_halves = [
            change.before for change in reversed(changes) if change.kind == "replaced" and change.before
        ]
        removed = [
            record
            for lid in reversed(creation_order(previous.template))
            if lid not in stack.template["Resources"]
            and (record := stack.resources.pop(lid, None)) is not None
        ]
        self._play(
            [*old_halves, *removed],
            lambda record: self._delete_resource(stack, record, honour_retain=True),
            _dependencies(stack.template, previous.template),
            reverse=True,
            key=lambda record: record.logical_id,
        )

    # -- parallel operations ---------------------------------------------------------------

    def _play(
        self,
        items: Sequence[_T],
        action: Callable[[_T], None],
        dependencies: Mapping[str, set[str]],
        *,
        reverse: bool = False,
        stop_on_failure: bool = False,
        key: Callable[[_T], str] = str,
    ) -> list[OperationFailed]:
        """Run ``action`` on every item, in parallel where the dependencies allow; return the failures.

        An item starts once the items it depends on (``reverse``: the items that depend on it) have
        finished, failed ones included unless ``stop_on_failure``: then nothing new starts after the
        first failure, and the operations in flight finish. Items start in the order given.
        """
        names = [key(item) for item in items]

        def waits_for(index: int, other: int) -> bool:
            if reverse:
                return names[index] in dependencies.get(names[other], set())
            return names[other] in dependencies.get(names[index], set())

        pending = list(range(len(items)))
        finished: set[int] = set()
        running: dict[Future[None], int] = {}
        failures: list[OperationFailed] = []
        unexpected: BaseException | None = None
        with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="cloudformation") as workers:
            while pending or running:
                stopping = unexpected is not None or (stop_on_failure and bool(failures))
                if not stopping:
                    for index in list(pending):
                        if len(running) >= self.max_concurrency:
                            break
                        if any(waits_for(index, other) for other in pending if other != index) or any(
                            waits_for(index, other) for other in running.values()
                        ):
                            continue
                        pending.remove(index)
                        running[workers.submit(action, items[index])] = index
                if not running:
                    break  # stopping, or nothing can start (a dependency cycle is caught earlier)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f]):
                    finished.add(running.pop(future))
                    error = future.exception()
                    if isinstance(error, OperationFailed):
                        failures.append(error)
                    elif error is not None and unexpected is None:
                        unexpected = error
        if unexpected is not None:
            raise unexpected
        return failures

    # -- custom resources ------------------------------------------------------------------

    def _invoke(
        self,
        stack: StackRecord,
        request_type: str,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
        resources: Mapping[str, ResourceRecord] | None = None,
    ) -> CustomResourceOutcome:
        """One request to a custom resource's provider, and the wait for its response."""
        request_id = str(uuid.uuid4())
        service_token = str(properties.get("ServiceToken", ""))
        timeout = float(properties.get("ServiceTimeout") or DEFAULT_SERVICE_TIMEOUT_SECONDS)
        function = self._function(stack, service_token, resources or stack.resources)
        if function is None:
            return CustomResourceOutcome(
                request_id, "FAILED", physical_id, {}, f"ServiceToken {service_token} is not a function here"
            )
        event = custom_resource_event(
            self.response_server,
            request_type,
            properties,
            stack_id=stack.stack_id,
            logical_id=logical_id,
            resource_type=resource_type,
            physical_id=physical_id,
            old_properties=old_properties,
            request_id=request_id,
            service_token=service_token,
        )
        with self._lock:
            self.requests.append(event)
        self.deliver(function, event)  # InvocationType=Event: CloudFormation only waits for the PUT
        deadline = time.monotonic() + timeout
        while True:
            response = self.response_server.wait_for(
                request_id, min(0.2, max(deadline - time.monotonic(), 0))
            )
            if response is not None:
                return CustomResourceOutcome(
                    request_id,
                    response["Status"],
                    response.get("PhysicalResourceId"),
                    dict(response.get("Data") or {}),
                    response.get("Reason"),
                )
            problem = next((p for p in self.response_server.problems if request_id in p), None)
            if problem is not None:
                return CustomResourceOutcome(
                    request_id, "FAILED", physical_id, {}, f"Invalid response object: {problem}"
                )
            if time.monotonic() >= deadline:
                return CustomResourceOutcome(
                    request_id,
                    "FAILED",
                    physical_id,
                    {},
                    f"CloudFormation did not receive a response from your Custom Resource within "
                    f"{timeout:g} seconds. Please check your logs for requestId [{request_id}].",
                )

    def _function(
        self, stack: StackRecord, arn: str, resources: Mapping[str, ResourceRecord]
    ) -> LocalLambda | None:
        """The running function behind a service token, (re)started when its configuration changed."""
        record = next(
            (
                r
                for r in resources.values()
                if r.resource_type == _LAMBDA_TYPE and r.attributes.get("Arn") == arn
            ),
            None,
        )
        if record is None or record.code_dir is None:
            return None
        config = _function_config(record, stack.region, self.iam)
        with self._lock:
            return self._running_function(arn, config)

    def _running_function(self, arn: str, config: FunctionConfig) -> LocalLambda:
        known = self._functions.get(arn)
        if known is not None and known[0] == config:
            return known[1]
        if known is not None:
            known[1].close()
        function = LocalLambda(
            config,
            extra_env=self.function_env,
            log_file=self.log_dir / f"{config.function_name}.log",
            max_environments=self.lambda_concurrency,
        )
        function.start()
        self._functions[arn] = (config, function)
        return function

    # -- IAM ---------------------------------------------------------------------------------

    def _iam_put(self, stack: StackRecord, record: ResourceRecord) -> None:
        """The moment an IAM resource is created or updated (or rolled back): its permissions change."""
        self.iam.put_resource(
            stack.stack_id,
            record.logical_id,
            record.resource_type,
            record.physical_id,
            record.properties,
            record.attributes,
        )

    def _load_iam(self, stack: StackRecord) -> None:
        """What the stack's IAM resources grant as it stands (an earlier run deployed them)."""
        self.iam.load_stack(
            stack.stack_id,
            [
                (r.logical_id, r.resource_type, r.physical_id, r.properties, r.attributes)
                for r in stack.resources.values()
                if r.resource_type in IAM_TYPES
            ],
        )

    def _retire_function(self, arn: str) -> None:
        with self._lock:
            known = self._functions.pop(arn, None)
        if known is not None:
            known[1].close()

    # -- simulated resources ---------------------------------------------------------------

    def _simulate(
        self,
        stack: StackRecord,
        artifact: StackArtifact,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        physical_id: str | None,
    ) -> ResourceRecord:
        """A non-custom resource: no service is called; ids and attributes are made realistic."""
        region, account = stack.region, stack.account
        name_property, limit = _NAME_PROPERTIES.get(resource_type, (None, 128))
        name = properties.get(name_property) if name_property else None
        physical_id = physical_id or name or _generated_name(stack.stack_name, logical_id, limit)
        attributes: dict[str, Any] = {}
        code_dir = None
        if resource_type == "AWS::IAM::Role":
            attributes = {"Arn": f"arn:aws:iam::{account}:role/{physical_id}", "RoleId": _unique_id("AROA")}
        elif resource_type == "AWS::IAM::ManagedPolicy":
            physical_id = f"arn:aws:iam::{account}:policy/{name or physical_id}"
            attributes = {"PolicyArn": physical_id}
        elif resource_type == "AWS::Logs::LogGroup":
            attributes = {"Arn": f"arn:aws:logs:{region}:{account}:log-group:{physical_id}:*"}
        elif resource_type == _LAMBDA_TYPE:
            attributes = {"Arn": f"arn:aws:lambda:{region}:{account}:function:{physical_id}"}
            code_dir = str(self._publish_code(artifact, properties.get("Code", {})))
        else:
            attributes = {"Arn": f"arn:aws:{_service(resource_type)}:{region}:{account}:{physical_id}"}
        return ResourceRecord(
            logical_id, resource_type, physical_id, properties, attributes, code_dir=code_dir
        )

    def _publish_code(self, artifact: StackArtifact, code: Mapping[str, Any]) -> Path:
        """Copy the asset folder out of cdk.out, as publishing and Lambda's own copy of the code do."""
        source = artifact.asset_dir_for_code(code)
        target = self.code_store / source.name
        if not target.exists():
            staging = self.code_store / f".{source.name}.{uuid.uuid4().hex}"
            shutil.copytree(source, staging)
            staging.rename(target)
        return target

    # -- resolving -------------------------------------------------------------------------

    def _environment(self, artifact: StackArtifact) -> tuple[str, str]:
        return self.region, self.account

    def _order(self, template: Mapping[str, Any]) -> list[str]:
        resolver = self._resolver_for(template, None)
        resources = template.get("Resources", {})
        return [
            lid
            for lid in creation_order(template)
            if "Condition" not in resources[lid] or resolver.context.conditions[resources[lid]["Condition"]]
        ]

    def _resolver(self, stack: StackRecord) -> Resolver:
        return self._resolver_for(stack.template, stack)

    def _resolver_for(self, template: Mapping[str, Any], stack: StackRecord | None) -> Resolver:
        region, account = (stack.region, stack.account) if stack else (self.region, self.account)
        pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack.stack_name if stack else "",
            "AWS::StackId": stack.stack_id if stack else "",
            "AWS::NotificationARNs": "",
        }
        parameters = {name: p.get("Default", "") for name, p in template.get("Parameters", {}).items()}

        def physical_id(logical_id: str) -> str:
            if stack is None or logical_id not in stack.resources:
                raise TemplateError(f"{logical_id} is referenced before it exists")
            return stack.resources[logical_id].physical_id

        def attribute(logical_id: str, name: str) -> Any:
            if stack is None or logical_id not in stack.resources:
                raise TemplateError(f"{logical_id}.{name} is referenced before it exists")
            attributes = stack.resources[logical_id].attributes
            if name not in attributes:
                raise TemplateError(f"{logical_id} has no attribute {name!r}; it has {sorted(attributes)}")
            return attributes[name]

        return Resolver(template, ResolveContext(pseudo, parameters, {}, physical_id, attribute))

    def _outputs(self, stack: StackRecord) -> dict[str, str]:
        resolver = self._resolver(stack)
        outputs: dict[str, str] = {}
        for name, output in stack.template.get("Outputs", {}).items():
            if "Condition" in output and not resolver.context.conditions.get(output["Condition"], False):
                continue
            outputs[name] = str(resolver.resolve(output["Value"]))
        return outputs

    # -- events ----------------------------------------------------------------------------

    def _event(
        self,
        stack: StackRecord,
        logical_id: str,
        resource_type: str,
        status: str,
        physical_id: str | None = None,
        reason: str | None = None,
        started: float | None = None,
    ) -> None:
        elapsed = time.monotonic() - started if started is not None else None
        event = StackEvent(
            datetime.now(UTC),
            stack.stack_name,
            logical_id,
            resource_type,
            status,
            physical_id,
            reason,
            elapsed,
        )
        with self._lock:
            self.events.append(event)
            if self.on_event is not None:
                self.on_event(event)

    def _stack_event(self, stack: StackRecord, status: str, reason: str | None = None) -> None:
        self._event(stack, stack.stack_name, "AWS::CloudFormation::Stack", status, stack.stack_id, reason)


class _CreateFailed(OperationFailed):
    """A failed create, carrying the record (with the reported physical id) the rollback deletes."""

    def __init__(self, record: ResourceRecord, message: str) -> None:
        super().__init__(message)
        self.record = record


# Where a resource type takes its name from, and how long a generated name may be.
_NAME_PROPERTIES: dict[str, tuple[str | None, int]] = {
    "AWS::IAM::Role": ("RoleName", 64),
    "AWS::IAM::Policy": ("PolicyName", 128),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", 128),
    "AWS::Logs::LogGroup": ("LogGroupName", 512),
    _LAMBDA_TYPE: ("FunctionName", 64),
}


def _function_config(record: ResourceRecord, region: str, iam: IamStore) -> FunctionConfig:
    properties = record.properties
    variables = properties.get("Environment", {}).get("Variables", {})
    role = properties.get("Role")
    # Lambda names the execution role's session after the function.
    credentials = iam.credentials_for(str(role), record.physical_id) if role else None
    return FunctionConfig(
        function_name=record.physical_id,
        function_arn=record.attributes["Arn"],
        handler=str(properties.get("Handler", "index.handler")),
        code_dir=Path(record.code_dir or "."),
        timeout_seconds=int(properties.get("Timeout", 3)),
        memory_mb=int(properties.get("MemorySize", 128)),
        runtime=str(properties.get("Runtime", "python3.14")),
        region=region,
        environment={str(k): str(v) for k, v in variables.items()},
        log_group=properties.get("LoggingConfig", {}).get("LogGroup"),
        credentials=credentials,
    )


def _dependencies(template: Mapping[str, Any], previous: Mapping[str, Any] | None) -> dict[str, set[str]]:
    """Dependencies in the template and (for what left it) the previous one."""
    merged = resource_dependencies(previous) if previous is not None else {}
    for logical_id, wanted in resource_dependencies(template).items():
        merged[logical_id] = merged.get(logical_id, set()) | wanted
    return merged


def _stack_id(region: str, account: str, stack_name: str) -> str:
    return f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/{uuid.uuid4()}"


def _generated_name(stack_name: str, logical_id: str, limit: int) -> str:
    """CloudFormation's generated names: ``<stack>-<logical id>-<random>``, shortened to fit."""
    suffix = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(12))
    room = max(limit - len(suffix) - 2, 2)
    head_room = room // 2
    stack_part = stack_name[:head_room]
    logical_part = logical_id[: room - len(stack_part)]
    return f"{stack_part}-{logical_part}-{suffix}"


def _unique_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(17))


def _service(resource_type: str) -> str:
    parts = resource_type.split("::")
    return parts[1].lower() if len(parts) > 1 else "unknown"
