"""CloudFormation's custom resource properties -> a typed, validated ``PoolSpec``.

CloudFormation turns every scalar into a string, so numbers arrive as ``"24"``. This module parses
them, checks every value with ``pool_rules`` and reports ALL problems in one short message that names
each property, so a user fixes a template in one round trip instead of one error per deploy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import pool_rules

# What the construct sends (docs/architecture.md).
TOP_LEVEL_PROPERTIES = (
    "PoolName",
    "StreamConfiguration",
    "Tags",
    "WaitTimeoutSeconds",
    "EnsureServiceLinkedRole",
    "AdoptExisting",
    "DeleteStreamsOnDelete",
    "ApiRegion",
)
# The handler's switches. An absent switch means its default (pool_rules.SWITCH_DEFAULTS), the same
# default the construct documents, so the construct sends only the switches that differ from it.
SWITCH_PROPERTIES = tuple(pool_rules.SWITCH_DEFAULTS)
STREAM_CONFIGURATION_PROPERTIES = ("Region", "DataRetentionInHours")
# ServiceToken and ServiceTimeout are CloudFormation's own; it passes them through with the rest.
_IGNORED_PROPERTIES = frozenset({"ServiceToken", "ServiceTimeout"})

# CloudFormation truncates a long Reason, and crhelper keeps only the END of one over 256 characters.
# Problems are listed first to last, so cut the tail ourselves and keep the first problems readable.
REASON_MAX = 250

_DECIMAL_RE = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class PoolSpec:
    """One pool declaration, as the handler acts on it."""

    pool_name: str
    stream_region: str
    data_retention_hours: int | None
    tags: tuple[tuple[str, str], ...]
    wait_timeout_seconds: int
    # On Create: make sure the pools' service-linked role exists first.
    ensure_service_linked_role: bool = pool_rules.ENSURE_SERVICE_LINKED_ROLE_DEFAULT
    # On Create: take over a pool of the same name instead of failing.
    adopt_existing: bool = pool_rules.ADOPT_EXISTING_DEFAULT
    # On Delete: once the pool is gone, delete its Kinesis video streams.
    delete_streams_on_delete: bool = pool_rules.DELETE_STREAMS_ON_DELETE_DEFAULT
    # The Region whose Chime SDK Media Pipelines API manages the pool; None: the function's own.
    api_region: str | None = None

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)


Problem = tuple[str, str]  # (property path, message)


class InvalidPropertiesError(ValueError):
    """The resource's properties break one or more rules.

    The message names every offending property first, then the details, so that even when the
    details are cut to fit CloudFormation's Reason, no property goes unnamed.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        names = ", ".join(dict.fromkeys(prop for prop, _ in problems))
        details = "; ".join(message for _, message in problems)
        super().__init__(shorten(f"Invalid properties {names}: {details}"))


def shorten(text: str, limit: int = REASON_MAX) -> str:
    """Cut a message to ``limit`` characters, keeping its start (where the first problem is)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_int(value: object) -> int | None:
    """An int given as an int or a decimal string; None for anything else (floats, bools, "24.5")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def parse_properties(properties: Mapping[str, object] | None) -> PoolSpec:
    """Parse and validate; raise ``InvalidPropertiesError`` listing every problem found."""
    problems: list[Problem] = []
    if properties is not None and not isinstance(properties, Mapping):
        message = f"ResourceProperties must be an object; got {pool_rules.quote(properties)}"
        raise InvalidPropertiesError([("ResourceProperties", message)])
    props: Mapping[str, object] = properties or {}

    pool_name = props.get("PoolName")
    if pool_name is None:
        problems.append(("PoolName", "PoolName is required"))
    else:
        _note(problems, "PoolName", pool_rules.pool_name_error(pool_name))  # type: ignore[arg-type]

    region, retention = _parse_stream_configuration(props.get("StreamConfiguration"), problems)
    tags = _parse_tags(props.get("Tags"), problems)
    wait_timeout = _parse_wait_timeout(props.get("WaitTimeoutSeconds"), problems)
    switches = {name: _parse_switch(props.get(name), name, problems) for name in SWITCH_PROPERTIES}
    api_region = props.get("ApiRegion")
    if api_region is not None:
        _note(problems, "ApiRegion", pool_rules.region_error(api_region, "ApiRegion"))  # type: ignore[arg-type]

    # Unknown names last: they are the user's own text, possibly long, and must not push the known
    # properties' names out of a shortened Reason.
    unknown = sorted(set(props) - set(TOP_LEVEL_PROPERTIES) - _IGNORED_PROPERTIES)
    if unknown:
        names = ", ".join(unknown)
        allowed = ", ".join(TOP_LEVEL_PROPERTIES)
        problems.append((names, f"unknown {_plural('property', unknown)} {names} (allowed: {allowed})"))

    if problems:
        raise InvalidPropertiesError(problems)
    assert isinstance(pool_name, str) and region is not None  # guaranteed by the checks above
    return PoolSpec(
        pool_name,
        region,
        retention,
        tags,
        wait_timeout,
        ensure_service_linked_role=switches["EnsureServiceLinkedRole"],
        adopt_existing=switches["AdoptExisting"],
        delete_streams_on_delete=switches["DeleteStreamsOnDelete"],
        api_region=api_region if isinstance(api_region, str) else None,
    )


def wait_timeout_of(properties: Mapping[str, object] | None) -> int:
    """The wait budget alone, for requests (Delete) that must not fail on other bad properties."""
    return _parse_wait_timeout(_mapping(properties).get("WaitTimeoutSeconds"), [])


def delete_streams_of(properties: Mapping[str, object] | None) -> bool:
    """Whether a Delete should also delete the pool's streams; an unreadable value means no, as
    deleting data is never done on a guess."""
    return _parse_switch(_mapping(properties).get("DeleteStreamsOnDelete"), "DeleteStreamsOnDelete", [])


def _mapping(properties: object) -> Mapping[str, object]:
    """The properties, or none at all when they are not an object (a Delete must still succeed)."""
    return properties if isinstance(properties, Mapping) else {}


def parse_bool(value: object) -> bool | None:
    """A bool given as a bool or as CloudFormation renders one ("true"/"false", any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _parse_switch(value: object, prop: str, problems: list[Problem]) -> bool:
    """The switch's value; absent means its default. An unreadable one is a problem, and reads as
    off (the safe reading: no role created, no pool taken over, no stream deleted)."""
    if value is None:
        return pool_rules.SWITCH_DEFAULTS[prop]
    parsed = parse_bool(value)
    if parsed is None:
        problems.append((prop, f"{prop} must be true or false; got {pool_rules.quote(value)}"))
        return False
    return parsed


def _parse_stream_configuration(value: object, problems: list[Problem]) -> tuple[str | None, int | None]:
    prop = "StreamConfiguration"
    if value is None:
        problems.append((prop, f"{prop} is required (with a Region)"))
        return None, None
    if not isinstance(value, Mapping):
        problems.append((prop, f"{prop} must be an object; got {pool_rules.quote(value)}"))
        return None, None
    unknown = sorted(set(value) - set(STREAM_CONFIGURATION_PROPERTIES))
    if unknown:
        names = ", ".join(f"{prop}.{name}" for name in unknown)
        allowed = ", ".join(STREAM_CONFIGURATION_PROPERTIES)
        problems.append((names, f"unknown {_plural('property', unknown)} {names} (allowed: {allowed})"))

    region = value.get("Region")
    if region is None:
        problems.append((f"{prop}.Region", f"{prop}.Region is required"))
    elif not _note(problems, f"{prop}.Region", pool_rules.region_error(region)):
        region = None

    retention = _parse_optional_int(
        value.get("DataRetentionInHours"),
        f"{prop}.DataRetentionInHours",
        pool_rules.retention_error,
        problems,
    )
    return (region if isinstance(region, str) else None), retention


def _parse_tags(value: object, problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(
            ("Tags", f"Tags must be a list of {{Key, Value}} objects; got {pool_rules.quote(value)}")
        )
        return ()
    pairs: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("Key"), str):
            problems.append(("Tags", f"Tags[{index}] must be an object with a string Key and Value"))
            return ()
        extra = sorted(str(name) for name in set(item) - {"Key", "Value"})
        if extra:
            # The native resource's Tag allows Key and Value only; a typo must not pass silently.
            problems.append(
                ("Tags", f"Tags[{index}] has unknown members {', '.join(extra)} (allowed: Key, Value)")
            )
            return ()
        tag_value = item.get("Value")
        if not isinstance(tag_value, str):
            problems.append(("Tags", f"Tags[{index}] ({pool_rules.quote(item['Key'])}) needs a string Value"))
            return ()
        pairs.append((item["Key"], tag_value))
    # An empty list means "no tags": the construct may send one when every tag was removed, and the
    # service's limit (pool_rules.tags_error) applies only to a list it is actually given.
    if pairs and not _note(problems, "Tags", pool_rules.tags_error(pairs)):
        return ()
    return tuple(sorted(pairs))


def _parse_wait_timeout(value: object, problems: list[Problem]) -> int:
    if value is None:
        return pool_rules.WAIT_TIMEOUT_DEFAULT
    seconds = _parse_optional_int(value, "WaitTimeoutSeconds", pool_rules.wait_timeout_error, problems)
    return pool_rules.WAIT_TIMEOUT_DEFAULT if seconds is None else seconds


def _parse_optional_int(
    value: object, prop: str, rule: Callable[[object], str | None], problems: list[Problem]
) -> int | None:
    if value is None:
        return None
    number = parse_int(value)
    # An unparsable value goes to the rule as it came, so the message quotes what the user wrote.
    if not _note(problems, prop, rule(value if number is None else number)):
        return None
    return number


def _note(problems: list[Problem], prop: str, problem: str | None) -> bool:
    """Record a rule's problem, if any; True when the value passed."""
    if problem is None:
        return True
    problems.append((prop, problem))
    return False


def _plural(word: str, items: list[str]) -> str:
    return word if len(items) == 1 else word[:-1] + "ies" if word.endswith("y") else word + "s"
