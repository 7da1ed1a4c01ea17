import { ListShardsCommand, PutRecordCommand, SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbCheckpoints, MemoryCheckpoints, type Checkpoints } from '../../src/adapters/dynamodb/dynamodb.stream-checkpoints.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { createKinesisClient } from '../../src/adapters/kinesis/kinesis.client.js';
import { KinesisConsumer, type KinesisBatchHandler } from '../../src/adapters/kinesis/kinesis.consumer.js';
import { kinesisIngestHandler } from '../../src/adapters/kinesis/kinesis.ingest.js';
import { KinesisIngestQueue } from '../../src/adapters/kinesis/kinesis.producer.js';
import { decodeKinesisRecord, encodeKinesisCall, envelopeKey } from '../../src/adapters/kinesis/kinesis.record.js';
import { ensureStream, waitActive } from '../../src/adapters/kinesis/kinesis.streams.js';
import { QueuedIntake } from '../../src/application/ingest/queued-intake.js';
import { makeHarness, type Harness } from '../support/harness.js';

// HTTP-free end to end on kinesalite: the async intake puts calls on a fresh 2-shard stream, the
// polling consumer feeds them to the core, and the core ends up as if they had been ingested
// directly. Checkpoints on DynamoDB Local survive a consumer restart; a reshard keeps key order.

const TENANT = 'acme';
const auth = new StaticAuthenticator([{ id: 'mobile-key', tenant: TENANT, kind: 'writeKey', secret: 'wk-mobile', scopes: ['ingest'], source: 'mobile' }]);
const ENVELOPE_KEY = envelopeKey('a-claim-secret-of-at-least-32-characters');
const decodeCtx = { auth, defaultTenant: TENANT, envelopeKey: ENVELOPE_KEY };
let client: KinesisClient;
beforeAll(() => {
  client = createKinesisClient({ endpoint: inject('kinesisEndpoint'), region: 'us-east-1' });
});
afterAll(() => client.destroy());

const setup = async () => {
  const streamName = `c360-${randomUUID()}`;
  await ensureStream(client, streamName, 2);
  const h = makeHarness();
  const intake = new QueuedIntake({
    queue: new KinesisIngestQueue(client, { streamName }),
    encode: (c) => encodeKinesisCall(c, ENVELOPE_KEY),
    ingest: h.core.ingest,
    ports: h.ports,
  });
  const sourceOf = (_t: string, name: string) => (name === 'web' ? h.web : name === 'crm' ? h.crm : { name, priority: 0, channel: 'other' as const });
  /** the consumer's handler, noting the messageIds it is handed in delivery order */
  const delivered: string[] = [];
  const inner = kinesisIngestHandler(h.core, sourceOf, decodeCtx);
  const handler: KinesisBatchHandler = {
    handle: (records) => {
      for (const r of records) {
        const d = decodeKinesisRecord(r.data, decodeCtx);
        delivered.push(d.ok ? (d.value.call as { messageId: string }).messageId : '(undecodable)');
      }
      return inner.handle(records);
    },
  };
  const consumer = (checkpoints: Checkpoints, options: { batchSize?: number; onError?: (e: unknown) => void } = {}) =>
    new KinesisConsumer(client, handler, { streamName, checkpoints, idleDelayMs: [5, 20], retryDelayMs: [5, 20], shardRefreshMs: 0, ...options });
  return { h, intake, streamName, consumer, delivered };
};

const people = ['ada', 'grace', 'linus', 'barbara'];
const identify = (who: string) => ({
  type: 'identify',
  messageId: `id-${who}`,
  userId: `u-${who}`,
  anonymousId: `anon-${who}`,
  traits: { email: `${who}@example.com`, name: who },
});
const step = (who: string, n: number) => ({ type: 'track', messageId: `${who}-${n}`, anonymousId: `anon-${who}`, event: `Step ${n}` });
const userOf = async (h: Harness, who: string) => {
  const found = await h.core.queries.findByIdentifier(TENANT, 'email', `${who}@example.com`);
  if (found.kind !== 'view') throw new Error(`expected a view for ${who}`);
  return found.customer;
};

describe('Kinesis: async intake -> stream -> consumer -> core', () => {
  it('ends with the same customers as direct ingest; queuing the same calls again changes nothing', async () => {
    const { h, intake, consumer } = await setup();
    const body = { batch: [...people.map(identify), ...people.flatMap((p) => [step(p, 1), step(p, 2)]), { type: 'track', userId: 'u-x' }] };
    const out = await intake.batch(TENANT, h.web, body);
    expect(out.filter((o) => o.status === 'queued')).toHaveLength(12);
    expect(out.at(-1)?.status).toBe('quarantined'); // the invalid one, at once, as in sync mode
    expect(h.ports.metrics.get('ingest_accepted')).toBe(0);

    await consumer(new MemoryCheckpoints()).drain();
    expect(h.ports.metrics.get('ingest_accepted')).toBe(12);
    for (const who of people) {
      const c = await userOf(h, who);
      expect(c.identifiers.map((i) => `${i.type}:${i.value}`).sort()).toEqual([`anonymous_id:anon-${who}`, `email:${who}@example.com`, `user_id:u-${who}`]);
      expect(c.traits.name).toMatchObject({ value: who, source: 'web' });
    }

    const log = h.ports.store.dump();
    await intake.batch(TENANT, h.web, body);
    await consumer(new MemoryCheckpoints()).drain();
    expect(h.ports.metrics.get('ingest_duplicate')).toBe(24); // the first run's records, read again from the start, and the new copies
    expect(h.ports.metrics.get('ingest_accepted')).toBe(12);
    expect(h.ports.store.dump()).toEqual(log);
  });

  it('quarantines an undecodable record and goes on with the records after it; bare calls need a write key or the default tenant', async () => {
    const { h, intake, consumer, streamName } = await setup();
    const partitionKey = h.ports.hasher.claimKey(TENANT, 'user_id', 'u-ada');
    await client.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: partitionKey, Data: new TextEncoder().encode('{"type":"identify",') }));
    await intake.one(TENANT, h.web, identify('ada'));
    const bare = { ...identify('grace'), writeKey: 'wk-mobile' };
    await client.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: partitionKey, Data: new TextEncoder().encode(JSON.stringify(bare)) }));

    await consumer(new MemoryCheckpoints()).drain();
    expect((await userOf(h, 'ada')).traits.name).toMatchObject({ value: 'ada', source: 'web' });
    expect((await userOf(h, 'grace')).traits.name).toMatchObject({ value: 'grace', source: 'mobile' });
    const held = (await h.ports.quarantine.list(TENANT, { limit: 10 })).entries;
    expect(held).toMatchObject([{ source: 'kinesis', reason: { code: 'UNDECODABLE_RECORD' }, payload: '{"type":"identify",' }]);
  });

  it("quarantines an envelope the core refuses once, however often its record is read again (a producer of one's own, no messageId)", async () => {
    const { h, consumer, streamName } = await setup();
    // our envelope as encodeKinesisCall writes it for a producer of one's own (the queued intake
    // gives such a call a messageId first): valid as a Segment call, refused when ingested (its
    // only identifier is blocked), and with no messageId or timestamp, only the record's place in
    // the stream names its arrival
    const refused = { type: 'track', anonymousId: 'undefined', event: 'Product Added' };
    const data = encodeKinesisCall({ tenant: TENANT, source: 'web', receivedAt: Date.now(), call: refused }, ENVELOPE_KEY);
    await client.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'p-refused', Data: data }));
    // read from the start three times (a consumer without its checkpoints, a retried batch)
    for (let read = 0; read < 3; read++) await consumer(new MemoryCheckpoints()).drain();
    const held = (await h.ports.quarantine.list(TENANT, { limit: 10 })).entries;
    expect(held).toMatchObject([{ source: 'web', reason: { code: 'NO_USABLE_IDENTIFIER' }, payload: refused }]);
  });

  it('resumes from its checkpoints after a restart and reads nothing twice', async () => {
    const { h, intake, consumer } = await setup();
    const dynamo = createDynamoDbClient({ endpoint: inject('dynamoEndpoint'), region: 'us-east-1' });
    const table = `kinesis-cp-${randomUUID()}`;
    await ensureTables(dynamo, { views: table });
    const checkpoints = new DynamoDbCheckpoints(dynamo, table, 'kinesis-test');
    await intake.batch(TENANT, h.web, { batch: people.map(identify) });
    expect(await consumer(checkpoints).drain()).toBe(4);

    await intake.batch(TENANT, h.web, { batch: people.map((p) => step(p, 1)) });
    const restarted = consumer(checkpoints);
    expect(await restarted.drain()).toBe(4);
    expect(await restarted.drain()).toBe(0);
    expect(h.ports.metrics.get('ingest_accepted')).toBe(8);
    expect(h.ports.metrics.get('ingest_duplicate')).toBe(0);
    dynamo.destroy();
  });

  it('reads a failed batch again from its first failed record, skipping none', async () => {
    const { h, intake, consumer, delivered } = await setup();
    await intake.batch(TENANT, h.web, { batch: people.map(identify) });
    const commit = h.ports.store.commit.bind(h.ports.store);
    let failing = 2;
    vi.spyOn(h.ports.store, 'commit').mockImplementation(async (c) => (failing-- > 0 ? Promise.reject(new Error('store unavailable')) : commit(c)));
    const errors: string[] = [];
    await consumer(new MemoryCheckpoints(), { onError: (e) => errors.push((e as Error).message) }).drain();
    // each retry says why (the error's class and message), never a record's content
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors)
      expect(e).toMatch(/^shard shardId-\d+: \d+ record\(s\) failed from \d+ \(Error: store unavailable\); read again from there after a pause$/);
    expect(h.ports.metrics.get('ingest_accepted')).toBe(4);
    for (const who of people) expect((await userOf(h, who)).traits.name).toMatchObject({ value: who });
    expect(delivered.length).toBeGreaterThan(4); // the failed ones were delivered again
  });

  it('keeps each person in order across a reshard: children are read after their parents', async () => {
    const { h, intake, consumer, delivered, streamName } = await setup();
    const who = ['ada', 'grace'];
    await intake.batch(TENANT, h.web, { batch: [1, 2, 3, 4, 5, 6].flatMap((n) => who.map((p) => step(p, n))) });
    // kinesalite has SplitShard (not UpdateShardCount): split both shards in the middle of their ranges
    for (const shard of (await client.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? []) {
      const [lo, hi] = [BigInt(shard.HashKeyRange!.StartingHashKey!), BigInt(shard.HashKeyRange!.EndingHashKey!)];
      await client.send(new SplitShardCommand({ StreamName: streamName, ShardToSplit: shard.ShardId!, NewStartingHashKey: String(lo + (hi - lo) / 2n) }));
      await waitActive(client, streamName);
    }
    await intake.batch(TENANT, h.web, { batch: [7, 8, 9, 10, 11, 12].flatMap((n) => who.map((p) => step(p, n))) });
    const shards = (await client.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
    expect(shards.filter((s) => s.ParentShardId)).toHaveLength(4);

    const checkpoints = new MemoryCheckpoints();
    await consumer(checkpoints, { batchSize: 2 }).drain();
    for (const p of who) expect(delivered.filter((m) => m.startsWith(`${p}-`))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((n) => `${p}-${n}`));
    expect(h.ports.metrics.get('ingest_accepted')).toBe(24);
    expect([...checkpoints.saved.values()].filter((c) => c.ended)).toHaveLength(2); // both parents read to their end
  });

  it('runs as a long-lived poll loop that stops cleanly', async () => {
    const { h, intake, consumer } = await setup();
    const running = consumer(new MemoryCheckpoints());
    running.start();
    await intake.batch(TENANT, h.web, { batch: people.map(identify) });
    await vi.waitFor(() => expect(h.ports.metrics.get('ingest_accepted')).toBe(4), { timeout: 10_000, interval: 20 });
    await running.stop();
    await intake.one(TENANT, h.web, step('ada', 1));
    await new Promise((r) => setTimeout(r, 100));
    expect(h.ports.metrics.get('ingest_accepted')).toBe(4); // stopped: nothing is read any more
  });
});
