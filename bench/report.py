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
        "Where the time goes inside the function process (medians of 9 runs on this machine): about "
        "40 ms from process start to importing the handler module (interpreter, awslambdaric), then "
        "botocore 115 ms and boto3 18 ms, which both handlers import because crhelper imports boto3 at "
        "module level, crhelper and our own modules 4 ms, and the clients: ours builds its one "
        "chime-sdk-media-pipelines client (51 ms: botocore's session set-up, the listing of its ~400 "
        "bundled service folders to check the name, the endpoint rules and the service model), the "
        "naive handler four (104 ms). The Delete call and the response PUT are the same for both. So "
        "the whole gap is crhelper's three polling clients, about 50 ms of about 300 ms: 0.83x at best. "
        "0.7x would need ours near 205 ms, less than the shared imports, the request and one botocore "
        "client together; dropping crhelper would not get there either (botocore without boto3 saves "
        "18 ms: about 0.77x). Building the client with botocore directly instead of through a boto3 "
        "Session was measured and changes nothing (48 ms against 49 ms), so it was not adopted. What "
        "would close it: only a handler that calls the API without botocore, which this product "
        "should not do."
    ),
    ("synth", "synth time"): (
        "Measured in process at N=100: declaring the pools takes about 1.0 s against the L1's 0.3 s "
        "(about 7 ms more per pool: the jsii round trips of a CustomResource, its TagManager, validation "
        "and attribute tokens, against one L1 object), and ours adds the import of more aws-cdk-lib "
        "modules and a fixed function, role, policy, log group and a local copy of the handler asset; "
        "app.synth() itself costs the same. The ratio moves between about 1.3x and 1.5x with machine "
        "load. What would close it: fewer jsii calls per pool (for example one validation callback "
        "per stack instead of one per pool)."
    ),
    ("synth", "template bytes per extra pool"): (
        "Options holding their defaults are already left out (WaitTimeoutSeconds and the three "
        "switches: 571 B per pool before). What remains beyond the native resource's properties: the "
        "ServiceToken (an Fn::GetAtt to the singleton function's 35-character logical id, about 90 B), "
        "ServiceTimeout (about 25 B, required), the DeletionPolicy/UpdateReplacePolicy pair (about "
        "67 B: CDK's CustomResource writes it even for DESTROY, CloudFormation's default) and an "
        "8-character hash in the logical id. Without the policy pair it would still be about 372 B "
        "(1.6x): ServiceToken plus ServiceTimeout alone take the budget. What would close it: a shorter "
        "logical id for the handler function, which would change the ServiceToken of every deployed "
        "pool (CloudFormation refuses that update), so it is only an option for a new major version."
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


def miss_notes(rows: list[Row]) -> list[str]:
    notes = []
    for row in rows:
        if row.met is not False:
            continue
        reason = next(
            (
                text
                for (case, start), text in MISS_NOTES.items()
                if row.case == case and row.measure.startswith(start)
            ),
            "No explanation recorded for this miss yet.",
        )
        notes.append(f"- **{row.case}: {row.measure}** ({row.ours} against target {row.target}). {reason}")
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
        "  stays off.",
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
        lines += ["## Missed targets and gaps", "", *notes, *skipped_lines, ""]
    return "\n".join(lines)
