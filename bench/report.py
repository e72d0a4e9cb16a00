"""Writes ``bench/README.md``: how the numbers were taken, the one table, the chart, and the misses."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path

from bench.config import SCALE_CHART
from bench.results import Row, markdown_table

# Why a target can be missed and what would close it, keyed by (case, start of the measure). Only
# the notes of rows that missed in this run are written out.
MISS_NOTES: dict[tuple[str, str], str] = {
    ("cold start", "process start"): (
        "The target is parity with the naive crhelper handler: tens of milliseconds once per "
        "deployment matter less than a whole stack's wall time (the scale case). Where the time goes "
        "inside the function process (medians of 9 runs on this machine): about 40 ms from process "
        "start to importing the handler module (interpreter, awslambdaric), then botocore 115 ms and "
        "boto3 18 ms, which both handlers import because crhelper imports boto3 at module level, "
        "crhelper and our own modules 4 ms, and the clients: ours builds its one "
        "chime-sdk-media-pipelines client (51 ms), the naive handler four (104 ms). The Delete call "
        "and the response PUT are the same for both. A run that misses is load on the shared machine: "
        "see the spread row and how many back-to-back pairs ours answered first."
    ),
    ("synth", "synth time"): (
        "Measured in process at N=100 (medians of 3 alternating runs at load average 7 to 10, "
        "interpreter start and the jsii kernel's start not counted, which the timed process adds to "
        "both): imports 0.63 s against the L1's 0.38 s (aws_lambda, aws_iam, aws_logs and aws_events "
        "for the handler and the pool's API: 0.26 s); declaring the 100 pools 1.12 s against 0.06 s; "
        "app.synth() the same (2.08 s against 2.14 s), although it calls back into Python 3 times per "
        "pool (the merged-tags validation, the tags token twice). Declaring is where the gap is: 27 "
        "jsii messages per pool against the L1's 1 (32 before: the default wait budget is no longer "
        "checked through Duration, the service timeout margin and the handler's ARN are read once). "
        "They pay for the CustomResource and the Resource it lives in, its TagManager, the tags "
        "token and the tag validation (two Python objects the jsii kernel must know), the props' "
        "token checks and Duration conversions, the stack's Region, the handler lookup and leaving "
        "out the default removal policy; the first pool adds the handler itself (function, role, log "
        "group, the asset copy: 0.2 s). What would close it: fewer jsii objects per pool, such as one "
        "stack-level validation of every pool's tags instead of one per pool. Timed as the bench "
        "times it (a fresh process each, 5 alternating pairs right after a run whose first two "
        "pairs of ours hit load bursts, 15.4 s and 16.1 s against a third of 7.1 s): 4.63 s against "
        "2.84 s (medians), 1.63x, pair ratios 1.33x to 1.72x; about 0.6 s of that gap lies outside "
        "the in-process timing above (interpreter start and exit, the jsii kernel) and is not "
        "broken down here."
    ),
    ("synth", "template bytes per extra pool"): (
        "Per pool, against the native resource's 233 B: the ServiceToken (88 B, an Fn::GetAtt of the "
        "handler function's logical id KvsPoolFn, fixed and short because every pool pays for it), "
        "ServiceTimeout (29 B: CloudFormation's wait for the handler, wait timeout + 2 minutes "
        "instead of its default hour) and the 8-character hash in the pool's logical id (the custom "
        "resource is the pool construct's child), less 12 B for the shorter type name. Options "
        "holding their defaults are left out (WaitTimeoutSeconds, the three switches and, with "
        "RemovalPolicy.DESTROY, the DeletionPolicy/UpdateReplacePolicy pair that is CloudFormation's "
        "default: 571 B per pool before the options, 439 B before the policies and the short id)."
    ),
    ("scale", "deploy wall time"): (
        "The rate limits alone put the target out of reach: 50 Creates at 5 per second after a burst "
        "of 5 take 9 s before the last pool starts its 5 s, a floor of 14 s (the row above), already "
        "2.1x a 6.6 s deploy of one pool; every pool then needs a Get that sees it ACTIVE, at 10 per "
        "second shared with the pools still polling. On top of that, the 50 cold starts share this "
        "machine's 2 cores (in Lambda each environment has its own): the row 'deploy start to the "
        "first pool API call' shows how long the first of them took to make its first call, against "
        "N=1. Every pool succeeds, and the update and destroy, which reuse the warm environments, "
        "end within a few seconds of the floor. What would close it: a higher request rate (the "
        "quotas are assumptions: docs/emulator.md), or a deploy of one pool that takes longer."
    ),
    ("scale", "update wall time"): (
        "Same floor as the deploy (14 s at N=50: 50 Updates at 5 per second after a burst of 5, then "
        "5 s), with warm environments: what remains above the floor is the Gets that see each pool "
        "ACTIVE again, shared at 10 per second."
    ),
    ("scale", "destroy wall time"): (
        "Same floor as the deploy (14 s at N=50: 50 Deletes at 5 per second after a burst of 5, then "
        "5 s until each pool is gone), with warm environments."
    ),
    ("api calls", "retention update"): (
        "The update takes its difference from OldResourceProperties and calls Update, then polls Get "
        "until ACTIVE; more than one Get means the emulator kept the pool UPDATING past the first poll "
        "(0.25 s), and more than one Update means the pool was still busy (Conflict, retried)."
    ),
}


# Rows whose note is written even when the target is met: what each pool's bytes pay for.
ALWAYS_NOTED = {("synth", "template bytes per extra pool")}


def miss_notes(rows: list[Row]) -> list[str]:
    notes = []
    for row in rows:
        always = (row.case, row.measure) in ALWAYS_NOTED and row.peer == "native L1"
        if row.met is not False and not always:
            continue
        reason = next(
            (
                text
                for (case, start), text in MISS_NOTES.items()
                if row.case == case and row.measure.startswith(start)
            ),
            "No explanation recorded for this miss yet.",
        )
        verdict = "" if row.met is False else f", {row.verdict}"
        notes.append(
            f"- **{row.case}: {row.measure}** ({row.ours} against target {row.target}{verdict}). {reason}"
        )
    return notes


def render(rows: list[Row], chart: Path | None, skipped: dict[str, str], total_seconds: float) -> str:
    met = sum(row.met is True for row in rows)
    targets = sum(row.met is not None for row in rows)
    lines = [
        "# Benchmarks: KinesisVideoStreamPool against the alternatives",
        "",
        "Regenerated by `make bench` (`.venv/bin/python -m bench` from the repository root);",
        "do not edit by hand.",
        f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} Python "
        f"{platform.python_version()}, {total_seconds / 60:.1f} minutes. Targets met: {met} of {targets}.",
        "",
        "The machine is shared and noisy, so times are medians of repeated runs and are compared as ratios",
        "against a peer measured in the same run, alternating between the two so load bursts hit both.",
        "",
        "- **cold start**: a new `python -m awslambdaric` process per run (the local Lambda in",
        "  `local/lambda_runtime.py`), timed from starting it to the arrival of its CloudFormation",
        "  response to a Delete of a pool the emulator does not have (one API call each; a Create would",
        "  add our wait for ACTIVE). Peer: `bench/peers/naive_handler` (module-level `CfnResource()`",
        "  and a boto3 client), same settings but a 120 s timeout so crhelper's 120 s pre-Delete sleep",
        "  stays off. Target: never slower (median ratio <= 1.0x); the spread row gives min / median /",
        "  max of each and of the ratio of each run to the peer's run right after it.",
        "- **wait**: the emulator turns the pool ACTIVE D seconds after Create; overhead is the time from",
        "  then to our SUCCESS response (warm process). Beside it, the floors of the polling alternatives:",
        "  crhelper polls on an EventBridge `rate(1 minute)` rule; the CDK Provider framework's waiter asks",
        "  isComplete right away, then every 5 s (`queryInterval` default). Floors count no service latency.",
        "- **api calls**: the emulator's request log for each lifecycle step of one pool; the minimum is",
        "  what the lifecycle contract allows (every step returns the full Data, which needs one Get).",
        "- **synth**: one stack with N pools per variant (native L1",
        "  `CfnMediaPipelineKinesisVideoStreamPool`,",
        "  `AwsCustomResource` with `fromSdkCalls`, the cdklabs `KinesisVideoStreamPool` from",
        "  `cdk-amazon-chime-resources` via a Node.js 22 app), each synth a fresh process timed to its exit.",
        "  IAM characters are the resolved inline policies of the handler's role, whitespace removed;",
        "  the crossing of IAM's 10,240-character limit is extrapolated along the measured line.",
        "- **footprint**: the synthesized handler asset zipped, and the function process's peak resident",
        "  memory (`VmHWM`) after one create / update / delete lifecycle.",
        "- **scale**: one stack of N pools (ours synthesized at N), deployed, updated (every pool's",
        "  retention) and destroyed through the offline CloudFormation driver, which plays independent",
        "  resources in parallel, with the local Lambda running up to N execution environments (cold",
        "  starts included) and the emulator's API rate limits on (5 requests/s per mutating operation,",
        "  10 per Get and List: assumptions, docs/emulator.md). A pool settles 5 s after each call",
        "  (ACTIVE after Create and Update, gone after Delete). Calls per pool count every pool API",
        "  request, throttled ones included; each throttled call was retried. Peer: the naive crhelper",
        "  handler as the function's code (its client with botocore's default retry settings), deploy only.",
        "",
        "## Results",
        "",
        markdown_table(rows),
        "",
    ]
    if chart is not None:
        lines += ["## Wait latency", "", f"![Wait latency against D]({chart.name})", ""]
        lines += ["## Scale", "", f"![Wall time against N]({SCALE_CHART.name})", ""]
    notes = miss_notes(rows)
    skipped_lines = [f"- {name}: {reason}" for name, reason in skipped.items()]
    if notes or skipped_lines:
        lines += ["## Missed targets and gaps; what each pool pays for", "", *notes, *skipped_lines, ""]
    return "\n".join(lines)
