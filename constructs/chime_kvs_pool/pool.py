"""``KinesisVideoStreamPool``: an Amazon Chime SDK Media Pipelines Kinesis Video Stream pool.

The pool is a CloudFormation custom resource served by the stack's singleton handler function
(``chime_kvs_pool.handler``). Its properties mirror the native resource
``AWS::Chime::MediaPipelineKinesisVideoStreamPool`` so that moving to it later is a small step.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import jsii
from aws_cdk import (
    Annotations,
    ArnFormat,
    CfnDeletionPolicy,
    CfnResource,
    CustomResource,
    Duration,
    Fn,
    IResource,
    ITaggable,
    Names,
    RemovalPolicy,
    Resource,
    Stack,
    TagManager,
    TagType,
    Token,
)
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct, IValidation

from chime_kvs_pool import compat, regions, validation
from chime_kvs_pool.handler import PoolHandler
from chime_kvs_pool.runtime import pool_rules
from chime_kvs_pool.tagging import RenderedTags, tag_pairs

RESOURCE_TYPE = "Custom::ChimeKinesisVideoStreamPool"
DEFAULT_WAIT_TIMEOUT = Duration.seconds(pool_rules.WAIT_TIMEOUT_DEFAULT)
# CloudFormation's wait for the handler's answer: its wait, plus time for the cold start, the API
# calls around the wait and the response. Far below CloudFormation's default of one hour, so that a
# handler that never answers fails the deployment quickly.
SERVICE_TIMEOUT_MARGIN = Duration.seconds(pool_rules.SERVICE_TIMEOUT_MARGIN_SECONDS)
_SERVICE_TIMEOUT_MARGIN_SECONDS = int(SERVICE_TIMEOUT_MARGIN.to_seconds())

# What grant_read allows on the pool.
POOL_READ_ACTIONS = (
    "chime:GetMediaPipelineKinesisVideoStreamPool",
    "chime:ListTagsForResource",
)
# What grant_stream_consumer allows on the pool's Kinesis video streams: find a stream's data
# endpoint and read its media, live or archived.
STREAM_CONSUMER_ACTIONS = (
    "kinesisvideo:DescribeStream",
    "kinesisvideo:GetDataEndpoint",
    "kinesisvideo:GetMedia",
    "kinesisvideo:ListFragments",
    "kinesisvideo:GetMediaForFragmentList",
)
# The pool state change events, as the Chime SDK sends them to the default event bus of the pool's
# (control-plane) Region, with the pool's ARN in ``detail.poolArn``.
STATE_CHANGE_SOURCE = "aws.chime"
STATE_CHANGE_DETAIL_TYPE = "Chime Media Pipeline Kinesis Video Pool State Change"


class PoolEventType(enum.StrEnum):
    """The ``detail.eventType`` values of pool state change events, as the Chime SDK Developer Guide
    lists them ("Understanding Kinesis Video Streams pool events for Amazon Chime SDK media stream
    pipelines"), for ``on_state_change(..., event_types=[...])``."""

    ACTIVE = "chime:MediaPipelineKinesisVideoStreamPoolActive"
    """Sent after CreateMediaPipelineKinesisVideoStreamPool created the pool."""
    UPDATED = "chime:MediaPipelineKinesisVideoStreamPoolUpdated"
    """Sent after UpdateMediaPipelineKinesisVideoStreamPool updated the pool."""
    DELETED = "chime:MediaPipelineKinesisVideoStreamPoolDeleted"
    """Sent once DeleteMediaPipelineKinesisVideoStreamPool has deleted the pool (after the meetings
    using it ended): from then on its streams may be deleted."""
    TEMPORARY_FAILURE = "chime:MediaPipelineKinesisVideoStreamPoolTemporaryFailure"
    """The service could not complete a pool operation for now and will retry."""
    PERMANENT_FAILURE = "chime:MediaPipelineKinesisVideoStreamPoolPermanentFailure"
    """The service gave up on a pool operation."""


FAILURE_EVENT_TYPES = (PoolEventType.TEMPORARY_FAILURE, PoolEventType.PERMANENT_FAILURE)
EVENTS_REGION_WARNING = "chime-kvs-pool:events-region"
OPT_IN_UNCHECKED_WARNING = "chime-kvs-pool:opt-in-region-unchecked"
API_REGION_WITHOUT_ENDPOINT_WARNING = "chime-kvs-pool:api-region-without-endpoint"
STREAMS_DELETED_ON_REPLACEMENT_WARNING = "chime-kvs-pool:streams-deleted-on-replacement"
# A generated name of a pool with its own api_region ends in ``-<stack Region>-<account>``: the room
# kept for it fits the longest Region the service accepts and a 12-digit account, so the name stays
# within the limit even when both are only known at deploy time.
ACCOUNT_ID_LENGTH = 12
ENVIRONMENT_SUFFIX_MAX = 1 + pool_rules.REGION_MAX + 1 + ACCOUNT_ID_LENGTH


class IKinesisVideoStreamPool(IResource, Protocol):
    """A Kinesis Video Stream pool, defined in this app or imported (``from_pool_arn`` and friends).

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

    @property
    def pool_id(self) -> str | None:
        """The pool's id (``ChimeMediaPipelines-<PoolName>-<uuid>``); None when imported without it."""
        ...

    @property
    def stream_region(self) -> str:
        """The Region of the pool's Kinesis video streams. @attribute"""
        ...

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow ``actions`` (``chime:...``) on this pool only."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow reading this pool's configuration and tags."""
        ...

    def grant_stream_consumer(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow reading media from this pool's Kinesis video streams."""
        ...

    def on_event(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        event_pattern: events.EventPattern | None = None,
        cross_stack_scope: Construct | None = None,
    ) -> events.Rule:
        """An EventBridge rule for every event the Chime SDK sends about this pool."""
        ...

    def on_state_change(
        self,
        construct_id: str,
        *,
        event_types: Iterable[PoolEventType | str] | None = None,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        event_pattern: events.EventPattern | None = None,
        cross_stack_scope: Construct | None = None,
    ) -> events.Rule:
        """An EventBridge rule for this pool's state change events (optionally only some types)."""
        ...

    def on_failure(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        event_pattern: events.EventPattern | None = None,
        cross_stack_scope: Construct | None = None,
    ) -> events.Rule:
        """An EventBridge rule for this pool's failure events."""
        ...

    @property
    def media_pipeline_kinesis_video_stream_pool_ref(self) -> Any:
        """aws-cdk-lib's reference to this pool (``IMediaPipelineKinesisVideoStreamPoolRef``)."""
        ...


@jsii.implements(*compat.native_pool_ref_interfaces())
class KinesisVideoStreamPoolBase(Resource):
    """What owned and imported pools share: grants and events, all scoped to this one pool.

    With aws-cdk-lib 2.269.0 or later, every pool also implements aws-cdk-lib's generated reference
    interface of the native resource, ``IMediaPipelineKinesisVideoStreamPoolRef`` (module
    ``aws_cdk.interfaces.aws_chime``), so it can be passed wherever aws-cdk-lib accepts one (for example
    ``CfnMediaPipelineKinesisVideoStreamPool.arn_for_media_pipeline_kinesis_video_stream_pool``).
    """

    @property
    @abc.abstractmethod
    def pool_arn(self) -> str: ...

    @property
    @abc.abstractmethod
    def pool_name(self) -> str: ...

    @property
    @abc.abstractmethod
    def pool_id(self) -> str | None: ...

    @property
    @abc.abstractmethod
    def stream_region(self) -> str: ...

    @property
    @abc.abstractmethod
    def api_region(self) -> str:
        """The Region of the pool's control-plane API: its ARN's Region, where its events arrive."""

    @property
    def media_pipeline_kinesis_video_stream_pool_ref(self) -> Any:
        """A ``MediaPipelineKinesisVideoStreamPoolReference`` to this pool (its ARN), as aws-cdk-lib's
        ``IMediaPipelineKinesisVideoStreamPoolRef`` requires. Needs aws-cdk-lib 2.269.0 or later."""
        return compat.native_pool_reference(self.pool_arn)

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow ``actions`` (for example ``chime:UpdateMediaPipelineKinesisVideoStreamPool``) on this
        pool's ARN only. At least one action is required: an empty grant is always a mistake."""
        if not actions:
            raise ValueError(
                f"{self.node.path}: grant() needs at least one action, such as {POOL_READ_ACTIONS[0]!r}"
            )
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.pool_arn]
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``GetMediaPipelineKinesisVideoStreamPool`` and ``ListTagsForResource`` on this pool."""
        return self.grant(grantee, *POOL_READ_ACTIONS)

    def grant_stream_consumer(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow reading media from this pool's Kinesis video streams, and no other pool's.

        The pool's streams are created by the service and named after its PoolId
        (``<PoolId>-...``, in the stream Region); the PoolId ends in a uuid, so the grant's
        ``stream/<PoolId>-*/*`` pattern cannot reach another pool's streams. A pool imported without
        its PoolId is refused rather than granted on a name prefix that other pools could share.
        """
        pool_id = self.pool_id
        if pool_id is None:
            raise ValueError(
                f"{self.node.path}: grant_stream_consumer needs the pool's PoolId, which an ARN or a "
                "name does not carry; import the pool with KinesisVideoStreamPool.from_pool_attributes"
                "(..., pool_id=...) (a pool name prefix would also match other pools' streams)"
            )
        stream_arns = Stack.of(self).format_arn(
            service="kinesisvideo",
            region=self.stream_region,
            account=self.env.account,
            resource="stream",
            resource_name=f"{pool_rules.pool_stream_prefix(pool_id)}*/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(STREAM_CONSUMER_ACTIONS), resource_arns=[stream_arns]
        )

    def on_event(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        event_pattern: events.EventPattern | None = None,
        cross_stack_scope: Construct | None = None,
    ) -> events.Rule:
        """An EventBridge rule (on the default bus) matching every event the Chime SDK sends about
        this pool: ``source`` ``aws.chime`` and ``detail.poolArn`` this pool's ARN.

        The options are those of aws-cdk-lib's ``events.OnEventOptions``, as in ``Repository.on_event``.

        :param construct_id: the rule's construct id, under this pool.
        :param target: where matched events go. Default: none; add targets to the returned rule.
        :param description: the rule's description. Default: one naming the pool.
        :param rule_name: the rule's physical name. Default: generated by CloudFormation.
        :param event_pattern: more to match, merged into the pool's pattern (for example
            ``detail={"mediaRegion": ["eu-west-2"]}``). Default: the pool's pattern alone.
        :param cross_stack_scope: the scope in which to define the rule's stack when the target is
            in another account. Default: the target's stack.
        """
        return self._rule(
            construct_id,
            pattern={"source": [STATE_CHANGE_SOURCE], "detail": {"poolArn": [self.pool_arn]}},
            default_description=f"Events of the Kinesis Video Stream pool {self.node.path}",
            target=target,
            description=description,
            rule_name=rule_name,
            event_pattern=event_pattern,
            cross_stack_scope=cross_stack_scope,
        )

    def on_state_change(
        self,
        construct_id: str,
        *,
        event_types: Iterable[PoolEventType | str] | None = None,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        event_pattern: events.EventPattern | None = None,
        cross_stack_scope: Construct | None = None,
    ) -> events.Rule:
        """An EventBridge rule (on the default bus) matching this pool's state change events
        (detail-type ``Chime Media Pipeline Kinesis Video Pool State Change``).

        :param construct_id: the rule's construct id, under this pool.
        :param event_types: only these ``detail.eventType`` values, for example
            ``[PoolEventType.DELETED]`` or ``FAILURE_EVENT_TYPES``. Default: every type.
        :param target: where matched events go. Default: none; add targets to the returned rule.
        :param description: the rule's description. Default: one naming the pool.
        :param rule_name: the rule's physical name. Default: generated by CloudFormation.
        :param event_pattern: more to match, merged into the pool's pattern. Default: none.
        :param cross_stack_scope: as for :meth:`on_event`.
        """
        detail: dict[str, Any] = {"poolArn": [self.pool_arn]}
        if event_types is not None:
            detail["eventType"] = self._event_type_values(construct_id, event_types)
        return self._rule(
            construct_id,
            pattern={
                "source": [STATE_CHANGE_SOURCE],
                "detail_type": [STATE_CHANGE_DETAIL_TYPE],
                "detail": detail,
            },
            default_description=f"State changes of the Kinesis Video Stream pool {self.node.path}",
            target=target,
            description=description,
            rule_name=rule_name,
            event_pattern=event_pattern,
            cross_stack_scope=cross_stack_scope,
        )

    def on_failure(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        event_pattern: events.EventPattern | None = None,
        cross_stack_scope: Construct | None = None,
    ) -> events.Rule:
        """:meth:`on_state_change` for the failure types only (``FAILURE_EVENT_TYPES``), to alarm on."""
        return self.on_state_change(
            construct_id,
            event_types=FAILURE_EVENT_TYPES,
            target=target,
            description=description or f"Failures of the Kinesis Video Stream pool {self.node.path}",
            rule_name=rule_name,
            event_pattern=event_pattern,
            cross_stack_scope=cross_stack_scope,
        )

    def _event_type_values(self, construct_id: str, event_types: Iterable[PoolEventType | str]) -> list[str]:
        """The documented types, each once, in order; anything else is a synth-time error."""
        known = {member.value for member in PoolEventType}
        values: list[str] = []
        for event_type in event_types:
            value = str(event_type.value if isinstance(event_type, PoolEventType) else event_type)
            if value not in known:
                raise ValueError(
                    f"{self.node.path}/{construct_id}: invalid event_types {pool_rules.quote(value)}: "
                    f"a pool's events are {', '.join(sorted(known))} (PoolEventType)"
                )
            if value not in values:
                values.append(value)
        if not values:
            raise ValueError(
                f"{self.node.path}/{construct_id}: event_types is empty, so the rule would match nothing; "
                "leave it out to match every type"
            )
        return values

    def _rule(
        self,
        construct_id: str,
        *,
        pattern: Mapping[str, Any],
        default_description: str,
        target: events.IRuleTarget | None,
        description: str | None,
        rule_name: str | None,
        event_pattern: events.EventPattern | None,
        cross_stack_scope: Construct | None,
    ) -> events.Rule:
        """The rule, with the user's pattern merged into the pool's as aws-cdk-lib's on_event does."""
        rule = events.Rule(
            self,
            construct_id,
            description=description or default_description,
            rule_name=rule_name,
            event_pattern=event_pattern,
            cross_stack_scope=cross_stack_scope,
        )
        rule.add_event_pattern(**pattern)
        if target is not None:
            rule.add_target(target)
        stack_region = Stack.of(self).region
        api_region = self.api_region
        known = not Token.is_unresolved(api_region) and not Token.is_unresolved(stack_region)
        if known and api_region != stack_region:
            Annotations.of(rule).add_warning_v2(
                EVENTS_REGION_WARNING,
                f"the pool's events arrive in {api_region} (its API Region), but this rule is in "
                f"{stack_region}: it will match nothing unless the events are forwarded here",
            )
        return rule


class _ImportedKinesisVideoStreamPool(KinesisVideoStreamPoolBase):
    """A pool defined outside this app; its account and Region are those of its ARN."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pool_arn: str,
        pool_name: str,
        pool_id: str | None,
        stream_region: str | None,
    ) -> None:
        super().__init__(scope, construct_id, environment_from_arn=pool_arn)
        self._pool_arn = pool_arn
        self._pool_name = pool_name
        self._pool_id = pool_id
        self._stream_region = stream_region

    @property
    def pool_arn(self) -> str:
        return self._pool_arn

    @property
    def pool_name(self) -> str:
        return self._pool_name

    @property
    def pool_id(self) -> str | None:
        return self._pool_id

    @property
    def api_region(self) -> str:
        return self.env.region

    @property
    def stream_region(self) -> str:
        """The stream Region given at import; default: the pool's ARN Region."""
        return self._stream_region if self._stream_region is not None else self.env.region


@jsii.implements(IValidation)
class _MergedTagsValidation:
    """Checks the pool's final tag set (the ``tags`` prop plus every ``Tags.of``) at synthesis."""

    def __init__(self, pool: KinesisVideoStreamPool) -> None:
        self._pool = pool

    def validate(self) -> list[str]:
        pairs = tag_pairs(self._pool.tags)
        if len(pairs) > pool_rules.USER_TAGS_MAX:
            # Too many even if some are tokens: the rule reports the count before any key.
            error = pool_rules.tags_error(pairs)
        else:
            error = validation.tags_prop_error(dict(pairs))
        if error is None:
            return []
        return [f"invalid tags (the tags prop together with Tags.of): {error}"]


@jsii.implements(IValidation)
class _StreamCleanupRemovalValidation:
    """Refuses a deletion policy that keeps the pool of a ``delete_streams_on_delete`` pool, however
    it was set (``RemovalPolicies``, an escape hatch on the custom resource): CloudFormation would
    never send the Delete that deletes the streams."""

    def __init__(self, pool: KinesisVideoStreamPool) -> None:
        self._pool = pool

    def validate(self) -> list[str]:
        resource = self._pool.custom_resource.node.default_child
        assert isinstance(resource, CfnResource)
        deletion_policy = resource.cfn_options.deletion_policy
        if deletion_policy in (None, CfnDeletionPolicy.DELETE):
            return []
        return [validation.stream_cleanup_removal_policy_message(f"DeletionPolicy {deletion_policy.value}")]


@jsii.implements(ITaggable)
class KinesisVideoStreamPool(KinesisVideoStreamPoolBase):
    """An Amazon Chime SDK Media Pipelines Kinesis Video Stream pool.

    Example::

        pool = KinesisVideoStreamPool(self, "Pool", data_retention=Duration.hours(24))
        CfnOutput(self, "PoolArn", value=pool.pool_arn)

    Every pool of a stack is served by one handler Lambda function (created with the first pool)
    with one least-privilege inline policy, plus one policy per option that a pool's Delete needs
    (another API Region, stream cleanup), which the pools using it depend on. ``Tags.of(pool)``
    and ``Tags.of(stack)`` reach the pool like any taggable L2 construct; ``aws:`` keys inherited
    that way are dropped, as AWS reserves them.
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
        api_region: str | None = None,
        meeting_media_regions: Sequence[str] | None = None,
        ensure_service_linked_role: bool | None = None,
        adopt_existing: bool | None = None,
        delete_streams_on_delete: bool | None = None,
    ) -> None:
        """Define a pool.

        :param pool_name: the pool's name, 1-128 characters of ``[0-9a-zA-Z._-]``; changing it
            replaces the pool. Default: a name generated from the stack name and construct path,
            unique and stable; with ``api_region`` it also ends in ``-<stack Region>-<account>``
            (``AWS::Region`` and ``AWS::AccountId`` at deploy time in an environment-agnostic stack),
            so that same-named stacks in several Regions or accounts sharing an API Region never
            collide.
        :param stream_region: the AWS Region of the pool's Kinesis video streams; changing it
            replaces the pool. Default: the stack's Region (``Stack.of(self).region``, the
            deployment's Region in an environment-agnostic stack).
        :param data_retention: how long the streams keep media, in whole hours (``Duration.hours(0)``
            keeps none). Every change the handler accepts can be rolled back: an existing pool can go
            neither to 0 nor from 0 (the update API's minimum is 1 hour, so the rollback of a change
            from 0 could never return to it); both fail the update before any change. To leave 0, give
            the pool a new ``pool_name``: it is replaced, which loses nothing (retention 0 keeps no
            media). Default: the service's default.
        :param tags: tags for the pool, as with ``Tags.of(pool).add``. Default: none.
        :param removal_policy: ``DESTROY`` deletes the pool with the stack or on replacement;
            ``RETAIN`` keeps it (refused with ``delete_streams_on_delete``, which needs the
            Delete). Default: ``RemovalPolicy.DESTROY``.
        :param wait_timeout: how long one handler invocation waits for the pool to become ACTIVE or
            to disappear, 1 second to 14 minutes. Default: 5 minutes.
        :param api_region: the Region whose Chime SDK Media Pipelines API manages the pool (its ARN's
            Region), for a stack in a Region without that API. Default: the stack's Region.
        :param meeting_media_regions: the MediaRegions of the meetings that will use the pool. If one
            is an opt-in Region, the stream Region must be that same Region (checked at synthesis).
            Default: not checked.
        :param ensure_service_linked_role: on creation, create the service-linked role
            ``AWSServiceRoleForAmazonChimeSDKMediaPipelines`` if the account lacks it (first pool in
            a fresh account); adds ``iam:CreateServiceLinkedRole`` on that role only to the handler.
            Default: ``True``.
        :param adopt_existing: on creation, take over a pool of the same name (and API Region)
            instead of failing: its tags and retention are set to this declaration (retention 0
            cannot be set on an existing pool), and the adoption is recorded on the pool (its
            ``chime-kvs-pool:owner`` tag). Adoption implies retain: deleting the stack, removing
            this construct, or the rollback of the deployment that adopted the pool leaves the pool
            in place, handed back to whoever held it before. Moving a construct to a new path with
            the same ``pool_name`` and this flag keeps the pool: the old logical id's Delete leaves
            it alone. Fails if its stream Region differs. Default: ``False``.
        :param delete_streams_on_delete: when the pool is deleted, and only once it is completely
            gone, also delete its Kinesis video streams (matched by its exact PoolId); adds
            ``kinesisvideo:ListStreams`` and ``kinesisvideo:DeleteStream`` to the handler, in a
            policy the pool depends on. A change that replaces the pool (``pool_name``,
            ``stream_region``, or the construct path or stack name behind a generated name) deletes
            the old pool and so its streams and their recordings; synthesis warns about it
            (``chime-kvs-pool:streams-deleted-on-replacement``). Needs
            ``removal_policy=RemovalPolicy.DESTROY``: with ``RETAIN`` CloudFormation never sends
            the Delete, so the combination is refused. Default: ``False`` (the streams, and the
            media in them, outlive the pool).
        """
        # The path the pool will have, for error messages raised before it joins the tree.
        path = f"{scope.node.path}/{construct_id}".lstrip("/")
        if pool_name is not None:
            validation.check_pool_name(path, pool_name)
        if stream_region is not None:
            validation.check_stream_region(path, stream_region)
        if api_region is not None:
            validation.check_api_region(path, api_region)
        region = stream_region if stream_region is not None else Stack.of(scope).region
        opt_in_checked = validation.check_stream_region_for_meetings(
            path, region, meeting_media_regions or ()
        )
        retention_hours = (
            validation.retention_hours(path, data_retention) if data_retention is not None else None
        )
        if tags:
            validation.check_tags(path, tags)
        policy = removal_policy if removal_policy is not None else RemovalPolicy.DESTROY
        validation.check_removal_policy(path, policy)
        validation.check_stream_cleanup_removal_policy(path, policy, bool(delete_streams_on_delete))
        # The default needs no check (and no jsii round trips: they are most of a pool's synth time).
        wait_seconds = (
            pool_rules.WAIT_TIMEOUT_DEFAULT
            if wait_timeout is None
            else validation.wait_timeout_seconds(path, wait_timeout)
        )

        super().__init__(scope, construct_id, physical_name=pool_name)

        self._tags = TagManager(TagType.KEY_VALUE, RESOURCE_TYPE, dict(tags or {}))
        self.node.add_validation(_MergedTagsValidation(self))

        name = (
            pool_name
            if pool_name is not None
            else self._generated_pool_name(with_environment=api_region is not None)
        )
        if not opt_in_checked:
            Annotations.of(self).add_warning_v2(
                OPT_IN_UNCHECKED_WARNING,
                "meeting_media_regions holds an opt-in Region, whose meetings need the streams in that "
                "same Region, but the stream Region is only known at deployment; set stream_region",
            )
        self._api_region = api_region if api_region is not None else Stack.of(self).region
        if (
            not Token.is_unresolved(self._api_region)
            and self._api_region not in regions.MEDIA_PIPELINES_API_REGIONS
        ):
            which = "api_region" if api_region is not None else "the stack's Region (the default api_region)"
            Annotations.of(self).add_warning_v2(
                API_REGION_WITHOUT_ENDPOINT_WARNING,
                f"{which} {self._api_region} has no Chime SDK Media Pipelines endpoint, so the pool "
                "cannot be created there; set api_region to one of "
                + ", ".join(sorted(regions.MEDIA_PIPELINES_API_REGIONS)),
            )

        stream_configuration: dict[str, Any] = {"Region": region}
        if retention_hours is not None:
            stream_configuration["DataRetentionInHours"] = retention_hours

        self._handler = PoolHandler.of(self)
        properties: dict[str, Any] = {
            "PoolName": name,
            "StreamConfiguration": stream_configuration,
            "Tags": RenderedTags(self._tags),
        }
        # The handler reads an absent option as its default (pool_rules), so only the options that
        # differ from it are sent: every pool's resource stays small in a stack of many pools.
        if wait_seconds != pool_rules.WAIT_TIMEOUT_DEFAULT:
            properties["WaitTimeoutSeconds"] = wait_seconds
        # Permissions only some pools need are policies of their own, which the pool's resource
        # depends on: CloudFormation deletes the pool before them, on removal and on rollback.
        needed: list[iam.Policy | None] = []
        if api_region is not None:
            properties["ApiRegion"] = api_region
            needed.append(self._handler.allow_api_region(api_region))
        ensure_role = (
            pool_rules.ENSURE_SERVICE_LINKED_ROLE_DEFAULT
            if ensure_service_linked_role is None
            else ensure_service_linked_role
        )
        switches = {
            "EnsureServiceLinkedRole": ensure_role,
            "AdoptExisting": bool(adopt_existing),
            "DeleteStreamsOnDelete": bool(delete_streams_on_delete),
        }
        properties.update(
            (prop, value) for prop, value in switches.items() if value != pool_rules.SWITCH_DEFAULTS[prop]
        )
        if ensure_role:
            self._handler.allow_service_linked_role_creation()
        self._delete_streams = bool(delete_streams_on_delete)
        if self._delete_streams:
            needed.append(self._handler.allow_stream_cleanup())
            Annotations.of(self).add_warning_v2(
                STREAMS_DELETED_ON_REPLACEMENT_WARNING,
                "delete_streams_on_delete is on: a change that replaces this pool (pool_name, "
                "stream_region, or the construct path or stack name of a generated name) deletes the "
                "old pool's Kinesis video streams and the recordings in them",
            )
        self._resource = CustomResource(
            self,
            "Resource",
            service_token=self._handler.service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            removal_policy=policy,
            service_timeout=Duration.seconds(wait_seconds + _SERVICE_TIMEOUT_MARGIN_SECONDS),
        )
        self._omit_default_policies(policy)
        for needed_policy in needed:
            if needed_policy is not None:
                self._resource.node.add_dependency(needed_policy)
        if self._delete_streams:
            self.node.add_validation(_StreamCleanupRemovalValidation(self))

    @staticmethod
    def from_pool_arn(scope: Construct, construct_id: str, pool_arn: str) -> IKinesisVideoStreamPool:
        """Import a pool by ARN (a literal, checked now, or a token such as an ``Fn.import_value``).

        The PoolId is not part of the ARN: use :meth:`from_pool_attributes` to ``grant_stream_consumer``.
        """
        return KinesisVideoStreamPool.from_pool_attributes(scope, construct_id, pool_arn=pool_arn)

    @staticmethod
    def from_pool_name(scope: Construct, construct_id: str, pool_name: str) -> IKinesisVideoStreamPool:
        """Import a pool of the scope's stack account and Region by name."""
        return KinesisVideoStreamPool.from_pool_attributes(scope, construct_id, pool_name=pool_name)

    @staticmethod
    def from_pool_attributes(
        scope: Construct,
        construct_id: str,
        *,
        pool_arn: str | None = None,
        pool_name: str | None = None,
        pool_id: str | None = None,
        stream_region: str | None = None,
    ) -> IKinesisVideoStreamPool:
        """Import a pool from what is known of it.

        :param pool_arn: the pool's ARN. Default: built from ``pool_name`` in the stack's account and
            Region. One of ``pool_arn`` and ``pool_name`` is required.
        :param pool_name: the pool's name. Default: the last part of ``pool_arn``.
        :param pool_id: the pool's PoolId (``ChimeMediaPipelines-<PoolName>-<uuid>``), needed by
            ``grant_stream_consumer``. Default: unknown.
        :param stream_region: the Region of the pool's streams. Default: the ARN's Region.
        """
        path = f"{scope.node.path}/{construct_id}".lstrip("/")
        if pool_arn is None and pool_name is None:
            raise ValueError(f"{path}: importing a pool needs pool_arn or pool_name")
        if pool_name is not None:
            validation.check_pool_name(path, pool_name)
        if stream_region is not None:
            validation.check_stream_region(path, stream_region)
        stack = Stack.of(scope)
        if pool_arn is None:
            assert pool_name is not None
            pool_arn = stack.format_arn(
                service="chime", resource=pool_rules.POOL_ARN_RESOURCE, resource_name=pool_name
            )
        else:
            validation.check_pool_arn(path, pool_arn)
            name_in_arn = stack.split_arn(pool_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name
            assert name_in_arn is not None  # a pool ARN always has one (checked above, or a token)
            if pool_name is None:
                pool_name = name_in_arn
            elif (
                not Token.is_unresolved(pool_arn)
                and not Token.is_unresolved(pool_name)
                and pool_name != name_in_arn
            ):
                raise ValueError(
                    f"{path}: pool_name {pool_rules.quote(pool_name)} differs from the name in "
                    f"pool_arn {pool_rules.quote(name_in_arn)}; give one of them, or matching ones"
                )
        if pool_id is not None:
            validation.check_pool_id(path, pool_id, pool_name)
        return _ImportedKinesisVideoStreamPool(
            scope,
            construct_id,
            pool_arn=pool_arn,
            pool_name=pool_name,
            pool_id=pool_id,
            stream_region=stream_region,
        )

    def _generated_pool_name(self, *, with_environment: bool) -> str:
        """Unique per stack and construct path, within the service's length and characters.

        Pools live in their API Region: without ``api_region`` that is the stack's own Region and
        account, where stack names are unique, so the stack name and path suffice (and the name
        stays what earlier versions generated). With ``api_region`` same-named stacks of several
        Regions or accounts may share it, so the name ends in ``-<stack Region>-<account>``, a
        ``Fn::Join`` of ``AWS::Region`` and ``AWS::AccountId`` where they are tokens; the room kept
        for the suffix is the same either way, so pinning a stack's environment keeps the name.
        """
        if not with_environment:
            return Names.unique_resource_name(
                self,
                max_length=pool_rules.POOL_NAME_MAX,
                separator="-",
                allowed_special_characters="._-",
            )
        base = Names.unique_resource_name(
            self,
            max_length=pool_rules.POOL_NAME_MAX - ENVIRONMENT_SUFFIX_MAX,
            separator="-",
            allowed_special_characters="._-",
        )
        stack = Stack.of(self)
        if Token.is_unresolved(stack.region) or Token.is_unresolved(stack.account):
            return Fn.join("-", [base, stack.region, stack.account])
        return f"{base}-{stack.region}-{stack.account}"

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
        validation.check_stream_cleanup_removal_policy(self.node.path, policy, self._delete_streams)
        self._resource.apply_removal_policy(policy)
        self._omit_default_policies(policy)

    def _omit_default_policies(self, policy: RemovalPolicy) -> None:
        """DESTROY is CloudFormation's default DeletionPolicy and UpdateReplacePolicy (Delete) for a
        custom resource: left out of the template, like the handler's defaults, since every pool of a
        stack pays for them (67 bytes each). Any other policy is written as CDK writes it."""
        if policy != RemovalPolicy.DESTROY:
            return
        resource = self._resource.node.default_child
        assert isinstance(resource, CfnResource)
        options = resource.cfn_options
        options.deletion_policy = None
        options.update_replace_policy = None

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
    def api_region(self) -> str:
        """The Region of the pool's control-plane API (``api_region``, default the stack's Region)."""
        return self._api_region

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
