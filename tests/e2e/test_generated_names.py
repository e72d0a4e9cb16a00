"""Issue 10, item 7: same-named stacks in two Regions that share an API Region do not collide.

One environment-agnostic stack (``E2eGenerated``: pool ``Far`` with ``api_region`` and a generated
name, pool ``Near`` without either) is deployed by two offline CloudFormations of the same account,
one in us-east-1 and one in eu-central-1, against one emulator: both pools named ``Far`` live in the
shared API Region. The driver resolves the deploy-time name (``AWS::Region``, ``AWS::AccountId``).
"""

from __future__ import annotations

from pathlib import Path

from local.chime_emulator import ChimeEmulator
from local.offline import OfflineCloud
from local.state import StateStore

from .stacks import OTHER_API_REGION

STACK = "E2eGenerated"
REGIONS = ("us-east-1", "eu-central-1")


def test_same_named_stacks_in_two_regions_sharing_an_api_region(assembly: Path, tmp_path: Path) -> None:
    emulator = ChimeEmulator(create_delay=0.05, update_delay=0.05, delete_delay=0.05)
    account = emulator.account_id
    with (
        OfflineCloud(StateStore(tmp_path / REGIONS[0]), region=REGIONS[0], emulator=emulator) as first,
        OfflineCloud(StateStore(tmp_path / REGIONS[1]), region=REGIONS[1], emulator=emulator) as second,
    ):
        stacks = [cloud.deploy(assembly, "Generated") for cloud in (first, second)]

        assert [stack.status for stack in stacks] == ["CREATE_COMPLETE", "CREATE_COMPLETE"]
        far = [stack.outputs["FarArn"] for stack in stacks]
        assert len(set(far)) == 2
        for arn, region in zip(far, REGIONS, strict=True):
            assert arn.startswith(f"arn:aws:chime:{OTHER_API_REGION}:{account}:")
            assert arn.endswith(f"-{region}-{account}")
        # Without api_region each pool is in its own stack's Region, under the name it always had.
        near = [stack.outputs["NearArn"] for stack in stacks]
        assert [arn.split(":")[3] for arn in near] == list(REGIONS)
        assert near[0].rsplit("/", 1)[1] == near[1].rsplit("/", 1)[1]
        assert sorted(pool["PoolArn"] for pool in emulator.leftover_pools()) == sorted(far + near)

        for cloud in (first, second):
            deleted = cloud.destroy(STACK)
            assert deleted is not None and deleted.status == "DELETE_COMPLETE"
        assert emulator.leftover_pools() == []
