// The cdklabs KinesisVideoStreamPool (npm cdk-amazon-chime-resources) in one stack of N pools, for
// the synth-scale benchmark. Usage: node cdklabs_app.js <pools> <outdir>
'use strict';
const cdk = require('aws-cdk-lib');
const { KinesisVideoStreamPool } = require('cdk-amazon-chime-resources');

const [pools, outdir] = [Number(process.argv[2]), process.argv[3]];
const app = new cdk.App({ outdir });
const stack = new cdk.Stack(app, 'BenchStack');
for (let i = 0; i < pools; i += 1) {
  new KinesisVideoStreamPool(stack, `Pool${i}`, {
    poolName: `bench-pool-${i}`,
    streamConfiguration: { region: 'us-east-1', dataRetentionInHours: 24 },
  });
}
app.synth();
