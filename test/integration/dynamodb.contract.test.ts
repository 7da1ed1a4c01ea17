import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbEventStore } from '../../src/adapters/dynamodb/dynamodb.event-store.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { append } from '../support/builders.js';
import { eventStoreContract } from '../contract/event-store.contract.js';

// The shared EventStore contract, unchanged, on DynamoDB Local. The table is this file's own;
// the contract gives every test its own tenant.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `events-${randomUUID()}`;
const store = () => new DynamoDbEventStore(client, { tableName });

beforeAll(() => ensureTables(client, { events: tableName }));
afterAll(() => client.destroy());

eventStoreContract('DynamoDB Local', store);

describe('DynamoDbEventStore: what the contract cannot see', () => {
  it('an expected version ahead of the stream conflicts and writes no gap, whichever process commits', async () => {
    const tenant = `t-${randomUUID()}`;
    const a = randomUUID();
    await store().commit({ tenant, streams: [append(tenant, a, 0, 2)], claims: [] });
    // a store that never saw the stream cannot take the plain put for version 6: it must check 5
    for (const writer of [store(), store()]) {
      await expect(writer.commit({ tenant, streams: [append(tenant, a, 5, 1)], claims: [] })).resolves.toEqual({
        status: 'conflict',
        current: { streams: { [a]: 2 }, claims: {} },
      });
      await expect(writer.commit({ tenant, streams: [append(tenant, a, 5, 3)], claims: [] })).resolves.toMatchObject({ status: 'conflict' });
    }
    expect((await store().readStream(tenant, a)).map((e) => e.version)).toEqual([1, 2]);
  });

  it('ensureTables is idempotent and leaves the index, the NEW_IMAGE stream and TTL in place', async () => {
    await ensureTables(client, { events: tableName });
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.Projection?.ProjectionType])).toEqual([['by-commit', 'ALL']]);
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_IMAGE' });
    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
  });

  it('refuses a cursor that is not one of its positions', async () => {
    await expect(store().readAll('t', { after: '0000000000000042', limit: 5 })).rejects.toThrow(/not a position/);
  });
});
