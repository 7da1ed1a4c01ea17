import { Stack } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { afterAll, expect, it } from 'vitest';
import { loadAccounts } from '../../src/infrastructure/cdk/accounts.js';
import { buildCdkApp } from '../../src/infrastructure/cdk/app.js';
import { WorkloadStage } from '../../src/infrastructure/cdk/stages.js';
import { removeTempDirs, stubAssets, tempDir } from '../support/cdk.js';

afterAll(removeTempDirs);

// The cdk-nag gate reaches every stage: a deliberately bad resource (an unencrypted queue with no
// DLQ, a bucket without access logs or TLS enforcement) inside a workload stage of the pipeline and
// inside a foundation stage fails the synth, naming both.

it('a bad resource in any stage fails the synth with the AwsSolutions findings', () => {
  process.env.CDK_DISABLE_CLI_TELEMETRY = 'true';
  const built = buildCdkApp({
    accounts: loadAccounts(),
    assetsDir: stubAssets(),
    outdir: tempDir('c360-cdk-bad-'),
    customize: (stage) => {
      if (stage instanceof WorkloadStage && stage.stageName === 'dev') new Queue(stage.service, 'BadQueue');
      if (stage.stageName === 'Security') new Bucket(new Stack(stage, 'Bad'), 'BadBucket');
    },
  });
  let message = '';
  try {
    built.app.synth();
  } catch (e) {
    message = (e as Error).message;
  }
  const report = message || 'synth passed';
  // the runs npm run synth reports: the failing ones are recorded too
  expect(built.nag.runs.some((r) => !r.success && r.violations > 0)).toBe(true);
  expect(report).toMatch(/ERROR .* \(AwsSolutions\)/);
  expect(report).toMatch(/AwsSolutions-SQS3[\s\S]*Pipeline\/dev\/Service\/BadQueue|Pipeline\/dev\/Service\/BadQueue[\s\S]*AwsSolutions-SQS3/);
  expect(report).toMatch(/AwsSolutions-S10[\s\S]*Security\/Bad\/BadBucket|Security\/Bad\/BadBucket[\s\S]*AwsSolutions-S10/);
}, 180_000);
