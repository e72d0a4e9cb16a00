"""A pool is created through a Region where the Chime SDK Media Pipelines API has an endpoint.

The construct's list of such Regions must be botocore's (the service model's endpoint data), and a
stack that would create its pools elsewhere (by default, a stack in such a Region) is warned at
synthesis instead of failing at deployment on an endpoint that does not exist.
"""

from __future__ import annotations

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk.assertions import Annotations, Match

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.pool import API_REGION_WITHOUT_ENDPOINT_WARNING
from chime_kvs_pool.regions import MEDIA_PIPELINES_API_REGIONS
from tests.unit.conftest import new_stack

WARNING = Match.string_like_regexp("has no Chime SDK Media Pipelines endpoint")


def test_the_list_is_botocores_in_every_partition() -> None:
    session = boto3.session.Session()
    served = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("chime-sdk-media-pipelines", partition_name=partition)
    }
    assert served == MEDIA_PIPELINES_API_REGIONS


def warnings_of(stack: cdk.Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", WARNING)
    return [str(entry.entry.data) for entry in found]


def test_a_stack_in_a_region_without_the_api_is_warned_and_told_where_it_is() -> None:
    stack = new_stack(env=cdk.Environment(account="123456789012", region="eu-west-1"))
    KinesisVideoStreamPool(stack, "Pool")
    (warning,) = warnings_of(stack)
    assert "the stack's Region (the default api_region) eu-west-1" in warning
    assert "eu-central-1" in warning and "us-east-1" in warning
    assert API_REGION_WITHOUT_ENDPOINT_WARNING in warning


def test_an_api_region_without_the_api_is_warned() -> None:
    stack = new_stack(env=cdk.Environment(account="123456789012", region="us-east-1"))
    KinesisVideoStreamPool(stack, "Pool", api_region="eu-west-1")
    (warning,) = warnings_of(stack)
    assert warning.startswith("api_region eu-west-1")


@pytest.mark.parametrize(
    ("stack_region", "api_region"),
    [("us-east-1", None), ("eu-west-1", "eu-central-1"), (None, None), (None, "us-west-2")],
)
def test_served_or_unknown_regions_are_not_warned(stack_region: str | None, api_region: str | None) -> None:
    env = cdk.Environment(account="123456789012", region=stack_region) if stack_region else None
    stack = new_stack(env=env)
    KinesisVideoStreamPool(stack, "Pool", api_region=api_region)
    assert warnings_of(stack) == []
