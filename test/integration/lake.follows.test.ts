import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { NotAPosition, type EventStore } from '../../src/application/ports/event-store.port.js';
import { StoreUnavailable } from '../../src/application/ports/store-unavailable.js';
import { LakeProjector } from '../../src/application/lake/lake.projector.js';
import { openDuckDbLake } from '../../src/adapters/lake/duckdb.analytics.js';
import { readJson, writeJson } from '../../src/adapters/lake/lake.files.js';
import { statePath } from '../../src/adapters/lake/lake.tables.js';
import { logOf, openLocalLake } from '../../src/infrastructure/lake.js';
import { closeHarnesses, listViews, makeHarness, type Harness } from '../support/harness.js';
import { lakeForTest } from '../support/lake-fixture.js';

// The lake's checkpoint is a position of one log: the lake records which (the store's kind and
// place, and the tenant's first event). Moved to another store (the same data dir from SQLite to
// DynamoDB, `c360 migrate`, a SQLite file made anew), the projector rebuilds the lake from the
// store it reads, says so once, and follows it from then on: never a catch-up that fails forever
// or skips the new log's events.

const T = 'acme';
type Lake = Awaited<ReturnType<typeof lakeForTest>>;
afterEach(() => {
  closeHarnesses();
});

const orders = async (h: Harness, users: readonly string[]): Promise<void> => {
  for (const u of users) {
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
};

/** the store with positions of another form ('d:' and the inner one), refusing any other (as DynamoDB refuses SQLite's) */
const otherForm = (inner: EventStore): EventStore =>
  Object.assign(Object.create(inner) as EventStore, {
    readAll: async (tenant: string, o: { readonly after?: string | undefined; readonly limit: number }) => {
      if (o.after !== undefined && !o.after.startsWith('d:')) throw new NotAPosition(o.after);
      const page = await inner.readAll(tenant, { after: o.after?.slice(2), limit: o.limit });
      return {
        events: page.events.map((e) => ({ ...e, position: `d:${e.position}` })),
        next: page.next === undefined ? undefined : `d:${page.next}`,
      };
    },
  });

/** the customers the lake's CLV query counts, and those of the store's 360 views */
const customers = async (lake: Lake, h: Harness) => ({
  lake: (await lake.lake.analytics.run(T, 'customer-lifetime-value', { now: String(h.clock.now()) })).map((r) => String(r.customer_id)).sort(),
  views: (await listViews(h, T)).flatMap((d) => (d.kind === 'view' ? [d.customerId] : [])).sort(),
});

describe('the lake follows one log', () => {
  it('moved to a store whose positions differ, it is rebuilt from that store once and follows it', async () => {
    const lake = await lakeForTest();
    const sqlite = makeHarness({}, { store: 'sqlite' });
    await orders(sqlite, ['a', 'b']);
    await new LakeProjector(sqlite.ports.store, lake.lake.writer, { log: 'sqlite:/data/c360.db' }).catchUp(T);
    const dynamo = makeHarness({}, { store: 'memory' });
    await orders(dynamo, ['x', 'y', 'z']);
    const notes: string[] = [];
    const projector = new LakeProjector(otherForm(dynamo.ports.store), lake.lake.writer, {
      log: 'dynamodb:c360-events',
      onRebuild: (_t, why) => notes.push(why),
    });
    await projector.catchUp(T);
    const now = await customers(lake, dynamo);
    expect(now.lake).toHaveLength(3);
    expect(now.lake).toEqual(now.views);
    await orders(dynamo, ['w']);
    await projector.catchUp(T);
    // a later projector (a restart) finds the log recorded: no second rebuild
    await new LakeProjector(otherForm(dynamo.ports.store), lake.lake.writer, { log: 'dynamodb:c360-events', onRebuild: (_t, why) => notes.push(why) }).catchUp(
      T,
    );
    const later = await customers(lake, dynamo);
    expect(later.lake).toHaveLength(4);
    expect(later.lake).toEqual(later.views);
    expect(notes).toEqual([expect.stringContaining('it followed sqlite:/data/c360.db')]);
  });

  it('a store made anew at the same place (its positions of the same form) is another log: rebuilt, not skipped', async () => {
    const lake = await lakeForTest();
    const first = makeHarness({}, { store: 'sqlite' });
    await orders(first, ['a', 'b', 'c', 'd']);
    await new LakeProjector(first.ports.store, lake.lake.writer, { log: 'sqlite:/data/c360.db' }).catchUp(T);
    const again = makeHarness({}, { store: 'sqlite' });
    await orders(again, ['x', 'y', 'z', 'w', 'v']);
    const notes: string[] = [];
    await new LakeProjector(again.ports.store, lake.lake.writer, { log: 'sqlite:/data/c360.db', onRebuild: (_t, why) => notes.push(why) }).catchUp(T);
    const now = await customers(lake, again);
    expect(now.lake).toHaveLength(5);
    expect(now.lake).toEqual(now.views);
    expect(notes).toHaveLength(1);
  });

  it('a lake saved before the log was recorded: kept when the store takes its checkpoint, rebuilt when it does not', async () => {
    const lake = await lakeForTest();
    const sqlite = makeHarness({}, { store: 'sqlite' });
    await orders(sqlite, ['a', 'b']);
    await new LakeProjector(sqlite.ports.store, lake.lake.writer).catchUp(T);
    const file = `${lake.root}/${statePath(T)}`;
    expect(readJson<{ log?: string }>(file)?.log).toBeUndefined();
    const notes: string[] = [];
    const onRebuild = (_t: string, why: string) => notes.push(why);
    // the same store: its checkpoint is taken, the log recorded, nothing rebuilt
    await orders(sqlite, ['c']);
    await new LakeProjector(sqlite.ports.store, lake.lake.writer, { log: 'sqlite:/data/c360.db', onRebuild }).catchUp(T);
    expect(notes).toEqual([]);
    expect(readJson<{ log?: string }>(file)?.log).toMatch(/^sqlite:\/data\/c360\.db#/);
    expect((await customers(lake, sqlite)).lake).toHaveLength(3);
    // saved again without the log (an older version), then read by a store refusing its checkpoint
    const { log: _log, ...older } = readJson<Record<string, unknown>>(file)!;
    writeJson(file, older);
    const reopened = await openDuckDbLake(lake.root);
    const dynamo = makeHarness({}, { store: 'memory' });
    await orders(dynamo, ['x']);
    await new LakeProjector(otherForm(dynamo.ports.store), reopened.writer, { log: 'dynamodb:c360-events', onRebuild }).catchUp(T);
    expect(notes).toEqual([expect.stringContaining('is not a position of this store')]);
    expect((await reopened.analytics.run(T, 'customer-lifetime-value', {})).map((r) => r.customer_id)).toEqual((await customers(lake, dynamo)).views);
    reopened.close();
  });

  it('a lake saved before the log was recorded, met by a store out of reach: the failure is thrown, the lake kept (not taken for another log and wiped)', async () => {
    const lake = await lakeForTest();
    const sqlite = makeHarness({}, { store: 'sqlite' });
    await orders(sqlite, ['a', 'b']);
    await new LakeProjector(sqlite.ports.store, lake.lake.writer).catchUp(T);
    const notes: string[] = [];
    // the store answers a read from the start, then times out on the checkpoint (a deadline on a long scan)
    const flaky = Object.assign(Object.create(sqlite.ports.store) as EventStore, {
      readAll: async (tenant: string, o: { readonly after?: string | undefined; readonly limit: number }) => {
        if (o.after !== undefined) throw new StoreUnavailable('EventStoreDB', 'deadline exceeded');
        return sqlite.ports.store.readAll(tenant, o);
      },
    });
    const projector = new LakeProjector(flaky, lake.lake.writer, { log: 'eventstoredb', onRebuild: (_t, why) => notes.push(why) });
    await expect(projector.catchUp(T)).rejects.toBeInstanceOf(StoreUnavailable);
    expect(notes).toEqual([]);
    expect((await customers(lake, sqlite)).lake).toHaveLength(2);
  });

  it('beside the server: the local lake names the configured store, and warns once when it rebuilds for another', async () => {
    expect(logOf({ store: 'sqlite', sqliteFile: 'data/c360.db' })).toBe(`sqlite:${resolve('data/c360.db')}`);
    expect(logOf({ store: 'eventstoredb' })).toBe('eventstoredb');
    const root = mkdtempSync(join(tmpdir(), 'c360-lake-follows-'));
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    const sqlite = makeHarness({}, { store: 'sqlite' });
    await orders(sqlite, ['a']);
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const first = await openLocalLake({ lakeDir: root, store: 'sqlite', sqliteFile: 'data/c360.db' });
      await first.catchUp(sqlite.ports.store, T);
      await first.close();
      const dynamo = makeHarness({}, { store: 'memory' });
      await orders(dynamo, ['x', 'y']);
      const tables = { events: 'c360-events', views: 'v', keys: 'k', quarantine: 'q', audit: 'a', ledger: 'l' };
      const second = await openLocalLake({ lakeDir: root, store: 'dynamodb', tables });
      const store = otherForm(dynamo.ports.store);
      await second.catchUp(store, T);
      await second.catchUp(store, T);
      expect((await second.lake.analytics.run(T, 'customer-lifetime-value', {})).length).toBe(2);
      await second.close();
      const lines = warned.mock.calls.map((c) => String(c[0]));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        level: 'warn',
        tenant: T,
        msg: expect.stringContaining('lake projector: the lake is rebuilt from this store'),
      });
    } finally {
      warned.mockRestore();
    }
  });
});
