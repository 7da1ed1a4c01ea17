import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { type AttributeValue, DescribeTimeToLiveCommand, GetItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
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

  it('gzips a payload too large for a plain item, as binary in the same one attribute', async () => {
    const tenant = `t-${randomUUID()}`;
    const payload = { batch: Array.from({ length: 5_000 }, (_, i) => ({ type: 'track', event: `Viewed ${i}`, messageId: randomUUID() })) };
    expect(Buffer.byteLength(JSON.stringify(payload))).toBeGreaterThan(400_000);
    const q = new DynamoDbQuarantine(client, { tableName });
    await q.put(quarantineEntry(tenant, 'q-big', { payload }));
    const [item] = await rawItems(tenant);
    expect(item?.payloadEncoding?.S).toBe('gzip');
    expect(item?.payload?.B).toBeInstanceOf(Uint8Array);
    await expect(q.get(tenant, 'q-big')).resolves.toMatchObject({ payload });
  });

  it('reads an entry kept gzipped and base64-encoded in a string, as items were written before', async () => {
    const tenant = `t-${randomUUID()}`;
    const q = new DynamoDbQuarantine(client, { tableName });
    await q.put(quarantineEntry(tenant, 'q-old'));
    const payload = { type: 'track', event: 'Old' };
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `T#${tenant}` }, sk: { S: 'q-old' } },
        UpdateExpression: 'SET payload = :p, payloadEncoding = :e',
        ExpressionAttributeValues: { ':p': { S: gzipSync(JSON.stringify(payload)).toString('base64') }, ':e': { S: 'gzip+base64' } },
      }),
    );
    await expect(q.get(tenant, 'q-old')).resolves.toMatchObject({ payload });
  });
});

/** `bytes` of text that gzip cannot shrink below about 3/4 (random base64) */
const incompressible = (bytes: number): string =>
  randomBytes(Math.ceil((bytes * 3) / 4))
    .toString('base64')
    .slice(0, bytes);

const partItems = async (tenant: string) =>
  (
    await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `P#${tenant}` } },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];

/** DynamoDB's size of an item, about: attribute names and values */
const sizeOf = (item: Record<string, AttributeValue>): number =>
  Object.entries(item).reduce((n, [k, v]) => n + k.length + (v.B ? v.B.byteLength : Buffer.byteLength(JSON.stringify(v))), 0);

describe('DynamoDbQuarantine: no payload is too large for an item', () => {
  it('keeps a 1.2 MB payload gzip cannot shrink whole, in part items beside the entry, every item under 400 KB', async () => {
    const tenant = `t-${randomUUID()}`;
    const q = new DynamoDbQuarantine(client, { tableName });
    const payload = { bytes: 1_200_000, text: incompressible(1_200_000) };
    const entry = quarantineEntry(tenant, 'q-huge', { payload });
    await q.put(entry);
    const [head] = await rawItems(tenant);
    const parts = await partItems(tenant);
    expect(head?.payload).toBeUndefined();
    expect(Number(head?.payloadParts?.N)).toBe(parts.length);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const item of [head!, ...parts]) expect(sizeOf(item)).toBeLessThan(400 * 1024);
    // every part expires with the entry
    for (const part of parts) expect(part.ttl).toEqual(head?.ttl);

    await expect(q.get(tenant, 'q-huge')).resolves.toEqual(entry);
    await expect(q.list(tenant, { limit: 10 })).resolves.toEqual({ entries: [entry] });

    await q.delete(tenant, 'q-huge');
    await expect(q.get(tenant, 'q-huge')).resolves.toBeUndefined();
    expect(await partItems(tenant)).toEqual([]);
  });

  it('a rewrite replaces the parts with the entry (a smaller payload takes them away); one whose reason moved on changes nothing', async () => {
    const tenant = `t-${randomUUID()}`;
    const q = new DynamoDbQuarantine(client, { tableName });
    const entry = quarantineEntry(tenant, 'q-rw', { payload: { text: incompressible(900_000) } });
    await q.put(entry);
    const stale = {
      reason: { code: 'OTHER', message: 'x', issues: [] },
      payload: { text: 'small' },
      matchKeys: [],
      ifReason: { code: 'OTHER', message: 'y', issues: [] },
    };
    await expect(q.rewrite(tenant, 'q-rw', stale)).resolves.toBe(false);
    await expect(q.get(tenant, 'q-rw')).resolves.toEqual(entry);

    const bigger = { text: incompressible(1_100_000) };
    await expect(q.rewrite(tenant, 'q-rw', { reason: entry.reason, payload: bigger, matchKeys: [], ifReason: entry.reason })).resolves.toBe(true);
    await expect(q.get(tenant, 'q-rw')).resolves.toMatchObject({ payload: bigger });
    const reason = { ...entry.reason, message: 'taken out' };
    await expect(q.rewrite(tenant, 'q-rw', { reason, payload: { text: 'small' }, matchKeys: [], ifReason: entry.reason })).resolves.toBe(true);
    await expect(q.get(tenant, 'q-rw')).resolves.toMatchObject({ reason, payload: { text: 'small' } });
    expect(await partItems(tenant)).toEqual([]);
  });

  it('past what a transaction holds, the payload is not kept: the entry records its size and its reason says so', async () => {
    const tenant = `t-${randomUUID()}`;
    const q = new DynamoDbQuarantine(client, { tableName });
    const entry = quarantineEntry(tenant, 'q-cut', { payload: { text: incompressible(5_000_000) } });
    await q.put(entry);
    const got = await q.get(tenant, 'q-cut');
    expect(got?.payload).toEqual({ bytes: expect.any(Number), kept: 0 });
    expect((got!.payload as { bytes: number }).bytes).toBeGreaterThan(5_000_000);
    expect(got?.reason.code).toBe(entry.reason.code);
    expect(got?.reason.message).toMatch(/its payload, [\d,]+ bytes as stored, was not kept/);
    expect(await partItems(tenant)).toEqual([]);
  });

  it('keeps a reason too large for an item bounded: the issues that fit, and how many were not kept', async () => {
    const tenant = `t-${randomUUID()}`;
    const q = new DynamoDbQuarantine(client, { tableName });
    const issues = Array.from({ length: 10_000 }, (_, i) => ({ path: `batch[${i}].properties.field`, message: 'must be a string of at most 200 characters' }));
    const entry = quarantineEntry(tenant, 'q-reason', { reason: { code: 'BATCH_CALLS_REFUSED', message: 'refused', issues } });
    await q.put(entry);
    const got = await q.get(tenant, 'q-reason');
    expect(got?.reason.issues.length).toBeGreaterThan(100);
    expect(got?.reason.issues).toEqual(issues.slice(0, got?.reason.issues.length));
    expect(got?.reason.message).toMatch(new RegExp(`^refused \\(${10_000 - got!.reason.issues.length} of its 10000 issues are not kept`));
    // the reason as read is the one a rewrite names
    await expect(q.rewrite(tenant, 'q-reason', { reason: got!.reason, payload: { a: 1 }, matchKeys: [], ifReason: got!.reason })).resolves.toBe(true);
  });
});
