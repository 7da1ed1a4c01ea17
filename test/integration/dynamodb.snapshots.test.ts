import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbEventStore } from '../../src/adapters/dynamodb/dynamodb.event-store.js';
import { snapshotPk } from '../../src/adapters/dynamodb/dynamodb.event-item.js';
import { DynamoDbSnapshotStore } from '../../src/adapters/dynamodb/dynamodb.snapshot-store.js';
import { DynamoDbStreamsProjector } from '../../src/adapters/dynamodb/dynamodb.streams-projector.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { CustomerRepository } from '../../src/application/customers/customer.repository.js';
import { fold } from '../../src/domain/customer/customer.state.js';
import { snapshotStoreContract } from '../contract/snapshot-store.contract.js';
import { commitHistory, longHistory } from '../support/customer-history.js';

// Snapshots share the event table with events, claims and idempotency records: besides the shared
// contract, nothing that reads events (readStream, readAll, the Streams projector) may see them.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `events-${randomUUID()}`;
const events = () => new DynamoDbEventStore(client, { tableName });
const snapshots = () => new DynamoDbSnapshotStore(client, { tableName });

beforeAll(() => ensureTables(client, { events: tableName }));
afterAll(() => client.destroy());

snapshotStoreContract('DynamoDB Local', snapshots);

describe('DynamoDB snapshots beside the events', () => {
  it('the gets of one turn (every customer load asks first) are one BatchGetItem', async () => {
    const own = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
    const sent: string[] = [];
    own.middlewareStack.add((next, context) => (args) => (sent.push(context.commandName ?? '?'), next(args)), { step: 'initialize', name: 'record' });
    try {
      const tenant = `t-${randomUUID()}`;
      const ids = Array.from({ length: 40 }, () => randomUUID());
      const writer = snapshots();
      for (const [i, id] of ids.entries()) if (i % 2 === 0) await writer.put(tenant, id, i + 1, { at: i });
      const got = await Promise.all(ids.map((id) => new DynamoDbSnapshotStore(own, { tableName }).get(tenant, id)));
      expect(got).toEqual(ids.map((_, i) => (i % 2 === 0 ? { version: i + 1, snapshot: { at: i } } : undefined)));
      expect(sent).toEqual(ids.map(() => 'BatchGetItemCommand'));
      sent.length = 0;
      const one = new DynamoDbSnapshotStore(own, { tableName });
      await expect(Promise.all(ids.map((id) => one.get(tenant, id)))).resolves.toEqual(got);
      expect(sent).toEqual(['BatchGetItemCommand']);
    } finally {
      own.destroy();
    }
  });

  it('loads a customer through its snapshot into the full fold, reading only the tail', async () => {
    const tenant = `t-${randomUUID()}`;
    const id = randomUUID();
    const all = longHistory(id, 130);
    const store = events();
    await commitHistory(store, tenant, all.slice(0, 120));
    await new CustomerRepository(store, { snapshots: snapshots() }).load(tenant, id);
    await expect(snapshots().get(tenant, id)).resolves.toMatchObject({ version: 120 });

    await commitHistory(store, tenant, all.slice(120));
    const cold = events();
    const read = vi.spyOn(cold, 'readStream');
    const state = await new CustomerRepository(cold, { snapshots: snapshots() }).load(tenant, id);
    expect(read.mock.calls).toEqual([[tenant, id, 120]]);
    expect(state).toEqual(fold(id, all));
  });

  it('keeps snapshot items out of readStream, readAll and the Streams projector', async () => {
    const tenant = `t-${randomUUID()}`;
    const id = randomUUID();
    const store = events();
    await commitHistory(store, tenant, longHistory(id, 3));
    await snapshots().put(tenant, id, 3, { schema: 1, note: 'not an event' });

    expect((await store.readStream(tenant, id)).map((e) => e.version)).toEqual([1, 2, 3]);
    expect((await store.readAll(tenant, { limit: 100 })).events).toHaveLength(3);

    // the item exactly as the table holds it, delivered as a stream record's NewImage
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: snapshotPk(tenant, id) }, sk: { N: '0' } }, ConsistentRead: true }),
    );
    expect(Item?.kind).toEqual({ S: 'snapshot' });
    // neither the projector nor the view store may be touched: an event item would reach them
    const projector = new DynamoDbStreamsProjector({} as never, {} as never);
    const result = await projector.handle(
      ['INSERT', 'MODIFY'].map((eventName, i) => ({ eventName, eventID: `r-${i}`, dynamodb: { NewImage: Item, SequenceNumber: String(i + 1) } })),
    );
    expect(result).toMatchObject({ projected: 0, ignored: 2, rejected: [], batchItemFailures: [] });
  });
});
