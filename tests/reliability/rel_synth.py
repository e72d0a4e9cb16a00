"""Synthesizing the demo app and test stacks in-process, and reading their IAM policies."""

from __future__ import annotations

import ast
import functools
import json
import os
import runpy
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3

import chime_kvs_pool.runtime

REPO = Path(__file__).resolve().parents[2]
APP_FILE = REPO / "app.py"
CDK_JSON = REPO / "cdk.json"


@functools.cache
def demo_app_module() -> dict[str, Any]:
    """The demo app's globals (its stack class); running app.py also synthesizes it once, as cdk does."""
    previous = os.environ.get("CDK_OUTDIR")
    os.environ["CDK_OUTDIR"] = tempfile.mkdtemp(prefix="rel-demo-")
    try:
        return runpy.run_path(str(APP_FILE), run_name="reliability_demo_app")
    finally:
        if previous is None:
            os.environ.pop("CDK_OUTDIR", None)
        else:
            os.environ["CDK_OUTDIR"] = previous


def demo_assembly_dir() -> Path:
    """Where ``python app.py`` wrote the demo's cloud assembly (the same output as ``cdk synth``)."""
    return Path(demo_app_module()["app"].outdir)


def feature_flags() -> dict[str, Any]:
    """The context of cdk.json (feature flags), which the cdk CLI passes to the app."""
    return dict(json.loads(CDK_JSON.read_text()).get("context", {}))


def new_app(**context: Any) -> cdk.App:
    return cdk.App(outdir=tempfile.mkdtemp(prefix="rel-synth-"), context={**feature_flags(), **context})


def template_of(stack: cdk.Stack) -> dict[str, Any]:
    assembly = cdk.App.of(stack).synth()  # type: ignore[union-attr]
    return dict(assembly.get_stack_artifact(stack.artifact_id).template)


# -- IAM -------------------------------------------------------------------------------------


def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) for every identity-based policy statement in the template."""
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        documents: list[Any] = []
        if resource["Type"] == "AWS::IAM::Role":
            documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in document.get("Statement", []):
                yield logical_id, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> str:
    """An intrinsic as text: pseudo parameters and references become ``${Name}`` placeholders."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(render(part) for part in parts)
        if function == "Ref":
            return "${" + str(argument) + "}"
        if function == "Fn::GetAtt":
            return "${" + ".".join(as_list(argument)) + "}"
        if function == "Fn::Sub" and isinstance(argument, str):
            return argument
    raise AssertionError(f"an intrinsic this test cannot read: {value!r}")


def substitute(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


@functools.cache
def handler_api_calls() -> frozenset[str]:
    """The API operations the handler's code calls, read from its source (``client.<method>(...)``)."""
    client = boto3.session.Session().client(
        "chime-sdk-media-pipelines", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    methods: dict[str, str] = client.meta.method_to_api_mapping
    package = Path(chime_kvs_pool.runtime.__file__).resolve().parent
    called: set[str] = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in methods
            ):
                called.add(methods[node.func.attr])
    return frozenset(called)


StackFactory = Callable[[cdk.App], cdk.Stack]
