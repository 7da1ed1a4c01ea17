import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCore } from '../../src/application/core.js';
import type { ClaimOp, CommitResult, EventStore, IdempotencyRecord, StoredEvent } from '../../src/application/ports/event-store.port.js';
import { StaticTenantSettings } from '../../src/adapters/config/static-tenant-settings.js';
import { AesGcmCipher, HmacHasher, UuidV7Generator } from '../../src/adapters/crypto/node-crypto.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbEventStore } from '../../src/adapters/dynamodb/dynamodb.event-store.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { MemoryKeyStore } from '../../src/adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../../src/adapters/memory/memory.quarantine.js';
import { MemoryReadModelStore } from '../../src/adapters/memory/memory.read-model-store.js';
import { MemoryAuditLog } from '../../src/adapters/memory/memory.audit-log.js';
import { MemoryErasureLedger } from '../../src/adapters/memory/memory.erasure-ledger.js';
import { MemoryMetrics } from '../../src/adapters/metrics/memory.metrics.js';
import { append, registered } from '../support/builders.js';
import { ManualClock } from '../support/harness.js';
import { injectFaults } from '../support/dynamodb-faults.js';
import { drain } from '../support/paging.js';

// The faults for the event store, on DynamoDB Local: concurrent writers, racing first
// events through the real ingest use case, throttling, and responses lost after the write.

const endpoint = inject('dynamoEndpoint');
const client = createDynamoDbClient({ endpoint });
const tableName = `events-faults-${randomUUID()}`;
const DAY = 86_400_000;
const ids = (events: readonly StoredEvent[]) => events.map((e) => e.eventId);
// unique across the whole file (the builders' claim keys repeat after 256)
const claimKey = (): string => `claim-${randomUUID()}`;

beforeAll(() => ensureTables(client, { events: tableName }));
afterAll(() => client.destroy());

const storeOn = (c: DynamoDBClient, clock?: ManualClock) => new DynamoDbEventStore(c, { tableName, clock });

type Attempt = {
  readonly expected: number;
  readonly events: readonly StoredEvent[];
  readonly idempotency?: IdempotencyRecord | undefined;
  readonly claims: readonly ClaimOp[];
  readonly result: CommitResult;
};

describe('16 concurrent writers appending to one customer', () => {
  it('stores every accepted event once, gapless; rejected writes get a conflict and leave nothing behind', async () => {
    const store = storeOn(client);
    const tenant = `t-${randomUUID()}`;
    const a = randomUUID();
    await store.commit({ tenant, streams: [registered(tenant, a)], claims: [] });

    // even writers commit transactions (2 events, a claim, an idempotency record); odd ones plain puts
    const writer = async (w: number): Promise<Attempt[]> => {
      const attempts: Attempt[] = [];
      let version = 1;
      for (let round = 0; round < 4; round++) {
        const tx = w % 2 === 0;
        const events = append(tenant, a, version, tx ? 2 : 1).events;
        const idempotency = tx ? { key: `w${w}-r${round}`, payloadHash: `h${w}`, expiresAt: Date.now() + DAY } : undefined;
        const claims: ClaimOp[] = tx ? [{ op: 'claim', key: claimKey(), owner: a }] : [];
        const result = await store.commit({ tenant, idempotency, streams: [{ streamId: a, expectedVersion: version, events }], claims });
        attempts.push({ expected: version, events, idempotency, claims, result });
        if (result.status === 'duplicate') throw new Error('no key was reused');
        version = result.status === 'committed' ? result.versions[a]! : result.current.streams[a]!;
      }
      return attempts;
    };
    const attempts = (await Promise.all(Array.from({ length: 16 }, (_, w) => writer(w)))).flat();
    const accepted = attempts.filter((t) => t.result.status === 'committed');
    const rejected = attempts.filter((t) => t.result.status === 'conflict');
    expect(accepted.length + rejected.length).toBe(attempts.length);
    expect(rejected.length).toBeGreaterThan(accepted.length); // the race was real

    const stream = (await store.readStream(tenant, a)).slice(1);
    expect(stream.map((e) => e.version)).toEqual(Array.from({ length: stream.length }, (_, i) => i + 2));
    // each accepted commit sits exactly where it expected, whole, and nothing else is there
    for (const t of accepted) expect(ids(stream.slice(t.expected - 1, t.expected - 1 + t.events.length))).toEqual(ids(t.events));
    expect(new Set(ids(stream))).toEqual(new Set(accepted.flatMap((t) => ids(t.events))));
    expect(stream).toHaveLength(accepted.reduce((n, t) => n + t.events.length, 0));

    const claimed = await store.readClaims(
      tenant,
      attempts.flatMap((t) => t.claims.map((c) => c.key)),
    );
    for (const t of rejected) {
      // the conflict told the truth: the stream had moved past what the writer expected
      if (t.result.status === 'conflict') expect(t.result.current.streams[a]).toBeGreaterThan(t.expected);
      for (const c of t.claims) expect(claimed.has(c.key)).toBe(false);
      if (t.idempotency) await expect(store.getIdempotency(tenant, t.idempotency.key, Date.now())).resolves.toBeUndefined();
    }
    for (const t of accepted) {
      for (const c of t.claims) expect(claimed.get(c.key)).toBe(a);
      if (t.idempotency) await expect(store.getIdempotency(tenant, t.idempotency.key, Date.now())).resolves.toEqual(t.idempotency);
    }
    // the whole log, a page at a time, saying how far through it each page got
    const upTo: number[] = [];
    const log = await drain((after) =>
      store
        .readAllWithProgress(tenant, { after, limit: 7, onProgress: (p) => p.upTo !== undefined && upTo.push(p.upTo) })
        .then((p) => ({ items: p.events, next: p.next })),
    );
    expect(ids(log)).toEqual(ids(await store.readStream(tenant, a)));
    expect(upTo).toEqual([...upTo].sort((x, y) => x - y));
    expect(upTo.at(-1)).toBeLessThanOrEqual(Date.now());
  });
});

describe('two concurrent first events carrying the same new email, through the real ingest use case', () => {
  // Two processes (two Lambda containers, say): each its own core and store, one table. Inside one
  // process ingest queues calls that share identifiers, so the race that matters is between them.
  // Both must decide "new customer" before either commits, or there is no race: each round's first
  // commits wait for each other (a barrier of two), then go at once.
  const clock = new ManualClock();
  const hasher = new HmacHasher((t) => `test-secret-for-${t}-0123456789abcdef`);
  const waiting: (() => void)[] = [];
  let armed = false;
  const racing = (store: EventStore): EventStore => ({
    readStream: (...a) => store.readStream(...a),
    readClaims: (...a) => store.readClaims(...a),
    readAll: (...a) => store.readAll(...a),
    getIdempotency: (...a) => store.getIdempotency(...a),
    commit: async (c) => {
      if (armed) await new Promise<void>((go) => (waiting.push(go) === 2 ? ((armed = false), waiting.splice(0).forEach((f) => f())) : undefined));
      return store.commit(c);
    },
  });
  const web = { name: 'web', priority: 10, channel: 'web' as const };
  const newProcess = () => {
    const ports = {
      store: racing(storeOn(client, clock)),
      readModels: new MemoryReadModelStore(),
      keys: new MemoryKeyStore(),
      cipher: new AesGcmCipher(),
      hasher,
      clock,
      ids: new UuidV7Generator(clock.now),
      quarantine: new MemoryQuarantine(),
      settings: new StaticTenantSettings({}),
      metrics: new MemoryMetrics(),
      audit: new MemoryAuditLog(),
      ledger: new MemoryErasureLedger(),
    };
    return { core: createCore(ports, { inlineProjection: true, sourceOf: () => web }), metrics: ports.metrics };
  };

  it('leaves exactly one customer holding the email', async () => {
    const processes = [newProcess(), newProcess()];
    const tenant = `t-${randomUUID()}`;
    const store = storeOn(client, clock);
    for (let round = 0; round < 4; round++) {
      const email = `First.${round}.${randomUUID()}@Example.com`;
      const calls = processes.map((_, i) => ({ type: 'identify', messageId: `m-${round}-${i}`, anonymousId: `anon-${round}-${i}`, traits: { email } }));
      armed = true;
      const outcomes = await Promise.all(processes.map((p, i) => p.core.ingest.ingest(tenant, web, calls[i])));
      const customers = outcomes.map((o) => (o.status === 'accepted' ? o.customerId : o.status));
      expect(customers[0]).toBe(customers[1]);
      expect(outcomes.filter((o) => o.status === 'accepted' && o.created)).toHaveLength(1);
      const keys = [hasher.claimKey(tenant, 'email', email.toLowerCase()), ...calls.map((c) => hasher.claimKey(tenant, 'anonymous_id', c.anonymousId))];
      expect([...(await store.readClaims(tenant, keys)).values()]).toEqual([customers[0], customers[0], customers[0]]);
    }
    // every round raced, and its loser retried once
    expect(processes.reduce((n, p) => n + p.metrics.get('commit_conflict_retry'), 0)).toBe(4);
    const log = await store.readAll(tenant, { limit: 1_000 });
    expect(log.events.filter((e) => e.type === 'CustomerRegistered')).toHaveLength(4);
    expect(new Set(log.events.map((e) => e.streamId)).size).toBe(4);
  });
});

describe.each([
  ['one request per commit (grouping off)', false],
  ['commits grouped per turn', true],
] as const)('faults under the SDK, %s', (_, grouping) => {
  const storeWith = (c: DynamoDBClient) => new DynamoDbEventStore(c, { tableName, grouping: grouping ? {} : false });
  // 6 customers, each: a first commit with claim and idempotency record (a transaction), then 2 plain appends
  const workload = async (store: DynamoDbEventStore, tenant: string) => {
    const customers = Array.from({ length: 6 }, () => ({ id: randomUUID(), key: claimKey() }));
    const results = await Promise.all(
      customers.map(async ({ id, key }) => {
        const out = [
          await store.commit({
            tenant,
            idempotency: { key: `m-${id}`, payloadHash: 'h', expiresAt: Date.now() + DAY },
            streams: [registered(tenant, id)],
            claims: [{ op: 'claim', key, owner: id }],
          }),
        ];
        for (let v = 1; v <= 2; v++) out.push(await store.commit({ tenant, streams: [append(tenant, id, v)], claims: [] }));
        return out;
      }),
    );
    return { customers, results: results.flat() };
  };
  const expectIntact = async (tenant: string, { customers, results }: Awaited<ReturnType<typeof workload>>) => {
    expect(results.map((r) => r.status)).toEqual(results.map(() => 'committed'));
    const clean = storeOn(client);
    for (const { id, key } of customers) {
      expect((await clean.readStream(tenant, id)).map((e) => e.version)).toEqual([1, 2, 3]);
      expect((await clean.readClaims(tenant, [key])).get(key)).toBe(id);
      await expect(clean.getIdempotency(tenant, `m-${id}`, Date.now())).resolves.toMatchObject({ payloadHash: 'h' });
    }
    const log = await clean.readAll(tenant, { limit: 1_000 });
    expect(new Set(ids(log.events)).size).toBe(18);
    expect(log.events).toHaveLength(18);
  };
  /** the commits went out as one request each, or (grouped) the 6 customers' commits of each round shared one */
  const expectWrites = (store: DynamoDbEventStore, writes: number) => {
    if (grouping) {
      expect(store.groupStats!.largestGroup).toBe(6);
      expect(writes).toBe(store.groupStats!.groups);
      expect(writes).toBeLessThan(18);
    } else expect(writes).toBe(18);
  };

  it('throttling (ProvisionedThroughputExceededException) is retried with backoff: every commit lands, once', async () => {
    const faulty = createDynamoDbClient({ endpoint });
    const faults = injectFaults(faulty, { throttleFirst: 2 });
    const tenant = `t-${randomUUID()}`;
    const store = storeWith(faulty);
    try {
      await expectIntact(tenant, await workload(store, tenant));
    } finally {
      faulty.destroy();
    }
    // every request of the workload (the writes, plus the reads the puts never needed) was throttled twice
    expect(faults.throttled).toBe(2 * faults.requests);
    expectWrites(store, faults.requests);
  });

  it('a write applied but its response lost is retried by the SDK without a conflict or a duplicate', async () => {
    const faulty = createDynamoDbClient({ endpoint });
    const faults = injectFaults(faulty, { loseFirstResponseOf: ['PutItemCommand', 'TransactWriteItemsCommand'] });
    const tenant = `t-${randomUUID()}`;
    const store = storeWith(faulty);
    try {
      await expectIntact(tenant, await workload(store, tenant));
    } finally {
      faulty.destroy();
    }
    expectWrites(store, faults.lost);
  });
});
