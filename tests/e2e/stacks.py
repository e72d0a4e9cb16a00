"""Stacks of pools for the offline suites (tests/e2e, tests/reliability), synthesized in process.

Stack versions that share a CloudFormation stack name (``Stack(stack_name=...)``) are versions of one
stack: deploying one and then another is an update, exactly as two ``cdk deploy`` runs with different
context would be. One synth writes every version to one ``cdk.out`` with the locally bundled asset.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from chime_kvs_pool import KinesisVideoStreamPool

REGION = "us-east-1"
# A pool's api_region in the tests: another Region that has the media pipelines API.
OTHER_API_REGION = "us-west-2"


def pool_stack(
    app: cdk.App,
    construct_id: str,
    stack_name: str,
    pools: Mapping[str, Mapping[str, Any]],
    *,
    function_timeout: int | None = None,
    service_timeout: int | None = None,
) -> cdk.Stack:
    """A stack of pools (construct id -> settings) with each pool's ``<id>Arn`` and ``<id>Id`` outputs.

    Settings: ``name`` (default: generated), ``retention_hours``, ``tags``, ``removal_policy``,
    ``wait_seconds`` (60 by default), ``api_region``, ``delete_streams_on_delete`` and
    ``adopt_existing`` as the construct's props;
    ``property_overrides`` (custom resource property path -> value) to send what the construct's own
    validation would refuse; ``depends_on`` (the construct ids of pools this one is deployed after).
    ``function_timeout`` and ``service_timeout`` (seconds) shorten the handler's Lambda timeout and
    each custom resource's ServiceTimeout.
    """
    stack = cdk.Stack(app, construct_id, stack_name=stack_name)
    constructs: dict[str, KinesisVideoStreamPool] = {}
    for pool_id, settings in pools.items():
        retention = settings.get("retention_hours")
        pool = KinesisVideoStreamPool(
            stack,
            pool_id,
            pool_name=settings.get("name"),
            stream_region=REGION,
            data_retention=cdk.Duration.hours(retention) if retention is not None else None,
            tags=settings.get("tags"),
            removal_policy=settings.get("removal_policy"),
            wait_timeout=cdk.Duration.seconds(settings.get("wait_seconds", 60)),
            api_region=settings.get("api_region"),
            delete_streams_on_delete=settings.get("delete_streams_on_delete"),
            adopt_existing=settings.get("adopt_existing"),
        )
        resource = pool.custom_resource.node.default_child
        assert isinstance(resource, cdk.CfnResource)
        for path, value in settings.get("property_overrides", {}).items():
            resource.add_property_override(path, value)
        if service_timeout is not None:
            resource.add_property_override("ServiceTimeout", service_timeout)
        for earlier in settings.get("depends_on", ()):
            pool.node.add_dependency(constructs[earlier])
        if function_timeout is not None:
            function = pool.handler.function.node.default_child
            assert isinstance(function, cdk.CfnResource)
            function.add_property_override("Timeout", function_timeout)
        cdk.CfnOutput(stack, f"{pool_id}Arn", value=pool.pool_arn)
        cdk.CfnOutput(stack, f"{pool_id}Id", value=pool.pool_id)
        constructs[pool_id] = pool
    return stack


def synthesize(outdir: Path, define: Callable[[cdk.App], None]) -> Path:
    """Synthesize the stacks ``define`` adds to a fresh app into ``outdir``; returns ``outdir``."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    app = cdk.App(outdir=str(outdir))
    define(app)
    app.synth()
    return outdir
