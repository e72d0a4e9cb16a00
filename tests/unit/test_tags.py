"""Tags reach the pool as on any taggable L2 construct: the tags prop, Tags.of(pool), Tags.of(stack)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from constructs import Construct

from chime_kvs_pool import KinesisVideoStreamPool
from chime_kvs_pool.runtime import pool_rules
from tests.unit.conftest import new_stack, only_pool


def pool_tags(template: Template) -> dict[str, str]:
    tags = only_pool(template)["Properties"].get("Tags", [])
    assert len(tags) == len({tag["Key"] for tag in tags}), tags
    return {tag["Key"]: tag["Value"] for tag in tags}


@pytest.fixture(scope="module")
def tagged() -> Template:
    stack = new_stack()
    group = Construct(stack, "Group")
    pool = KinesisVideoStreamPool(group, "Pool", tags={"prop": "from-prop", "shared": "prop"})
    cdk.Tags.of(stack).add("stack-tag", "from-stack")
    cdk.Tags.of(group).add("group-tag", "from-group")
    cdk.Tags.of(pool).add("pool-tag", "from-pool")
    cdk.Tags.of(pool).add("shared", "pool", priority=300)
    cdk.Tags.of(stack).add("aws:cloudformation:stack-name", "reserved")
    cdk.Tags.of(stack).add("excluded", "x", exclude_resource_types=["Custom::ChimeKinesisVideoStreamPool"])
    return Template.from_stack(stack)


def test_tags_from_the_prop_and_every_enclosing_scope_reach_the_pool(tagged: Template) -> None:
    tags = pool_tags(tagged)
    assert tags["prop"] == "from-prop"
    assert tags["stack-tag"] == "from-stack"
    assert tags["group-tag"] == "from-group"
    assert tags["pool-tag"] == "from-pool"


def test_tag_priorities_apply(tagged: Template) -> None:
    assert pool_tags(tagged)["shared"] == "pool"


def test_tag_aspect_type_filters_apply(tagged: Template) -> None:
    assert "excluded" not in pool_tags(tagged)


def test_reserved_keys_inherited_from_a_scope_are_dropped(tagged: Template) -> None:
    assert not [key for key in pool_tags(tagged) if key.lower().startswith(pool_rules.RESERVED_TAG_PREFIX)]


def test_tags_of_can_remove_a_prop_tag() -> None:
    stack = new_stack()
    pool = KinesisVideoStreamPool(stack, "Pool", tags={"keep": "1", "drop": "2"})
    cdk.Tags.of(pool).remove("drop")
    assert pool_tags(Template.from_stack(stack)) == {"keep": "1"}


def test_a_pool_without_tags_omits_the_property() -> None:
    stack = new_stack()
    KinesisVideoStreamPool(stack, "Pool")
    cdk.Tags.of(stack).add("aws:only-reserved", "x")
    assert "Tags" not in only_pool(Template.from_stack(stack))["Properties"]


def test_a_bad_tag_from_tags_of_fails_synthesis_with_the_rule_message() -> None:
    stack = new_stack()
    pool = KinesisVideoStreamPool(stack, "Pool")
    cdk.Tags.of(pool).add("long", "v" * 300)
    with pytest.raises(RuntimeError) as caught:
        Template.from_stack(stack)
    message = str(caught.value)
    rule_message = pool_rules.tags_error([("long", "v" * 300)])
    assert rule_message is not None
    assert "invalid tags" in message
    assert rule_message in message
