import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbEventStore, type LateCommit } from '../../src/adapters/dynamodb/dynamodb.event-store.js';
import { positionTime } from '../../src/adapters/dynamodb/dynamodb.event-item.js';
import { DynamoDbQuarantine } from '../../src/adapters/dynamodb/dynamodb.quarantine.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { DynamoDbStoreTransfer } from '../../src/adapters/dynamodb/dynamodb.transfer.js';
import { LakeProjector } from '../../src/application/lake/lake.projector.js';
import type { EventStore, StoredEvent } from '../../src/application/ports/event-store.port.js';
import { readAllEvents } from '../../src/testing/paging.js';
import { makeHarness } from '../support/harness.js';
import { lakeForTest } from '../support/lake-fixture.js';

// On DynamoDB a commit's position is stamped before it is written, so commits become visible out
// of position order: a commit held on its way (throttled, retried, a slow writer) shows up after a
// later one. A follower that moved its checkpoint over the later one never read the earlier one.
// The lake reads the log settled (behind the store's settle horizon) and loses nothing.

const T = 'acme';
const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `settle-${randomUUID()}`;
beforeAll(() => ensureTables(client, { events: tableName }));
afterAll(() => client.destroy());

/** Holds the next write (PutItem or TransactWriteItems) sent after `arm()` until `release()`. */
const gate = (c: DynamoDBClient) => {
  let armed = false;
  let held: (() => void) | undefined;
  let caught: () => void = () => {};
  const caughtOne = new Promise<void>((r) => (caught = r));
  c.middlewareStack.add(
    (next, context) => async (args) => {
      if (armed && (context.commandName === 'PutItemCommand' || context.commandName === 'TransactWriteItemsCommand')) {
        armed = false;
        await new Promise<void>((r) => {
          held = r;
          caught();
        });
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'holdOneWrite' },
  );
  return {
    arm: () => void (armed = true),
    caught: caughtOne,
    release: () => held?.(),
  };
};

/** Three customers' streams (identify + order), as a memory store holds them: the log to write into DynamoDB. */
const threeCustomers = async (): Promise<StoredEvent[][]> => {
  const h = makeHarness({}, { store: 'memory' });
  for (const u of ['a', 'b', 'c']) {
    const out = await h.core.ingest.ingest(T, h.web, {
      type: 'track',
      messageId: `m-${u}`,
      userId: u,
      event: 'Order Completed',
      properties: { orderId: `o-${u}`, revenue: 10, currency: 'USD' },
    });
    if (out.status !== 'accepted') throw new Error('refused');
    h.clock.advance(60_000);
  }
  const streams = new Map<string, StoredEvent[]>();
  for (const e of await readAllEvents(h.ports.store, T)) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
  return [...streams.values()];
};

const commitStream = (store: EventStore, tenant: string, events: readonly StoredEvent[]) =>
  store.commit({ tenant, streams: [{ streamId: events[0]!.streamId, expectedVersion: 0, events: events.map((e) => ({ ...e, tenant })) }], claims: [] });

/** the store as it was read before: every page up to what is visible now, the `settled` ask ignored */
const unsettled = (inner: EventStore): EventStore =>
  Object.assign(Object.create(inner) as EventStore, {
    readAll: (tenant: string, o: { readonly after?: string | undefined; readonly limit: number }) => inner.readAll(tenant, { after: o.after, limit: o.limit }),
  });

const lakeCustomers = async (lake: Awaited<ReturnType<typeof lakeForTest>>, tenant: string): Promise<string[]> =>
  (await lake.lake.analytics.run(tenant, 'customer-lifetime-value', { now: String(Date.now() + 86_400_000) })).map((r) => String(r.customer_id)).sort();

describe('following the DynamoDB log while commits land out of position order', () => {
  it('a commit that becomes visible after a later one is lost by a follower reading up to the end, and read by the lake', async () => {
    const tenant = `t-${randomUUID()}`;
    const [a, b, c] = await threeCustomers();
    const writerClient = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
    try {
      const held = gate(writerClient);
      const late: LateCommit[] = [];
      const writer = new DynamoDbEventStore(writerClient, { tableName, grouping: false, onLate: (l) => late.push(l) });
      const store = new DynamoDbEventStore(client, { tableName, settleMs: 4_000 });
      await commitStream(writer, tenant, a!);
      // b is stamped, then held on its way; c, stamped after it, lands first
      held.arm();
      const bCommitted = commitStream(writer, tenant, b!);
      await held.caught;
      await commitStream(writer, tenant, c!);
      const visible = new Set((await readAllEvents(store, tenant)).map((e) => e.streamId));
      expect(visible).toEqual(new Set([a![0]!.streamId, c![0]!.streamId]));

      const before = await lakeForTest();
      const after = await lakeForTest();
      const old = new LakeProjector(unsettled(store), before.lake.writer);
      const lake = new LakeProjector(store, after.lake.writer);
      await old.catchUp(tenant);
      await lake.catchUp(tenant);
      held.release();
      await expect(bCommitted).resolves.toMatchObject({ status: 'committed' });
      const all = [a, b, c].map((s) => s![0]!.streamId).sort();
      // once b's position is older than the settle horizon, the lake holds all three
      await vi.waitFor(
        async () => {
          await lake.catchUp(tenant);
          expect(await lakeCustomers(after, tenant)).toEqual(all);
        },
        { timeout: 30_000, interval: 250 },
      );
      // the follower that read up to the end moved its checkpoint past b before b was visible: b is lost to it
      await old.catchUp(tenant);
      expect(await lakeCustomers(before, tenant)).toEqual([a, c].map((s) => s![0]!.streamId).sort());
      // b was held for well under the writer's settle horizon (60 s by default): not late
      expect(late).toEqual([]);
    } finally {
      writerClient.destroy();
    }
  }, 60_000);

  it('a commit that returns later than the settle horizon after its stamp is reported', async () => {
    const tenant = `t-${randomUUID()}`;
    const [a] = await threeCustomers();
    const writerClient = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
    try {
      const held = gate(writerClient);
      const late: LateCommit[] = [];
      const writer = new DynamoDbEventStore(writerClient, { tableName, grouping: false, settleMs: 200, onLate: (l) => late.push(l) });
      held.arm();
      const committed = commitStream(writer, tenant, a!);
      await held.caught;
      await new Promise((r) => setTimeout(r, 400));
      held.release();
      await expect(committed).resolves.toMatchObject({ status: 'committed' });
      expect(late).toHaveLength(1);
      expect(late[0]).toMatchObject({ tenant, streams: [a![0]!.streamId] });
      const [stored] = await readAllEvents(writer, tenant);
      expect(stored!.position!.startsWith(late[0]!.stamp)).toBe(true);
    } finally {
      writerClient.destroy();
    }
  });

  it('imported events are stamped when written, in the order given, and a resumed import leaves them where they are', async () => {
    const tenant = `t-${randomUUID()}`;
    const log = (await threeCustomers()).flat().map((e) => ({ ...e, tenant }));
    const store = new DynamoDbEventStore(client, { tableName });
    const transfer = new DynamoDbStoreTransfer(
      client,
      { events: tableName, keys: tableName, outbox: tableName },
      store,
      new DynamoDbQuarantine(client, { tableName, retentionMs: 1 }),
    );
    const started = Date.now();
    await transfer.importEvents(tenant, log.slice(0, 3));
    await transfer.importEvents(tenant, log.slice(3));
    const first = await readAllEvents(store, tenant);
    expect(first.map((e) => e.eventId)).toEqual(log.map((e) => e.eventId));
    // stamped at the import's time, not at the events' recordedAt (minutes to years back): a
    // follower's settle horizon covers them as it covers live commits
    for (const e of first) expect(positionTime(e.position!)).toBeGreaterThanOrEqual(started);
    expect(Math.min(...log.map((e) => e.recordedAt))).toBeLessThan(started);

    const again = new DynamoDbStoreTransfer(
      client,
      { events: tableName, keys: tableName, outbox: tableName },
      store,
      new DynamoDbQuarantine(client, { tableName, retentionMs: 1 }),
    );
    await again.importEvents(tenant, log);
    expect(await readAllEvents(store, tenant)).toEqual(first);

    // a settled read goes on after its cursor, and stops at the horizon
    const now = new DynamoDbEventStore(client, { tableName, settleMs: 0 });
    expect((await now.readAll(tenant, { after: first[0]!.position, limit: 100, settled: true })).events).toEqual(first.slice(1));
    const behind = new DynamoDbEventStore(client, { tableName, settleMs: 3_600_000 });
    expect(await behind.readAll(tenant, { limit: 100, settled: true })).toEqual({ events: [] });
    expect(await behind.readAll(tenant, { after: first[0]!.position, limit: 100, settled: true })).toEqual({ events: [] });
  });
});
