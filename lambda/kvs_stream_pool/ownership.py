"""Who owns a pool: one tag on the pool itself, read before any Delete.

A pool's ARN is built from its name, so two logical resources can hold the same PhysicalResourceId
(a construct moved to a new path that adopts the pool by name; a deployment that adopted a pool and
then rolls back). CloudFormation then sends a Delete for a pool that another resource, or nobody in
this stack, should lose. The handler therefore records the owner ON THE POOL, in the tag
``pool_rules.OWNER_TAG_KEY``:

- set in the Create request's own Tags (atomic with the pool: no pool without its owner);
- re-pointed when a resource adopts a pool, marked ``adopted`` and remembering the previous owner;
- read by Delete, which deletes only a pool this logical resource owns and did not adopt, and hands
  an adopted pool back to its previous owner instead of deleting it.

A pool without the tag (created before the handler recorded owners) counts as owned by whoever
deletes it: that is how every Delete behaved before. The value is short and readable, for example
``owner=3f9a0c1d2b4e5f60 mode=created label=MyStack/PoolD3F588B8``; only ``owner`` and ``mode``
decide anything, ``label`` is for people reading the tag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import pool_rules

CREATED = "created"
ADOPTED = "adopted"
_MODES = (CREATED, ADOPTED)
_DIGEST_LENGTH = 16  # 64 bits of sha256: enough to tell logical resources apart, short to read


@dataclass(frozen=True)
class Owner:
    """A logical resource of a stack, as recorded on the pools it owns."""

    digest: str  # hash of (stack id, logical id): the same for every request to that resource
    label: str  # "<stack name>/<logical id>", for people; never compared

    @classmethod
    def of(cls, stack_id: str, logical_resource_id: str) -> Owner:
        digest = hashlib.sha256(f"{stack_id}\n{logical_resource_id}".encode()).hexdigest()
        # A stack id is arn:...:stack/<name>/<uuid>; anything else is used whole.
        parts = stack_id.split("/")
        stack_name = parts[1] if len(parts) >= 3 else stack_id
        return cls(digest[:_DIGEST_LENGTH], f"{stack_name}/{logical_resource_id}")


@dataclass(frozen=True)
class Claim:
    """What a pool's owner tag says."""

    owner: str  # an Owner.digest
    mode: str  # CREATED or ADOPTED
    previous: str | None = None  # "<mode>:<digest>" of the owner before an adoption
    label: str = ""

    @property
    def adopted(self) -> bool:
        return self.mode == ADOPTED


def created_by(owner: Owner) -> str:
    """The owner tag value of a pool this resource created."""
    return _value(owner.digest, CREATED, None, owner.label)


def adopted_by(owner: Owner, before: Claim | None) -> str:
    """The owner tag value of a pool this resource adopted from ``before`` (None: untagged)."""
    previous = f"{before.mode}:{before.owner}" if before is not None else None
    return _value(owner.digest, ADOPTED, previous, owner.label)


def previous_value(claim: Claim) -> str | None:
    """The tag value to restore when the adopter lets go; None: the pool had no owner tag."""
    if claim.previous is None:
        return None
    mode, _, digest = claim.previous.partition(":")
    return _value(digest, mode, None, "restored")


class UnreadableClaim(ValueError):
    """An owner tag that this handler did not write (edited by hand): nobody here owns the pool."""


def read(tags: dict[str, str]) -> Claim | None:
    """The pool's claim from its tags; None when it has no owner tag (a pool from before owners)."""
    value = tags.get(pool_rules.OWNER_TAG_KEY)
    if value is None:
        return None
    fields: dict[str, str] = {}
    for item in value.split(" "):
        name, sep, text = item.partition("=")
        if sep:
            fields[name] = text
    owner, mode = fields.get("owner", ""), fields.get("mode", "")
    if not owner or mode not in _MODES:
        raise UnreadableClaim(value)
    return Claim(owner, mode, fields.get("prev") or None, fields.get("label", ""))


def _value(digest: str, mode: str, previous: str | None, label: str) -> str:
    head = f"owner={digest} mode={mode}" + (f" prev={previous}" if previous else "")
    # Stack names and logical ids hold no spaces; cut the label so the value fits the tag limit.
    room = pool_rules.TAG_VALUE_MAX - len(head) - len(" label=")
    return f"{head} label={label.replace(' ', '_')[:room]}"
