"""Who owns a pool: one tag on the pool itself, read before any adoption and any Delete.

A pool's ARN is built from its name, so two logical resources can hold the same PhysicalResourceId
(a construct moved to a new path that adopts the pool by name; a deployment that adopted a pool and
then rolls back). CloudFormation then sends a Delete for a pool that another resource, or nobody in
this stack, should lose. The handler therefore records on the pool, in the tag
``pool_rules.OWNER_TAG_KEY``, who holds it now, who held it before, and who created it:

- set in the Create request's own Tags (atomic with the pool: no pool without its owner);
- re-pointed when a resource adopts a pool (``adopted``), remembering the previous holder;
- read by Delete: a pool is deleted only by the resource that created it, and only while nobody
  else holds it. An adopter's Delete never deletes: it hands the pool back to the previous holder,
  or, when there is none, marks it ``released`` (the tag is never removed, so no later Delete can
  mistake the pool for one created before owners were recorded).

A pool without the tag (created before the handler recorded owners) counts as owned by whoever
deletes it: that is how every Delete behaved before. This module is pure: it reads and writes tag
values and decides; ``lifecycle`` makes the calls. Only the digests and modes decide anything; the
labels are for people reading the tag (and the Reasons).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from . import pool_rules

CREATED = "created"
ADOPTED = "adopted"
RELEASED = "released"
_MODES = (CREATED, ADOPTED, RELEASED)
_NOBODY = "-"
_GONE = "gone:"
_DIGEST_LENGTH = 16  # 64 bits of sha256: enough to tell logical resources apart, short to read


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_DIGEST_LENGTH]


@dataclass(frozen=True)
class Owner:
    """A logical resource of a stack, as recorded on the pools it owns."""

    digest: str  # hash of (stack id, logical id): the same for every request to that resource
    label: str  # "<stack name>/<logical id>", for people; never compared
    stack: str = ""  # hash of the stack id: tells this stack's resources from other stacks'
    stack_name: str = ""

    @classmethod
    def of(cls, stack_id: str, logical_resource_id: str) -> Owner:
        # A stack id is arn:...:stack/<name>/<uuid>; anything else is used whole.
        parts = stack_id.split("/")
        stack_name = parts[1] if len(parts) >= 3 else stack_id
        return cls(
            _digest(f"{stack_id}\n{logical_resource_id}"),
            f"{stack_name}/{logical_resource_id}",
            _digest(stack_id),
            stack_name,
        )


@dataclass(frozen=True)
class Claim:
    """What a pool's owner tag says."""

    owner: str  # the holder's Owner.digest; "" when released (nobody holds it)
    mode: str  # CREATED, ADOPTED or RELEASED
    previous: str | None = None  # "<mode>:<digest>" of the holder before an adoption
    label: str = ""  # the holder's label (released: the last holder's)
    stack: str | None = None  # the holder's stack digest; None in tags written before it was kept
    creator: str | None = None  # who created the pool; None: unknown (it had no owner tag)
    creator_gone: bool = False  # the creator's resource was deleted while another held the pool
    previous_label: str = ""
    creator_label: str = ""

    @property
    def adopted(self) -> bool:
        return self.mode == ADOPTED

    @property
    def released(self) -> bool:
        return self.mode == RELEASED

    def previous_holder(self) -> tuple[str, str] | None:
        """(mode, digest) of the previous holder, or None."""
        if not self.previous:
            return None
        mode, _, digest = self.previous.partition(":")
        return (mode, digest) if mode in (CREATED, ADOPTED) and digest else None

    def in_stack(self, owner: Owner) -> bool:
        """Whether the holder is a resource of ``owner``'s stack (older tags: by the label's stack name)."""
        if self.stack is not None:
            return self.stack == owner.stack
        return bool(owner.stack_name) and self.label.startswith(owner.stack_name + "/")


class UnreadableClaim(ValueError):
    """An owner tag that this handler did not write (edited by hand): nobody here owns the pool."""


class NotAdoptable(ValueError):
    """The pool is held by another stack (or its tag was edited): adopting it would take it away."""


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
    if mode not in _MODES or (owner in ("", _NOBODY)) != (mode == RELEASED):
        raise UnreadableClaim(value)
    claim = Claim(
        "" if owner == _NOBODY else owner,
        mode,
        fields.get("prev") or None,
        fields.get("label", ""),
        fields.get("stack") or None,
        previous_label=fields.get("plabel", ""),
        creator_label=fields.get("clabel", ""),
    )
    creator = fields.get("creator")
    if creator is None:  # written before the creator was kept: what the tag itself tells
        if mode == CREATED:
            return replace(claim, creator=owner, creator_label=claim.label)
        held = claim.previous_holder()
        return replace(claim, creator=held[1]) if held and held[0] == CREATED else claim
    gone = creator.startswith(_GONE)
    creator = creator.removeprefix(_GONE)
    claim = replace(claim, creator=None if creator == _NOBODY else creator, creator_gone=gone)
    if claim.creator == claim.owner and not claim.creator_label:
        claim = replace(claim, creator_label=claim.label)  # not written twice: see ``write``
    return claim


def write(claim: Claim) -> str:
    """The tag value of ``claim``: digests and modes first, labels cut to fit the tag's 256 limit."""
    creator = _NOBODY if claim.creator is None else (_GONE if claim.creator_gone else "") + claim.creator
    head = f"owner={claim.owner or _NOBODY} mode={claim.mode}"
    if claim.stack:
        head += f" stack={claim.stack}"
    head += f" creator={creator}"
    if claim.previous:
        head += f" prev={claim.previous}"
    labels = [("label", claim.label)]
    if claim.previous:
        labels.append(("plabel", claim.previous_label))
    if claim.creator is not None and claim.creator != claim.owner:
        labels.append(("clabel", claim.creator_label))
    return head + _fit_labels(pool_rules.TAG_VALUE_MAX - len(head), labels)


def _fit_labels(room: int, labels: list[tuple[str, str]]) -> str:
    """`` name=text`` for each label, texts cut so that the whole fits ``room`` characters; the
    shorter labels are kept whole first, the rest shares what is left."""
    texts = [text.replace(" ", "_") for _, text in labels]
    room -= sum(len(f" {name}=") for name, _ in labels)
    limits = [0] * len(texts)
    for done, index in enumerate(sorted(range(len(texts)), key=lambda i: len(texts[i]))):
        limits[index] = max(0, min(len(texts[index]), room // (len(texts) - done)))
        room -= limits[index]
    return "".join(
        f" {name}={text[:limit]}" for (name, _), text, limit in zip(labels, texts, limits, strict=True)
    )


def created_by(owner: Owner) -> str:
    """The owner tag value of a pool this resource created."""
    return write(
        Claim(owner.digest, CREATED, None, owner.label, owner.stack, owner.digest, creator_label=owner.label)
    )


def adoption(owner: Owner, before: Claim | None) -> str | None:
    """The owner tag value once ``owner`` adopts a pool whose tag says ``before`` (None: no tag);
    None when ``owner`` holds it already (a repeated delivery of the same Create).

    Raises ``NotAdoptable`` for a pool held by another stack: only a person's pool (no tag), a
    released pool, or one held by another resource of this same stack (a construct moved to a new
    path) may be adopted, so that adopting never takes a pool away from another stack.
    """
    if before is None:
        return write(Claim(owner.digest, ADOPTED, None, owner.label, owner.stack))
    if before.owner == owner.digest:
        return None
    if before.released:
        return write(replace(before, owner=owner.digest, mode=ADOPTED, label=owner.label, stack=owner.stack))
    if not before.in_stack(owner):
        raise NotAdoptable(
            f"it is held by {before.label or 'another stack'}, a resource of another stack; a pool "
            "another stack holds is never adopted (pick another PoolName, or remove it from that stack)"
        )
    return write(
        replace(
            before,
            owner=owner.digest,
            mode=ADOPTED,
            previous=f"{before.mode}:{before.owner}",
            previous_label=before.label,
            label=owner.label,
            stack=owner.stack,
        )
    )


@dataclass(frozen=True)
class Decision:
    """What a Delete from ``owner`` does with the pool."""

    delete: bool
    new_value: str | None  # the owner tag value to write first (None: leave the tag as it is)
    sentence: str  # why the pool stays (empty when it is deleted)


def on_delete(owner: Owner, claim: Claim | None) -> Decision:
    """What a Delete from ``owner`` does with a pool whose owner tag says ``claim``.

    Deletes: a pool with no tag (from before owners), a pool ``owner`` created and holds, and a
    released pool whose creator is ``owner``. Everything else stays; the tag records what this
    Delete changed, so that the pool's last owner still deletes it: an adopter hands the pool back
    (or releases it); a former holder's Delete records that it is gone.
    """
    if claim is None:
        return Decision(True, None, "")
    if claim.released:
        if claim.creator == owner.digest and not claim.creator_gone:
            return Decision(True, None, "")
        return Decision(False, None, f"nobody holds it since it was released, {_created(claim)}")
    if claim.owner == owner.digest:
        if not claim.adopted:
            return Decision(True, None, "")
        return _release(owner, claim)
    return _depart(owner, claim)


def _release(owner: Owner, claim: Claim) -> Decision:
    """The adopter lets go: hand the pool back to its previous holder, or mark it released."""
    held = claim.previous_holder()
    if held is not None:
        mode, digest = held
        back = replace(
            claim, owner=digest, mode=mode, previous=None, label=claim.previous_label, previous_label=""
        )
        return Decision(
            False,
            write(back),
            f"{owner.label} adopted it, and an adopted pool is never deleted (handed back to "
            f"{claim.previous_label or 'its previous holder'})",
        )
    released = replace(claim, owner="", mode=RELEASED, previous=None, previous_label="")
    if claim.creator is None:
        after = (
            "nobody owns it now: it had no owner tag when it was adopted; delete it by hand when "
            "it is no longer needed"
        )
    elif claim.creator_gone:
        after = (
            f"nobody owns it now: its creator {claim.creator_label or '(unknown)'} was deleted "
            "before; delete it by hand when it is no longer needed"
        )
    else:
        after = f"its creator {claim.creator_label or '(unknown)'} deletes it when that resource is deleted"
    return Decision(
        False,
        write(released),
        f"{owner.label} adopted it, and an adopted pool is never deleted (released; {after})",
    )


def _depart(owner: Owner, claim: Claim) -> Decision:
    """A Delete from a resource that no longer holds the pool: leave the pool, and record that this
    resource is gone wherever the tag would hand the pool back to it or wait for it to delete it.

    A creator that leaves while another resource of its own stack holds the pool passes on the
    creator's part (a construct moved to a new path, perhaps more than once): to the previous
    holder if there is one, else to the holder itself. So the stack that created a pool still
    deletes it when the last of its resources that held it goes.
    """
    held = claim.previous_holder()
    was_previous = held is not None and held[1] == owner.digest
    was_creator = claim.creator == owner.digest and not claim.creator_gone
    holding = f"it is held by {claim.label or 'another resource'} now, not by {owner.label}"
    if not (was_previous or was_creator):
        return Decision(
            False, None, f"{holding} (it was adopted by another logical resource, or made by another stack)"
        )
    after = claim
    if was_creator and claim.in_stack(owner):
        if held is not None and not was_previous:
            after = replace(
                after,
                previous=f"{CREATED}:{held[1]}",
                creator=held[1],
                creator_label=claim.previous_label,
            )
            heir = claim.previous_label or "its previous holder"
        else:
            after = replace(
                after,
                mode=CREATED,
                previous=None,
                previous_label="",
                creator=claim.owner,
                creator_label=claim.label,
            )
            heir = claim.label or "its holder"
        return Decision(False, write(after), f"{holding}; {heir} now deletes it when deleted (it moved)")
    if was_previous:
        after = replace(after, previous=None, previous_label="")
    if was_creator:
        after = replace(after, creator_gone=True)
    return Decision(False, write(after), f"{holding} ({owner.label} is recorded as gone)")


def _created(claim: Claim) -> str:
    if claim.creator is None:
        return (
            "and it had no owner tag when it was adopted (a pool made outside this stack): nobody owns it now"
        )
    if claim.creator_gone:
        return f"and its creator {claim.creator_label or '(unknown)'} was deleted: nobody owns it now"
    return f"and only its creator {claim.creator_label or '(unknown)'} deletes it"
