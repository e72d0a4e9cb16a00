"""Rendering a pool's tags into its custom resource's ``Tags`` property.

A custom resource is not taggable by itself, so the pool owns a ``TagManager`` (which is what
makes ``Tags.of(pool)`` and ``Tags.of(stack)`` reach it: the Tag aspect sets tags on any construct
whose ``tags`` is a TagManager) and renders it lazily, at synthesis, when every aspect has run.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import IResolvable, IResolveContext, TagManager, Token

from chime_kvs_pool.runtime import pool_rules


def tag_pairs(manager: TagManager) -> list[tuple[str, str]]:
    """The pool's tags as (key, value) pairs, without keys that AWS reserves.

    ``aws:`` keys can reach a pool through ``Tags.of`` on an enclosing scope; no user may set them,
    so they are dropped instead of failing the deployment. Given directly in the ``tags`` prop they
    are refused at construction.
    """
    rendered = manager.render_tags() or []
    return [
        (tag["Key"], tag["Value"])
        for tag in rendered
        if Token.is_unresolved(tag["Key"]) or not pool_rules.is_reserved_tag_key(tag["Key"])
    ]


@jsii.implements(IResolvable)
class RenderedTags:
    """A token for the custom resource's ``Tags``: ``[{Key, Value}]``, or omitted when empty.

    ``Lazy.any`` cannot be used here: its producer is called from JavaScript without a context,
    which jsii refuses to pass to a Python producer. ``TagManager.rendered_tags`` would do, but it
    cannot drop reserved keys.
    """

    def __init__(self, manager: TagManager) -> None:
        self._manager = manager

    @property
    def creation_stack(self) -> list[str]:
        return []

    @property
    def type_hint(self) -> None:
        return None

    def resolve(self, context: IResolveContext) -> Any:
        pairs = tag_pairs(self._manager)
        if not pairs:
            return None
        return [{"Key": key, "Value": value} for key, value in pairs]

    def to_string(self) -> str:
        return Token.as_string(self)
