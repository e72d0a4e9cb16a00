"""What a synthesized CloudFormation template costs: bytes, Lambda functions, IAM policy characters.

IAM limits the inline policies of one role to 10,240 characters in total, whitespace not counted,
after CloudFormation has resolved the intrinsic functions. Templates hold the unresolved form, so
policy documents are resolved here first: pseudo parameters get us-east-1 values and a reference
to another resource becomes an ARN of typical length. A stack whose role would pass the limit
cannot deploy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IAM_ROLE_INLINE_POLICY_LIMIT = 10_240
FUNCTION_TYPES = frozenset({"AWS::Lambda::Function", "AWS::Serverless::Function"})

PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "BenchStack",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/BenchStack/"
    "00000000-0000-0000-0000-000000000000",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class TemplateCost:
    """The measures of one synthesized template."""

    template_bytes: int
    functions: int
    policy_chars: int  # largest total over the roles of the template's Lambda functions


def stand_in_arn(logical_id: str) -> str:
    """What a reference to another resource resolves to, near enough for counting characters."""
    return f"arn:aws:service:us-east-1:123456789012:resource/{logical_id}"


def resolve(value: Any) -> Any:
    """The value with intrinsic functions evaluated as CloudFormation would, approximately."""
    if isinstance(value, list):
        return [resolve(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return PSEUDO_PARAMETERS.get(argument, stand_in_arn(argument))
        if key == "Fn::GetAtt":
            logical_id = argument[0] if isinstance(argument, list) else argument.split(".")[0]
            return stand_in_arn(logical_id)
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(resolve(part)) for part in parts)
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return _SUB_VARIABLE.sub(lambda m: _sub_value(m.group(1), variables), text)
    return {key: resolve(item) for key, item in value.items()}


def _sub_value(name: str, variables: dict[str, Any]) -> str:
    if name in variables:
        return str(resolve(variables[name]))
    if name in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[name]
    return stand_in_arn(name.split(".")[0])


def policy_characters(document: Any) -> int:
    """Characters IAM counts for one policy document: resolved, whitespace removed."""
    text = json.dumps(resolve(document), separators=(",", ":"))
    return len(re.sub(r"\s", "", text))


def role_policy_characters(resources: dict[str, Any], role_id: str) -> int:
    """Total characters of every inline policy attached to one role, in any of the template's forms."""
    total = 0
    role = resources.get(role_id, {})
    for inline in role.get("Properties", {}).get("Policies", []):
        total += policy_characters(inline["PolicyDocument"])
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        properties = resource["Properties"]
        if {"Ref": role_id} in properties.get("Roles", []):
            total += policy_characters(properties["PolicyDocument"])
    return total


def function_role_ids(resources: dict[str, Any]) -> set[str]:
    """The logical ids of the roles the template's Lambda functions run as."""
    role_ids = set()
    for resource in resources.values():
        if resource["Type"] in FUNCTION_TYPES:
            role = resource["Properties"].get("Role")
            if isinstance(role, dict) and "Fn::GetAtt" in role:
                role_ids.add(role["Fn::GetAtt"][0])
    return role_ids


def measure_template(path: Path) -> TemplateCost:
    resources = json.loads(path.read_text())["Resources"]
    roles = function_role_ids(resources)
    return TemplateCost(
        template_bytes=path.stat().st_size,
        functions=sum(resource["Type"] in FUNCTION_TYPES for resource in resources.values()),
        policy_chars=max((role_policy_characters(resources, role) for role in roles), default=0),
    )


def pools_at_policy_limit(points: dict[int, int]) -> int | None:
    """The first pool count whose role passes IAM's limit, from a straight line through the points.

    ``points`` maps pool count to policy characters. None: the characters do not grow with pools,
    so no pool count crosses the limit (or it is crossed at every count, reported as 1).
    """
    counts = sorted(points)
    if not counts:
        return None
    first, last = counts[0], counts[-1]
    if points[first] > IAM_ROLE_INLINE_POLICY_LIMIT:
        return 1
    if last == first or points[last] <= points[first]:
        return None
    per_pool = (points[last] - points[first]) / (last - first)
    fixed = points[first] - per_pool * first
    crossing = (IAM_ROLE_INLINE_POLICY_LIMIT - fixed) / per_pool
    return max(1, int(crossing) + 1)
