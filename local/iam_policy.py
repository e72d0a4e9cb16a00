"""IAM identity-based policy evaluation for the offline cloud: pure functions, no HTTP, no state.

What an AWS principal may do is decided here the way IAM decides it for identity-based policies:

- a statement applies when its ``Action`` (or ``NotAction``) and ``Resource`` (or ``NotResource``)
  match the request and every operator of its ``Condition`` holds;
- an applicable ``Deny`` wins over everything, an applicable ``Allow`` grants, and with neither the
  request is denied implicitly;
- actions match case-insensitively with ``*`` and ``?`` wildcards; resource ARNs match case-sensitively,
  each of the first five colon-separated parts on its own (a wildcard there stays within its part) and
  the resource part as a whole (it may hold colons), as IAM does;
- condition keys are case-insensitive; the string, ARN, ``Bool`` and ``Null`` operators are supported,
  with ``...IfExists`` and the ``ForAnyValue:``/``ForAllValues:`` set prefixes.

Anything this module cannot evaluate faithfully (numeric, date and IP operators, policy variables such
as ``${aws:username}``, a ``Principal`` in an identity policy, an unknown ``Effect``) is refused with
``PolicyError`` when the policy is read, never silently allowed or ignored. Not evaluated at all: SCPs
and RCPs, resource-based policies, permissions boundaries and session policies (see docs/emulator.md).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# A request context: condition key (lower case) -> its values (a single-valued key holds one).
Context = Mapping[str, Sequence[str]]

_STRING_OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
}
_ARN_OPERATORS = {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
_SUPPORTED_OPERATORS = _STRING_OPERATORS | _ARN_OPERATORS | {"Bool", "Null"}
_NEGATED_OPERATORS = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
}
_SET_PREFIXES = ("ForAnyValue:", "ForAllValues:")
_VERSIONS = {"2012-10-17", "2008-10-17"}
_ARN_PARTS = 6  # arn:partition:service:region:account:resource


class PolicyError(ValueError):
    """A policy document IAM would reject, or one this evaluator cannot evaluate faithfully."""


@dataclass(frozen=True)
class Condition:
    """One operator of a ``Condition`` block applied to one key: ``{operator: {key: values}}``."""

    operator: str  # the base operator, e.g. StringLike (no prefix, no IfExists)
    key: str  # lower case
    values: tuple[str, ...]
    if_exists: bool = False
    set_prefix: str | None = None  # "ForAnyValue:" or "ForAllValues:"

    def holds(self, context: Context) -> bool:
        present = self.key in context
        actual = tuple(context.get(self.key, ()))
        if self.operator == "Null":
            wanted_absent = {value.lower() for value in self.values}
            return ("true" if not present else "false") in wanted_absent
        if not present:
            # Absent key: IfExists and ForAllValues hold; a negated operator holds; others do not.
            return (
                self.if_exists
                or self.set_prefix == "ForAllValues:"
                or (self.set_prefix is None and self.operator in _NEGATED_OPERATORS)
            )
        negated = self.operator in _NEGATED_OPERATORS
        matches = [any(self._match(value, wanted) for wanted in self.values) for value in actual]
        if self.set_prefix == "ForAllValues:":
            return all((not m) if negated else m for m in matches)
        if self.set_prefix == "ForAnyValue:":
            return any((not m) if negated else m for m in matches)
        # A plain operator: a single-valued key has one value; a multivalued one is read as "any".
        return (not any(matches)) if negated else any(matches)

    def _match(self, actual: str, wanted: str) -> bool:
        operator = self.operator.replace("Not", "")
        if operator == "StringEquals":
            return actual == wanted
        if operator == "StringEqualsIgnoreCase":
            return actual.lower() == wanted.lower()
        if operator == "StringLike":
            return _glob(wanted, case_sensitive=True).fullmatch(actual) is not None
        if operator in ("ArnEquals", "ArnLike"):
            return arn_matches(wanted, actual)
        if operator == "Bool":
            return actual.lower() == wanted.lower()
        raise PolicyError(f"condition operator {self.operator} is not supported")  # pragma: no cover


@dataclass(frozen=True)
class Statement:
    """One statement of an identity-based policy, validated."""

    effect: str  # Allow or Deny
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_action: bool = False
    not_resource: bool = False
    conditions: tuple[Condition, ...] = ()
    sid: str | None = None

    def applies(self, action: str, resource: str, context: Context) -> bool:
        action_hit = any(action_matches(pattern, action) for pattern in self.actions)
        if action_hit == self.not_action:
            return False
        resource_hit = any(arn_matches(pattern, resource) for pattern in self.resources)
        if resource_hit == self.not_resource:
            return False
        return all(condition.holds(context) for condition in self.conditions)


@dataclass(frozen=True)
class Policy:
    """A named identity-based policy: where it came from (for messages) and its statements."""

    name: str
    statements: tuple[Statement, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Decision:
    """The outcome of one authorization: allowed, or denied explicitly or implicitly."""

    allowed: bool
    explicit_deny: bool = False
    policy: str | None = None  # the policy whose statement decided (None for an implicit deny)
    sid: str | None = None


def parse_policy(name: str, document: Any) -> Policy:
    """Validate a policy document (a dict, as the template holds it once resolved)."""
    if not isinstance(document, Mapping):
        raise PolicyError(f"{name}: the policy document must be a JSON object, not {type(document).__name__}")
    version = document.get("Version", "2008-10-17")
    if version not in _VERSIONS:
        raise PolicyError(f"{name}: unknown policy Version {version!r}")
    raw = document.get("Statement")
    if raw is None:
        raise PolicyError(f"{name}: the policy has no Statement")
    raw_statements = raw if isinstance(raw, list) else [raw]
    statements = tuple(_parse_statement(name, index, item) for index, item in enumerate(raw_statements))
    return Policy(name, statements)


def evaluate(policies: Iterable[Policy], action: str, resource: str, context: Context) -> Decision:
    """IAM's decision for one request: explicit Deny, else Allow, else implicit deny."""
    allowed: Decision | None = None
    for policy in policies:
        for statement in policy.statements:
            if not statement.applies(action, resource, context):
                continue
            if statement.effect == "Deny":
                return Decision(False, True, policy.name, statement.sid)
            if allowed is None:
                allowed = Decision(True, False, policy.name, statement.sid)
    return allowed or Decision(False)


def denial_message(principal_arn: str, action: str, resource: str, decision: Decision) -> str:
    """The message AWS gives a denied identity-based request."""
    head = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    if decision.explicit_deny:
        return f"{head} with an explicit deny in an identity-based policy"
    return f"{head} because no identity-based policy allows the {action} action"


def action_matches(pattern: str, action: str) -> bool:
    """IAM's action match: ``service:Name`` with ``*``/``?``, case-insensitive."""
    return _glob(pattern, case_sensitive=False).fullmatch(action) is not None


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's resource match: wildcards stay within their ARN part (the parts separated by the first
    five colons), except a ``*`` that ends a part, which IAM lets reach across the colons after it;
    the resource part is matched whole, colons included."""
    if pattern == "*":
        return True
    if not pattern.startswith("arn:"):
        return _glob(pattern, case_sensitive=True).fullmatch(arn) is not None
    return _arn_glob(pattern).fullmatch(arn) is not None


@functools.lru_cache(maxsize=1024)
def _arn_glob(pattern: str) -> re.Pattern[str]:
    """The regular expression of an ARN pattern (see ``arn_matches``)."""
    text: list[str] = []
    colons = 0
    for index, char in enumerate(pattern):
        in_resource_part = colons >= _ARN_PARTS - 1
        if char == ":":
            colons += 1
            text.append(":")
        elif char == "*":
            ends_part = index + 1 == len(pattern) or pattern[index + 1] == ":"
            text.append(".*" if in_resource_part or ends_part else "[^:]*")
        elif char == "?":
            text.append("." if in_resource_part else "[^:]")
        else:
            text.append(re.escape(char))
    return re.compile("".join(text), re.DOTALL)


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    """``*`` any run of characters, ``?`` one character, everything else literal."""
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(text, re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE)


# -- validation --------------------------------------------------------------------------------


def _parse_statement(policy: str, index: int, raw: Any) -> Statement:
    where = f"{policy}: statement {index}"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} must be a JSON object")
    sid = raw.get("Sid")
    if sid is not None:
        where = f"{policy}: statement {sid!r}"
    if "Principal" in raw or "NotPrincipal" in raw:
        raise PolicyError(f"{where}: an identity-based policy may not name a Principal")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be Allow or Deny, not {effect!r}")
    actions, not_action = _one_of(raw, "Action", "NotAction", where)
    resources, not_resource = _one_of(raw, "Resource", "NotResource", where)
    for action in actions:
        if action != "*" and ":" not in action:
            raise PolicyError(f"{where}: action {action!r} is not of the form service:Name")
    for text in (*actions, *resources):
        _refuse_variables(text, where)
    return Statement(
        effect,
        actions,
        resources,
        not_action,
        not_resource,
        _parse_conditions(raw.get("Condition"), where),
        str(sid) if sid is not None else None,
    )


def _one_of(raw: Mapping[str, Any], name: str, negated: str, where: str) -> tuple[tuple[str, ...], bool]:
    if (name in raw) == (negated in raw):
        raise PolicyError(f"{where}: exactly one of {name} and {negated} is required")
    key = name if name in raw else negated
    return _strings(raw[key], f"{where}: {key}"), key == negated


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(f"{where} is empty")
    result = []
    for item in items:
        if isinstance(item, bool):
            result.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            result.append(str(item))
        else:
            raise PolicyError(f"{where}: {item!r} is not a string (an unresolved intrinsic?)")
    return tuple(result)


def _parse_conditions(raw: Any, where: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: Condition must be a JSON object")
    conditions = []
    for full_operator, block in raw.items():
        operator, set_prefix = str(full_operator), None
        for prefix in _SET_PREFIXES:
            if operator.startswith(prefix):
                set_prefix, operator = prefix, operator[len(prefix) :]
        if_exists = operator.endswith("IfExists") and operator != "IfExists"
        operator = operator.removesuffix("IfExists") if if_exists else operator
        if operator not in _SUPPORTED_OPERATORS or (if_exists and operator == "Null"):
            raise PolicyError(
                f"{where}: condition operator {full_operator} is not supported by the offline IAM "
                f"evaluator (supported: {', '.join(sorted(_SUPPORTED_OPERATORS))}, with IfExists and "
                "ForAnyValue:/ForAllValues:)"
            )
        if not isinstance(block, Mapping) or not block:
            raise PolicyError(f"{where}: {full_operator} must map condition keys to values")
        for key, values in block.items():
            parsed = _strings(values, f"{where}: {full_operator} {key}")
            for text in (str(key), *parsed):
                _refuse_variables(text, where)
            conditions.append(Condition(operator, str(key).lower(), parsed, if_exists, set_prefix))
    return tuple(conditions)


def _refuse_variables(text: str, where: str) -> None:
    if "${" in text:
        raise PolicyError(
            f"{where}: {text!r} uses a policy variable, which the offline IAM evaluator does not resolve"
        )
