// The AWS SDK for JavaScript v3 (@aws-sdk/client-chime-sdk-media-pipelines, pinned in package.json)
// against the emulator: the whole lifecycle, the SDK's paginator, and every error case as the SDK
// raises it. Run by tests/emulator/test_js_sdk.py with the pinned Node.js; the emulator's URL comes in
// EMULATOR_URL. Prints one JSON object: each case's outcome by name.
import * as sdk from "@aws-sdk/client-chime-sdk-media-pipelines";

const {
  ChimeSDKMediaPipelinesClient,
  CreateMediaPipelineKinesisVideoStreamPoolCommand,
  GetMediaPipelineKinesisVideoStreamPoolCommand,
  UpdateMediaPipelineKinesisVideoStreamPoolCommand,
  DeleteMediaPipelineKinesisVideoStreamPoolCommand,
  ListMediaPipelineKinesisVideoStreamPoolsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  ListTagsForResourceCommand,
  paginateListMediaPipelineKinesisVideoStreamPools,
} = sdk;

const endpoint = process.env.EMULATOR_URL;
const FULL_REGION = process.env.FULL_REGION;

function client(region = "us-east-1", extra = {}) {
  return new ChimeSDKMediaPipelinesClient({
    region,
    endpoint,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    maxAttempts: 1, // an error is seen as the service sent it, not retried away
    ...extra,
  });
}

async function arm(operation, kind) {
  const response = await fetch(`${endpoint}/_emulator/faults`, {
    method: "POST",
    body: JSON.stringify({ operation, kind }),
  });
  if (!response.ok) throw new Error(`arming ${kind} failed: ${response.status}`);
}

const home = client();
const results = {};

function describeDates(configuration) {
  return {
    created: configuration.CreatedTimestamp instanceof Date && !Number.isNaN(configuration.CreatedTimestamp.getTime()),
    updated: configuration.UpdatedTimestamp instanceof Date && !Number.isNaN(configuration.UpdatedTimestamp.getTime()),
    createdIso: configuration.CreatedTimestamp instanceof Date ? configuration.CreatedTimestamp.toISOString() : null,
  };
}

async function ok(name, action) {
  const output = await action();
  const { $metadata, ...rest } = output;
  results[name] = { ok: true, status: $metadata.httpStatusCode, output: rest };
  return output;
}

async function failing(name, action) {
  try {
    await action();
    results[name] = { ok: true };
  } catch (error) {
    results[name] = {
      ok: false,
      name: error.name,
      status: error.$metadata?.httpStatusCode ?? null,
      fault: error.$fault ?? null,
      message: error.message,
      modeled: Object.values(sdk).some((value) => typeof value === "function" && value.name === error.name && error instanceof value),
      serviceException: error instanceof sdk.ChimeSDKMediaPipelinesServiceException,
    };
  }
}

const stream = (region = "us-east-1") => ({ Region: region, DataRetentionInHours: 24 });
const create = (c, PoolName, extra = {}) =>
  c.send(new CreateMediaPipelineKinesisVideoStreamPoolCommand({ PoolName, StreamConfiguration: stream(), ...extra }));

// ----- the whole lifecycle -----
const created = await ok("create", () =>
  create(home, "js-pool", { Tags: [{ Key: "team", Value: "media" }], ClientRequestToken: "js-token-1" }),
);
results.create.dates = describeDates(created.KinesisVideoStreamPoolConfiguration);
await ok("create-retried", () =>
  create(home, "js-pool", { Tags: [{ Key: "team", Value: "media" }], ClientRequestToken: "js-token-1" }),
);
const arn = created.KinesisVideoStreamPoolConfiguration.PoolArn;
const got = await ok("get", () => home.send(new GetMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: "js-pool" })));
results.get.dates = describeDates(got.KinesisVideoStreamPoolConfiguration);
await ok("update", () =>
  home.send(new UpdateMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: arn, StreamConfiguration: { DataRetentionInHours: 48 } })),
);
await ok("tag", () => home.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: "env", Value: "test" }] })));
await ok("untag", () => home.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ["team"] })));
await ok("list-tags", () => home.send(new ListTagsForResourceCommand({ ResourceARN: arn })));

// ----- pagination: the SDK's own paginator, two pools a page -----
for (let n = 1; n <= 4; n++) await create(home, `js-page-${n}`);
const pages = [];
for await (const page of paginateListMediaPipelineKinesisVideoStreamPools({ client: home, pageSize: 2 }, {})) {
  pages.push({ names: page.KinesisVideoStreamPools.map((pool) => pool.PoolName), hasNext: Boolean(page.NextToken) });
}
results.paginator = { ok: true, pages };

// ----- every error, as the SDK raises it -----
await failing("not-found", () => home.send(new GetMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: "nope" })));
await failing("name-taken", () => create(home, "js-pool"));
await failing("bad-name", () => create(home, "bad name!"));
await failing("bad-token", () => create(home, "tokened", { ClientRequestToken: "a b" }));
await failing("unknown-region", () =>
  home.send(new CreateMediaPipelineKinesisVideoStreamPoolCommand({ PoolName: "martian", StreamConfiguration: stream("mars-central-1") })),
);
await failing("reserved-tag", () => create(home, "tagged", { Tags: [{ Key: "aws:x", Value: "1" }] }));
// The SDK does not validate input itself: the service's minimum (1) answers.
await failing("retention-0", () =>
  home.send(new UpdateMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: arn, StreamConfiguration: { DataRetentionInHours: 0 } })),
);
await failing("other-region-arn", () =>
  client("us-west-2").send(new GetMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: arn })),
);
await failing("bad-next-token", () => home.send(new ListMediaPipelineKinesisVideoStreamPoolsCommand({ NextToken: "garbage" })));
await failing("quota", () =>
  client(FULL_REGION).send(
    new CreateMediaPipelineKinesisVideoStreamPoolCommand({ PoolName: "one-too-many", StreamConfiguration: stream(FULL_REGION) }),
  ),
);
await failing("busy", () =>
  home.send(new UpdateMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: "js-held", StreamConfiguration: { DataRetentionInHours: 2 } })),
);
await ok("delete-deleting", () => home.send(new DeleteMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: "js-held" })));
await arm("ListMediaPipelineKinesisVideoStreamPools", "throttle");
await failing("throttled", () => home.send(new ListMediaPipelineKinesisVideoStreamPoolsCommand({})));
await arm("GetMediaPipelineKinesisVideoStreamPool", "unavailable");
await failing("unavailable", () => home.send(new GetMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: arn })));
await arm("DeleteMediaPipelineKinesisVideoStreamPool", "service_failure");
await failing("service-failure", () => home.send(new DeleteMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: arn })));
await failing("forbidden", () =>
  client("us-east-1", { credentials: { accessKeyId: "denied", secretAccessKey: "testing" } }).send(
    new ListMediaPipelineKinesisVideoStreamPoolsCommand({}),
  ),
);
// No signature at all: a signer that leaves the request as it is.
await failing("unsigned", () =>
  client("us-east-1", { signer: { sign: async (request) => request } }).send(new ListMediaPipelineKinesisVideoStreamPoolsCommand({})),
);
await failing("unknown-signing-region", () => client("mars-central-1").send(new ListMediaPipelineKinesisVideoStreamPoolsCommand({})));

// ----- the end of the lifecycle -----
await ok("delete", () => home.send(new DeleteMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: arn })));
await failing("gone", () => home.send(new GetMediaPipelineKinesisVideoStreamPoolCommand({ Identifier: arn })));

process.stdout.write(JSON.stringify(results));
