"""The pools' custom resource handler: one Lambda function per stack, however many pools it holds.

Every pool in a stack shares this function, its role and its log group. The role's single inline
policy allows exactly the Chime SDK Media Pipelines calls the handler makes, on any pool ARN of the
stack's account in the stack's Region (and in each other control-plane Region that a pool's
``api_region`` names), so it never grows with the number of pools.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, AssetHashType, CfnResource, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from chime_kvs_pool.bundling import handler_bundling_options, handler_package_dir
from chime_kvs_pool.runtime import pool_rules

# The fixed id that makes the handler a singleton: found on the Stack, created on first use.
HANDLER_ID = "ChimeKvsPoolHandler"

HANDLER_ENTRY_POINT = "chime_kvs_pool.runtime.index.handler"
# The newest Python runtime of the pinned aws-cdk-lib. The handler also runs on 3.11 and later.
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
# Lambda's maximum: the handler bounds its own waits by WaitTimeoutSeconds and the remaining time.
HANDLER_TIMEOUT = Duration.minutes(15)
# Importing boto3 dominates a cold start; 256 MB buys twice the CPU share of 128 MB for that, at a
# cost that is negligible for a function invoked a few times per deployment.
HANDLER_MEMORY_MB = 256
HANDLER_LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# Exactly the calls the handler makes (the same set as the native resource's handler permissions in
# the CloudFormation registry schema of AWS::Chime::MediaPipelineKinesisVideoStreamPool, minus List).
POOL_ACTIONS = (
    "chime:CreateMediaPipelineKinesisVideoStreamPool",
    "chime:GetMediaPipelineKinesisVideoStreamPool",
    "chime:UpdateMediaPipelineKinesisVideoStreamPool",
    "chime:DeleteMediaPipelineKinesisVideoStreamPool",
    "chime:TagResource",
    "chime:UntagResource",
    "chime:ListTagsForResource",
)
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# A pool's streams (``delete_streams_on_delete``): ListStreams has no resource-level permission
# (the Service Authorization Reference lists no resource type for it), so it is the policy's one
# ``*``; DeleteStream is scoped to the streams the pools' service-linked role names.
STREAM_LIST_ACTION = "kinesisvideo:ListStreams"
STREAM_DELETE_ACTION = "kinesisvideo:DeleteStream"

# cdk-nag's AwsSolutions pack reports every wildcard resource in the role's policy as its own
# finding, ``AwsSolutions-IAM5[Resource::<the resource, intrinsics flattened>]``. The handler
# acknowledges exactly the wildcards it writes, each with the reason it needs it, on the role alone
# (aws-cdk-lib's Validations API: no cdk-nag dependency), so a cdk-nag user's stack passes while any
# other wildcard, on this role or elsewhere, is still reported.
NAG_WILDCARD_FINDING = "AwsSolutions::AwsSolutions-IAM5[Resource::{resource}]"
POOL_ARNS_REASON = (
    "Pool names are only known at deploy time (generated, or changed by an update that replaces the "
    "pool), so the handler may call exactly the pool API it uses on the pool ARNs of this stack's "
    "account in {region}, and no other resource."
)
STREAM_LIST_REASON = (
    "kinesisvideo:ListStreams has no resource-level permission; the handler lists stream names only "
    "to find a deleted pool's streams (delete_streams_on_delete)."
)
POOL_STREAMS_REASON = (
    "A pool's streams are named after its PoolId, only known once the pool exists, and live in its "
    "stream Region: DeleteStream is limited to the names the pools' service-linked role gives."
)


def pool_arns_in(stack: Stack, region: str) -> str:
    """Every pool ARN of the stack's account in ``region``."""
    return stack.format_arn(
        service="chime",
        region=region,
        resource=pool_rules.POOL_ARN_RESOURCE,
        resource_name="*",
    )


def flattened_reference(value: Any) -> str:
    """A resolved resource as policy checkers such as cdk-nag name it in a finding: ``Ref`` and
    ``Fn::GetAtt`` become ``<Name>`` and ``<Name.Attribute>``, ``Fn::Join`` is joined."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(flattened_reference(part) for part in parts)
        if function == "Ref":
            return f"<{flattened_reference(argument)}>"
        if function == "Fn::GetAtt":
            name, attribute = argument
            return f"<{flattened_reference(name)}.{flattened_reference(attribute)}>"
        if function in ("Fn::Sub", "Fn::ImportValue"):
            return flattened_reference(argument)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class PoolHandler(Construct):
    """The singleton handler function with its role, policy and log group.

    Use :meth:`of` rather than the constructor: it returns the stack's existing handler.
    """

    def __init__(self, scope: Stack, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=HANDLER_LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )

        # The control-plane Regions whose pools this function may manage: the stack's own, plus each
        # distinct ``api_region`` a pool asks for (see allow_api_region).
        self._api_regions: set[str] = {stack.region}
        self._pool_statement = iam.PolicyStatement(
            sid="ManageKinesisVideoStreamPools",
            actions=list(POOL_ACTIONS),
            resources=[pool_arns_in(stack, stack.region)],
        )
        # Optional permissions already in the policy (each added once, however many pools ask).
        self._features: set[str] = set()
        self._policy = policy = iam.PolicyDocument(
            statements=[
                self._pool_statement,
                iam.PolicyStatement(
                    sid="WriteOwnLogs",
                    actions=list(LOG_ACTIONS),
                    resources=[self.log_group.log_group_arn],
                ),
            ]
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Manages the stack's Chime SDK Media Pipelines Kinesis Video Stream pools",
            inline_policies={"ManagePools": policy},
        )
        self._acknowledge_wildcard(
            pool_arns_in(stack, stack.region), POOL_ARNS_REASON.format(region="its Region")
        )

        source = handler_package_dir()
        self.function = lambda_.Function(
            self,
            "Function",
            description="Custom resource handler for Chime SDK Media Pipelines Kinesis Video Stream pools",
            runtime=HANDLER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER_ENTRY_POINT,
            code=lambda_.Code.from_asset(
                str(source),
                bundling=handler_bundling_options(HANDLER_RUNTIME.bundling_image, source),
                # The hash of what ships (bundling.py copies no byte code, no installation records),
                # not of the source folder: importing the rules writes __pycache__ there, whose .pyc
                # files embed the checkout's mtimes, and the source folder does not hold crhelper,
                # whose version must change the hash. Same content, same hash, on any machine.
                asset_hash_type=AssetHashType.OUTPUT,
            ),
            memory_size=HANDLER_MEMORY_MB,
            timeout=HANDLER_TIMEOUT,
            role=self.role,
            log_group=self.log_group,
        )

    @classmethod
    def of(cls, scope: IConstruct) -> PoolHandler:
        """The handler of ``scope``'s stack, created the first time a pool asks for it."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(HANDLER_ID)
        if existing is None:
            return cls(stack, HANDLER_ID)
        if not isinstance(existing, PoolHandler):
            raise ValueError(
                f"{stack.node.path}: the construct id {HANDLER_ID!r} is reserved for the "
                f"Kinesis Video Stream pool handler; found a {type(existing).__name__} there"
            )
        return existing

    def allow_api_region(self, region: str) -> None:
        """Let the function manage pools whose API is called in ``region`` (a pool's ``api_region``).

        One resource per distinct Region, not per pool: the policy stays the same size however many
        pools share a Region, and a stack whose pools all use its own Region keeps a single ARN. A
        wildcard Region would be simpler but would reach the pools of every Region in the account.
        """
        if region in self._api_regions:
            return
        self._api_regions.add(region)
        pool_arns = pool_arns_in(Stack.of(self), region)
        self._pool_statement.add_resources(pool_arns)
        self._acknowledge_wildcard(pool_arns, POOL_ARNS_REASON.format(region=region))

    def allow_service_linked_role_creation(self) -> None:
        """Let the function create the pools' service-linked role, and no other role.

        Added once for the whole stack (the policy does not grow per pool): the role's own ARN, and
        a condition on the service it is linked to.
        """
        if "service-linked role" in self._features:
            return
        self._features.add("service-linked role")
        stack = Stack.of(self)
        role_arn = stack.format_arn(
            service="iam",
            region="",
            resource="role",
            resource_name=(pool_rules.SERVICE_LINKED_ROLE_PATH + pool_rules.SERVICE_LINKED_ROLE_NAME).lstrip(
                "/"
            ),
        )
        self._policy.add_statements(
            iam.PolicyStatement(
                sid="CreatePoolsServiceLinkedRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[role_arn],
                conditions={"StringEquals": {"iam:AWSServiceName": pool_rules.SERVICE_LINKED_ROLE_SERVICE}},
            )
        )

    def allow_stream_cleanup(self) -> None:
        """Let the function list Kinesis video streams and delete the pools' streams (any Region:
        a pool's streams live in its stream Region). Added once, only when a pool opts in."""
        if "stream cleanup" in self._features:
            return
        self._features.add("stream cleanup")
        pool_streams = Stack.of(self).format_arn(
            service="kinesisvideo",
            region="*",
            resource="stream",
            resource_name=f"{pool_rules.POOL_ID_PREFIX}-*/*",
        )
        self._policy.add_statements(
            iam.PolicyStatement(sid="ListStreams", actions=[STREAM_LIST_ACTION], resources=["*"]),
            iam.PolicyStatement(
                sid="DeletePoolStreams", actions=[STREAM_DELETE_ACTION], resources=[pool_streams]
            ),
        )
        self._acknowledge_wildcard("*", STREAM_LIST_REASON)
        self._acknowledge_wildcard(pool_streams, POOL_STREAMS_REASON)

    def _acknowledge_wildcard(self, resource: str, reason: str) -> None:
        """Acknowledge cdk-nag's finding for this one wildcard resource, on the role only."""
        role_resource = self.role.node.default_child
        assert isinstance(role_resource, CfnResource)
        finding = NAG_WILDCARD_FINDING.format(resource=flattened_reference(Stack.of(self).resolve(resource)))
        Validations.of(role_resource).acknowledge(Acknowledgment(id=finding, reason=reason))

    @property
    def service_token(self) -> str:
        """The ARN that a pool's custom resource sends its requests to."""
        return self.function.function_arn
