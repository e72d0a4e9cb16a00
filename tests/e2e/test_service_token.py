"""A custom resource stays with the function that created it: the offline driver refuses, as
CloudFormation does, an update that changes a pool's ServiceToken (here, a handler function given a
new logical id, as a construct upgrade that renamed it would), before any request reaches a handler.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .conftest import Cloud


def with_renamed_function(assembly: Path, target: Path, stack: str) -> Path:
    """A copy of the cloud assembly in which ``stack``'s handler function has another logical id."""
    shutil.copytree(assembly, target)
    manifest = json.loads((target / "manifest.json").read_text())
    template_file = target / manifest["artifacts"][stack]["properties"]["templateFile"]
    text = template_file.read_text()
    template = json.loads(text)
    (function_id,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    template_file.write_text(text.replace(f'"{function_id}"', f'"{function_id}Renamed"'))
    return target


def test_an_update_that_moves_a_pool_to_another_function_fails_before_any_request(
    cloud: Cloud, tmp_path: Path
) -> None:
    created = cloud.deploy("Basic")
    arn = created.outputs["PoolArn"]
    sent = len(cloud.requests())

    renamed = with_renamed_function(cloud.assembly, tmp_path / "renamed.out", "Basic")
    updated = cloud.cloud.deploy(renamed, "Basic")

    assert updated.status == "UPDATE_ROLLBACK_COMPLETE"
    failures = [
        e.reason for e in cloud.events if e.status == "UPDATE_FAILED" and e.logical_id.startswith("Pool")
    ]
    assert failures == ["Modifying service token is not allowed."]
    # No handler heard of it: no Update, and the rollback had nothing to undo on the pool.
    assert len(cloud.requests()) == sent
    assert cloud.pool_names() == ["e2e-basic"]
    assert updated.outputs["PoolArn"] == arn
    cloud.assert_no_leak("E2eBasic")
