import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbReadModelStore } from '../../src/adapters/dynamodb/dynamodb.read-model-store.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { MAX_VIEW_GZIP_BYTES, PART_BYTES, ViewTooLargeError } from '../../src/adapters/dynamodb/dynamodb.view-item.js';
import type { ViewDoc } from '../../src/application/ports/read-model.port.js';
import { readModelStoreContract } from '../contract/read-model-store.contract.js';
import { viewDoc } from '../support/builders.js';

// The shared ReadModelStore contract, unchanged, on DynamoDB Local; plus what only this adapter
// has: generations that a rebuild swaps in and then deletes.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `views-${randomUUID()}`;

beforeAll(async () => {
  await ensureTables(client, { views: tableName });
});
afterAll(() => client.destroy());

readModelStoreContract('DynamoDB Local', () => new DynamoDbReadModelStore(client, { tableName }));

describe('DynamoDbReadModelStore.getMany', () => {
  it('reads each doc as get does, in batches of 100, absent ones as undefined, a repeated id once', async () => {
    const tenant = `t-${randomUUID()}`;
    const store = new DynamoDbReadModelStore(client, { tableName });
    const docs = Array.from({ length: 130 }, (_, i) => viewDoc(`c-${i}`, 1 + (i % 3)));
    for (const d of docs) await store.put(tenant, d);
    const ids = [...docs.map((d) => d.customerId), 'c-missing', 'c-7'];
    const many = await store.getMany(tenant, ids);
    expect([...many.keys()]).toEqual(ids.slice(0, -1));
    for (const id of many.keys()) expect(many.get(id)).toEqual(await store.get(tenant, id));
    expect(many.get('c-missing')).toBeUndefined();
    expect((await store.getMany(`t-${randomUUID()}`, ['c-1'])).get('c-1')).toBeUndefined();
  });
});

describe('DynamoDbReadModelStore: readers arriving together share requests', () => {
  it('gets of one turn are one BatchGetItem, and a stale generation pointer is read once for all of them', async () => {
    const own = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
    const sent: string[] = [];
    own.middlewareStack.add((next, context) => (args) => (sent.push(context.commandName ?? '?'), next(args)), { step: 'initialize', name: 'record' });
    try {
      const tenant = `t-${randomUUID()}`;
      const writer = new DynamoDbReadModelStore(client, { tableName });
      const docs = Array.from({ length: 30 }, (_, i) => viewDoc(`c-${i}`, 1 + i));
      for (const d of docs) await writer.put(tenant, d);
      // the pointer is never trusted from the cache: every call wants it read
      const store = new DynamoDbReadModelStore(own, { tableName, generationCacheMs: 0 });
      const got = await Promise.all([...docs.map((d) => store.get(tenant, d.customerId)), store.get(tenant, 'c-missing')]);
      expect(got).toEqual([...docs, undefined]);
      expect(sent).toEqual(['GetItemCommand', 'BatchGetItemCommand']); // the generation pointer once, then the docs
      sent.length = 0;
      await Promise.all(docs.map((d) => store.put(tenant, { ...d, version: d.version + 1 })));
      expect(sent.filter((c) => c === 'GetItemCommand')).toHaveLength(1);
      // the puts of the turn: one transaction, not 30 PutItems
      expect(sent.filter((c) => c !== 'GetItemCommand')).toEqual(['TransactWriteItemsCommand']);
      for (const d of docs) expect(await store.get(tenant, d.customerId)).toEqual({ ...d, version: d.version + 1 });
    } finally {
      own.destroy();
    }
  });

  it('puts of one turn share TransactWriteItems of at most 100, each keeping its own condition: a stale one answers false, the others are written', async () => {
    const own = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
    const sent: string[] = [];
    own.middlewareStack.add((next, context) => (args) => (sent.push(context.commandName ?? '?'), next(args)), { step: 'initialize', name: 'record' });
    try {
      const tenant = `t-${randomUUID()}`;
      const store = new DynamoDbReadModelStore(own, { tableName });
      const docs = Array.from({ length: 150 }, (_, i) => viewDoc(`c-${i}`, 5));
      await store.put(tenant, viewDoc('c-first', 1)); // the tenant's first write also creates its generation
      sent.length = 0;
      await Promise.all(docs.map((d) => store.put(tenant, d, null)));
      expect(sent.filter((c) => c === 'TransactWriteItemsCommand')).toHaveLength(2); // 100 + 50
      expect(sent.filter((c) => c === 'PutItemCommand')).toHaveLength(0);
      sent.length = 0;
      // every third put expects a doc that is not there (a writer got in first): only those lose
      const stale = (i: number) => i % 3 === 0;
      const answers = await Promise.all(
        docs.map((d, i) => store.put(tenant, { ...d, version: 6 }, stale(i) ? { version: 4, appliedSum: 4 } : { version: 5, appliedSum: 5 })),
      );
      expect(answers).toEqual(docs.map((_, i) => !stale(i)));
      for (const [i, d] of docs.entries()) expect((await store.get(tenant, d.customerId))?.version).toBe(stale(i) ? 5 : 6);
      // cancelled transactions name the stale members; the rest went again as a group, never one by one
      expect(sent.filter((c) => c === 'PutItemCommand')).toHaveLength(0);
      expect(sent.filter((c) => c === 'TransactWriteItemsCommand').length).toBeGreaterThanOrEqual(2);
      // the same condition, alone: unchanged semantics without grouping
      const alone = new DynamoDbReadModelStore(client, { tableName, grouping: false });
      expect(await alone.put(tenant, { ...docs[0]!, version: 7 }, { version: 4, appliedSum: 4 })).toBe(false);
      expect(await alone.put(tenant, { ...docs[0]!, version: 7 }, { version: 5, appliedSum: 5 })).toBe(true);
    } finally {
      own.destroy();
    }
  });
});

describe('DynamoDbReadModelStore generations', () => {
  const itemsOf = async (prefix: string): Promise<number> => {
    // every bucket of every generation of the tenant, read straight from the table
    let count = 0;
    for (let b = 0; b < 8; b++) {
      const { Items } = await client.send(
        new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `${prefix}${b}` } } }),
      );
      count += Items?.length ?? 0;
    }
    return count;
  };

  it('deletes the retired generation after a rebuild, and another process sees the flip', async () => {
    const tenant = `t-${randomUUID()}`;
    const a = new DynamoDbReadModelStore(client, { tableName, generationCacheMs: 0 });
    const b = new DynamoDbReadModelStore(client, { tableName, generationCacheMs: 0 });
    for (let i = 0; i < 30; i++) await a.put(tenant, viewDoc(`c-${i}`, 1));
    expect(await itemsOf(`T#${tenant}#G#0#B#`)).toBe(30);
    await a.replaceAll(tenant, [viewDoc('c-1', 2), viewDoc('c-99', 1)]);
    expect(await itemsOf(`T#${tenant}#G#0#B#`)).toBe(0);
    await expect(b.get(tenant, 'c-2')).resolves.toBeUndefined();
    await expect(b.get(tenant, 'c-99')).resolves.toMatchObject({ version: 1 });
    // a later put goes to the new generation and still obeys the doc order there
    await expect(b.put(tenant, viewDoc('c-1', 1))).resolves.toBe(false);
    await expect(b.put(tenant, viewDoc('c-1', 3))).resolves.toBe(true);
    await expect(a.get(tenant, 'c-1')).resolves.toMatchObject({ version: 3 });
  });

  it('writes and lists a generation larger than one batch, in order', async () => {
    const tenant = `t-${randomUUID()}`;
    const store = new DynamoDbReadModelStore(client, { tableName });
    const docs = Array.from({ length: 120 }, (_, i) => viewDoc(`c-${String(i).padStart(3, '0')}`, 1 + (i % 4)));
    await store.replaceAll(tenant, [...docs].reverse());
    const page1 = await store.list(tenant, { limit: 100 });
    const page2 = await store.list(tenant, { after: page1.next, limit: 100 });
    expect([...page1.docs, ...page2.docs]).toEqual(docs);
    expect(page2.next).toBeUndefined();
  });

  it('reads of a tenant with no views write nothing', async () => {
    const tenant = `t-${randomUUID()}`;
    const store = new DynamoDbReadModelStore(client, { tableName });
    await store.get(tenant, 'c-1');
    await store.list(tenant, { limit: 10 });
    await store.delete(tenant, 'c-1');
    const { Items } = await client.send(
      new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `T#${tenant}#ACTIVE` } } }),
    );
    expect(Items).toEqual([]);
  });

  it('refuses a rebuild with one customer twice and leaves the views as they were', async () => {
    const tenant = `t-${randomUUID()}`;
    const store = new DynamoDbReadModelStore(client, { tableName });
    await store.put(tenant, viewDoc('c-1', 1));
    await expect(store.replaceAll(tenant, [viewDoc('c-2', 1), viewDoc('c-2', 2)])).rejects.toThrow(/twice/);
    await expect(store.get(tenant, 'c-1')).resolves.toMatchObject({ version: 1 });
  });
});

describe('DynamoDbReadModelStore: a view larger than one item', () => {
  /** about `bytes` of JSON that does not compress */
  const large = (customerId: string, version: number, bytes: number): ViewDoc => {
    const doc = viewDoc(customerId, version);
    if (doc.kind !== 'view') throw new Error('a view');
    const traits = Object.fromEntries(
      Array.from({ length: Math.ceil(bytes / 1_100) }, (_, i) => [
        `t${i}`,
        { observedAt: i, sourcePriority: 0, eventId: `e-${i}`, value: randomBytes(750).toString('base64'), source: 'web' },
      ]),
    );
    return { ...doc, view: { ...doc.view, traits } };
  };
  /** the items of one customer's doc in the table: its own and its parts */
  const itemsOf = async (tenant: string, customerId: string) => {
    const out = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'contains(pk, :t) AND begins_with(sk, :id)',
        ExpressionAttributeValues: { ':t': { S: `T#${tenant}#` }, ':id': { S: customerId } },
        ProjectionExpression: 'sk, version',
      }),
    );
    return (out.Items ?? []).map((i) => i.sk!.S!).sort();
  };

  it('is kept gzipped in parts beside its own item, read by get and getMany, a doc that shrinks to JSON text takes its parts with it, and every part goes with delete', async () => {
    const tenant = `t-${randomUUID()}`;
    const store = new DynamoDbReadModelStore(client, { tableName });
    /** the doc's own item and one per further chunk of its gzipped JSON */
    const layout = (d: ViewDoc) => {
      const chunks = Math.ceil(gzipSync(JSON.stringify(d)).length / PART_BYTES);
      return ['c-big', ...Array.from({ length: chunks - 1 }, (_, i) => `c-big\u0000${i + 1}`)];
    };
    const doc = large('c-big', 1, 1_500_000);
    expect(layout(doc).length).toBeGreaterThanOrEqual(3);
    await store.put(tenant, doc);
    expect(await itemsOf(tenant, 'c-big')).toEqual(layout(doc));
    await expect(store.get(tenant, 'c-big')).resolves.toEqual(doc);
    expect((await store.getMany(tenant, ['c-big', 'c-none'])).get('c-big')).toEqual(doc);
    // a smaller one: the parts past its own are deleted in the same write
    const smaller = large('c-big', 2, 650_000);
    expect(layout(smaller).length).toBe(2);
    await store.put(tenant, smaller);
    expect(await itemsOf(tenant, 'c-big')).toEqual(layout(smaller));
    await expect(store.get(tenant, 'c-big')).resolves.toEqual(smaller);
    // an older doc that fits as JSON text is refused as stale, and the parts stay with their head
    await expect(store.put(tenant, viewDoc('c-big', 1))).resolves.toBe(false);
    expect(await itemsOf(tenant, 'c-big')).toEqual(layout(smaller));
    // plain JSON again: the parts go in the same write (none left, unseen, holding the older doc)
    await expect(store.put(tenant, viewDoc('c-big', 3))).resolves.toBe(true);
    expect(await itemsOf(tenant, 'c-big')).toEqual(['c-big']);
    await expect(store.get(tenant, 'c-big')).resolves.toEqual(viewDoc('c-big', 3));
    // and on a store that writes each doc alone
    const alone = new DynamoDbReadModelStore(client, { tableName, grouping: false });
    await alone.put(tenant, large('c-big', 4, 650_000));
    expect((await itemsOf(tenant, 'c-big')).length).toBe(2);
    await expect(alone.put(tenant, viewDoc('c-big', 5))).resolves.toBe(true);
    expect(await itemsOf(tenant, 'c-big')).toEqual(['c-big']);
    await store.delete(tenant, 'c-big');
    expect(await itemsOf(tenant, 'c-big')).toEqual([]);
  });

  it('readers never see a doc half replaced: a read that meets parts of another write reads again', async () => {
    const tenant = `t-${randomUUID()}`;
    const store = new DynamoDbReadModelStore(client, { tableName });
    const reader = new DynamoDbReadModelStore(client, { tableName, coalesce: false });
    const versions = Array.from({ length: 6 }, (_, i) => large('c-big', i + 1, 900_000));
    await store.put(tenant, versions[0]!);
    let writing = true;
    const seen: number[] = [];
    const reads = (async () => {
      while (writing) {
        const got = (await reader.get(tenant, 'c-big'))!;
        expect(got).toEqual(versions[got.version - 1]);
        seen.push(got.version);
      }
    })();
    for (const v of versions.slice(1)) await store.put(tenant, v);
    writing = false;
    await reads;
    expect(seen.length).toBeGreaterThan(0);
    await expect(store.get(tenant, 'c-big')).resolves.toEqual(versions.at(-1));
  });

  it('list decodes a large doc from the parts its page already holds, reading none of them again', async () => {
    const tenant = `t-${randomUUID()}`;
    const own = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
    const sent: string[] = [];
    own.middlewareStack.add((next, context) => (args) => (sent.push(context.commandName ?? '?'), next(args)), { step: 'initialize', name: 'record' });
    try {
      const store = new DynamoDbReadModelStore(own, { tableName });
      const docs = [viewDoc('c-a', 1), large('c-big', 1, 650_000), viewDoc('c-z', 2)];
      for (const d of docs) await store.put(tenant, d);
      sent.length = 0;
      const page = await store.list(tenant, { limit: 10 });
      expect(page.docs).toEqual(docs);
      expect(sent.filter((c) => c !== 'QueryCommand' && c !== 'GetItemCommand')).toEqual([]); // no BatchGetItem of parts
      // smaller pages, which may end between a doc and its parts (those are then read by key), list the same
      expect((await store.list(tenant, { limit: 2 })).docs).toEqual(docs.slice(0, 2));
    } finally {
      own.destroy();
    }
  });

  it('a view too large even gzipped in parts is refused as ViewTooLargeError (not retried), the stored doc kept', async () => {
    const tenant = `t-${randomUUID()}`;
    const store = new DynamoDbReadModelStore(client, { tableName });
    await store.put(tenant, viewDoc('c-huge', 1));
    const huge = large('c-huge', 2, Math.ceil(MAX_VIEW_GZIP_BYTES * 1.45));
    await expect(store.put(tenant, huge)).rejects.toThrow(ViewTooLargeError);
    await expect(store.put(tenant, huge)).rejects.toThrow(/bytes gzipped .* over the 3850000 bytes a view can hold on DynamoDB/);
    await expect(store.get(tenant, 'c-huge')).resolves.toEqual(viewDoc('c-huge', 1));
  });
});
