import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { toEventItem, type Item } from '../../src/adapters/dynamodb/dynamodb.event-item.js';
import { DynamoDbCheckpoints, MemoryCheckpoints } from '../../src/adapters/dynamodb/dynamodb.stream-checkpoints.js';
import { DynamoDbStreamsPoller } from '../../src/adapters/dynamodb/dynamodb.streams-poller.js';
import { DynamoDbStreamsProjector, type DynamoDbStreamRecord, type StreamBatchResult } from '../../src/adapters/dynamodb/dynamodb.streams-projector.js';
import type { ViewDocs } from '../../src/application/projection/customer360.projector.js';
import type { RecordedEvent } from '../../src/domain/customer/customer.events.js';
import { MemoryKeyStore } from '../../src/adapters/memory/memory.key-store.js';
import { registered } from '../support/builders.js';
import { freshTables, populate, rebuiltViews, startProcess, storedViews, streamsClient, streamsProjector, WEB } from '../support/dynamodb-projection.js';

// Projection from DynamoDB Streams on DynamoDB Local: events committed through the real core and
// DynamoDbEventStore, read back by the local poller (or fed straight to the projector core), must
// give exactly the read models a full rebuild from the log gives, whatever the delivery did.

const endpoint = inject('dynamoEndpoint');
const client = createDynamoDbClient({ endpoint });
const streams = streamsClient(endpoint);
afterAll(() => {
  client.destroy();
  streams.destroy();
});

/** Dies like a process whose link to DynamoDB is gone: a transient error on every later call. */
class ProcessKilled extends Error {
  readonly $metadata = {};
}

const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** The stream's records as Lambda would be handed them, read once by a poller that only collects. */
const collect = async (streamArn: string): Promise<DynamoDbStreamRecord[]> => {
  const records: DynamoDbStreamRecord[] = [];
  const handler = {
    handle: async (batch: readonly DynamoDbStreamRecord[]) => (
      records.push(...batch), { batchItemFailures: [], rejected: [], errors: [], projected: 0, ignored: 0 }
    ),
  };
  await new DynamoDbStreamsPoller(streams, handler, { streamArn, checkpoints: new MemoryCheckpoints(), idleDelayMs: [10, 50] }).drain({ quietMs: 200 });
  return records;
};

describe('projector killed mid-batch and restarted from its checkpoints', () => {
  const tenant = `t-${randomUUID()}`;
  const keys = new MemoryKeyStore();
  let tables: Awaited<ReturnType<typeof freshTables>>;
  beforeAll(async () => {
    tables = await freshTables(client);
    await populate(startProcess(client, tables, keys), tenant);
  });

  it('ends with read models identical to a full rebuild', async () => {
    // dies in a batch near the end of the stream, so no later event of the same customers can
    // make up for what the dead batch left out: only reading it again from the checkpoint can
    const all = await collect(tables.streamArn);
    const tail = new Set(all.slice(-30).map((r) => r.dynamodb?.SequenceNumber));
    const checkpoints = new DynamoDbCheckpoints(client, tables.views, 'kill-test');
    const first = startProcess(client, tables, keys);
    let [armed, puts, killed] = [false, 0, false];
    const dying: ViewDocs = {
      get: async (t, id) => {
        if (killed) throw new ProcessKilled('killed');
        return first.views.get(t, id);
      },
      put: async (t, doc) => {
        // one doc of the batch is stored, the rest are not
        if (armed && !killed && ++puts > 1) killed = true;
        if (killed) throw new ProcessKilled('killed mid-batch');
        return first.views.put(t, doc);
      },
    };
    const core = streamsProjector(first, dying);
    const batches: StreamBatchResult[] = [];
    const handler = {
      handle: (records: readonly DynamoDbStreamRecord[]) => {
        armed ||= records.some((r) => tail.has(r.dynamodb?.SequenceNumber));
        return core.handle(records);
      },
    };
    const poller = new DynamoDbStreamsPoller(streams, handler, {
      streamArn: tables.streamArn,
      checkpoints,
      batchSize: 25,
      idleDelayMs: [10, 50],
      retryDelayMs: [20, 100],
      onBatch: (_shard, r) => batches.push(r),
    });
    poller.start();
    await expect.poll(() => killed, { timeout: 20_000 }).toBe(true);
    await poller.stop();
    expect(batches.filter((b) => b.batchItemFailures.length === 0).length).toBeGreaterThan(0);
    expect(batches.at(-1)!.batchItemFailures.length).toBeGreaterThan(0);
    const expected = await rebuiltViews(first, tenant);
    expect(await storedViews(first.views, tenant)).not.toEqual(expected);

    // a new process: new core and stores, the same tables and checkpoints
    const second = startProcess(client, tables, keys);
    let reread = 0;
    const restarted = new DynamoDbStreamsPoller(streams, streamsProjector(second), {
      streamArn: tables.streamArn,
      checkpoints,
      idleDelayMs: [10, 50],
      onBatch: (_shard, r) => (reread += r.projected + r.ignored),
    });
    await restarted.drain({ quietMs: 200 });
    expect(await storedViews(second.views, tenant)).toEqual(expected);
    // it went on from the checkpoint, not from the start of the stream
    expect(reread).toBeGreaterThan(0);
    expect(reread).toBeLessThanOrEqual(30 + 25);
    // and a rebuild into a new generation of the same store changes nothing
    await second.core.rebuild.rebuild(tenant);
    expect(await storedViews(startProcess(client, tables, keys).views, tenant)).toEqual(expected);
  });
});

describe('stream records delivered twice and out of order', () => {
  const tenant = `t-${randomUUID()}`;
  const keys = new MemoryKeyStore();
  let tables: Awaited<ReturnType<typeof freshTables>>;
  let records: DynamoDbStreamRecord[] = [];
  beforeAll(async () => {
    tables = await freshTables(client);
    await populate(startProcess(client, tables, keys), tenant, 11);
    records = await collect(tables.streamArn);
  });

  it('still gives read models equal to a full rebuild', async () => {
    const p = startProcess(client, tables, keys);
    const core = streamsProjector(p);
    const random = mulberry32(3);
    const shuffled = [...records, ...records]
      .map((r) => ({ r, k: random() }))
      .sort((x, y) => x.k - y.k)
      .map((x) => x.r);
    let projected = 0;
    for (let i = 0; i < shuffled.length; ) {
      const size = 1 + Math.floor(random() * 40);
      const result = await core.handle(shuffled.slice(i, i + size));
      expect(result.batchItemFailures).toEqual([]);
      expect(result.rejected).toEqual([]);
      projected += result.projected;
      i += size;
    }
    expect(records.length).toBeGreaterThan(100);
    expect(projected).toBeGreaterThan(0);
    expect(p.metrics.get('projection_gap_reread')).toBeGreaterThan(0);
    expect(p.metrics.get('projection_duplicate_skipped')).toBeGreaterThan(0);
    expect(await storedViews(p.views, tenant)).toEqual(await rebuiltViews(p, tenant));
  });
});

describe('the streams projector core on Lambda-shaped batches', () => {
  const keys = new MemoryKeyStore();
  let tables: Awaited<ReturnType<typeof freshTables>>;
  beforeAll(async () => {
    tables = await freshTables(client);
  });
  const record = (seq: number, image: Item, eventName = 'INSERT'): DynamoDbStreamRecord => ({
    eventID: `id-${seq}`,
    eventName,
    dynamodb: { Keys: { pk: image.pk!, sk: image.sk! }, NewImage: image, SequenceNumber: String(seq).padStart(21, '0') },
  });
  const born = (tenant: string, id: string): Item => toEventItem(registered(tenant, id).events[0]!);

  it('lists undecodable event items as rejected, with the reason, and goes on with the batch', async () => {
    const p = startProcess(client, tables, keys);
    const tenant = `t-${randomUUID()}`;
    const batch = [
      record(1, born(tenant, 'c-1')),
      record(2, { ...born(tenant, 'c-bad-json'), data: { S: '{oops' } }),
      record(3, { ...born(tenant, 'c-old'), v: { N: '0' } }),
      record(4, { ...born(tenant, 'c-alien'), type: { S: 'CustomerTeleported' } }), // an unknown type fails at decode
      // not events: a claim item, a REMOVE, and the Lambda fixture's foreign item
      record(5, { pk: { S: `T#${tenant}#C#k` }, sk: { N: '0' }, kind: { S: 'claim' } }),
      record(6, born(tenant, 'c-gone'), 'REMOVE'),
      record(7, { Id: { N: '101' }, Message: { S: 'New item!' }, pk: { S: 'x' }, sk: { S: 'y' } }),
      record(8, born(tenant, 'c-2')),
    ];
    const result = await streamsProjector(p).handle(batch);
    expect(result.batchItemFailures).toEqual([]);
    expect(result.rejected.map((r) => [r.sequenceNumber, r.reason.code])).toEqual([
      [batch[1]!.dynamodb!.SequenceNumber, 'UNREADABLE_EVENT_ITEM'],
      [batch[2]!.dynamodb!.SequenceNumber, 'UNDECODABLE_EVENT'],
      [batch[3]!.dynamodb!.SequenceNumber, 'UNDECODABLE_EVENT'],
    ]);
    expect(result.rejected[0]!.item).toBe(`T#${tenant}#S#c-bad-json/1`);
    expect(result.rejected[1]!.reason.message).toMatch(/upcaster/);
    expect(result).toMatchObject({ projected: 2, ignored: 3 });
    expect(((await storedViews(p.views, tenant)) as { customerId: string }[]).map((d) => d.customerId)).toEqual(['c-1', 'c-2']);
  });

  it('keeps tenants apart in one batch, even where their customer ids are the same', async () => {
    const p = startProcess(client, tables, keys);
    const [a, b] = [`t-${randomUUID()}`, `t-${randomUUID()}`];
    const planOf = async (tenant: string, plan: string): Promise<Item> => {
      const key = await keys.getOrCreate(tenant, 'c-1');
      const event: RecordedEvent = {
        eventId: `${tenant}-traits`,
        streamId: 'c-1',
        version: 2,
        observedAt: 1_767_225_601_000,
        source: 'web',
        sourcePriority: 10,
        channel: 'web',
        event: { type: 'TraitsUpdated', v: 1, data: { names: ['plan'], context: 'identify' }, pii: { traits: { plan } } },
      };
      return toEventItem(p.core.codec.encode(tenant, event, key, 1_767_225_601_000));
    };
    const batch = [record(1, born(a, 'c-1')), record(2, born(b, 'c-1')), record(3, await planOf(a, 'from-a')), record(4, await planOf(b, 'from-b'))];
    const result = await streamsProjector(p).handle(batch);
    expect(result).toMatchObject({ batchItemFailures: [], rejected: [], projected: 4 });
    const plan = async (tenant: string) =>
      ((await p.views.get(tenant, 'c-1')) as { view: { traits: Record<string, { value: unknown }> } }).view.traits.plan?.value;
    expect([await plan(a), await plan(b)]).toEqual(['from-a', 'from-b']);
  });

  it('reports a transiently failed record and every later one, as ReportBatchItemFailures expects', async () => {
    const p = startProcess(client, tables, keys);
    const [ok, down] = [`t-${randomUUID()}`, `t-${randomUUID()}`];
    const flaky: ViewDocs = {
      get: async (t, id) => (t === down ? Promise.reject(new ProcessKilled('throttled')) : p.views.get(t, id)),
      put: async (t, doc) => (t === down ? Promise.reject(new ProcessKilled('throttled')) : p.views.put(t, doc)),
    };
    const batch = [record(1, born(ok, 'c-1')), record(2, born(down, 'c-1')), record(3, born(ok, 'c-2')), record(4, born(down, 'c-2'))];
    const result = await streamsProjector(p, flaky).handle(batch);
    expect(result.batchItemFailures).toEqual(batch.slice(1).map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber })));
    expect(result.rejected).toEqual([]);
    expect(result.errors[0]).toBeInstanceOf(ProcessKilled);
    // the healthy tenant's events were projected anyway; their redelivery will be skipped
    expect(((await storedViews(p.views, ok)) as { customerId: string }[]).map((d) => d.customerId)).toEqual(['c-1', 'c-2']);
  });
});

describe('a shard batch reads the docs it touches in one request', () => {
  const keys = new MemoryKeyStore();
  let tables: Awaited<ReturnType<typeof freshTables>>;
  beforeAll(async () => {
    tables = await freshTables(client);
  });

  /** p.views, counting single reads and batch reads */
  const counting = (p: ReturnType<typeof startProcess>, beforeManyAnswers: () => Promise<void> = async () => {}) => {
    const calls = { get: 0, getMany: [] as string[][] };
    const docs = {
      get: (t: string, id: string) => (calls.get++, p.views.get(t, id)),
      put: (t: string, doc: Parameters<ViewDocs['put']>[1], expected?: Parameters<ViewDocs['put']>[2]) => p.views.put(t, doc, expected),
      delete: (t: string, id: string) => p.views.delete(t, id),
      getMany: async (t: string, ids: readonly string[]) => {
        calls.getMany.push([...ids]);
        const found = await p.views.getMany(t, ids);
        await beforeManyAnswers();
        return found;
      },
    };
    return { docs, calls };
  };

  const twentyCustomers = async (tenant: string) => {
    const p = startProcess(client, tables, keys);
    const before = await collect(tables.streamArn);
    for (let i = 0; i < 20; i++)
      await p.core.ingest.ingest(tenant, WEB, { type: 'identify', messageId: `m-${i}`, anonymousId: `anon-${tenant}-${i}`, traits: { plan: `p${i}` } });
    return (await collect(tables.streamArn)).slice(before.length);
  };

  it('one batch read for twenty customers instead of twenty reads, and the views a rebuild gives', async () => {
    const tenant = `t-${randomUUID()}`;
    const records = await twentyCustomers(tenant);
    const p = startProcess(client, tables, keys);
    const { docs, calls } = counting(p);
    const result = await streamsProjector(p, docs).handle(records);
    expect(result).toMatchObject({ batchItemFailures: [], rejected: [] });
    expect(result.projected).toBeGreaterThanOrEqual(20);
    expect(calls.getMany).toHaveLength(1);
    expect(new Set(calls.getMany[0])).toHaveLength(20);
    expect(calls.get).toBe(0);
    expect(await storedViews(p.views, tenant)).toEqual(await rebuiltViews(p, tenant));
  });

  it('docs changed by another projector after the batch read: the batch is folded again from fresh reads', async () => {
    const tenant = `t-${randomUUID()}`;
    const records = await twentyCustomers(tenant);
    const other = startProcess(client, tables, keys);
    const p = startProcess(client, tables, keys);
    // another process projects the same records while this one holds its prefetched docs
    const { docs, calls } = counting(p, async () => void (await streamsProjector(other).handle(records)));
    const result = await streamsProjector(p, docs).handle(records);
    expect(result).toMatchObject({ batchItemFailures: [], rejected: [] });
    expect(p.metrics.get('projection_conflict_retry')).toBeGreaterThan(0);
    expect(calls.get).toBeGreaterThan(0);
    expect(await storedViews(p.views, tenant)).toEqual(await rebuiltViews(p, tenant));
  });
});

describe('the hooks after the views run once per customer stream of a batch, all at once', () => {
  const keys = new MemoryKeyStore();
  let tables: Awaited<ReturnType<typeof freshTables>>;
  beforeAll(async () => {
    tables = await freshTables(client);
  });

  /** a hook that records each call's streams, how many calls were in flight at once, and can fail for some streams */
  const recordingHook = (failFor: (streamId: string) => boolean = () => false) => {
    const calls: string[][] = [];
    let inFlight = 0;
    let most = 0;
    const hook = async (_tenant: string, events: readonly RecordedEvent[]) => {
      calls.push(events.map((e) => `${e.streamId}@${e.version}`));
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      if (events.some((e) => failFor(e.streamId))) throw Object.assign(new Error('feed unavailable'), { $metadata: {} });
    };
    return { hook, calls, most: () => most };
  };

  const customers = async (tenant: string, n: number) => {
    const p = startProcess(client, tables, keys);
    const before = await collect(tables.streamArn);
    for (let i = 0; i < n; i++) {
      await p.core.ingest.ingest(tenant, WEB, { type: 'identify', messageId: `m-${i}`, anonymousId: `anon-${tenant}-${i}`, traits: { plan: `p${i}` } });
      await p.core.ingest.ingest(tenant, WEB, {
        type: 'track',
        messageId: `t-${i}`,
        anonymousId: `anon-${tenant}-${i}`,
        event: 'Product Viewed',
        properties: { category: 'books' },
      });
    }
    return (await collect(tables.streamArn)).slice(before.length);
  };
  const eventsOf = (records: readonly DynamoDbStreamRecord[]) =>
    records.filter((r) => r.dynamodb?.NewImage?.kind?.S === 'event').map((r) => `${r.dynamodb!.NewImage!.streamId!.S}@${r.dynamodb!.NewImage!.sk!.N}`);

  it('each stream its own call, its events in order, every call at once', async () => {
    const tenant = `t-${randomUUID()}`;
    const records = await customers(tenant, 8);
    const p = startProcess(client, tables, keys);
    const h = recordingHook();
    const result = await new DynamoDbStreamsProjector(p.core.projector, p.views, undefined, h.hook).handle(records);
    expect(result).toMatchObject({ batchItemFailures: [], rejected: [] });
    expect(h.calls).toHaveLength(8);
    expect(h.most()).toBe(8);
    for (const call of h.calls) {
      const stream = call[0]!.split('@')[0]!;
      expect(call).toEqual(eventsOf(records).filter((e) => e.startsWith(`${stream}@`)));
    }
  });

  it('a hook failing for one stream fails that stream and what follows it in the batch; the others ran', async () => {
    const tenant = `t-${randomUUID()}`;
    const records = await customers(tenant, 4);
    const events = records.filter((r) => r.dynamodb?.NewImage?.kind?.S === 'event');
    const failing = events[Math.floor(events.length / 2)]!.dynamodb!.NewImage!.streamId!.S!;
    const first = records.findIndex((r) => r.dynamodb?.NewImage?.streamId?.S === failing && r.dynamodb?.NewImage?.kind?.S === 'event');
    const p = startProcess(client, tables, keys);
    const h = recordingHook((s) => s === failing);
    const result = await new DynamoDbStreamsProjector(p.core.projector, p.views, undefined, h.hook).handle(records);
    expect(result.batchItemFailures).toEqual(records.slice(first).map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber })));
    expect(h.calls).toHaveLength(4);
  });

  it('a batch that changes identities gets one call with all its events, in order', async () => {
    const tenant = `t-${randomUUID()}`;
    const before = await collect(tables.streamArn);
    await populate(startProcess(client, tables, keys), tenant, 5); // merges and an unmerge
    const records = (await collect(tables.streamArn)).slice(before.length);
    const p = startProcess(client, tables, keys);
    const h = recordingHook();
    await new DynamoDbStreamsProjector(p.core.projector, p.views, undefined, h.hook).handle(records);
    expect(h.calls).toEqual([eventsOf(records)]);
  });
});
