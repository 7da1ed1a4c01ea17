import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../src/infrastructure/local/dynamodb-local.js';
import { startKinesalite } from '../../src/infrastructure/local/kinesalite.js';
import { startFauxqs } from '../../src/infrastructure/local/fauxqs.js';

// One DynamoDB Local for the whole run, on a free loopback port, stopped by pid at the end (and
// killed with this process if the run crashes). One kinesalite too, in this process.

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    kinesisEndpoint: string;
    /** fauxqs: SNS and SQS on one endpoint */
    snsEndpoint: string;
    /** fauxqs's S3, on the same endpoint (path-style addressing: forcePathStyle) */
    s3Endpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const kinesis = await startKinesalite();
  const dynamo = await startDynamoDbLocal().catch(async (e: unknown) => {
    await kinesis.stop();
    throw e;
  });
  project.provide('dynamoEndpoint', dynamo.endpoint);
  project.provide('kinesisEndpoint', kinesis.endpoint);
  const fauxqs = await startFauxqs().catch(async (e: unknown) => {
    await Promise.all([dynamo.stop(), kinesis.stop()]);
    throw e;
  });
  project.provide('snsEndpoint', fauxqs.endpoint);
  project.provide('s3Endpoint', fauxqs.endpoint);
  console.log(`DynamoDB Local (pid ${dynamo.pid}) answering on ${dynamo.endpoint} after ${Date.now() - started} ms; kinesalite on ${kinesis.endpoint}`);
  return async () => {
    await Promise.all([dynamo.stop(), kinesis.stop(), fauxqs.stop()]);
  };
}
