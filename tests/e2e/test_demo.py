"""``make demo``'s command, run as a user runs it: the real ``cdk synth`` CLI for every step."""

from __future__ import annotations

import io
import re
from pathlib import Path

from local.cli import demo


def test_the_demo_deploys_updates_replaces_and_destroys_leaving_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    exit_code = demo(tmp_path / "cdk.out", tmp_path / "state", out=out)
    text = out.getvalue()

    assert exit_code == 0, text
    arns = re.findall(r"ChimeKvsPoolDemo\.PoolArn = (\S+)", text)
    pool_ids = re.findall(r"ChimeKvsPoolDemo\.PoolId = (\S+)", text)
    assert len(arns) == 3 and len(pool_ids) == 3  # deploy, retention update, replacement
    assert arns[0] == arns[1] != arns[2]  # in place, then a new pool
    assert all(pool_id.startswith("ChimeMediaPipelines-demo-pool-") for pool_id in pool_ids)

    calls = re.findall(r"API calls by the handler: (.*)", text)
    assert calls[0].startswith("CreateServiceLinkedRole x1, CreateMediaPipelineKinesisVideoStreamPool x1")
    assert "UpdateMediaPipelineKinesisVideoStreamPool x1" in calls[1]
    assert "Create" not in calls[1] and "Delete" not in calls[1]
    assert "CreateMediaPipelineKinesisVideoStreamPool x1" in calls[2]
    assert "DeleteMediaPipelineKinesisVideoStreamPool x1" in calls[2]  # the old pool, in cleanup
    assert "retention=48h" in text.split("Step 2/4")[1].split("Step 3/4")[0]
    assert text.rstrip().endswith("no pool left over.")
    # With IAM enforced, the construct's own policy allows every call the handler makes.
    assert "IAM enforced: every call the handler makes is authorized" in text
    assert "Denied (not allowed" not in text
    assert "The emulator holds 0 pool(s)" in text.split("Step 4/4")[1]
