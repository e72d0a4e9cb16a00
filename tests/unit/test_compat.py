"""What the construct takes from the installed aws-cdk-lib (compat.py), with the pinned release, and
the version rule that decides whether cdk-nag acknowledgments are recorded.

tests/wheel runs the other side for real: the same app synthesized with the oldest supported
aws-cdk-lib, which has neither python3.14, nor the native reference interface, nor granular
acknowledgments.
"""

from __future__ import annotations

import importlib.metadata

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.interfaces import aws_chime as chime_refs

import chime_kvs_pool
from chime_kvs_pool import compat

FINDING = "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:chime:us-east-1:1:pool/*]"


def acknowledged(construct: cdk.CfnResource) -> dict[str, str]:
    """The acknowledgments aws-cdk-lib recorded on ``construct`` (rule id -> reason)."""
    recorded: dict[str, str] = {}
    for entry in construct.node.metadata:
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            recorded.update(entry.data)
    return recorded


def test_with_the_pinned_release_the_construct_uses_everything_newer() -> None:
    assert compat.newest_python_runtime().name == lambda_.Runtime.PYTHON_3_14.name
    assert compat.native_pool_ref_interfaces() == (chime_refs.IMediaPipelineKinesisVideoStreamPoolRef,)
    assert compat.granular_acknowledgments()
    reference = compat.native_pool_reference("arn:aws:chime:us-east-1:1:pool/x")
    assert reference.media_pipeline_kinesis_video_stream_pool_arn == "arn:aws:chime:us-east-1:1:pool/x"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.275.0", (2, 275, 0)),
        ("2.270.0", (2, 270, 0)),
        ("2.269.1", (2, 269, 1)),
        ("2.300.0rc1", (2, 300, 0)),
    ],
)
def test_the_release_is_read_as_numbers(
    monkeypatch: pytest.MonkeyPatch, version: str, expected: tuple[int, ...]
) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: version)
    assert compat.cdk_lib_release() == expected


@pytest.mark.parametrize(("version", "recorded"), [("2.269.0", False), ("2.270.0", True), ("2.275.0", True)])
def test_acknowledgments_are_recorded_only_where_aws_cdk_lib_accepts_granular_ids(
    monkeypatch: pytest.MonkeyPatch, version: str, recorded: bool
) -> None:
    stack = cdk.Stack(cdk.App(), "Acks")
    resource = cdk.CfnResource(stack, "Role", type="AWS::IAM::Role")
    monkeypatch.setattr(importlib.metadata, "version", lambda name: version)
    assert compat.acknowledge(resource, FINDING, "the reason") is recorded
    monkeypatch.undo()
    # What the pinned aws-cdk-lib stored on the resource: the finding, or nothing.
    assert acknowledged(resource) == ({FINDING: "the reason"} if recorded else {})


def test_the_event_types_are_exported_at_the_package_root() -> None:
    assert chime_kvs_pool.PoolEventType.DELETED.value == "chime:MediaPipelineKinesisVideoStreamPoolDeleted"
    assert chime_kvs_pool.PoolEventType.PERMANENT_FAILURE in chime_kvs_pool.FAILURE_EVENT_TYPES
