import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  TransactWriteItemsCommand,
  type AttributeValue,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';

// The ceiling for /v1/batch on DynamoDB: the writes of 25 ingest calls in each 100-item
// TransactWriteItems, and nothing else, against a DynamoDB Local of the same jar and settings as
// ours but its own (bench/dynamodb-batch.bench.ts says why). None of our code:
// the SDK, a table of the same shape as our events table (same keys, the same all-attributes
// index, the same NEW_IMAGE stream), defined here, and items the size of ours. Each call writes
// what a new customer's first call writes: two events, one claim, one idempotency record, each a
// conditional put, as our commit does.

const S = (v: string): AttributeValue => ({ S: v });
const N = (v: number): AttributeValue => ({ N: String(v) });
const NOT_EXISTS = 'attribute_not_exists(pk)';
export const CALLS_PER_TRANSACTION = 25;

export const createCeilingTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  await client.send(
    new CreateTableCommand({
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
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-commit',
          KeySchema: [
            { AttributeName: 'gpk', KeyType: 'HASH' },
            { AttributeName: 'gsk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  for (let i = 0; i < 200; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ceiling table ${tableName} never became ACTIVE`);
};

let n = 0;
const put = (tableName: string, item: Record<string, AttributeValue>): TransactWriteItem => ({
  Put: { TableName: tableName, Item: item, ConditionExpression: NOT_EXISTS },
});

/** The four items one new customer's first call writes, about the size of ours. */
const callItems = (tableName: string): TransactWriteItem[] => {
  const customer = randomUUID();
  const stamp = `${String(Date.now()).padStart(15, '0')}.ceiling.${String(++n).padStart(10, '0')}`;
  const event = (version: number, type: string, data: string, pii: string) =>
    put(tableName, {
      pk: S(`T#bench#S#${customer}`),
      sk: N(version),
      kind: S('event'),
      tenant: S('bench'),
      streamId: S(customer),
      eventId: S(`${randomBytes(32).toString('base64url')}.0.${version - 1}`),
      type: S(type),
      v: N(1),
      observedAt: N(Date.now()),
      recordedAt: N(Date.now()),
      source: S('web'),
      sourcePriority: N(10),
      channel: S('web'),
      messageId: S(`ceiling-${n}`),
      identifierKeys: { L: [S(randomBytes(32).toString('base64url'))] },
      data: S(data),
      pii: S(pii),
      gpk: S(`T#bench#B#${n % 8}`),
      gsk: S(`${stamp}#${customer}#${String(version).padStart(10, '0')}`),
    });
  const claim = randomBytes(32).toString('base64url');
  return [
    event(1, 'CustomerRegistered', `{"customerId":"${customer}"}`, `v1.${randomBytes(12).toString('base64url')}.${randomBytes(64).toString('base64url')}`),
    event(
      2,
      'IdentityObserved',
      '{"link":[{"type":"user_id"}],"facts":{"kind":"track","event":"Product Viewed","properties":{"category":"electronics"}}}',
      `v1.${randomBytes(12).toString('base64url')}.${randomBytes(400).toString('base64url')}`,
    ),
    put(tableName, { pk: S(`T#bench#C#${claim}`), sk: N(0), kind: S('claim'), tenant: S('bench'), key: S(claim), owner: S(customer) }),
    put(tableName, {
      pk: S(`T#bench#I#ceiling-${n}`),
      sk: N(0),
      kind: S('idempotency'),
      tenant: S('bench'),
      key: S(`ceiling-${n}`),
      payloadHash: S(randomBytes(32).toString('base64url')),
      expiresAt: N(Date.now() + 7 * 86_400_000),
      ttl: N(Math.ceil(Date.now() / 1000) + 7 * 86_400),
    }),
  ];
};

/**
 * For `seconds`, `connections` writers each send one batch's worth of calls (100: four
 * transactions at once) at a time, as /v1/batch with that many connections does.
 */
export const runCeiling = async (client: DynamoDBClient, tableName: string, seconds: number, connections: number, callsPerBatch = 100) => {
  const perBatch = Math.ceil(callsPerBatch / CALLS_PER_TRANSACTION);
  const deadline = performance.now() + seconds * 1000;
  let transactions = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        await Promise.all(
          Array.from({ length: perBatch }, async () => {
            const items = Array.from({ length: CALLS_PER_TRANSACTION }, () => callItems(tableName)).flat();
            await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
            transactions++;
          }),
        );
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return { transactions, callsPerSecond: (transactions * CALLS_PER_TRANSACTION) / elapsed };
};
