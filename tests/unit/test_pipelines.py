"""CDK Pipelines: pools in a Stage deployed by ``pipelines.CodePipeline`` to two accounts and Regions.

The pipeline synthesizes in CodeBuild without Docker and without context lookups, and publishes the
handler asset in its own asset step, as for any Lambda asset; these tests check that on the real
synthesized assembly (the pipeline's and the stage's), and run cfn-lint on every template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import pipelines
from cfnlint.api import ManualArgs, lint
from constructs import Construct

from chime_kvs_pool import KinesisVideoStreamPool

TOOLS = cdk.Environment(account="111111111111", region="us-east-1")
PROD_EU = cdk.Environment(account="222222222222", region="eu-west-1")
PROD_US = cdk.Environment(account="333333333333", region="us-west-2")
CONNECTION_ARN = (
    "arn:aws:codeconnections:us-east-1:111111111111:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
)


class MediaStack(cdk.Stack):
    """A user's stack: two pools (one shared handler), their ARNs as outputs."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        recordings = KinesisVideoStreamPool(self, "Recordings", data_retention=cdk.Duration.hours(24))
        KinesisVideoStreamPool(self, "Live", data_retention=cdk.Duration.hours(0))
        cdk.CfnOutput(self, "RecordingsPoolArn", value=recordings.pool_arn)


class MediaStage(cdk.Stage):
    """What the pipeline deploys: one stack per account and Region."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        MediaStack(self, "MediaEu", env=PROD_EU)
        MediaStack(self, "MediaUs", env=PROD_US)


class PipelineStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            cross_account_keys=True,  # the stage deploys to other accounts
            synth=pipelines.ShellStep(
                "Synth",
                input=pipelines.CodePipelineSource.connection(
                    "example/media-app", "main", connection_arn=CONNECTION_ARN
                ),
                commands=["pip install -r requirements.txt", "npx cdk synth"],
            ),
        )
        pipeline.add_stage(MediaStage(self, "Prod"))


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> cdk.cx_api.CloudAssembly:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("pipeline-cdk.out")))
    PipelineStack(app, "MediaPipeline", env=TOOLS)
    return app.synth()


def stage_assembly(assembly: cdk.cx_api.CloudAssembly) -> cdk.cx_api.CloudAssembly:
    (nested,) = [a for a in assembly.nested_assemblies]
    return nested.nested_assembly


def all_templates(assembly: cdk.cx_api.CloudAssembly) -> dict[str, tuple[dict[str, Any], str]]:
    stacks = [*assembly.stacks, *stage_assembly(assembly).stacks]
    return {stack.stack_name: (stack.template, stack.environment.region) for stack in stacks}


def handler_asset_hashes(stage: cdk.cx_api.CloudAssembly) -> dict[str, str]:
    """Each stage stack's handler code asset: stack name -> asset hash (the function's S3 key)."""
    hashes = {}
    for stack in stage.stacks:
        (function,) = [
            r for r in stack.template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
        ]
        hashes[stack.stack_name] = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    return hashes


def test_the_stage_holds_pools_in_two_accounts_and_regions(assembly: cdk.cx_api.CloudAssembly) -> None:
    stage = stage_assembly(assembly)
    environments = {(s.environment.account, s.environment.region) for s in stage.stacks}
    assert environments == {("222222222222", "eu-west-1"), ("333333333333", "us-west-2")}
    for stack in stage.stacks:
        types = [r["Type"] for r in stack.template["Resources"].values()]
        assert types.count("Custom::ChimeKinesisVideoStreamPool") == 2
        assert types.count("AWS::Lambda::Function") == 1


def test_synth_needs_no_context_lookup_and_no_docker(assembly: cdk.cx_api.CloudAssembly) -> None:
    stage = stage_assembly(assembly)
    for cloud_assembly in (assembly, stage):
        # A context lookup the app could not answer offline would be listed as missing.
        manifest = json.loads(Path(cloud_assembly.directory, "manifest.json").read_text())
        assert "missing" not in manifest
    asset_manifests = sorted(Path(stage.directory).glob("*.assets.json"))
    assert len(asset_manifests) == 2
    for path in asset_manifests:
        assert json.loads(path.read_text()).get("dockerImages", {}) == {}, path.name
    # The asset was bundled locally during synthesis (no Docker on this machine), once for both stacks.
    (asset_hash,) = set(handler_asset_hashes(stage).values())
    source = json.loads(asset_manifests[0].read_text())["files"][asset_hash]["source"]
    assert source["packaging"] == "zip"
    asset_dir = Path(stage.directory, source["path"])
    assert (asset_dir / "chime_kvs_pool" / "runtime" / "index.py").is_file()
    assert (asset_dir / "crhelper").is_dir()


def test_the_pipelines_asset_step_publishes_the_handler_to_both_environments(
    assembly: cdk.cx_api.CloudAssembly,
) -> None:
    stage = stage_assembly(assembly)
    (asset_hash,) = set(handler_asset_hashes(stage).values())  # the same content in both stacks
    pipeline_template = assembly.get_stack_by_name("MediaPipeline").template
    projects = [
        r["Properties"]
        for r in pipeline_template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
    ]
    publishing = [p for p in projects if asset_hash in json.dumps(p["Source"].get("BuildSpec", ""))]
    assert len(publishing) == 1, "one asset project publishes the handler asset"
    buildspec = json.loads(publishing[0]["Source"]["BuildSpec"])
    commands = " ".join(buildspec["phases"]["build"]["commands"])
    assert "cdk-assets" in commands
    for environment in ("222222222222-eu-west-1", "333333333333-us-west-2"):
        assert f"{asset_hash}:{environment}" in commands
    # The pipeline's asset stage runs that project.
    (pipeline,) = [
        r["Properties"]
        for r in pipeline_template["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    stage_names = [stage["Name"] for stage in pipeline["Stages"]]
    assert "Assets" in stage_names
    assert stage_names.index("Assets") < stage_names.index("Prod")


# cfn-lint's findings on what aws-cdk-lib itself generates: W3005, a DependsOn that a GetAtt already
# implies (lambda.Function's on its role, CDK Pipelines' on the pipeline role), and E3703 (pipeline
# action configuration), whose RoleArn format check reports the Fn::Join that CDK Pipelines writes for
# each cross-account deploy action's role ("Prefer using Fn::Sub over Fn::Join with an empty delimiter").
GENERATED_WARNINGS = {"W3005"}
PIPELINE_STYLE_ERROR = "E3703"


def test_every_template_passes_cfn_lint(assembly: cdk.cx_api.CloudAssembly) -> None:
    templates = all_templates(assembly)
    # The pipeline, its cross-Region support stacks (one per other Region) and the two media stacks.
    assert set(templates) == {
        "MediaPipeline",
        "MediaPipeline-support-eu-west-1",
        "MediaPipeline-support-us-west-2",
        "Prod-MediaEu",
        "Prod-MediaUs",
    }
    for name, (template, region) in templates.items():
        matches = lint(json.dumps(template), config=ManualArgs(regions=[region]))
        findings = [(m.rule.id, "/".join(map(str, m.path))) for m in matches]
        unexpected = [
            (rule, path)
            for rule, path in findings
            if rule not in GENERATED_WARNINGS
            and not (
                name == "MediaPipeline"
                and rule == PIPELINE_STYLE_ERROR
                and path.startswith("Resources/Pipeline")
                and path.endswith("Configuration/RoleArn")
            )
        ]
        assert unexpected == [], name
        if name.startswith("Prod-"):  # the stacks holding the pools: no error of any kind
            assert [m for m in matches if m.rule.severity == "error"] == [], name
