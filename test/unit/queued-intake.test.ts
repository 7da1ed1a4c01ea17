import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKinesisClient } from '../../src/adapters/kinesis/kinesis.client.js';
import { KinesisIngestQueue } from '../../src/adapters/kinesis/kinesis.producer.js';
import { encodeKinesisCall, envelopeKey } from '../../src/adapters/kinesis/kinesis.record.js';
import { ensureStream } from '../../src/adapters/kinesis/kinesis.streams.js';
import { QueuedIntake } from '../../src/application/ingest/queued-intake.js';
import type { AcceptOutcome } from '../../src/application/ingest/intake.js';
import { domainError } from '../support/domain-error.js';
import { makeHarness, type Harness } from '../support/harness.js';

// The async intake on kinesalite: what it puts on the stream (envelope, keyed partition key),
// what it quarantines instead (invalid calls, exactly as the sync path; calls the queue refused).

const TENANT = 'acme';
let client: KinesisClient;
beforeAll(() => {
  client = createKinesisClient({ endpoint: inject('kinesisEndpoint'), region: 'us-east-1' });
});
afterAll(() => client.destroy());

const setup = async (options: { stream?: 'missing' } = {}) => {
  const streamName = `intake-${randomUUID()}`;
  if (options.stream !== 'missing') await ensureStream(client, streamName, 2);
  const h = makeHarness();
  const intake = new QueuedIntake({
    queue: new KinesisIngestQueue(client, { streamName, backoffMs: [1, 5] }),
    encode: (c) => encodeKinesisCall(c, envelopeKey('a-claim-secret-of-at-least-32-characters')),
    ingest: h.core.ingest,
    ports: h.ports,
  });
  return { h, intake, streamName };
};

/** Every record on the stream, as { partitionKey, body }. */
const readStream = async (streamName: string) => {
  const out: { partitionKey: string; body: Record<string, unknown> }[] = [];
  for (const shard of (await client.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? []) {
    let it = (await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' })))
      .ShardIterator;
    for (let n = -1; n !== 0 && it; ) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: it }));
      for (const r of page.Records ?? []) out.push({ partitionKey: r.PartitionKey!, body: JSON.parse(new TextDecoder().decode(r.Data)) });
      [n, it] = [page.Records?.length ?? 0, page.NextShardIterator];
    }
  }
  return out;
};

const quarantinedEntry = async (h: Harness, o: AcceptOutcome | undefined) => {
  expect(o?.status, JSON.stringify(o)).toBe('quarantined');
  return h.ports.quarantine.get(TENANT, (o as Extract<AcceptOutcome, { status: 'quarantined' }>).quarantineId);
};

const identify = { type: 'identify', messageId: 'm-1', userId: 'u-1', traits: { email: 'Ada@Example.com' }, writeKey: 'wk-secret' };

describe('QueuedIntake', () => {
  it('queues a valid call in the envelope, without its write key, keyed by a hash of its first identifier', async () => {
    const { h, intake, streamName } = await setup();
    expect(await intake.one(TENANT, h.web, identify)).toEqual({ status: 'queued', messageId: 'm-1' });
    const [record, ...rest] = await readStream(streamName);
    expect(rest).toEqual([]);
    const { writeKey: _key, ...call } = identify;
    expect(record!.body).toEqual({
      c360: 1,
      sig: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      tenant: TENANT,
      source: 'web',
      receivedAt: h.clock.now(),
      call,
    });
    expect(record!.partitionKey).toBe(h.ports.hasher.claimKey(TENANT, 'user_id', 'u-1'));
    expect(h.ports.metrics.get('ingest_accepted')).toBe(0); // nothing is ingested before the consumer runs
  });

  it('never uses a personal value as partition key: blocked ids are skipped, the key is a keyed hash', async () => {
    const { h, intake, streamName } = await setup();
    const call = { type: 'identify', messageId: 'm-2', anonymousId: '00000000-0000-0000-0000-000000000000', traits: { email: ' Grace@Example.com' } };
    await intake.one(TENANT, h.web, call);
    await intake.one('globex', h.web, call);
    const keys = (await readStream(streamName)).map((r) => r.partitionKey).sort();
    expect(keys).toEqual(
      [h.ports.hasher.claimKey(TENANT, 'email', 'grace@example.com'), h.ports.hasher.claimKey('globex', 'email', 'grace@example.com')].sort(),
    );
    expect(keys[0]).not.toBe(keys[1]); // keyed per tenant
    for (const k of keys) expect(k.toLowerCase()).not.toContain('grace');
  });

  it('reports the messageId the consumer will derive for a call without one', async () => {
    const { h, intake } = await setup();
    const call = { type: 'track', anonymousId: 'anon-9', event: 'Coupon Applied', properties: { code: 'X1' } };
    const queued = await intake.one(TENANT, h.web, call);
    const synced = await makeHarness().core.ingest.ingest(TENANT, h.web, call);
    expect(queued).toEqual({ status: 'queued', messageId: (synced as { messageId: string }).messageId });
  });

  it('queues two equal calls without messageId or timestamp as two calls, each carrying the id it was given, so a redelivery is a duplicate', async () => {
    const { h, intake, streamName } = await setup();
    const added = { type: 'track', userId: 'u-7', event: 'Product Added', properties: { product_id: 'p-1' } };
    const out = await intake.batch(TENANT, h.web, { batch: [added, added] });
    expect(out.map((o) => o.status)).toEqual(['queued', 'queued']);
    const ids = out.map((o) => (o as { messageId: string }).messageId);
    expect(ids[0]).not.toBe(ids[1]);
    const records = await readStream(streamName);
    expect(records.map((r) => (r.body.call as { messageId: string }).messageId).sort()).toEqual([...ids].sort());
    // the consumer: each record ingested as it comes off the stream, then one delivered again
    const consumed = [];
    for (const r of records) consumed.push(await h.core.ingest.ingest(TENANT, h.web, r.body.call, r.body.receivedAt as number));
    expect(consumed.map((o) => o.status)).toEqual(['accepted', 'accepted']);
    expect((await h.core.ingest.ingest(TENANT, h.web, records[0]!.body.call, records[0]!.body.receivedAt as number)).status).toBe('duplicate');
  });

  it('derives the id of a call without messageId or timestamp from its place in the request as sent, as the sync path does', async () => {
    const { h, intake } = await setup();
    const added = { type: 'track', userId: 'u-8', event: 'Product Added', properties: { product_id: 'p-2' } };
    // the route refused the request's first call (its index 0) before the batch reached the intake
    const options = { indexes: [1], total: 2 };
    const [queued] = await intake.batch(TENANT, h.web, { batch: [added] }, h.clock.now(), options);
    const sync = makeHarness();
    const [synced] = await sync.core.ingest.ingestBatch(TENANT, sync.web, { batch: [added] }, sync.clock.now(), options);
    expect(queued).toMatchObject({ status: 'queued' });
    expect((queued as { messageId: string }).messageId).toBe((synced as { messageId: string }).messageId);
    // and not the id of the same call at the request's first place
    const [first] = await makeHarness().core.ingest.ingestBatch(TENANT, h.web, { batch: [added] }, h.clock.now());
    expect((first as { messageId: string }).messageId).not.toBe((synced as { messageId: string }).messageId);
  });

  it('quarantines an invalid call as the sync path would, with field paths, and queues nothing', async () => {
    const { h, intake, streamName } = await setup();
    const bad = { type: 'track', userId: 'u-1', event: '', timestamp: 'yesterday' };
    const entry = await quarantinedEntry(h, await intake.one(TENANT, h.web, bad));
    expect(entry).toMatchObject({ source: 'web', payload: bad, reason: { code: 'VALIDATION_FAILED' } });
    expect(entry!.reason.issues.map((i) => i.path).sort()).toEqual(['event', 'timestamp']);
    const sync = makeHarness();
    const syncOut = await sync.core.ingest.ingest(TENANT, sync.web, bad);
    expect(syncOut).toMatchObject({ status: 'quarantined', error: entry!.reason });
    expect(await readStream(streamName)).toEqual([]);
  });

  it('quarantines an amount, currency or timestamp out of bounds at the edge, as the sync path would, and queues nothing', async () => {
    const { h, intake, streamName } = await setup();
    const bad = { type: 'track', messageId: 'm-neg', userId: 'u-1', event: 'Order Completed', properties: { revenue: -5, currency: 'USD' } };
    const entry = await quarantinedEntry(h, await intake.one(TENANT, h.web, bad));
    expect(entry).toMatchObject({ payload: bad, reason: { code: 'VALIDATION_FAILED', issues: [{ path: 'properties.revenue' }] } });
    const sync = makeHarness();
    expect(await sync.core.ingest.ingest(TENANT, sync.web, bad)).toMatchObject({ status: 'quarantined', error: entry!.reason });
    expect(await readStream(streamName)).toEqual([]);
  });

  it('treats each call of a batch as its own unit, with the batch context merged in', async () => {
    const { h, intake, streamName } = await setup();
    const body = {
      batch: [
        { type: 'track', messageId: 'b-1', userId: 'u-1', event: 'Viewed' },
        { type: 'track', userId: 'u-2' },
        { type: 'page', messageId: 'b-3', anonymousId: 'a-3' },
      ],
      context: { library: { name: 'analytics-node' } },
    };
    const out = await intake.batch(TENANT, h.web, body);
    expect(out.map((o) => o.status)).toEqual(['queued', 'quarantined', 'queued']);
    // kept in the batch's one entry of refused calls, at its index, with its reason
    const entry = (await quarantinedEntry(h, out[1]))!;
    expect(entry.reason).toMatchObject({ code: 'BATCH_CALLS_REFUSED', issues: [{ path: 'batch[1].event', message: expect.any(String) }] });
    expect(entry.payload).toMatchObject({ batch: [body.batch[1]], refused: [{ index: 1, code: 'VALIDATION_FAILED' }], context: body.context });
    const queued = await readStream(streamName);
    expect(queued.map((r) => (r.body.call as { messageId: string }).messageId).sort()).toEqual(['b-1', 'b-3']);
    for (const r of queued) expect(r.body.call).toMatchObject({ context: { library: { name: 'analytics-node' } } });
    expect((await domainError(intake.batch(TENANT, h.web, { batch: [] }))).code).toBe('VALIDATION_FAILED');
  });

  it('answers a batch sent again with the entry holding its refused calls already, as the sync path does', async () => {
    const { h, intake } = await setup();
    const body = {
      sentAt: '2026-12-07T00:00:00.000Z',
      batch: [
        { type: 'track', messageId: 'rq-1', userId: 'u-1' },
        { type: 'page', messageId: 'rq-2', anonymousId: 'a-2' },
      ],
    };
    const first = await intake.batch(TENANT, h.web, body);
    const again = await intake.batch(TENANT, h.web, { ...body, sentAt: '2026-12-07T00:00:09.000Z' });
    expect(first[0]).toMatchObject({ status: 'quarantined' });
    expect(again[0]).toEqual(first[0]);
    expect((await h.ports.quarantine.list(TENANT, { limit: 10 })).entries).toHaveLength(1);
  });

  it('quarantines what the queue refused with QUEUE_UNAVAILABLE, so nothing is lost', async () => {
    const { h, intake } = await setup({ stream: 'missing' });
    const out = await intake.batch(TENANT, h.web, { batch: [identify, { ...identify, messageId: 'm-9' }] });
    // both in the batch's one entry, each with its reason
    const ids = out.map((o) => (o.status === 'quarantined' ? o.quarantineId : o.status));
    expect(new Set(ids).size).toBe(1);
    const entry = await quarantinedEntry(h, out[0]);
    expect(entry?.reason.code).toBe('BATCH_CALLS_REFUSED');
    const payload = entry?.payload as { batch: unknown[]; refused: { index: number; code: string; message: string }[] };
    expect(payload.refused.map((r) => [r.index, r.code])).toEqual([
      [0, 'QUEUE_UNAVAILABLE'],
      [1, 'QUEUE_UNAVAILABLE'],
    ]);
    for (const r of payload.refused) expect(r.message).toContain('ResourceNotFoundException');
    const { writeKey: _key, ...call } = identify;
    expect(payload.batch[1]).toEqual({ ...call, messageId: 'm-9' }); // the write key is not kept
    // nothing lost: the entry replays through the sync path
    expect(await h.core.quarantine.replay(TENANT, entry!.id)).toMatchObject({ status: 'replayed', calls: [{ index: 0 }, { index: 1 }] });
  });
});
