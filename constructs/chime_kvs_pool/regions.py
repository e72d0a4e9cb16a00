"""AWS opt-in Regions, and the stream-Region rule that the Chime SDK applies to them.

The rule, from the API reference of ``CreateMediaPipelineKinesisVideoStreamPool``: if a meeting's
MediaRegion is an opt-in Region, the pool's Kinesis video streams must be in that same Region; a
meeting in a Region enabled by default can use streams in any Region that the Chime SDK supports.

Which Regions are opt-in comes from aws-cdk-lib's own Region facts (``aws_cdk.region_info``:
``RegionInfo.get(region).is_opt_in_region``), which aws-cdk-lib keeps current with each release,
rather than from a list kept here. A Region that the installed aws-cdk-lib does not know yet counts
as not opt-in: the check then lets its meetings through rather than refusing a valid setup.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk.region_info import RegionInfo

# The Regions where the Chime SDK Media Pipelines API has an endpoint, in every partition (botocore's
# endpoint data as of botocore 1.44.8: none outside the aws partition). A pool is created through
# one of them (its api_region, by default the stack's Region); tests/unit/test_api_regions.py keeps
# this list in step with the pinned botocore. A Region that launches the API later only costs a
# synth-time warning until the list learns it.
MEDIA_PIPELINES_API_REGIONS = frozenset(
    {
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-2",
        "us-east-1",
        "us-west-2",
    }
)


def is_opt_in_region(region: str) -> bool:
    """Whether ``region`` is disabled by default in an AWS account (an opt-in Region)."""
    return bool(RegionInfo.get(region).is_opt_in_region)


def opt_in_regions() -> frozenset[str]:
    """Every opt-in Region the installed aws-cdk-lib knows (for messages and tests)."""
    return frozenset(info.name for info in RegionInfo.regions if info.is_opt_in_region)


def required_stream_region(meeting_regions: Iterable[str]) -> str | None:
    """The Region the streams must be in for these meeting Regions, or None when any will do.

    Raises ValueError when two different opt-in Regions are given: no single stream Region can serve
    both, so such meetings need two pools.
    """
    opt_in = sorted({region for region in meeting_regions if is_opt_in_region(region)})
    if len(opt_in) > 1:
        raise ValueError(
            f"meetings in the opt-in Regions {', '.join(opt_in)} each need their streams in their own "
            "Region; one pool cannot serve them all: use one pool per opt-in Region"
        )
    return opt_in[0] if opt_in else None
