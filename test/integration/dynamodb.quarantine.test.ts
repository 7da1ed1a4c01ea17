import { randomUUID } from 'node:crypto';
import { DescribeTimeToLiveCommand, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { UuidV7Generator } from '../../src/adapters/crypto/uuid-v7.id-generator.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbQuarantine } from '../../src/adapters/dynamodb/dynamodb.quarantine.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { quarantineContract } from '../contract/quarantine.contract.js';
import { quarantineEntry } from '../support/builders.js';
import { ManualClock } from '../support/harness.js';

// The shared Quarantine contract on DynamoDB Local, then retention: expired entries are gone for
// every read even while DynamoDB (Local or not) has yet to delete them.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `quarantine-${randomUUID()}`;
const HOUR = 3_600_000;

beforeAll(() => ensureTables(client, { quarantine: tableName }));
afterAll(() => client.destroy());

quarantineContract('DynamoDB Local', () => new DynamoDbQuarantine(client, { tableName }));

const rawItems = async (tenant: string) =>
  (
    await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `T#${tenant}` } },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];

describe('DynamoDbQuarantine retention', () => {
  it('an entry past its retention is neither returned, listed nor replayable, though the item is still there', async () => {
    const tenant = `t-${randomUUID()}`;
    const clock = new ManualClock();
    const ids = new UuidV7Generator(clock.now);
    const q = new DynamoDbQuarantine(client, { tableName, retentionMs: 2 * HOUR, clock });
    const [older, newer] = [ids.newId(), ids.newId()];
    await q.put(quarantineEntry(tenant, older));
    clock.advance(HOUR);
    await q.put(quarantineEntry(tenant, newer));
    await expect(q.list(tenant, { limit: 10 })).resolves.toMatchObject({ entries: [{ id: older }, { id: newer }] });

    clock.advance(HOUR); // older is exactly 2 hours old now
    await expect(q.get(tenant, older)).resolves.toBeUndefined();
    await expect(q.list(tenant, { limit: 1 })).resolves.toEqual({ entries: [expect.objectContaining({ id: newer })] });
    await expect(q.list(tenant, { limit: 10, status: 'pending' })).resolves.toMatchObject({ entries: [{ id: newer }] });
    await expect(q.markReplayed(tenant, older, clock.now())).rejects.toThrow(/past its retention/);
    await q.markReplayed(tenant, newer, clock.now());
    expect((await rawItems(tenant)).map((i) => i.sk?.S)).toEqual([older, newer]);

    clock.advance(HOUR);
    await expect(q.list(tenant, { limit: 10 })).resolves.toEqual({ entries: [] });
    await expect(q.get(tenant, newer)).resolves.toBeUndefined();
  });

  it('a rewrite (an erasure taking a call out) keeps the TTL of the put, and does not bring back an expired entry', async () => {
    const tenant = `t-${randomUUID()}`;
    const clock = new ManualClock();
    const q = new DynamoDbQuarantine(client, { tableName, retentionMs: 2 * HOUR, clock });
    const id = new UuidV7Generator(clock.now).newId();
    await q.put(quarantineEntry(tenant, id));
    const [before] = await rawItems(tenant);
    clock.advance(HOUR);
    const change = { reason: quarantineEntry(tenant, id).reason, payload: { batch: [] }, matchKeys: [], ifReason: quarantineEntry(tenant, id).reason };
    await expect(q.rewrite(tenant, id, change)).resolves.toBe(true);
    const [after] = await rawItems(tenant);
    expect(after?.ttl).toEqual(before?.ttl);
    expect(after?.payload).toEqual({ S: '{"batch":[]}' });
    clock.advance(HOUR);
    await expect(q.get(tenant, id)).resolves.toBeUndefined();
    await expect(q.rewrite(tenant, id, change)).resolves.toBe(false);
  });

  it('stamps each item with a DynamoDB TTL in epoch seconds, counted from when it was quarantined', async () => {
    const tenant = `t-${randomUUID()}`;
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0, 500));
    await new DynamoDbQuarantine(client, { tableName, clock }).put(quarantineEntry(tenant, 'q-1'));
    const [item] = await rawItems(tenant);
    expect(Number(item?.ttl?.N)).toBe(Math.floor((clock.now() + 30 * 24 * HOUR) / 1000));
    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
  });

  it('refuses a retention that is not a positive duration', () => {
    expect(() => new DynamoDbQuarantine(client, { tableName, retentionMs: 0 })).toThrow(/retention/);
  });
});

describe('DynamoDbQuarantine item shape', () => {
  it('keeps the raw payload in one JSON string attribute, and nowhere else', async () => {
    const tenant = `t-${randomUUID()}`;
    const entry = quarantineEntry(tenant, 'q-1', { payload: { type: 'identify', traits: { email: 'Ada@Example.com', phone: '+44 20 7946 0000' } } });
    await new DynamoDbQuarantine(client, { tableName }).put(entry);
    const { Item: item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: `T#${tenant}` }, sk: { S: 'q-1' } } }));
    expect(JSON.parse(item!.payload!.S!)).toEqual(entry.payload);
    const { payload: _payload, ...rest } = item!;
    const others = JSON.stringify(rest).toLowerCase();
    for (const value of ['ada@example.com', '7946']) expect(others).not.toContain(value);
  });

  it('gzips a payload too large for a plain item, in the same one attribute', async () => {
    const tenant = `t-${randomUUID()}`;
    const payload = { batch: Array.from({ length: 5_000 }, (_, i) => ({ type: 'track', event: `Viewed ${i}`, messageId: randomUUID() })) };
    expect(Buffer.byteLength(JSON.stringify(payload))).toBeGreaterThan(400_000);
    const q = new DynamoDbQuarantine(client, { tableName });
    await q.put(quarantineEntry(tenant, 'q-big', { payload }));
    const [item] = await rawItems(tenant);
    expect(item?.payloadEncoding?.S).toBe('gzip+base64');
    await expect(q.get(tenant, 'q-big')).resolves.toMatchObject({ payload });
  });
});
