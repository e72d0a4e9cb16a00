"""The generated default pool name: valid, unique across stacks and paths, stable across synths."""

from __future__ import annotations

import aws_cdk as cdk
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
