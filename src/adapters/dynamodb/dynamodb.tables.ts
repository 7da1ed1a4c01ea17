import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { BY_COMMIT_INDEX } from './dynamodb.event-item.js';
import { OUTBOX_DUE_INDEX } from './dynamodb.outbox.js';
import { viewsTableDefinition } from './dynamodb.views-table.js';

// Every table the DynamoDB adapters use, and an idempotent way to create them (tests, local runs,
// first deployment). Production tables may come from IaC instead; these definitions are the spec.

/** keys and quarantine are optional: a deployment may keep them elsewhere (memory, another store) */
export type TableNames = {
  readonly events: string;
  readonly views: string;
  readonly keys?: string | undefined;
  readonly quarantine?: string | undefined;
  readonly audit?: string | undefined;
  readonly ledger?: string | undefined;
  readonly outbox?: string | undefined;
};

export type TableDefinition = {
  readonly create: (tableName: string) => CreateTableCommandInput;
  /** attribute holding an epoch-seconds expiry, for DynamoDB TTL */
  readonly ttlAttribute?: string | undefined;
};

/** Events, claims and idempotency records: see dynamodb.event-item.ts for the item shapes. */
export const eventsTableDefinition: TableDefinition = {
  create: (tableName) => ({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'N' },
      { AttributeName: 'gpk', AttributeType: 'S' },
      { AttributeName: 'gsk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    // only events carry gpk/gsk, so claims and idempotency records stay out of the index
    GlobalSecondaryIndexes: [
      {
        IndexName: BY_COMMIT_INDEX,
        KeySchema: [
          { AttributeName: 'gpk', KeyType: 'HASH' },
          { AttributeName: 'gsk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
    // the projector needs the committed item, never the previous one (events are never updated)
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  }),
  ttlAttribute: 'ttl',
};

const stringKeyTable = (tableName: string, sk: boolean): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, ...(sk ? [{ AttributeName: 'sk', AttributeType: 'S' } as const] : [])],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, ...(sk ? [{ AttributeName: 'sk', KeyType: 'RANGE' } as const] : [])],
});

/** Data keys, one item per customer: see dynamodb.key-store.ts. */
export const keysTableDefinition: TableDefinition = { create: (tableName) => stringKeyTable(tableName, false) };

/** Quarantined payloads, pk = tenant, sk = entry id: see dynamodb.quarantine.ts. */
export const quarantineTableDefinition: TableDefinition = { create: (tableName) => stringKeyTable(tableName, true), ttlAttribute: 'ttl' };

/** The audit log, kept for good: pk = tenant or tenant + customer id, sk = entry id; see dynamodb.audit-log.ts. */
export const auditTableDefinition: TableDefinition = { create: (tableName) => stringKeyTable(tableName, true) };

/** The erasure ledger, kept for good: pk = tenant, sk = receipt or customer lookup; see dynamodb.erasure-ledger.ts. */
export const ledgerTableDefinition: TableDefinition = { create: (tableName) => stringKeyTable(tableName, true) };

/** The engagement outbox: pk = O#<tenant>, sk = decision id, and a sparse index of what is due; see dynamodb.outbox.ts. */
export const outboxTableDefinition: TableDefinition = {
  create: (tableName) => {
    const base = stringKeyTable(tableName, true);
    return {
      ...base,
      AttributeDefinitions: [
        ...(base.AttributeDefinitions ?? []),
        { AttributeName: 'due', AttributeType: 'S' },
        { AttributeName: 'dueAt', AttributeType: 'N' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: OUTBOX_DUE_INDEX,
          KeySchema: [
            { AttributeName: 'due', KeyType: 'HASH' },
            { AttributeName: 'dueAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    };
  },
  ttlAttribute: 'ttl',
};

export const tableDefinitions: { readonly [K in keyof TableNames]-?: TableDefinition } = {
  events: eventsTableDefinition,
  views: { create: viewsTableDefinition },
  keys: keysTableDefinition,
  quarantine: quarantineTableDefinition,
  audit: auditTableDefinition,
  ledger: ledgerTableDefinition,
  outbox: outboxTableDefinition,
};

const waitActive = async (client: DynamoDBClient, tableName: string, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE' && (Table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE')) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} is still ${Table?.TableStatus} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

const enableTtl = async (client: DynamoDBClient, tableName: string, attribute: string): Promise<void> => {
  try {
    const { TimeToLiveDescription: ttl } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    if (ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING') return;
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }));
  } catch (e) {
    // an emulator without TTL still works: reads check expiry themselves, TTL only frees space
    if (!(e instanceof Error) || !/UnknownOperation|not supported|ValidationException/i.test(`${e.name} ${e.message}`)) throw e;
  }
};

/** Creates each named table that is missing (or being created by someone else), then waits until it is ACTIVE. */
export const ensureTables = async (client: DynamoDBClient, names: Partial<TableNames>, timeoutMs = 60_000): Promise<void> => {
  await Promise.all(
    (Object.keys(names) as (keyof TableNames)[]).map(async (kind) => {
      const tableName = names[kind];
      if (tableName === undefined) return;
      const definition = tableDefinitions[kind];
      try {
        await client.send(new CreateTableCommand(definition.create(tableName)));
      } catch (e) {
        if (!(e instanceof ResourceInUseException)) throw e;
      }
      await waitActive(client, tableName, timeoutMs);
      if (definition.ttlAttribute) await enableTtl(client, tableName, definition.ttlAttribute);
    }),
  );
};
