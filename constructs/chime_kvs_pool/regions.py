"""AWS opt-in Regions, and the stream-Region rule that the Chime SDK applies to them.

The rule, from the API reference of ``CreateMediaPipelineKinesisVideoStreamPool``: if a meeting's
MediaRegion is an opt-in Region, the pool's Kinesis video streams must be in that same Region; a
meeting in a Region enabled by default can use streams in any Region that the Chime SDK supports.

The list is the one place this project names opt-in Regions. Source: AWS Account Management
Reference Guide, "Enable or disable AWS Regions in your account"
(https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html: "Regions launched
after March 20, 2019 are disabled by default and referred to as opt-in Regions"), with the Region
codes of the AWS Regions table (https://docs.aws.amazon.com/global-infrastructure/latest/regions/
aws-regions.html), checked 2025. A Region launched later is missing until it is added here: the
check then lets its meetings through rather than refusing a valid setup.
"""

from __future__ import annotations

from collections.abc import Iterable

OPT_IN_REGIONS: frozenset[str] = frozenset(
    {
        "af-south-1",  # Africa (Cape Town)
        "ap-east-1",  # Asia Pacific (Hong Kong)
        "ap-east-2",  # Asia Pacific (Taipei)
        "ap-south-2",  # Asia Pacific (Hyderabad)
        "ap-southeast-3",  # Asia Pacific (Jakarta)
        "ap-southeast-4",  # Asia Pacific (Melbourne)
        "ap-southeast-5",  # Asia Pacific (Malaysia)
        "ap-southeast-6",  # Asia Pacific (New Zealand)
        "ap-southeast-7",  # Asia Pacific (Thailand)
        "ca-west-1",  # Canada West (Calgary)
        "eu-central-2",  # Europe (Zurich)
        "eu-south-1",  # Europe (Milan)
        "eu-south-2",  # Europe (Spain)
        "il-central-1",  # Israel (Tel Aviv)
        "me-central-1",  # Middle East (UAE)
        "me-south-1",  # Middle East (Bahrain)
        "mx-central-1",  # Mexico (Central)
    }
)


def is_opt_in_region(region: str) -> bool:
    """Whether ``region`` is disabled by default in an AWS account (an opt-in Region)."""
    return region in OPT_IN_REGIONS


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
