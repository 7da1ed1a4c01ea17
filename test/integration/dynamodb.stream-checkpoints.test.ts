import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbCheckpoints } from '../../src/adapters/dynamodb/dynamodb.stream-checkpoints.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { checkpointsContract } from '../contract/checkpoints.contract.js';

// The shard Checkpoints contract on DynamoDB Local, in a views table as production keeps them
// (the Streams poller as 'customer360', the Kinesis consumer as 'kinesis-ingest'). Every test of
// the contract uses its own stream names, so one table serves the file.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `checkpoints-${randomUUID()}`;

beforeAll(() => ensureTables(client, { views: tableName }));
afterAll(() => client.destroy());

checkpointsContract('DynamoDB Local', { durable: true, namedConsumers: true }, () => ({
  checkpoints: new DynamoDbCheckpoints(client, tableName),
  reopen: () => new DynamoDbCheckpoints(client, tableName),
  otherConsumer: () => new DynamoDbCheckpoints(client, tableName, 'kinesis-ingest'),
}));
