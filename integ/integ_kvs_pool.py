"""Real-AWS integration test of KinesisVideoStreamPool, for ``integ-runner`` (``make integ``).

It needs an AWS account with the Chime SDK media pipelines API in the chosen Region, and deploys
real resources (a pool, the handler Lambda, the assertion provider); integ-runner destroys them at
the end. It is never run by ``make test``, which only synthesizes this app and checks the template.

The steps, in one deployment:
1. create: the test stack deploys a pool with 24 hours of retention (a stack parameter);
2. assert ACTIVE: ``GetMediaPipelineKinesisVideoStreamPool`` until PoolStatus is ACTIVE;
3. update: the assertion stack calls CloudFormation ``UpdateStack`` on the test stack with the
   parameter at 48 hours, so the custom resource goes through the handler's Update path; then
   ``GetMediaPipelineKinesisVideoStreamPool`` until the retention is 48 and the pool ACTIVE again;
4. destroy: integ-runner deletes both stacks; the handler deletes the pool.

Run from the repository root (integ-runner discovers ``integ_*.py`` files for Python):
``npx integ-runner --language python --directories integ --parallel-regions us-east-1``
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import integ_tests_alpha as integ

from chime_kvs_pool import KinesisVideoStreamPool

TEST_STACK_NAME = "ChimeKvsPoolIntegTest"
RETENTION_PARAMETER = "RetentionHours"
CREATED_RETENTION_HOURS = 24
UPDATED_RETENTION_HOURS = 48
SERVICE = "ChimeSDKMediaPipelines"
GET_POOL = "getMediaPipelineKinesisVideoStreamPool"
# A pool becomes ACTIVE within seconds to a few minutes; the waits stay well inside the assertion
# provider's own limits.
WAIT_INTERVAL = cdk.Duration.seconds(15)
WAIT_TOTAL = cdk.Duration.minutes(10)


def build_app(app: cdk.App | None = None) -> cdk.App:
    """The integ test app: the stack under test and the assertions against it."""
    app = app or cdk.App()
    stack = cdk.Stack(app, TEST_STACK_NAME)
    retention = cdk.CfnParameter(
        stack,
        RETENTION_PARAMETER,
        type="Number",
        default=CREATED_RETENTION_HOURS,
        description="The pool's data retention in hours; the update step changes it",
    )
    pool = KinesisVideoStreamPool(
        stack,
        "Pool",
        data_retention=cdk.Duration.hours(retention.value_as_number),
        tags={"purpose": "integ-test"},
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    cdk.CfnOutput(stack, "PoolArn", value=pool.pool_arn)

    test = integ.IntegTest(app, "KvsPoolInteg", test_cases=[stack], diff_assets=True)

    created = _active_with_retention(test, pool, CREATED_RETENTION_HOURS)

    update = test.assertions.aws_api_call(
        "CloudFormation",
        "updateStack",
        {
            "StackName": stack.stack_name,
            "UsePreviousTemplate": True,
            "Capabilities": ["CAPABILITY_IAM"],
            "Parameters": [
                {"ParameterKey": RETENTION_PARAMETER, "ParameterValue": str(UPDATED_RETENTION_HOURS)}
            ],
        },
    )
    # CloudFormation performs the update with the caller's permissions: it invokes the pool's
    # handler and reads the stack. Scoped to this stack and this handler.
    update.provider.add_to_role_policy(
        {
            "Effect": "Allow",
            "Action": ["cloudformation:UpdateStack", "cloudformation:DescribeStacks"],
            "Resource": [
                stack.format_arn(
                    service="cloudformation", resource="stack", resource_name=f"{stack.stack_name}/*"
                )
            ],
        }
    )
    update.provider.add_to_role_policy(
        {
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [pool.handler.function.function_arn],
        }
    )
    # A stack deployed by the CDK CLI keeps its CloudFormation execution role (the bootstrap's
    # cdk-<qualifier>-cfn-exec-role-...), and UpdateStack without RoleARN reuses it: pass it on.
    update.provider.add_to_role_policy(
        {
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [
                stack.format_arn(
                    service="iam", region="", resource="role", resource_name="cdk-*-cfn-exec-role-*"
                )
            ],
        }
    )

    updated = _active_with_retention(test, pool, UPDATED_RETENTION_HOURS)

    created.next(update).next(updated)
    return app


def _active_with_retention(test: integ.IntegTest, pool: KinesisVideoStreamPool, hours: int) -> integ.IApiCall:
    """An assertion that polls the pool until it is ACTIVE with ``hours`` of retention."""
    call = test.assertions.aws_api_call(SERVICE, GET_POOL, {"Identifier": pool.pool_arn})
    call.expect(
        integ.ExpectedResult.object_like(
            {
                "KinesisVideoStreamPoolConfiguration": {
                    "PoolStatus": "ACTIVE",
                    "StreamConfiguration": {"DataRetentionInHours": hours},
                }
            }
        )
    )
    call.wait_for_assertions(interval=WAIT_INTERVAL, total_timeout=WAIT_TOTAL)
    return call


if __name__ == "__main__":
    build_app().synth()
