"""Helpers for the construct's synth tests: a stack in its own App, its synthesized template."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

POOL_TYPE = "Custom::ChimeKinesisVideoStreamPool"


def new_stack(name: str = "TestStack", **stack_kwargs: Any) -> cdk.Stack:
    """A stack in a fresh App: each App synthesizes once, so every scenario gets its own."""
    return cdk.Stack(cdk.App(), name, **stack_kwargs)


def pool_resources(template: Template) -> dict[str, Any]:
    return dict(template.find_resources(POOL_TYPE))


def only_pool(template: Template) -> dict[str, Any]:
    """The template's single pool resource (fails when there is not exactly one)."""
    pools = pool_resources(template)
    assert len(pools) == 1, pools
    return next(iter(pools.values()))


@pytest.fixture(scope="module")
def synth() -> Callable[[cdk.Stack], Template]:
    return Template.from_stack
