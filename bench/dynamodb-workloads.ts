import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventStore, EventType } from '@castore/core';
import {
  DynamoDBSingleTableEventStorageAdapter,
  EVENT_TABLE_EVENT_STORE_ID_KEY,
  EVENT_TABLE_INITIAL_EVENT_INDEX_NAME,
  EVENT_TABLE_PK,
  EVENT_TABLE_SK,
  EVENT_TABLE_TIMESTAMP_KEY,
} from '@castore/event-storage-adapter-dynamodb';
import type { StoredEvent } from '../src/application/ports/event-store.port.js';
import type { DynamoDbEventStore } from '../src/adapters/dynamodb/dynamodb.event-store.js';

// The appends the DynamoDB bench compares: ours (plain, and ingest-shaped with an idempotency
// record and a claim) and Castore's DynamoDB adapter, all writing the same event content.

/** Appends the next event of `stream`; returns when it is durable. */
export type Appender = { readonly name: string; append(stream: string, version: number): Promise<void> };

const payload = (stream: string, version: number) => ({
  eventId: randomUUID(),
  type: 'TraitsUpdated',
  v: 1,
  observedAt: 1_767_225_600_000 + version,
  recordedAt: Date.now(),
  source: 'web-sdk',
  sourcePriority: 10,
  channel: 'web' as const,
  messageId: `msg-${stream}-${version}`,
  identifierKeys: [Buffer.alloc(32, version % 256).toString('base64url')],
  data: { names: ['plan', 'firstName'], context: 'identify' },
  // the size of a real encrypted personal section (IV, ciphertext, tag)
  pii: `v1.${randomUUID()}.${Buffer.alloc(96, 7).toString('base64url')}.${Buffer.alloc(16, 3).toString('base64url')}`,
});

const storedEvent = (tenant: string, streamId: string, version: number): StoredEvent => ({ tenant, streamId, version, ...payload(streamId, version) });

const mustCommit = (status: string, what: string) => {
  if (status !== 'committed') throw new Error(`bench ${what} was not committed: ${status}`);
};

export const oursPlain = (store: DynamoDbEventStore, tenant: string): Appender => ({
  name: 'ours, plain append (conditional PutItem)',
  append: async (stream, version) => {
    const r = await store.commit({
      tenant,
      streams: [{ streamId: stream, expectedVersion: version - 1, events: [storedEvent(tenant, stream, version)] }],
      claims: [],
    });
    mustCommit(r.status, 'append');
  },
});

/** What ingest commits: the event, its idempotency record, and on a first event one identifier claim. */
export const oursIngestShaped = (store: DynamoDbEventStore, tenant: string): Appender => ({
  name: 'ours, with idempotency record (+ claim on first event) (TransactWriteItems)',
  append: async (stream, version) => {
    const event = storedEvent(tenant, stream, version);
    const r = await store.commit({
      tenant,
      idempotency: { key: event.messageId!, payloadHash: 'bench', expiresAt: Date.now() + 7 * 86_400_000 },
      streams: [{ streamId: stream, expectedVersion: version - 1, events: [event] }],
      claims: version === 1 ? [{ op: 'claim', key: `claim-${stream}`, owner: stream }] : [],
    });
    mustCommit(r.status, 'ingest-shaped append');
  },
});

/** Castore's table, exactly as its README specifies it. */
export const createCastoreTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: EVENT_TABLE_PK, AttributeType: 'S' },
        { AttributeName: EVENT_TABLE_SK, AttributeType: 'N' },
        { AttributeName: EVENT_TABLE_EVENT_STORE_ID_KEY, AttributeType: 'S' },
        { AttributeName: EVENT_TABLE_TIMESTAMP_KEY, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: EVENT_TABLE_PK, KeyType: 'HASH' },
        { AttributeName: EVENT_TABLE_SK, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: EVENT_TABLE_INITIAL_EVENT_INDEX_NAME,
          KeySchema: [
            { AttributeName: EVENT_TABLE_EVENT_STORE_ID_KEY, KeyType: 'HASH' },
            { AttributeName: EVENT_TABLE_TIMESTAMP_KEY, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    }),
  );
  for (let i = 0; i < 100; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Castore table ${tableName} never became ACTIVE`);
};

export const castore = (client: DynamoDBClient, tableName: string): Appender => {
  const traitsUpdated = new EventType<'TraitsUpdated', Record<string, unknown>>({ type: 'TraitsUpdated' });
  const store = new EventStore({
    eventStoreId: 'CUSTOMERS',
    eventTypes: [traitsUpdated],
    reducer: (_aggregate: unknown, event: { aggregateId: string; version: number }) => ({ aggregateId: event.aggregateId, version: event.version }),
    eventStorageAdapter: new DynamoDBSingleTableEventStorageAdapter({ tableName, dynamoDBClient: client }),
  });
  return {
    name: 'Castore pushEvent (DynamoDBSingleTableEventStorageAdapter)',
    append: async (stream, version) => {
      const { type: _, ...rest } = payload(stream, version);
      await store.pushEvent({ aggregateId: stream, version, type: 'TraitsUpdated', timestamp: new Date().toISOString(), payload: rest });
    },
  };
};

/** Adds ReturnConsumedCapacity=TOTAL to every request of a client and sums what DynamoDB reports. */
export const meterCapacity = (client: DynamoDBClient): { units: number } => {
  const meter = { units: 0 };
  type Capacity = { CapacityUnits?: number };
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity ??= 'TOTAL';
      const out = await next(args);
      const consumed = (out.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) meter.units += c.CapacityUnits ?? 0;
      return out;
    },
    { step: 'initialize', name: 'meterCapacity' },
  );
  return meter;
};
