"""Hypothesis strategies for raw CloudFormation events, each value paired with its verdict.

A verdict is None for a valid value, else the property name a FAILED Reason must mention. Verdicts
come from ``pool_rules`` (the single source of truth) applied to the value the generator meant, never
from a second copy of the rules; what the rules do not cover (an object where a string belongs, an
unknown property) is invalid by the native resource schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from chime_kvs_pool.runtime import pool_rules

MISSING = object()  # the property is left out of the event

POOL_NAME = "PoolName"
REGION = "StreamConfiguration.Region"
RETENTION = "StreamConfiguration.DataRetentionInHours"
TAGS = "Tags"
WAIT = "WaitTimeoutSeconds"
STREAM = "StreamConfiguration"


@dataclass(frozen=True)
class Value:
    """A raw value for one property, and what the rules say about it."""

    raw: Any
    verdict: str | None  # None: valid; else the property a FAILED Reason must name
    message: str | None = None  # pool_rules' own message for it, when it has one


@dataclass
class Case:
    """Resource properties and the verdicts of their parts."""

    properties: dict[str, Any]
    problems: list[Value] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def _from_rule(raw: Any, meant: Any, rule: Any, prop: str) -> Value:
    message = rule(meant)
    return Value(raw, None if message is None else prop, message)


# Text that exercises limits and unicode: short, at and past the limits, letters from any script.
def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=max_size),
        st.text(alphabet="abcXYZ019._-", max_size=max_size),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=max_size),
    )


_not_a_string = st.one_of(
    st.integers(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.floats(allow_nan=False),
)


def _mostly(valid: st.SearchStrategy[Value], broken: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
    """Valid three times in four, so that whole valid cases stay common enough to test SUCCESS."""
    return st.integers(0, 3).flatmap(lambda roll: broken if roll == 0 else valid)


def pool_names() -> st.SearchStrategy[Value]:
    valid_lengths = st.sampled_from([1, 2, 127, 128, 129, 200]).map(lambda n: "p" * n)
    strings = st.one_of(valid_lengths, _text(140), st.from_regex(r"[0-9a-zA-Z._-]{1,128}", fullmatch=True))
    valid = st.from_regex(r"[0-9a-zA-Z._-]{1,128}", fullmatch=True).map(lambda name: Value(name, None))
    return _mostly(
        valid,
        st.one_of(
            strings.map(lambda name: _from_rule(name, name, pool_rules.pool_name_error, POOL_NAME)),
            _not_a_string.map(lambda raw: Value(raw, POOL_NAME)),
            st.just(Value(MISSING, POOL_NAME)),
        ),
    )


def regions() -> st.SearchStrategy[Value]:
    shaped = st.from_regex(r"[a-z]{2,12}(-[a-z]{2,12}){1,3}-[0-9]{1,3}", fullmatch=True)
    at_limits = st.sampled_from([32, 33]).map(lambda n: "us-" + "e" * (n - 5) + "-1")
    strings = st.one_of(
        st.sampled_from(["us-east-1", "eu-west-2", "us-gov-west-1", "cn-north-1", "af-south-1"]),
        shaped,
        at_limits,
        _text(40),
    )
    return _mostly(
        st.sampled_from(["us-east-1", "eu-west-2", "us-gov-west-1", "ap-southeast-2"]).map(
            lambda r: Value(r, None)
        ),
        st.one_of(
            strings.map(lambda region: _from_rule(region, region, pool_rules.region_error, REGION)),
            _not_a_string.map(lambda raw: Value(raw, REGION)),
            st.just(Value(MISSING, REGION)),
        ),
    )


def _number(prop: str, rule: Any, numbers: st.SearchStrategy[int]) -> st.SearchStrategy[Value]:
    """A whole number, sent as CloudFormation does (a decimal string) or as a JSON number."""
    as_string = numbers.map(lambda n: _from_rule(str(n), n, rule, prop))
    as_number = numbers.map(lambda n: _from_rule(n, n, rule, prop))
    junk = st.one_of(
        st.sampled_from(["", " ", "1.5", "24.0", "abc", "twelve", "1e3", "0x10", "--1", "Infinity", "NaN"]),
        st.floats(allow_nan=False),  # even 24.0: CloudFormation sends "24", a float is not an integer
        st.booleans(),
        st.lists(st.integers(), max_size=2),
    ).map(lambda raw: Value(raw, prop))
    return st.one_of(as_string, as_number, junk)


def retentions() -> st.SearchStrategy[Value]:
    numbers = st.one_of(
        st.integers(-5, 100),
        st.sampled_from([-1, 0, 1, 8760, 87600, 87601, 2**31 - 1, 2**31, 2**63, -(2**31)]),
        st.integers(),
    )
    valid = st.one_of(
        st.just(Value(MISSING, None)),
        st.integers(0, pool_rules.RETENTION_MAX).map(lambda n: Value(str(n), None)),
    )
    return _mostly(valid, _number(RETENTION, pool_rules.retention_error, numbers))


def wait_timeouts() -> st.SearchStrategy[Value]:
    numbers = st.one_of(st.integers(-2, 20), st.sampled_from([0, 1, 900, 901, 10**9]))
    return _mostly(st.just(Value(MISSING, None)), _number(WAIT, pool_rules.wait_timeout_error, numbers))


def _tag_list(pairs: list[tuple[str, str]]) -> Value:
    items = [{"Key": key, "Value": value} for key, value in pairs]
    # No tags at all is valid (the native schema's minItems is 0); otherwise the rules decide.
    message = pool_rules.tags_error(pairs) if pairs else None
    return Value(items, None if message is None else TAGS, message)


def tags() -> st.SearchStrategy[Value]:
    keys = st.one_of(
        st.text(alphabet="abkXY-_:", min_size=1, max_size=8),
        st.sampled_from(["aws:cdk", "AWS:x", "Aws:", "aws", "k" * 128, "k" * 129, ""]),
        _text(130),
    )
    values = st.one_of(st.text(max_size=8), st.sampled_from(["", "v" * 256, "v" * 257]), _text(260))
    small = st.lists(st.tuples(keys, values), max_size=4)
    duplicated = st.tuples(keys, values, values).map(lambda kvv: [(kvv[0], kvv[1]), (kvv[0], kvv[2])])
    many = st.sampled_from([199, 200, 201]).map(lambda n: [(f"key{i}", "v") for i in range(n)])
    malformed_items = st.one_of(
        st.just([{"Key": "team"}]),
        st.just([{"Value": "x"}]),
        st.just([{"Key": 5, "Value": "x"}]),
        st.just([{"Key": "team", "Value": 7}]),
        st.just([{"Key": "team", "Value": "x", "Extra": "y"}]),
        st.just(["team=x"]),
    )
    valid = st.one_of(
        st.just(Value(MISSING, None)),
        st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_.:/=+@-]{0,20}", fullmatch=True), st.text(max_size=10), max_size=5
        )
        .map(lambda tags: [(k, v) for k, v in tags.items() if not k.lower().startswith("aws:")])
        .map(_tag_list),
    )
    return _mostly(
        valid,
        st.one_of(
            st.one_of(small, duplicated, many).map(_tag_list),
            malformed_items.map(lambda raw: Value(raw, TAGS)),
            st.one_of(
                st.text(max_size=5), st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)
            ).map(lambda raw: Value(raw, TAGS)),
        ),
    )


@st.composite
def resource_properties(draw: st.DrawFn) -> Case:
    """ResourceProperties as the construct sends them, with any part broken in any way."""
    properties: dict[str, Any] = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:handler"}
    case = Case(properties)

    def put(target: dict[str, Any], key: str, value: Value) -> None:
        if value.raw is not MISSING:
            target[key] = value.raw
        if value.verdict is not None:
            case.problems.append(value)

    put(properties, "PoolName", draw(pool_names()))
    stream_shape = draw(st.sampled_from(["object"] * 16 + ["missing", "string", "list", "empty"]))
    if stream_shape == "object":
        stream: dict[str, Any] = {}
        put(stream, "Region", draw(regions()))
        put(stream, "DataRetentionInHours", draw(retentions()))
        if draw(st.integers(0, 19)) == 0:
            extra_key = draw(st.sampled_from(["Retention", "region", "MaxStreams"]))
            put(stream, extra_key, Value("x", f"{STREAM}.{extra_key}"))
        properties["StreamConfiguration"] = stream
    elif stream_shape == "empty":
        properties["StreamConfiguration"] = {}
        case.problems.append(Value({}, REGION))
    elif stream_shape != "missing":
        properties["StreamConfiguration"] = "us-east-1" if stream_shape == "string" else ["us-east-1"]
        case.problems.append(Value(properties["StreamConfiguration"], STREAM))
    else:
        case.problems.append(Value(MISSING, STREAM))
    put(properties, "Tags", draw(tags()))
    put(properties, "WaitTimeoutSeconds", draw(wait_timeouts()))
    if draw(st.integers(0, 19)) == 0:
        extra = draw(st.sampled_from(["Poolname", "DataRetentionInHours", "Region", "Adopt", "Description"]))
        properties[extra] = draw(st.one_of(st.text(max_size=5), st.integers()))
        case.problems.append(Value(properties[extra], extra))
    return case


def malformed_physical_ids() -> st.SearchStrategy[str]:
    """PhysicalResourceIds that are not pool ARNs (crhelper's made-up ids among them)."""
    return st.one_of(
        st.just("reliability_Pool_ABCDEFGH"),
        st.text(max_size=80),
        st.sampled_from(
            [
                "arn:aws:chime:us-east-1:123456789012:meeting/abc",
                "arn:aws:s3:::media-pipeline-kinesis-video-stream-pool/x",
                "arn:aws:chime:us-east-1:12345:media-pipeline-kinesis-video-stream-pool/x",
                "media-pipeline-kinesis-video-stream-pool/x",
                "arn:aws:chime:us-east-1:123456789012:media-pipeline-kinesis-video-stream-pool/",
            ]
        ),
    ).filter(lambda value: value and not pool_rules.is_pool_arn(value))
