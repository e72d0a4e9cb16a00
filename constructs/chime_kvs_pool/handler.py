"""The pools' custom resource handler: one Lambda function per stack, however many pools it holds.

Every pool in a stack shares this function, its role and its log group. The role's inline policy
allows exactly the Chime SDK Media Pipelines calls the handler makes, on any pool ARN of the stack's
account in the stack's Region, so it never grows with the number of pools.

What only some pools need, and what their Delete needs too, lives in its own ``AWS::IAM::Policy``
on the role: one per other control-plane Region that a pool's ``api_region`` names, one for stream
cleanup (``delete_streams_on_delete``). Each pool's custom resource depends on the policies it
needs, so CloudFormation creates a policy before the pools that use it and deletes it only after
them: when such a pool leaves the template, or the update that added it rolls back, its Delete
still has its permissions. (Were they in the shared inline policy, the update would shrink the
policy first and the cleanup phase's Delete would meet AccessDenied, orphaning the pool.)
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_cdk import AssetHashType, CfnResource, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from chime_kvs_pool import compat
from chime_kvs_pool.bundling import handler_bundling_options, handler_package_dir
from chime_kvs_pool.runtime import pool_rules

# The fixed id that makes the handler a singleton: found on the Stack, created on first use.
HANDLER_ID = "ChimeKvsPoolHandler"
# The function's logical id, fixed and short: every pool's ServiceToken is an Fn::GetAtt of it, so
# its length is paid once per pool (CDK's own, ChimeKvsPoolHandlerFunction<hash>, cost 26 bytes more
# per pool). A logical id no other resource of the stack may take: CDK refuses a duplicate at synth.
# Changing it would change every deployed pool's ServiceToken, which CloudFormation refuses.
FUNCTION_LOGICAL_ID = "KvsPoolFn"

HANDLER_ENTRY_POINT = "chime_kvs_pool.runtime.index.handler"
# The newest Python runtime that the installed aws-cdk-lib offers (python3.14 with the pinned one,
# python3.13 with the oldest supported); the handler runs on 3.11 to 3.14.
HANDLER_RUNTIME = compat.newest_python_runtime()
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
    """The singleton handler function with its role, policies and log group.

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

        # Optional statements already in the inline policy (each added once, however many pools ask).
        self._features: set[str] = set()
        # The optional policies, by what they allow (an API Region, stream cleanup): one each.
        self._optional_policies: dict[str, iam.Policy] = {}
        self._policy = policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="ManageKinesisVideoStreamPools",
                    actions=list(POOL_ACTIONS),
                    resources=[pool_arns_in(stack, stack.region)],
                ),
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
            self.role, pool_arns_in(stack, stack.region), POOL_ARNS_REASON.format(region="its Region")
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
        function_resource = self.function.node.default_child
        assert isinstance(function_resource, CfnResource)
        function_resource.override_logical_id(FUNCTION_LOGICAL_ID)
        self._service_token = self.function.function_arn  # a token, read once, not once per pool

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

    def allow_api_region(self, region: str) -> iam.Policy | None:
        """Let the function manage pools whose API is called in ``region`` (a pool's ``api_region``).

        Returns the policy that allows it, which the pool's custom resource must depend on (so that
        its Delete runs while the policy still exists), or None for the stack's own Region, which
        the role's inline policy always allows. One policy per distinct Region, not per pool. A
        wildcard Region would be simpler but would reach the pools of every Region in the account.
        """
        stack = Stack.of(self)
        if region == stack.region:
            return None
        key = f"api region {json.dumps(stack.resolve(region), sort_keys=True)}"
        existing = self._optional_policies.get(key)
        if existing is not None:
            return existing
        pool_arns = pool_arns_in(stack, region)
        policy = iam.Policy(
            self,
            f"ApiRegion{_id_part(stack, region)}Policy",
            statements=[
                iam.PolicyStatement(
                    sid="ManageKinesisVideoStreamPools", actions=list(POOL_ACTIONS), resources=[pool_arns]
                )
            ],
            roles=[self.role],
        )
        self._acknowledge_wildcard(policy, pool_arns, POOL_ARNS_REASON.format(region=region))
        self._optional_policies[key] = policy
        return policy

    def allow_service_linked_role_creation(self) -> None:
        """Let the function create the pools' service-linked role, and no other role.

        Added once for the whole stack to the inline policy (it does not grow per pool): the role's
        own ARN, and a condition on the service it is linked to. Only a Create calls it, never a
        Delete, so it may leave the policy as soon as no pool in the template wants it.
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

    def allow_stream_cleanup(self) -> iam.Policy:
        """Let the function list Kinesis video streams and delete the pools' streams (any Region:
        a pool's streams live in its stream Region). One policy for the stack, created when a pool
        opts in; the pool's custom resource must depend on it (its Delete is what uses it)."""
        existing = self._optional_policies.get("stream cleanup")
        if existing is not None:
            return existing
        pool_streams = Stack.of(self).format_arn(
            service="kinesisvideo",
            region="*",
            resource="stream",
            resource_name=f"{pool_rules.POOL_ID_PREFIX}-*/*",
        )
        policy = iam.Policy(
            self,
            "StreamCleanupPolicy",
            statements=[
                iam.PolicyStatement(sid="ListStreams", actions=[STREAM_LIST_ACTION], resources=["*"]),
                iam.PolicyStatement(
                    sid="DeletePoolStreams", actions=[STREAM_DELETE_ACTION], resources=[pool_streams]
                ),
            ],
            roles=[self.role],
        )
        self._acknowledge_wildcard(policy, "*", STREAM_LIST_REASON)
        self._acknowledge_wildcard(policy, pool_streams, POOL_STREAMS_REASON)
        self._optional_policies["stream cleanup"] = policy
        return policy

    def _acknowledge_wildcard(self, holder: IConstruct, resource: str, reason: str) -> None:
        """Acknowledge cdk-nag's finding for this one wildcard resource, on the resource that
        holds the statement only (the role, or one optional policy)."""
        cfn_resource = holder.node.default_child
        assert isinstance(cfn_resource, CfnResource)
        finding = NAG_WILDCARD_FINDING.format(resource=flattened_reference(Stack.of(self).resolve(resource)))
        compat.acknowledge(cfn_resource, finding, reason)

    @property
    def service_token(self) -> str:
        """The ARN that a pool's custom resource sends its requests to."""
        return self._service_token


def _id_part(stack: Stack, region: str) -> str:
    """A stable construct id part for a Region: ``EuWest1`` for a literal, a digest for a token
    (a token's own text changes when unrelated tokens are added)."""
    if not Token.is_unresolved(region):
        return "".join(part.capitalize() for part in region.split("-"))
    resolved = json.dumps(stack.resolve(region), sort_keys=True)
    return "Token" + hashlib.sha256(resolved.encode()).hexdigest()[:8].upper()
