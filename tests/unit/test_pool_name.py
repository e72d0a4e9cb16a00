"""The generated default pool name: valid, unique across stacks and paths, stable across synths."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from constructs import Construct

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.runtime import pool_rules
from tests.unit.conftest import new_stack, only_pool, pool_resources


def default_name(stack_name: str, *path: str) -> str:
    stack = new_stack(stack_name)
    scope: Construct = stack
    for construct_id in path[:-1]:
        scope = Construct(scope, construct_id)
    KinesisVideoStreamPool(scope, path[-1])
    name: str = only_pool(Template.from_stack(stack))["Properties"]["PoolName"]
    return name


def test_same_path_in_two_stacks_gets_two_valid_names() -> None:
    first, second = default_name("StackA", "Pool"), default_name("StackB", "Pool")
    assert first != second
    assert pool_rules.pool_name_error(first) is None
    assert pool_rules.pool_name_error(second) is None


def test_two_pools_in_one_stack_get_different_names() -> None:
    stack = new_stack()
    KinesisVideoStreamPool(stack, "Pool")
    KinesisVideoStreamPool(Construct(stack, "Nested"), "Pool")
    names = [r["Properties"]["PoolName"] for r in pool_resources(Template.from_stack(stack)).values()]
    assert len(set(names)) == 2


def test_the_name_is_stable_across_synths() -> None:
    assert default_name("StackA", "Group", "Pool") == default_name("StackA", "Group", "Pool")


def test_long_paths_and_odd_ids_still_give_a_valid_name() -> None:
    path = [f"Level {i} with spaces & symbols!" * 3 for i in range(6)]
    name = default_name("A-Very-Long-Stack-Name-" + "x" * 100, *path)
    assert pool_rules.pool_name_error(name) is None
    assert len(name) <= pool_rules.POOL_NAME_MAX


def test_a_given_name_is_used_as_is() -> None:
    stack = new_stack()
    pool = KinesisVideoStreamPool(stack, "Pool", pool_name="exact.name_1")
    assert only_pool(Template.from_stack(stack))["Properties"]["PoolName"] == "exact.name_1"
    assert cdk.Token.is_unresolved(pool.pool_name)


# ----- Regions and accounts (issue 10, item 7) -----

LONG_PATH = [f"Level {i} with spaces & symbols!" * 3 for i in range(6)]
LONG_STACK = "A-Very-Long-Stack-Name-" + "x" * 100


def generated_name(stack_name: str, path: list[str], env: cdk.Environment | None = None, **props: Any) -> Any:
    stack = new_stack(stack_name, env=env)
    scope: Construct = stack
    for construct_id in path[:-1]:
        scope = Construct(scope, construct_id)
    KinesisVideoStreamPool(scope, path[-1], **props)
    return only_pool(Template.from_stack(stack))["Properties"]["PoolName"]


@pytest.mark.parametrize(
    ("stack_name", "path", "env", "expected"),
    [
        # The names the construct generated before item 7, pinned: a pool without api_region keeps
        # its name (a new one would replace the pool).
        ("MediaStack", ["Pool"], None, "MediaStack-Pool-C4517B89"),
        ("MediaStack", ["Pool"], ("111122223333", "eu-west-1"), "MediaStack-Pool-C4517B89"),
        ("MediaStack", ["Group", "Pool"], ("444455556666", "us-east-1"), "MediaStack-Group-Pool-2954F585"),
        (
            LONG_STACK,
            LONG_PATH,
            None,
            "A-Very-Long-Stack-Name-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxspacessymbolsLevel5withspaces"
            "symbolsLevel5withspacessymbols-F2426DF8",
        ),
    ],
)
def test_without_api_region_the_generated_name_is_unchanged(
    stack_name: str, path: list[str], env: tuple[str, str] | None, expected: str
) -> None:
    environment = cdk.Environment(account=env[0], region=env[1]) if env else None
    assert generated_name(stack_name, path, environment) == expected


ENVIRONMENTS = [
    ("111122223333", "eu-west-1"),
    ("111122223333", "eu-central-1"),
    ("444455556666", "eu-west-1"),
    ("444455556666", "ap-southeast-2"),
]


@pytest.mark.parametrize("path", [["Pool"], LONG_PATH])
def test_same_named_stacks_sharing_an_api_region_get_different_names(path: list[str]) -> None:
    names = {
        (account, region): generated_name(
            "MediaStack", path, cdk.Environment(account=account, region=region), api_region="us-east-1"
        )
        for account, region in ENVIRONMENTS
    }
    assert len(set(names.values())) == len(ENVIRONMENTS), names
    for (account, region), name in names.items():
        assert pool_rules.pool_name_error(name) is None
        assert name.endswith(f"-{region}-{account}")


def resolved(name: Any, region: str, account: str) -> str:
    """A generated name as CloudFormation resolves it (a literal, or a Fn::Join of pseudo parameters)."""
    if isinstance(name, str):
        return name
    separator, parts = name["Fn::Join"]
    pseudo = {"AWS::Region": region, "AWS::AccountId": account}
    return str(separator).join(part if isinstance(part, str) else pseudo[part["Ref"]] for part in parts)


def test_an_environment_agnostic_stack_names_the_pool_at_deploy_time() -> None:
    name = generated_name("MediaStack", ["Pool"], api_region="us-east-1")
    assert name == {
        "Fn::Join": ["-", ["MediaStack-Pool-C4517B89", {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}]]
    }
    at_deploy = {resolved(name, region, account) for account, region in ENVIRONMENTS}
    assert len(at_deploy) == len(ENVIRONMENTS)


@pytest.mark.parametrize("region", ["eu-west-1", "x" * 10 + "-" + "y" * 10 + "-" + "9" * 10])
def test_a_deploy_time_name_stays_valid_for_the_longest_region_the_service_accepts(region: str) -> None:
    assert pool_rules.region_error(region) is None
    assert len(region) <= pool_rules.REGION_MAX
    name = generated_name(LONG_STACK, LONG_PATH, api_region="us-east-1")
    at_deploy = resolved(name, region, "123456789012")
    assert pool_rules.pool_name_error(at_deploy) is None
    assert len(at_deploy) <= pool_rules.POOL_NAME_MAX


@pytest.mark.parametrize("path", [["Pool"], LONG_PATH])
def test_pinning_the_environment_keeps_the_deploy_time_name(path: list[str]) -> None:
    """A stack that later pins the account and Region it was deployed to does not rename its pools."""
    agnostic = generated_name("MediaStack", path, api_region="us-east-1")
    pinned = generated_name(
        "MediaStack",
        path,
        cdk.Environment(account="111122223333", region="eu-west-1"),
        api_region="us-east-1",
    )
    assert resolved(agnostic, "eu-west-1", "111122223333") == pinned


def test_a_half_pinned_environment_joins_the_part_known_at_deploy_time() -> None:
    name = generated_name("MediaStack", ["Pool"], cdk.Environment(region="eu-west-1"), api_region="us-east-1")
    assert isinstance(name, dict) and list(name) == ["Fn::Join"]
    assert "AWS::AccountId" in str(name) and "AWS::Region" not in str(name)
    assert resolved(name, "eu-west-1", "111122223333") == "MediaStack-Pool-C4517B89-eu-west-1-111122223333"
