"""The offline account's IAM: roles, their policies, and the credentials that identify them.

The CloudFormation driver (``local.cloudformation``) writes here exactly when it plays an IAM
resource's create, update or delete (rollbacks and the cleanup phase included), so that what a role
may do changes at the same moment in the stack's life as it would in AWS. The Lambda runtime gives
each function credentials minted here for its execution role; the emulator (``local.chime_emulator``)
asks ``authorize`` about every request signed with them.

Where a role's permissions come from: the role's inline ``Policies``; ``AWS::IAM::Policy`` and
``AWS::IAM::ManagedPolicy`` resources whose ``Roles`` name it; ``AWS::IAM::RolePolicy`` resources
whose ``RoleName`` is it; and the role's ``ManagedPolicyArns`` when they name a managed policy of a
deployed stack. AWS managed policies (``arn:aws:iam::aws:policy/...``) cannot be known offline: they
grant nothing here, and a denial of a role that has one says so in the emulator's log.

Credentials nobody minted here (a test's dummy keys, the AWS CLI's) identify no role: their requests
are allowed unless the store is built with ``unknown_principals="deny"``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from local.iam_actions import AuthorizationRequest
from local.iam_policy import Decision, Policy, PolicyError, denial_message, evaluate, parse_policy

LOG = logging.getLogger(__name__)

ROLE_TYPE = "AWS::IAM::Role"
POLICY_TYPE = "AWS::IAM::Policy"
MANAGED_POLICY_TYPE = "AWS::IAM::ManagedPolicy"
ROLE_POLICY_TYPE = "AWS::IAM::RolePolicy"
IAM_TYPES = frozenset({ROLE_TYPE, POLICY_TYPE, MANAGED_POLICY_TYPE, ROLE_POLICY_TYPE})
# An AWS managed policy's ARN, in any partition: arn:<partition>:iam::aws:policy/<name>.
AWS_MANAGED_POLICY_MARK = ":iam::aws:policy/"
INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."

UnknownPrincipals = Literal["allow", "deny"]


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials of one role session (what Lambda puts in a function's environment)."""

    access_key_id: str
    secret_access_key: str
    session_token: str


@dataclass(frozen=True)
class Principal:
    """Who signed a request: a session of an execution role."""

    role_name: str
    role_arn: str
    session_name: str
    account: str

    @property
    def arn(self) -> str:
        """The assumed-role ARN AWS names the caller by in its messages."""
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.session_name}"


@dataclass(frozen=True)
class _Source:
    """One deployed IAM resource, as far as permissions go."""

    resource_type: str
    physical_id: str
    policies: tuple[Policy, ...]
    role_names: tuple[str, ...]  # the roles it grants to (a role: itself)
    role_arn: str | None = None  # a role's own ARN
    managed_arns: tuple[str, ...] = ()  # a role's ManagedPolicyArns; a managed policy: its own ARN


class IamStore:
    """Roles and policies of the offline account, and the sessions that act as those roles."""

    def __init__(self, account_id: str, *, unknown_principals: UnknownPrincipals = "allow") -> None:
        self.account_id = account_id
        self.unknown_principals: UnknownPrincipals = unknown_principals
        self._lock = threading.RLock()
        self._sources: dict[tuple[str, str], _Source] = {}  # (stack id, logical id) -> source
        self._sessions: dict[str, Principal] = {}  # access key id -> principal
        self._roles_seen: set[str] = set()  # every role name ever deployed here

    # -- what the CloudFormation driver plays --------------------------------------------------

    def put_resource(
        self,
        stack_id: str,
        logical_id: str,
        resource_type: str,
        physical_id: str,
        properties: Mapping[str, Any],
        attributes: Mapping[str, Any],
    ) -> None:
        """An IAM resource was created or updated (other types are ignored). Raises ``PolicyError``
        for a policy document IAM would reject or this emulator cannot evaluate."""
        source = _source(logical_id, resource_type, physical_id, properties, attributes)
        if source is None:
            return
        with self._lock:
            self._sources[(stack_id, logical_id)] = source
            if resource_type == ROLE_TYPE:
                self._roles_seen.add(physical_id)
        unknowable = [arn for arn in source.managed_arns if AWS_MANAGED_POLICY_MARK in arn]
        if resource_type == ROLE_TYPE and unknowable:
            LOG.warning(
                "IAM: role %s has AWS managed policies whose contents are not known offline; they grant "
                "nothing here: %s",
                physical_id,
                ", ".join(unknowable),
            )

    def remove_resource(self, stack_id: str, logical_id: str) -> None:
        """An IAM resource was deleted."""
        with self._lock:
            self._sources.pop((stack_id, logical_id), None)

    def load_stack(self, stack_id: str, resources: Iterable[tuple[str, str, str, Any, Any]]) -> None:
        """What a deployed stack holds (logical id, type, physical id, properties, attributes), as
        saved by an earlier run: replaces whatever this store remembered of that stack."""
        with self._lock:
            for key in [key for key in self._sources if key[0] == stack_id]:
                del self._sources[key]
            for logical_id, resource_type, physical_id, properties, attributes in resources:
                try:
                    self.put_resource(
                        stack_id, logical_id, resource_type, physical_id, properties, attributes
                    )
                except PolicyError as error:  # deployed once, so it was accepted then
                    LOG.warning("IAM: %s of stack %s is not evaluated: %s", logical_id, stack_id, error)

    # -- credentials ---------------------------------------------------------------------------

    def credentials_for(self, role_arn: str, session_name: str) -> Credentials:
        """The credentials of one session of ``role_arn`` (stable: the same inputs, the same keys)."""
        digest = hashlib.sha256(f"{self.account_id}|{role_arn}|{session_name}".encode()).digest()
        key_id = "ASIA" + base64.b32encode(digest).decode()[:16]
        role_name = role_arn.rsplit("/", 1)[-1]
        with self._lock:
            self._sessions[key_id] = Principal(role_name, role_arn, session_name, self.account_id)
        return Credentials(key_id, base64.b64encode(digest[:30]).decode(), f"offline-session-{digest.hex()}")

    def principal(self, access_key_id: str | None) -> Principal | None:
        with self._lock:
            return self._sessions.get(access_key_id or "")

    # -- what the emulator asks ----------------------------------------------------------------

    def policies_of(self, role_name: str) -> list[Policy]:
        """Every identity-based policy in force for the role right now."""
        with self._lock:
            role = self._role(role_name)
            if role is None:
                return []
            found = list(role.policies)
            for source in self._sources.values():
                if source.resource_type == ROLE_TYPE:
                    continue
                attached = role_name in source.role_names or (
                    source.resource_type == MANAGED_POLICY_TYPE
                    and source.managed_arns[0] in role.managed_arns
                )
                if attached:
                    found += source.policies
            return found

    def role_exists(self, role_name: str) -> bool:
        with self._lock:
            return self._role(role_name) is not None

    def authorize(self, access_key_id: str | None, request: AuthorizationRequest) -> str | None:
        """None when the request is allowed, else the message AWS would deny it with."""
        principal = self.principal(access_key_id)
        with self._lock:
            # A role no stack here ever deployed (imported from elsewhere) has policies nobody here
            # knows: its sessions are unknown callers. A role that was deployed and deleted has none.
            unknown = principal is None or principal.role_name not in self._roles_seen
        if unknown:
            return None if self.unknown_principals == "allow" else INVALID_TOKEN_MESSAGE
        assert principal is not None
        context = {
            **request.context,
            "aws:principalarn": [principal.role_arn],
            "aws:principalaccount": [principal.account],
            "aws:principaltype": ["AssumedRole"],
        }
        decision = evaluate(self.policies_of(principal.role_name), request.action, request.resource, context)
        if decision.allowed:
            return None
        self._explain(principal, request, decision)
        return denial_message(principal.arn, request.action, request.resource, decision)

    def _role(self, role_name: str) -> _Source | None:
        """The deployed role of that name (call with the lock held)."""
        return next(
            (
                s
                for s in self._sources.values()
                if s.resource_type == ROLE_TYPE and s.physical_id == role_name
            ),
            None,
        )

    def _explain(self, principal: Principal, request: AuthorizationRequest, decision: Decision) -> None:
        with self._lock:
            role = self._role(principal.role_name)
        why = "explicit deny in " + str(decision.policy) if decision.explicit_deny else "no policy allows it"
        if role is None:
            why = "the role no longer exists"
        aws_managed = [a for a in (role.managed_arns if role else ()) if AWS_MANAGED_POLICY_MARK in a]
        note = (
            f" (AWS managed policies not evaluated offline: {', '.join(aws_managed)})" if aws_managed else ""
        )
        LOG.info("IAM denied %s %s on %s: %s%s", principal.arn, request.action, request.resource, why, note)


def _source(
    logical_id: str,
    resource_type: str,
    physical_id: str,
    properties: Mapping[str, Any],
    attributes: Mapping[str, Any],
) -> _Source | None:
    if resource_type == ROLE_TYPE:
        policies = []
        for index, inline in enumerate(properties.get("Policies") or []):
            name = str(inline.get("PolicyName", index))
            policies.append(parse_policy(f"{physical_id}/{name}", inline.get("PolicyDocument")))
        return _Source(
            resource_type,
            physical_id,
            tuple(policies),
            (physical_id,),
            str(attributes.get("Arn", "")),
            tuple(str(arn) for arn in properties.get("ManagedPolicyArns") or []),
        )
    if resource_type in (POLICY_TYPE, MANAGED_POLICY_TYPE, ROLE_POLICY_TYPE):
        name = str(properties.get("PolicyName") or properties.get("ManagedPolicyName") or logical_id)
        policy = parse_policy(name, properties.get("PolicyDocument"))
        roles = properties.get("Roles") or []
        if resource_type == ROLE_POLICY_TYPE:
            roles = [properties.get("RoleName")]
        managed = (physical_id,) if resource_type == MANAGED_POLICY_TYPE else ()
        return _Source(
            resource_type, physical_id, (policy,), tuple(str(r) for r in roles if r), None, managed
        )
    return None
