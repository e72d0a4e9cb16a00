#!/usr/bin/env python3
"""The demo app: one stack holding one Kinesis Video Stream pool, with its ARN and id as outputs.

Settings come from CDK context, all optional::

    cdk synth -c pool_name=demo-pool -c stream_region=us-east-1 -c retention_hours=24 \\
        -c removal_policy=retain

The stack is environment-agnostic, so it synthesizes without AWS credentials; the pool's streams
then default to the Region the stack is deployed to.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from chime_kvs_pool import KinesisVideoStreamPool

STACK_NAME = "ChimeKvsPoolDemo"
REMOVAL_POLICIES = {"destroy": cdk.RemovalPolicy.DESTROY, "retain": cdk.RemovalPolicy.RETAIN}


class ChimeKvsPoolDemoStack(cdk.Stack):
    """One pool, configured from context, and its ARN and id as stack outputs."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        pool = KinesisVideoStreamPool(
            self,
            "Pool",
            pool_name=self._context_str("pool_name"),
            stream_region=self._context_str("stream_region"),
            data_retention=self._retention(),
            removal_policy=self._removal_policy(),
        )
        cdk.CfnOutput(self, "PoolArn", value=pool.pool_arn, description="The pool's ARN")
        cdk.CfnOutput(self, "PoolId", value=pool.pool_id, description="The pool's id")

    def _context_str(self, key: str) -> str | None:
        value = self.node.try_get_context(key)
        return None if value is None or value == "" else str(value)

    def _retention(self) -> cdk.Duration | None:
        text = self._context_str("retention_hours")
        if text is None:
            return None
        try:
            hours = int(text)
        except ValueError:
            raise ValueError(
                f"context retention_hours must be a whole number of hours such as 24; got {text!r}"
            ) from None
        if hours < 0:
            raise ValueError(f"context retention_hours must be 0 or more; got {hours}")
        return cdk.Duration.hours(hours)

    def _removal_policy(self) -> cdk.RemovalPolicy | None:
        text = self._context_str("removal_policy")
        if text is None:
            return None
        try:
            return REMOVAL_POLICIES[text.lower()]
        except KeyError:
            raise ValueError(
                f"context removal_policy must be one of {', '.join(REMOVAL_POLICIES)}; got {text!r}"
            ) from None


app = cdk.App()
ChimeKvsPoolDemoStack(app, STACK_NAME)
app.synth()
