"""What a pool's Delete needs outlives the pool: the optional permissions are policies of their own,
which the pools that need them depend on (issue 10, item 1).

CloudFormation updates the resources that stay (the role among them) before its cleanup phase
deletes the ones that left the template, in reverse dependency order; a rollback does the same. A
permission held in the role's inline policy is therefore gone when the Delete of a removed pool
runs, while a policy that the pool depends on is deleted after it.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk.assertions import Template

from bench.templates import IAM_ROLE_INLINE_POLICY_LIMIT, role_policy_characters
from chime_kvs_pool import KinesisVideoStreamPool
from local.template import creation_order, resource_dependencies
from tests.unit.conftest import POOL_TYPE, new_stack

ROLE_TYPE = "AWS::IAM::Role"
POLICY_TYPE = "AWS::IAM::Policy"


def template_of(pools: dict[str, dict[str, Any]], **stack_kwargs: Any) -> dict[str, Any]:
    stack = new_stack("DeletePermissions", **stack_kwargs)
    for construct_id, props in pools.items():
        KinesisVideoStreamPool(stack, construct_id, **props)
    return dict(Template.from_stack(stack).to_json())


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def pool_id(template: dict[str, Any], construct_id: str) -> str:
    (found,) = [lid for lid in of_type(template, POOL_TYPE) if lid.startswith(construct_id)]
    return found


def actions_of(policy: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        found = statement["Action"]
        actions |= set(found if isinstance(found, list) else [found])
    return actions


def policy_allowing(template: dict[str, Any], action: str, resource_text: str = "") -> str:
    """The one optional policy that allows ``action`` (on a resource whose text holds ``resource_text``)."""
    found = [
        lid
        for lid, policy in of_type(template, POLICY_TYPE).items()
        if action in actions_of(policy) and resource_text in str(policy["Properties"]["PolicyDocument"])
    ]
    assert len(found) == 1, found
    return found[0]


def depends_on(resource: dict[str, Any]) -> set[str]:
    value = resource.get("DependsOn", [])
    return set(value if isinstance(value, list) else [value])


# The example: A with its own API Region, B plain, C deleting its streams.
EXAMPLE: dict[str, dict[str, Any]] = {
    "A": {"api_region": "eu-central-1"},
    "B": {},
    "C": {"delete_streams_on_delete": True},
}


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return template_of(EXAMPLE)


def test_each_optional_permission_set_is_a_policy_on_the_handler_role(example: dict[str, Any]) -> None:
    (role_id,) = of_type(example, ROLE_TYPE)
    policies = of_type(example, POLICY_TYPE)
    assert len(policies) == 2
    for policy in policies.values():
        assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    region_policy = policies[policy_allowing(example, "chime:DeleteMediaPipelineKinesisVideoStreamPool")]
    assert ":chime:eu-central-1:" in str(region_policy["Properties"]["PolicyDocument"])
    stream_policy = policies[policy_allowing(example, "kinesisvideo:DeleteStream")]
    assert actions_of(stream_policy) == {"kinesisvideo:ListStreams", "kinesisvideo:DeleteStream"}
    # The inline policy keeps the stack Region's pools, the logs and the service-linked role only.
    (inline,) = of_type(example, ROLE_TYPE)[role_id]["Properties"]["Policies"]
    inline_text = str(inline["PolicyDocument"])
    assert "eu-central-1" not in inline_text and "kinesisvideo" not in inline_text


def test_a_pool_depends_on_exactly_the_policies_its_delete_needs(example: dict[str, Any]) -> None:
    region_policy = policy_allowing(
        example, "chime:DeleteMediaPipelineKinesisVideoStreamPool", "eu-central-1"
    )
    stream_policy = policy_allowing(example, "kinesisvideo:DeleteStream")
    pools = example["Resources"]
    assert depends_on(pools[pool_id(example, "A")]) == {region_policy}
    assert depends_on(pools[pool_id(example, "B")]) == set()
    assert depends_on(pools[pool_id(example, "C")]) == {stream_policy}


def test_a_pool_with_both_options_depends_on_both() -> None:
    template = template_of({"Both": {"api_region": "eu-central-1", "delete_streams_on_delete": True}})
    policies = set(of_type(template, POLICY_TYPE))
    assert len(policies) == 2
    assert depends_on(template["Resources"][pool_id(template, "Both")]) == policies


def test_cleanup_and_rollback_order_deletes_each_pool_before_its_policies(example: dict[str, Any]) -> None:
    """The offline driver deletes removed resources, and those a rollback removes, in the reverse of
    this order; CloudFormation's rule is the same (reverse dependency order)."""
    deletion = list(reversed(creation_order(example)))
    for construct_id, policy in (
        ("A", policy_allowing(example, "chime:DeleteMediaPipelineKinesisVideoStreamPool", "eu-central-1")),
        ("C", policy_allowing(example, "kinesisvideo:DeleteStream")),
    ):
        assert deletion.index(pool_id(example, construct_id)) < deletion.index(policy)


def test_the_function_does_not_wait_for_the_optional_policies(example: dict[str, Any]) -> None:
    """Adding or removing an option changes no dependency of the function: nothing about it is
    updated or replaced, and the function never blocks a policy's deletion."""
    graph = resource_dependencies(example)
    (function_id,) = of_type(example, "AWS::Lambda::Function")
    (role_id,) = of_type(example, ROLE_TYPE)
    assert graph[function_id] == {role_id, *of_type(example, "AWS::Logs::LogGroup")}
    plain = template_of({"B": {}})
    assert plain["Resources"][function_id] == example["Resources"][function_id]


def test_one_policy_per_api_region_and_none_for_the_stack_region() -> None:
    stack_kwargs = {"env": cdk.Environment(account="111122223333", region="us-east-1")}
    template = template_of(
        {
            "A": {"api_region": "eu-central-1"},
            "B": {"api_region": "eu-central-1"},
            "C": {"api_region": "us-west-2"},
            "D": {"api_region": "us-east-1"},
            "E": {},
        },
        **stack_kwargs,
    )
    policies = of_type(template, POLICY_TYPE)
    assert len(policies) == 2
    eu = policy_allowing(template, "chime:DeleteMediaPipelineKinesisVideoStreamPool", "eu-central-1")
    us_west = policy_allowing(template, "chime:DeleteMediaPipelineKinesisVideoStreamPool", "us-west-2")
    resources = template["Resources"]
    assert depends_on(resources[pool_id(template, "A")]) == {eu}
    assert depends_on(resources[pool_id(template, "B")]) == {eu}
    assert depends_on(resources[pool_id(template, "C")]) == {us_west}
    assert depends_on(resources[pool_id(template, "D")]) == set()
    assert depends_on(resources[pool_id(template, "E")]) == set()


def test_without_options_there_is_no_optional_policy_however_many_pools() -> None:
    one = template_of({"P0": {}})
    five = template_of({f"P{n}": {"tags": {"n": str(n)}} for n in range(5)})
    for template in (one, five):
        assert of_type(template, POLICY_TYPE) == {}
        for pool in of_type(template, POOL_TYPE).values():
            assert depends_on(pool) == set()
    ((_, role_one),) = of_type(one, ROLE_TYPE).items()
    ((_, role_five),) = of_type(five, ROLE_TYPE).items()
    assert role_one == role_five


def test_optional_policies_do_not_grow_with_the_number_of_pools() -> None:
    def policies(count: int) -> dict[str, Any]:
        return of_type(
            template_of(
                {
                    f"P{n}": {"api_region": "eu-central-1", "delete_streams_on_delete": True}
                    for n in range(count)
                }
            ),
            POLICY_TYPE,
        )

    one = policies(1)
    assert len(one) == 2
    assert policies(4) == one


def test_the_roles_policies_fit_iam_even_with_every_api_region_and_stream_cleanup() -> None:
    """IAM limits a role's inline policies (AWS::IAM::Policy included) to 10,240 characters in all.
    Each other API Region costs one policy; every Region botocore knows for the service, plus
    stream cleanup, plus the service-linked role, still fits with room to spare."""
    regions = boto3.session.Session().get_available_regions("chime-sdk-media-pipelines")
    assert "us-east-1" in regions and len(regions) >= 10
    pools = {
        f"P{n}": {"api_region": region, "delete_streams_on_delete": True} for n, region in enumerate(regions)
    }
    env = cdk.Environment(account="111122223333", region="eu-west-1")  # a Region outside the list
    template = template_of(pools, env=env)
    (role_id,) = of_type(template, ROLE_TYPE)
    assert len(of_type(template, POLICY_TYPE)) == len(regions) + 1
    used = role_policy_characters(template["Resources"], role_id)
    assert used < IAM_ROLE_INLINE_POLICY_LIMIT * 0.75, used
    # Twice the pools in the same Regions: not one character more.
    doubled = {**pools, **{f"Q{n}": props for n, props in enumerate(pools.values())}}
    assert role_policy_characters(template_of(doubled, env=env)["Resources"], role_id) == used
