"""Reading a synthesized cloud assembly (``cdk.out``) and resolving the intrinsics its templates use.

The CloudFormation driver needs three things from ``cdk.out``: the stack's template, where each
Lambda asset's folder is (the ``<Stack>.assets.json`` manifest, as ``cdk-assets`` uses it to
publish), and the order in which resources depend on each other. Intrinsic functions are resolved
the way CloudFormation does at deploy time, for the subset CDK emits for stacks like ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CUSTOM_RESOURCE_TYPE = "AWS::CloudFormation::CustomResource"
NO_VALUE = object()  # AWS::NoValue: the property disappears


class TemplateError(Exception):
    """A template the driver cannot deploy (an unsupported intrinsic, a dangling reference, a cycle)."""


def is_custom_resource(resource_type: str) -> bool:
    return resource_type == CUSTOM_RESOURCE_TYPE or resource_type.startswith("Custom::")


@dataclass(frozen=True)
class StackArtifact:
    """One stack of a cloud assembly: its template and its file assets' folders."""

    name: str
    template: dict[str, Any]
    assembly_dir: Path
    file_assets: dict[str, Path] = field(default_factory=dict)

    def asset_dir_for_code(self, code: Mapping[str, Any]) -> Path:
        """The folder a function's ``Code`` (``S3Key: <hash>.zip``) was published from."""
        key = code.get("S3Key")
        if isinstance(key, str):
            asset_hash = key.rsplit("/", 1)[-1].removesuffix(".zip")
            if asset_hash in self.file_assets:
                return self.file_assets[asset_hash]
        raise TemplateError(f"no file asset in {self.assembly_dir} for Lambda code {dict(code)!r}")


def load_stack(assembly_dir: Path, stack_name: str | None = None) -> StackArtifact:
    """The named stack (or the only one) of the cloud assembly in ``assembly_dir``."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    stacks = {
        artifact.get("displayName", artifact_id): (artifact_id, artifact)
        for artifact_id, artifact in artifacts.items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }
    if stack_name is None:
        if len(stacks) != 1:
            raise TemplateError(f"choose one stack of {sorted(stacks)} in {assembly_dir}")
        stack_name = next(iter(stacks))
    if stack_name not in stacks:
        raise TemplateError(f"no stack {stack_name!r} in {assembly_dir}; found {sorted(stacks)}")
    artifact_id, artifact = stacks[stack_name]
    properties = artifact.get("properties", {})
    template = json.loads((assembly_dir / properties["templateFile"]).read_text())
    file_assets: dict[str, Path] = {}
    for dependency in artifact.get("dependencies", []):
        dep = artifacts.get(dependency, {})
        if dep.get("type") == "cdk:asset-manifest":
            asset_manifest = json.loads((assembly_dir / dep["properties"]["file"]).read_text())
            for asset_hash, asset in asset_manifest.get("files", {}).items():
                source = asset.get("source", {})
                if source.get("packaging") == "zip" and "path" in source:
                    file_assets[asset_hash] = (assembly_dir / source["path"]).resolve()
    return StackArtifact(properties.get("stackName", artifact_id), template, assembly_dir, file_assets)


# -- dependencies ------------------------------------------------------------------------------


def references(value: Any) -> set[str]:
    """The logical ids a template fragment refers to (Ref, Fn::GetAtt, Fn::Sub's ${...})."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str) and not inner.startswith("AWS::"):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                local_names = set(inner[1]) if isinstance(inner, list) and len(inner) > 1 else set()
                for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    base = name.split(".", 1)[0]
                    if base not in local_names and not base.startswith("AWS::"):
                        found.add(base)
                if isinstance(inner, list) and len(inner) > 1:
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def resource_dependencies(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each resource's direct dependencies among the template's resources."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        wanted = (references(resource.get("Properties", {})) | set(depends_on)) & set(resources)
        graph[logical_id] = wanted - {logical_id}
    return graph


def creation_order(template: Mapping[str, Any]) -> list[str]:
    """Resources in an order where each comes after what it depends on (stable: template order)."""
    graph = resource_dependencies(template)
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(node: str, path: tuple[str, ...]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "visiting":
            raise TemplateError(f"circular dependency: {' -> '.join((*path, node))}")
        state[node] = "visiting"
        for dependency in sorted(graph[node]):
            visit(dependency, (*path, node))
        state[node] = "done"
        order.append(node)

    for node in graph:
        visit(node, ())
    return order


# -- intrinsics --------------------------------------------------------------------------------


@dataclass
class ResolveContext:
    """What intrinsics resolve against: pseudo parameters, parameters, and deployed resources."""

    pseudo: dict[str, str]
    parameters: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)
    physical_id: Callable[[str], str] | None = None
    attribute: Callable[[str, str], Any] | None = None


class Resolver:
    """Evaluates CloudFormation intrinsic functions within one template."""

    def __init__(self, template: Mapping[str, Any], context: ResolveContext) -> None:
        self.template = template
        self.context = context
        for name, definition in template.get("Conditions", {}).items():
            context.conditions.setdefault(name, bool(self.resolve(definition)))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        resolved = {key: self.resolve(inner) for key, inner in value.items()}
        return {key: inner for key, inner in resolved.items() if inner is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.context.pseudo:
            return self.context.pseudo[name]
        if name in self.context.parameters:
            return self.context.parameters[name]
        if name in self.template.get("Resources", {}) and self.context.physical_id is not None:
            return self.context.physical_id(name)
        raise TemplateError(f"Ref to unknown or undeployed {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if self.context.attribute is None:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} without deployed resources")
        return self.context.attribute(logical_id, attribute)


def _fn_ref(resolver: Resolver, argument: Any) -> Any:
    return resolver.ref(str(argument))


def _fn_get_att(resolver: Resolver, argument: Any) -> Any:
    if isinstance(argument, str):
        argument = argument.split(".", 1)
    logical_id, attribute = resolver.resolve(argument)
    return resolver.get_att(logical_id, attribute)


def _fn_join(resolver: Resolver, argument: Any) -> str:
    delimiter, items = argument
    return str(delimiter).join(_as_text(item) for item in resolver.resolve(items))


def _fn_sub(resolver: Resolver, argument: Any) -> str:
    text, variables = (argument[0], argument[1]) if isinstance(argument, list) else (argument, {})
    local_values = {name: resolver.resolve(value) for name, value in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"  # ${!Literal} stays literal
        if name in local_values:
            return _as_text(local_values[name])
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return _as_text(resolver.get_att(logical_id, attribute))
        return _as_text(resolver.ref(name))

    return re.sub(r"\$\{([^}]+)\}", substitute, text)


def _fn_select(resolver: Resolver, argument: Any) -> Any:
    index, items = resolver.resolve(argument)
    return items[int(index)]


def _fn_split(resolver: Resolver, argument: Any) -> list[str]:
    delimiter, text = resolver.resolve(argument)
    return str(text).split(delimiter)


def _fn_if(resolver: Resolver, argument: Any) -> Any:
    condition, if_true, if_false = argument
    return resolver.resolve(if_true if resolver.context.conditions[condition] else if_false)


def _fn_equals(resolver: Resolver, argument: Any) -> bool:
    left, right = resolver.resolve(argument)
    return bool(left == right)


def _fn_or(resolver: Resolver, argument: Any) -> bool:
    return any(resolver.resolve(argument))


def _fn_and(resolver: Resolver, argument: Any) -> bool:
    return all(resolver.resolve(argument))


def _fn_not(resolver: Resolver, argument: Any) -> bool:
    return not resolver.resolve(argument)[0]


def _condition(resolver: Resolver, argument: Any) -> bool:
    return resolver.context.conditions[str(argument)]


def _fn_base64(resolver: Resolver, argument: Any) -> str:
    import base64

    return base64.b64encode(_as_text(resolver.resolve(argument)).encode()).decode()


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": _fn_ref,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Join": _fn_join,
    "Fn::Sub": _fn_sub,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::Or": _fn_or,
    "Fn::And": _fn_and,
    "Fn::Not": _fn_not,
    "Condition": _condition,
    "Fn::Base64": _fn_base64,
}


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stringify(value: Any) -> Any:
    """Custom resource properties as CloudFormation sends them: every scalar a string, recursively."""
    if isinstance(value, dict):
        return {key: stringify(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [stringify(inner) for inner in value]
    if value is None:
        return value
    return _as_text(value)
