"""Synth tests for the handler's switches: the props become properties the handler reads, and each
adds its IAM statement once per stack, however many pools ask for it."""

from __future__ import annotations

import glob
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint
import pytest
from aws_cdk.assertions import Template

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.runtime.properties import parse_properties
from tests.unit.conftest import new_stack, only_pool, pool_resources

SERVICE = "mediapipelines.chime.amazonaws.com"
ROLE_ARN: dict[str, Any] = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":iam::",
            {"Ref": "AWS::AccountId"},
            f":role/aws-service-role/{SERVICE}/AWSServiceRoleForAmazonChimeSDKMediaPipelines",
        ],
    ]
}
POOL_STREAMS_ARN: dict[str, Any] = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":kinesisvideo:*:",
            {"Ref": "AWS::AccountId"},
            ":stream/ChimeMediaPipelines-*/*",
        ],
    ]
}


def template_of(*pools: dict[str, Any]) -> Template:
    stack = new_stack("FeaturesStack")
    for index, props in enumerate(pools):
        KinesisVideoStreamPool(stack, f"Pool{index}", **props)
    return Template.from_stack(stack)


def inline_statements(template: Template) -> list[dict[str, Any]]:
    """The statements of the role's one inline policy."""
    (role,) = template.find_resources("AWS::IAM::Role").values()
    (policy,) = role["Properties"]["Policies"]
    found: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return found


def optional_policies(template: Template) -> dict[str, Any]:
    """The handler's optional policies (AWS::IAM::Policy on its role), by logical id."""
    (role_id,) = template.find_resources("AWS::IAM::Role")
    policies = template.find_resources("AWS::IAM::Policy")
    for policy in policies.values():
        assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    return dict(policies)


def statements(template: Template) -> list[dict[str, Any]]:
    """Every statement the handler's role holds: its inline policy and its optional policies."""
    return inline_statements(template) + [
        s
        for policy in optional_policies(template).values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def with_action(template: Template, action: str) -> list[dict[str, Any]]:
    return [s for s in statements(template) if action in _as_list(s["Action"])]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def as_cloudformation_sends(value: Any) -> Any:
    """Resource properties as the handler receives them: every scalar a string, booleans lower case."""
    if isinstance(value, dict):
        return {key: as_cloudformation_sends(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_cloudformation_sends(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


@cache
def iam_reference() -> dict[str, Any]:
    """cfn-lint's copy of the Service Authorization Reference (actions and their resource types)."""
    (path,) = glob.glob(str(Path(cfnlint.__file__).parent / "data/AdditionalSpecs/Policies.json"))
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


# ----- the properties -----


def test_default_switches_are_left_out_and_read_back_as_the_defaults() -> None:
    template = template_of({"pool_name": "p", "stream_region": "us-east-1"})
    properties = only_pool(template)["Properties"]
    for switch in ("EnsureServiceLinkedRole", "AdoptExisting", "DeleteStreamsOnDelete"):
        assert switch not in properties
    sent = {k: v for k, v in properties.items() if k not in ("ServiceToken", "ServiceTimeout")}
    spec = parse_properties(as_cloudformation_sends(sent))
    # The default: ensure the role (and grant it), take nothing over, delete no stream.
    assert (spec.ensure_service_linked_role, spec.adopt_existing, spec.delete_streams_on_delete) == (
        True,
        False,
        False,
    )
    assert len(with_action(template, "iam:CreateServiceLinkedRole")) == 1


@pytest.mark.parametrize(
    ("props", "sent"),
    [
        (
            {"ensure_service_linked_role": True, "adopt_existing": False, "delete_streams_on_delete": False},
            {},
        ),
        ({"ensure_service_linked_role": False}, {"EnsureServiceLinkedRole": False}),
        ({"adopt_existing": True}, {"AdoptExisting": True}),
        ({"delete_streams_on_delete": True}, {"DeleteStreamsOnDelete": True}),
    ],
)
def test_only_switches_that_differ_from_the_default_are_sent(
    props: dict[str, Any], sent: dict[str, bool]
) -> None:
    properties = only_pool(template_of(props))["Properties"]
    switches = {
        k: v
        for k, v in properties.items()
        if k in ("EnsureServiceLinkedRole", "AdoptExisting", "DeleteStreamsOnDelete")
    }
    assert switches == sent


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"ensure_service_linked_role": False}, (False, False, False)),
        ({"adopt_existing": True}, (True, True, False)),
        ({"delete_streams_on_delete": True}, (True, False, True)),
    ],
)
def test_the_handler_reads_the_switches_as_synthesized(
    props: dict[str, Any], expected: tuple[bool, bool, bool]
) -> None:
    properties = only_pool(template_of({"pool_name": "p", "stream_region": "us-east-1", **props}))[
        "Properties"
    ]
    properties = {k: v for k, v in properties.items() if k not in ("ServiceToken", "ServiceTimeout")}
    spec = parse_properties(as_cloudformation_sends(properties))
    assert (spec.ensure_service_linked_role, spec.adopt_existing, spec.delete_streams_on_delete) == expected


# ----- the service-linked role -----


def test_role_creation_is_allowed_once_for_the_pools_role_and_service_only() -> None:
    (statement,) = with_action(template_of({}, {}, {}), "iam:CreateServiceLinkedRole")
    assert statement["Action"] == "iam:CreateServiceLinkedRole"
    assert statement["Resource"] == ROLE_ARN
    assert statement["Condition"] == {"StringEquals": {"iam:AWSServiceName": SERVICE}}


def test_one_pool_wanting_the_role_is_enough_and_none_means_no_statement() -> None:
    mixed = template_of({"ensure_service_linked_role": False}, {})
    assert len(with_action(mixed, "iam:CreateServiceLinkedRole")) == 1
    none = template_of({"ensure_service_linked_role": False}, {"ensure_service_linked_role": False})
    assert with_action(none, "iam:CreateServiceLinkedRole") == []
    assert not any(a.startswith("iam:") for s in statements(none) for a in _as_list(s["Action"]))


def test_role_statement_fits_the_iam_reference() -> None:
    action = iam_reference()["iam"]["Actions"]["createservicelinkedrole"]
    assert action["Resources"] == ["role"]
    (arn_format,) = iam_reference()["iam"]["Resources"]["role"]["ARNFormats"]
    rendered = "".join(p if isinstance(p, str) else "X" for p in ROLE_ARN["Fn::Join"][1])
    assert re.fullmatch(arn_format.replace("${Partition}", "X").replace("${Account}", "X"), rendered)


# ----- adopting a pool -----


def test_adopt_needs_no_extra_permission() -> None:
    assert statements(template_of({"adopt_existing": True})) == statements(template_of({}))


# ----- stream cleanup -----


def test_stream_cleanup_is_opt_in_and_adds_two_statements_once() -> None:
    without = template_of({}, {})
    assert with_action(without, "kinesisvideo:ListStreams") == []
    assert with_action(without, "kinesisvideo:DeleteStream") == []

    one = template_of({"delete_streams_on_delete": True}, {})
    three = template_of(*[{"delete_streams_on_delete": True}] * 3)
    assert len(statements(one)) == len(statements(three)) == len(statements(without)) + 2
    # In one policy of their own, however many pools ask; the inline policy does not change.
    assert len(optional_policies(one)) == len(optional_policies(three)) == 1
    assert optional_policies(without) == {}
    assert inline_statements(one) == inline_statements(three) == inline_statements(without)

    (listing,) = with_action(three, "kinesisvideo:ListStreams")
    (deleting,) = with_action(three, "kinesisvideo:DeleteStream")
    assert listing["Action"] == "kinesisvideo:ListStreams" and listing["Resource"] == "*"
    assert deleting["Action"] == "kinesisvideo:DeleteStream"
    assert deleting["Resource"] == POOL_STREAMS_ARN


def test_list_streams_is_the_one_wildcard_because_it_has_no_resource_type() -> None:
    actions = iam_reference()["kinesisvideo"]["Actions"]
    assert actions["liststreams"].get("Resources", []) == []  # hence Resource "*"
    assert actions["deletestream"]["Resources"] == ["stream"]  # hence a stream ARN pattern
    wildcards = [
        s for s in statements(template_of({"delete_streams_on_delete": True})) if s["Resource"] == "*"
    ]
    assert [s["Action"] for s in wildcards] == ["kinesisvideo:ListStreams"]


def test_delete_stream_resource_is_a_stream_arn_of_pool_streams_only() -> None:
    (arn_format,) = iam_reference()["kinesisvideo"]["Resources"]["stream"]["ARNFormats"]
    rendered = "".join(
        part
        if isinstance(part, str)
        else {"AWS::Partition": "aws", "AWS::AccountId": "123456789012"}[part["Ref"]]
        for part in POOL_STREAMS_ARN["Fn::Join"][1]
    )
    reference = arn_format.replace("${Partition}", "aws").replace("${Region}", r"\*")
    assert re.fullmatch(reference.replace("${Account}", "123456789012"), rendered)
    assert rendered.endswith(":stream/ChimeMediaPipelines-*/*")


def test_cleanup_works_in_an_environment_agnostic_and_a_pinned_stack() -> None:
    pinned = new_stack("Pinned", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    KinesisVideoStreamPool(pinned, "Pool", delete_streams_on_delete=True)
    (deleting,) = with_action(Template.from_stack(pinned), "kinesisvideo:DeleteStream")
    assert "123456789012" in json.dumps(deleting["Resource"])
    assert ":kinesisvideo:*:" in json.dumps(deleting["Resource"])
    assert len(pool_resources(Template.from_stack(pinned))) == 1
