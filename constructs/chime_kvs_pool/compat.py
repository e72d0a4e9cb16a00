"""What differs between the aws-cdk-lib releases the construct supports (pyproject.toml's range).

The construct needs aws-cdk-lib 2.174.0 (``CustomResource``'s ``service_timeout``). Three things it
uses arrived later; each is used where the installed release has it, and the construct works
without it:

- the newest Python Lambda runtime (``Runtime.PYTHON_3_14`` is newer than 2.174.0, which offers 3.13);
- ``Validations.of(...).acknowledge()`` with cdk-nag's granular rule ids
  (``AwsSolutions::AwsSolutions-IAM5[Resource::<arn>]``): 2.252.0 added the API, but only 2.270.0
  accepts a ``::`` inside the brackets, and cdk-nag 3 needs those ids;
- the native resource's reference interface, ``aws_cdk.interfaces.aws_chime.
  IMediaPipelineKinesisVideoStreamPoolRef``, generated from 2.269.0 on with the L1
  ``CfnMediaPipelineKinesisVideoStreamPool``.

tests/wheel synthesizes the same app with the oldest supported release and the pinned one.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from typing import Any

from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

# Newest first. The handler runs on each of them (Python 3.11 to 3.14).
PYTHON_RUNTIMES = ("PYTHON_3_14", "PYTHON_3_13", "PYTHON_3_12", "PYTHON_3_11")
# The first aws-cdk-lib release whose Validations.acknowledge() accepts cdk-nag's granular ids.
GRANULAR_ACKNOWLEDGMENT_RELEASE = (2, 270, 0)
NATIVE_INTERFACES_MODULE = "aws_cdk.interfaces.aws_chime"
NATIVE_POOL_REF = "IMediaPipelineKinesisVideoStreamPoolRef"
NATIVE_POOL_REFERENCE = "MediaPipelineKinesisVideoStreamPoolReference"


def newest_python_runtime() -> lambda_.Runtime:
    """The newest Python runtime that the installed aws-cdk-lib offers, among those the handler
    supports: Lambda's newest for each user, without raising the minimum aws-cdk-lib."""
    for name in PYTHON_RUNTIMES:
        runtime = getattr(lambda_.Runtime, name, None)
        if isinstance(runtime, lambda_.Runtime):
            return runtime
    raise RuntimeError(f"aws-cdk-lib offers none of the handler's Python runtimes {PYTHON_RUNTIMES}")


def cdk_lib_release() -> tuple[int, ...] | None:
    """The installed aws-cdk-lib's version as numbers; None when it is not an installed distribution."""
    try:
        version = importlib.metadata.version("aws-cdk-lib")
    except importlib.metadata.PackageNotFoundError:
        return None
    numbers: list[int] = []
    for part in version.split("."):
        digits = re.match(r"\d+", part)  # "0rc1" -> 0
        if digits is None:
            break
        numbers.append(int(digits.group()))
    return tuple(numbers)


def granular_acknowledgments() -> bool:
    """Whether the installed aws-cdk-lib accepts cdk-nag's granular rule ids in acknowledge()."""
    release = cdk_lib_release()
    return release is None or release >= GRANULAR_ACKNOWLEDGMENT_RELEASE


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> bool:
    """Acknowledge one validation finding on ``scope`` where aws-cdk-lib can express it.

    Older releases refuse the id at synthesis; there the finding stays reported (cdk-nag 3 on such
    a release cannot be told about granular findings at all) rather than acknowledged more widely.
    Returns whether the acknowledgment was recorded.
    """
    if not granular_acknowledgments():
        return False
    from aws_cdk import Acknowledgment, Validations

    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
    return True


def _native_interfaces_member(name: str) -> Any:
    try:
        module = importlib.import_module(NATIVE_INTERFACES_MODULE)
    except ImportError:
        return None
    return getattr(module, name, None)


def native_pool_ref_interfaces() -> tuple[Any, ...]:
    """aws-cdk-lib's reference interface of the native pool resource, when it has one (for
    ``@jsii.implements``); empty otherwise."""
    interface = _native_interfaces_member(NATIVE_POOL_REF)
    return () if interface is None else (interface,)


def native_pool_reference(pool_arn: str) -> Any:
    """aws-cdk-lib's reference struct for a pool (``MediaPipelineKinesisVideoStreamPoolReference``)."""
    reference = _native_interfaces_member(NATIVE_POOL_REFERENCE)
    if reference is None:
        raise NotImplementedError(
            f"{NATIVE_INTERFACES_MODULE}.{NATIVE_POOL_REFERENCE} needs aws-cdk-lib 2.269.0 or later"
        )
    return reference(media_pipeline_kinesis_video_stream_pool_arn=pool_arn)
