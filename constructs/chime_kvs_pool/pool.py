"""``KinesisVideoStreamPool``: an Amazon Chime SDK Media Pipelines Kinesis Video Stream pool.

The pool is a CloudFormation custom resource served by the stack's singleton handler function
(``chime_kvs_pool.handler``). Its properties mirror the native resource
``AWS::Chime::MediaPipelineKinesisVideoStreamPool`` so that moving to it later is a small step.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, Protocol

import jsii
from aws_cdk import (
    CustomResource,
    Duration,
    IResource,
    ITaggable,
    Names,
    RemovalPolicy,
    Resource,
    Stack,
    TagManager,
    TagType,
)
from constructs import Construct, IValidation

from chime_kvs_pool import validation
from chime_kvs_pool.handler import PoolHandler
from chime_kvs_pool.tagging import RenderedTags, tag_pairs
from kvs_stream_pool import pool_rules

RESOURCE_TYPE = "Custom::ChimeKinesisVideoStreamPool"
DEFAULT_WAIT_TIMEOUT = Duration.seconds(pool_rules.WAIT_TIMEOUT_DEFAULT)
# CloudFormation's wait for the handler's answer: its wait, plus time for the cold start, the API
# calls around the wait and the response. Far below CloudFormation's default of one hour, so that a
# handler that never answers fails the deployment quickly.
SERVICE_TIMEOUT_MARGIN = Duration.minutes(2)


class IKinesisVideoStreamPool(IResource, Protocol):
    """A Kinesis Video Stream pool, defined in this app or (later) imported by ARN.

    A static interface (checked by mypy), as jsii interfaces cannot be declared from Python: code
    that accepts any pool should take an ``IKinesisVideoStreamPool``.
    """

    @property
    def pool_arn(self) -> str:
        """The pool's ARN. @attribute"""
        ...

    @property
    def pool_name(self) -> str:
        """The pool's name. @attribute"""
        ...


class KinesisVideoStreamPoolBase(Resource):
    """What owned and imported pools share; grants and events will build on ``pool_arn``."""

    @property
    @abc.abstractmethod
    def pool_arn(self) -> str: ...

    @property
    @abc.abstractmethod
    def pool_name(self) -> str: ...


@jsii.implements(IValidation)
class _MergedTagsValidation:
    """Checks the pool's final tag set (the ``tags`` prop plus every ``Tags.of``) at synthesis."""

    def __init__(self, pool: KinesisVideoStreamPool) -> None:
        self._pool = pool

    def validate(self) -> list[str]:
        pairs = tag_pairs(self._pool.tags)
        if len(pairs) > pool_rules.TAGS_MAX:
            # Too many even if some are tokens: the rule reports the count before any key.
            error = pool_rules.tags_error(pairs)
        else:
            error = validation.tags_prop_error(dict(pairs))
        if error is None:
            return []
        return [f"invalid tags (the tags prop together with Tags.of): {error}"]


@jsii.implements(ITaggable)
class KinesisVideoStreamPool(KinesisVideoStreamPoolBase):
    """An Amazon Chime SDK Media Pipelines Kinesis Video Stream pool.

    Example::

        pool = KinesisVideoStreamPool(self, "Pool", data_retention=Duration.hours(24))
        CfnOutput(self, "PoolArn", value=pool.pool_arn)

    Every pool of a stack is served by one handler Lambda function (created with the first pool)
    with one least-privilege policy. ``Tags.of(pool)`` and ``Tags.of(stack)`` reach the pool like
    any taggable L2 construct; ``aws:`` keys inherited that way are dropped, as AWS reserves them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pool_name: str | None = None,
        stream_region: str | None = None,
        data_retention: Duration | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
        wait_timeout: Duration | None = None,
    ) -> None:
        """Define a pool.

        :param pool_name: the pool's name, 1-128 characters of ``[0-9a-zA-Z._-]``; changing it
            replaces the pool. Default: a name generated from the stack name and construct path,
            unique and stable.
        :param stream_region: the AWS Region of the pool's Kinesis video streams; changing it
            replaces the pool. Default: the stack's Region (``Stack.of(self).region``, the
            deployment's Region in an environment-agnostic stack).
        :param data_retention: how long the streams keep media, in whole hours (``Duration.hours(0)``
            keeps none). Default: the service's default.
        :param tags: tags for the pool, as with ``Tags.of(pool).add``. Default: none.
        :param removal_policy: ``DESTROY`` deletes the pool with the stack or on replacement;
            ``RETAIN`` keeps it. Default: ``RemovalPolicy.DESTROY``.
        :param wait_timeout: how long one handler invocation waits for the pool to become ACTIVE or
            to disappear, 1 second to 14 minutes. Default: 5 minutes.
        """
        # The path the pool will have, for error messages raised before it joins the tree.
        path = f"{scope.node.path}/{construct_id}".lstrip("/")
        if pool_name is not None:
            validation.check_pool_name(path, pool_name)
        if stream_region is not None:
            validation.check_stream_region(path, stream_region)
        retention_hours = (
            validation.retention_hours(path, data_retention) if data_retention is not None else None
        )
        if tags:
            validation.check_tags(path, tags)
        policy = removal_policy if removal_policy is not None else RemovalPolicy.DESTROY
        validation.check_removal_policy(path, policy)
        wait_seconds = validation.wait_timeout_seconds(path, wait_timeout or DEFAULT_WAIT_TIMEOUT)

        super().__init__(scope, construct_id, physical_name=pool_name)

        self._tags = TagManager(TagType.KEY_VALUE, RESOURCE_TYPE, dict(tags or {}))
        self.node.add_validation(_MergedTagsValidation(self))

        name = pool_name if pool_name is not None else self._generated_pool_name()
        region = stream_region if stream_region is not None else Stack.of(self).region

        stream_configuration: dict[str, Any] = {"Region": region}
        if retention_hours is not None:
            stream_configuration["DataRetentionInHours"] = retention_hours

        self._handler = PoolHandler.of(self)
        self._resource = CustomResource(
            self,
            "Resource",
            service_token=self._handler.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "PoolName": name,
                "StreamConfiguration": stream_configuration,
                "Tags": RenderedTags(self._tags),
                "WaitTimeoutSeconds": wait_seconds,
            },
            removal_policy=policy,
            service_timeout=Duration.seconds(wait_seconds + SERVICE_TIMEOUT_MARGIN.to_seconds()),
        )

    def _generated_pool_name(self) -> str:
        """Unique per stack and construct path, within the service's length and characters."""
        return Names.unique_resource_name(
            self,
            max_length=pool_rules.POOL_NAME_MAX,
            separator="-",
            allowed_special_characters="._-",
        )

    @property
    def tags(self) -> TagManager:
        """The pool's tags; ``Tags.of(pool).add(key, value)`` is the usual way to add one."""
        return self._tags

    @property
    def handler(self) -> PoolHandler:
        """The stack's shared handler (function, role, log group)."""
        return self._handler

    @property
    def custom_resource(self) -> CustomResource:
        """The CloudFormation custom resource behind the pool (an escape hatch)."""
        return self._resource

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """Apply to the custom resource: a pool's default child is not itself a CfnResource."""
        validation.check_removal_policy(self.node.path, policy)
        self._resource.apply_removal_policy(policy)

    @property
    def pool_arn(self) -> str:
        """The pool's ARN (the custom resource's physical id). @attribute"""
        return self._resource.ref

    @property
    def pool_name(self) -> str:
        """The pool's name. @attribute"""
        return self._resource.get_att_string("PoolName")

    @property
    def pool_id(self) -> str:
        """The pool's unique id. @attribute"""
        return self._resource.get_att_string("PoolId")

    @property
    def pool_status(self) -> str:
        """The pool's status when the handler last answered (normally ACTIVE). @attribute"""
        return self._resource.get_att_string("PoolStatus")

    @property
    def pool_size(self) -> str:
        """How many Kinesis video streams the pool holds, as a string. @attribute"""
        return self._resource.get_att_string("PoolSize")

    @property
    def stream_region(self) -> str:
        """The Region of the pool's streams. @attribute"""
        return self._resource.get_att_string("StreamRegion")

    @property
    def data_retention_in_hours(self) -> str:
        """The streams' data retention in hours, as a string. @attribute"""
        return self._resource.get_att_string("DataRetentionInHours")

    @property
    def created_timestamp(self) -> str:
        """When the pool was created (ISO 8601, UTC). @attribute"""
        return self._resource.get_att_string("CreatedTimestamp")

    @property
    def updated_timestamp(self) -> str:
        """When the pool was last updated (ISO 8601, UTC). @attribute"""
        return self._resource.get_att_string("UpdatedTimestamp")
