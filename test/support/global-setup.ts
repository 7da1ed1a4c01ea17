import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../src/infrastructure/local/dynamodb-local.js';

// One DynamoDB Local for the whole run, on a free loopback port, stopped by pid at the end (and
// killed with this process if the run crashes).

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const dynamo = await startDynamoDbLocal();
  project.provide('dynamoEndpoint', dynamo.endpoint);
  console.log(`DynamoDB Local (pid ${dynamo.pid}) answering on ${dynamo.endpoint} after ${Date.now() - started} ms`);
  return async () => {
    await dynamo.stop();
  };
}
