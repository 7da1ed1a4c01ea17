import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createCore, type Core } from '../../src/application/core.js';
import type { ViewDoc } from '../../src/application/ports/read-model.port.js';
import type { ViewDocs } from '../../src/application/projection/customer360.projector.js';
import type { RecordedEvent } from '../../src/domain/customer/customer.events.js';
import { StaticTenantSettings } from '../../src/adapters/config/static-tenant-settings.js';
import { AesGcmCipher, HmacHasher, UuidV7Generator } from '../../src/adapters/crypto/node-crypto.js';
import { MemoryAuditLog } from '../../src/adapters/memory/memory.audit-log.js';
import { MemoryErasureLedger } from '../../src/adapters/memory/memory.erasure-ledger.js';
import { MemoryKeyStore } from '../../src/adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../../src/adapters/memory/memory.quarantine.js';
import { MemoryReadModelStore } from '../../src/adapters/memory/memory.read-model-store.js';
import { MemoryMetrics } from '../../src/adapters/metrics/memory.metrics.js';
import { SqliteCheckpoints } from '../../src/adapters/sqlite/sqlite.checkpoints.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import { SqliteEventStore, toPosition } from '../../src/adapters/sqlite/sqlite.event-store.js';
import { SqliteLogFollower, type RejectedEntry, type SqliteLogFollowerOptions } from '../../src/adapters/sqlite/sqlite.log-follower.js';
import { generateDataset } from '../../src/infrastructure/demo/dataset.js';
import { registered, storedEvent } from '../support/builders.js';
import { ManualClock } from '../support/harness.js';

// The core on the SQLite store without inline projection: views come only from the log follower.
// Keys and views live in memory and are handed from one "process" to the next, as the file would.

const dir = mkdtempSync(join(tmpdir(), 'c360-sqlite-follower-'));
const opened: SqliteDatabase[] = [];
afterAll(() => {
  for (const db of opened) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const WEB = { name: 'web', priority: 10, channel: 'web' } as const;
type Shared = { readonly path: string; readonly keys: MemoryKeyStore; readonly views: MemoryReadModelStore };
type Proc = {
  readonly db: SqliteDatabase;
  readonly store: SqliteEventStore;
  readonly core: Core;
  readonly metrics: MemoryMetrics;
  readonly clock: ManualClock;
  readonly follower: SqliteLogFollower;
};

const shared = (): Shared => ({ path: join(dir, `${randomUUID()}.sqlite`), keys: new MemoryKeyStore(), views: new MemoryReadModelStore() });
const startProcess = (s: Shared, options: SqliteLogFollowerOptions = {}, docs: ViewDocs = s.views): Proc => {
  const db = new SqliteDatabase({ path: s.path });
  opened.push(db);
  const clock = new ManualClock();
  const metrics = new MemoryMetrics();
  const store = new SqliteEventStore(db, { clock });
  const ports = {
    store,
    readModels: s.views,
    keys: s.keys,
    cipher: new AesGcmCipher(),
    clock,
    ids: new UuidV7Generator(clock.now),
    metrics,
    hasher: new HmacHasher((tenant) => `test-secret-for-${tenant}-0123456789abcdef`),
    quarantine: new MemoryQuarantine(),
    settings: new StaticTenantSettings(),
    audit: new MemoryAuditLog(),
    ledger: new MemoryErasureLedger(),
  };
  const core = createCore(ports, { inlineProjection: false, sourceOf: (_t, name) => ({ name, priority: 0, channel: 'other' }) });
  return { db, store, core, metrics, clock, follower: new SqliteLogFollower(store, new SqliteCheckpoints(db), core.projector, docs, options) };
};

/** Generated traffic (merges on identify, orders, retries, invalid calls), a merge undone, one kept. */
const populate = async (p: Proc, tenant: string, seed: number): Promise<void> => {
  for (const call of generateDataset({ customers: 5, ordersPerCustomer: 2, eventsPerCustomer: 3, seed }).calls) {
    await p.core.ingest.ingest(tenant, WEB, call);
    p.clock.advance(1_000);
  }
  const send = async (call: Record<string, unknown>): Promise<string> => {
    const out = await p.core.ingest.ingest(tenant, WEB, call);
    p.clock.advance(60_000);
    if (out.status !== 'accepted') throw new Error(`setup call refused: ${JSON.stringify(out)}`);
    return out.customerId;
  };
  const a = await send({ type: 'identify', messageId: `${seed}-a`, anonymousId: `anon-${seed}-a`, traits: { email: `a${seed}@example.com`, plan: 'pro' } });
  const b = await send({ type: 'identify', messageId: `${seed}-b`, anonymousId: `anon-${seed}-b`, traits: { email: `b${seed}@example.com` } });
  const c = await send({ type: 'track', messageId: `${seed}-c`, anonymousId: `anon-${seed}-c`, event: 'Order Completed', properties: { revenue: 42 } });
  const undone = await p.core.identity.merge(tenant, a, b, { actor: 'ops' });
  await p.core.identity.unmerge(tenant, undone.survivorId, undone.mergeId, { actor: 'ops' });
  await p.core.identity.merge(tenant, a, c, { actor: 'ops' });
};

const byId = (x: ViewDoc, y: ViewDoc) => (x.customerId < y.customerId ? -1 : 1);
const stored = async (views: MemoryReadModelStore, tenant: string): Promise<unknown> =>
  JSON.parse(JSON.stringify([...(await views.list(tenant, { limit: 10_000 })).docs].sort(byId)));
const rebuilt = async (p: Proc, tenant: string): Promise<unknown> =>
  JSON.parse(JSON.stringify([...(await p.core.rebuild.build(tenant)).scratch.docs.values()].sort(byId)));
const logLength = (p: Proc): number => p.store.readGlobal(0, 1_000_000).length;

describe('SQLite log follower', () => {
  it('projects every tenant from the log, and its checkpoint survives a restart', async () => {
    const s = shared();
    const handed: RecordedEvent[] = [];
    const p = startProcess(s, { pageSize: 7, afterProject: async (_t, events) => void handed.push(...events) });
    const [t1, t2] = [`t-${randomUUID()}`, `t-${randomUUID()}`];
    await populate(p, t1, 1);
    await populate(p, t2, 2);
    expect(await stored(s.views, t1)).toEqual([]); // nothing projected inline

    const total = logLength(p);
    expect(total).toBeGreaterThan(30);
    await expect(p.follower.catchUp()).resolves.toEqual({ projected: total });
    expect(handed).toHaveLength(total);
    expect(p.follower.position()).toBe(total);
    for (const t of [t1, t2]) {
      const views = await stored(s.views, t);
      expect((views as ViewDoc[]).filter((d) => d.kind === 'view').length).toBeGreaterThan(3);
      expect((views as ViewDoc[]).some((d) => d.kind === 'pointer')).toBe(true);
      expect(views).toEqual(await rebuilt(p, t));
    }
    p.db.close();

    const q = startProcess(s);
    await expect(q.follower.catchUp()).resolves.toEqual({ projected: 0 });
    const out = await q.core.ingest.ingest(t1, WEB, {
      type: 'track',
      messageId: 'after-restart',
      anonymousId: 'anon-1-a',
      event: 'Order Completed',
      properties: { revenue: 5 },
    });
    expect(out.status).toBe('accepted');
    await expect(q.follower.catchUp()).resolves.toEqual({ projected: logLength(q) - total });
    expect(logLength(q)).toBeGreaterThan(total);
    expect(await stored(s.views, t1)).toEqual(await rebuilt(q, t1));
  });

  it('delivering the whole log again changes nothing: the projector skips what it applied', async () => {
    const s = shared();
    const p = startProcess(s);
    const tenant = `t-${randomUUID()}`;
    await populate(p, tenant, 3);
    await p.follower.catchUp();
    const before = await stored(s.views, tenant);

    new SqliteCheckpoints(p.db).save('customer360', toPosition(0));
    await expect(p.follower.catchUp()).resolves.toEqual({ projected: logLength(p) });
    expect(await stored(s.views, tenant)).toEqual(before);
    expect(p.metrics.get('projection_duplicate_skipped')).toBeGreaterThan(0);
  });

  it('reports events that cannot be read or decoded and goes on past them', async () => {
    const s = shared();
    const rejected: RejectedEntry[] = [];
    const p = startProcess(s, { onRejected: (r) => rejected.push(...r) });
    const [bad, good] = [`t-${randomUUID()}`, `t-${randomUUID()}`];
    const [x, y] = [randomUUID(), randomUUID()];
    const bogus = storedEvent(bad, x, 2, { type: 'NoSuchEvent', pii: undefined });
    await p.store.commit({ tenant: bad, claims: [], streams: [{ streamId: x, expectedVersion: 0, events: [...registered(bad, x).events, bogus] }] });
    await p.store.commit({ tenant: bad, claims: [], streams: [registered(bad, y)] });
    p.db.db.prepare("UPDATE events SET event = '{not json' WHERE position = 3").run();
    await populate(p, good, 4);

    await expect(p.follower.catchUp()).resolves.toEqual({ projected: logLength(p) - 2 });
    expect(rejected.map((r) => [r.position, r.tenant, r.streamId, r.version, r.reason.code])).toEqual([
      [toPosition(2), bad, x, 2, 'UNDECODABLE_EVENT'],
      [toPosition(3), bad, y, 1, 'UNREADABLE_EVENT'],
    ]);
    expect(rejected[0]!.reason.message).toMatch(/unknown event type NoSuchEvent/);
    expect((await s.views.get(bad, x))?.kind).toBe('view');
    expect(await stored(s.views, good)).toEqual(await rebuilt(p, good));
    expect(p.follower.position()).toBe(logLength(p));
    await expect(p.follower.catchUp()).resolves.toEqual({ projected: 0 });
  });

  it('a transient failure stops the checkpoint just before the event, which comes again', async () => {
    const s = shared();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    let down = true;
    const busy = Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 });
    const docs = {
      get: (t: string, id: string) => s.views.get(t, id),
      delete: (t: string, id: string) => s.views.delete(t, id),
      put: async (t: string, doc: ViewDoc, expected?: Parameters<MemoryReadModelStore['put']>[2]) => {
        if (down && doc.customerId === b) throw busy;
        return s.views.put(t, doc, expected);
      },
    };
    const p = startProcess(s, {}, docs);
    const tenant = `t-${randomUUID()}`;
    for (const id of [a, b, c]) await p.store.commit({ tenant, claims: [], streams: [registered(tenant, id)] });

    await expect(p.follower.catchUp()).rejects.toBe(busy);
    expect(p.follower.position()).toBe(1);
    expect((await s.views.get(tenant, a))?.kind).toBe('view');
    expect(await s.views.get(tenant, b)).toBeUndefined();
    // c's doc went in the same flush as b's (the docs of a batch are written at once); whether it
    // landed or not, c comes again after b and is folded exactly once

    down = false;
    await expect(p.follower.catchUp()).resolves.toEqual({ projected: 2 });
    expect(p.follower.position()).toBe(3);
    for (const id of [b, c]) expect((await s.views.get(tenant, id))?.kind).toBe('view');
    const cDoc = await s.views.get(tenant, c);
    expect(cDoc?.kind === 'view' ? cDoc.view.eventCount : undefined).toBe(1);
  });

  it('polls until stopped', async () => {
    const s = shared();
    const p = startProcess(s);
    const tenant = `t-${randomUUID()}`;
    p.follower.start(5);
    const first = await p.core.ingest.ingest(tenant, WEB, { type: 'track', messageId: 'm1', anonymousId: 'anon-1', event: 'Page' });
    if (first.status !== 'accepted') throw new Error(JSON.stringify(first));
    await vi.waitFor(async () => expect((await s.views.get(tenant, first.customerId))?.kind).toBe('view'), { timeout: 2_000 });
    await p.follower.stop();

    const reached = p.follower.position();
    await p.core.ingest.ingest(tenant, WEB, { type: 'track', messageId: 'm2', anonymousId: 'anon-2', event: 'Page' });
    await new Promise((r) => setTimeout(r, 50));
    expect(logLength(p)).toBeGreaterThan(reached);
    expect(p.follower.position()).toBe(reached);
  });
});

describe('skipping what this process projected inline', () => {
  it("projects another process's commits and a crashed process's leftovers, never this store's own", async () => {
    const s = shared();
    const tenant = `t-${randomUUID()}`;
    const other = startProcess(s);
    await populate(other, tenant, 41);
    const theirs = other.store.readGlobal(0, 10_000).length;
    expect(theirs).toBeGreaterThan(20);

    // a second process on the same file: its own commits are known to it, the other's are not
    const self = startProcess(s, { skipLocalCommits: true });
    const mine = await self.store.commit({ tenant, streams: [registered(tenant, randomUUID())], claims: [] });
    expect(mine.status).toBe('committed');
    const all = self.store.readGlobal(0, 10_000);
    expect(all).toHaveLength(theirs + 1);
    expect(all.filter((e) => self.store.committedHere(e.position)).map((e) => e.position)).toEqual([all.at(-1)!.position]);
    expect(all.some((e) => other.store.committedHere(e.position) && self.store.committedHere(e.position))).toBe(false);

    // a conflicting commit takes no position of its own
    const again = await self.store.commit({ tenant, streams: [registered(tenant, all.at(-1)!.streamId)], claims: [] });
    expect(again.status).toBe('conflict');
    expect(self.store.readGlobal(0, 10_000).filter((e) => self.store.committedHere(e.position))).toHaveLength(1);

    // the follower projects exactly the other process's events, and moves past its own
    expect(await self.follower.catchUp()).toEqual({ projected: theirs });
    expect(self.follower.position()).toBe(all.at(-1)!.position);
    expect(self.store.committedHere(all.at(-1)!.position)).toBe(false); // forgotten once passed
  });
});

/** One commit of a new stream through the process's own store. */
const commitNew = async (p: Proc, tenant: string): Promise<void> =>
  expect((await p.store.commit({ tenant, streams: [registered(tenant, randomUUID())], claims: [] })).status).toBe('committed');

describe('passing its own commits unread', () => {
  it("moves the checkpoint over a run of this process's own commits without reading them, and reads another process's in between", async () => {
    const s = shared();
    const tenant = `t-${randomUUID()}`;
    const self = startProcess(s, { skipLocalCommits: true });
    const other = startProcess(s);
    for (let i = 0; i < 5; i++) await commitNew(self, tenant);
    await commitNew(other, tenant);
    for (let i = 0; i < 3; i++) await commitNew(self, tenant);
    const all = self.store.readGlobal(0, 100);
    expect(all.map((e) => self.store.committedHere(e.position))).toEqual([true, true, true, true, true, false, true, true, true]);
    const reads: number[] = [];
    const readGlobal = self.store.readGlobal.bind(self.store);
    self.store.readGlobal = (after: number, limit: number) => {
      reads.push(after);
      return readGlobal(after, limit);
    };
    expect(await self.follower.catchUp()).toEqual({ projected: 1 });
    expect(self.follower.position()).toBe(all.at(-1)!.position);
    // the reads start past the first run of its own commits; the other process's event is read
    expect(reads[0]).toBe(all[4]!.position);
    expect(reads.every((after) => after >= all[4]!.position)).toBe(true);
    expect(self.store.committedHere(all.at(-1)!.position)).toBe(false); // forgotten once passed
    // nothing new: the run of its own commits is passed again without reading
    await commitNew(self, tenant);
    reads.length = 0;
    expect(await self.follower.catchUp()).toEqual({ projected: 0 });
    expect(self.follower.position()).toBe(self.store.lastCommittedHere());
    expect(reads.every((after) => after === self.store.lastCommittedHere())).toBe(true);
  });
});

describe("waiting for this process's after-commit steps", () => {
  it('passes none of its own commits before they have run their after-commit step, nor one made while it waited', async () => {
    const s = shared();
    const tenant = `t-${randomUUID()}`;
    let release!: () => void;
    let committedWhileWaiting = false;
    const self: Proc = startProcess(s, {
      skipLocalCommits: true,
      localSettled: async () => {
        if (!committedWhileWaiting) {
          committedWhileWaiting = true;
          // a commit that starts while the follower waits: not waited for, so not passed in this run
          await commitNew(self, tenant);
        }
        await new Promise<void>((r) => (release = r));
      },
    });
    const other = startProcess(s);
    await commitNew(other, tenant);
    await commitNew(self, tenant);
    await commitNew(self, tenant);
    const settledAt = self.store.lastCommittedHere();
    const run = self.follower.catchUp();
    await vi.waitUntil(() => release !== undefined && self.store.lastCommittedHere() > settledAt);
    expect(self.follower.position()).toBe(0); // still waiting: nothing passed, not even the other process's commit
    release();
    expect(await run).toEqual({ projected: 1 }); // the other process's commit
    expect(self.follower.position()).toBe(settledAt); // its own two, not the one made while it waited
    expect(self.store.committedHere(self.store.lastCommittedHere())).toBe(true);
  });

  it('past the wait, projects the other processes commits up to its own first one, and passes none of its own', async () => {
    const s = shared();
    const tenant = `t-${randomUUID()}`;
    const self = startProcess(s, { skipLocalCommits: true, localSettled: () => new Promise<void>(() => {}), settleWaitMs: 20 });
    const other = startProcess(s);
    await commitNew(other, tenant);
    await commitNew(other, tenant);
    await commitNew(self, tenant);
    await commitNew(other, tenant);
    const all = self.store.readGlobal(0, 100);
    expect(await self.follower.catchUp()).toEqual({ projected: 2 });
    expect(self.follower.position()).toBe(all[1]!.position);
  });
});

describe('a follower of the hooks alone (the match book on the embedded store)', () => {
  const hooksOnly = (p: Proc, handed: RecordedEvent[], options: SqliteLogFollowerOptions = {}) =>
    new SqliteLogFollower(p.store, new SqliteCheckpoints(p.db), p.core.projector, new MemoryReadModelStore(), {
      name: 'match-book',
      views: false,
      upTo: () => p.follower.position(),
      afterProject: async (_t, events) => void handed.push(...events),
      ...options,
    });

  it('never passes the views follower, hands every event to its hook once, and writes no view', async () => {
    const s = shared();
    const p = startProcess(s);
    const tenant = `t-${randomUUID()}`;
    await populate(p, tenant, 5);
    const handed: RecordedEvent[] = [];
    const book = hooksOnly(p, handed, { pageSize: 6 });
    await expect(book.catchUp()).resolves.toEqual({ projected: 0 }); // the views are not there yet
    expect(handed).toEqual([]);

    await p.follower.catchUp();
    const views = await stored(s.views, tenant);
    const total = logLength(p);
    await expect(book.catchUp()).resolves.toEqual({ projected: total });
    expect(handed.map((e) => [e.streamId, e.version])).toEqual(p.store.readGlobal(0, 10_000).map((e) => [e.streamId, e.version]));
    expect(book.position()).toBe(total);
    expect(await stored(s.views, tenant)).toEqual(views);
    await expect(book.catchUp()).resolves.toEqual({ projected: 0 });
  });

  it('hands on only the types it is given, and moves past the rest', async () => {
    const s = shared();
    const p = startProcess(s);
    const tenant = `t-${randomUUID()}`;
    await populate(p, tenant, 8);
    await p.follower.catchUp();
    const handed: RecordedEvent[] = [];
    const types = new Set(['TraitsUpdated', 'CustomerMerged']);
    const book = hooksOnly(p, handed, { types });
    const wanted = p.store.readGlobal(0, 10_000).filter((e) => types.has(e.event!.type));
    expect(wanted.length).toBeGreaterThan(0);
    expect(wanted.length).toBeLessThan(logLength(p));
    await expect(book.catchUp()).resolves.toEqual({ projected: wanted.length });
    expect(handed.map((e) => [e.streamId, e.version])).toEqual(wanted.map((e) => [e.streamId, e.version]));
    expect(book.position()).toBe(logLength(p));
  });

  it('polls only when it is ready; catchUp runs whenever asked', async () => {
    const s = shared();
    const p = startProcess(s);
    const tenant = `t-${randomUUID()}`;
    await populate(p, tenant, 6);
    await p.follower.catchUp();
    let ready = false;
    const handed: RecordedEvent[] = [];
    const book = hooksOnly(p, handed, { ready: () => ready });
    book.start(5);
    await new Promise((r) => setTimeout(r, 60));
    expect(book.position()).toBe(0);
    ready = true;
    await vi.waitFor(() => expect(book.position()).toBe(logLength(p)), { timeout: 2_000 });
    await book.stop();
    expect(handed).toHaveLength(logLength(p));
  });

  it("this process's commits are skipped by both, and forgotten only once both have passed them", async () => {
    const s = shared();
    const p = startProcess(s);
    const tenant = `t-${randomUUID()}`;
    const handed: RecordedEvent[] = [];
    let book: SqliteLogFollower | undefined;
    const self = startProcess(s, { skipLocalCommits: true, othersAt: () => book!.position() });
    book = hooksOnly(self, handed, { skipLocalCommits: true, othersAt: () => self.follower.position() });
    await populate(p, tenant, 7);
    const mine = await self.store.commit({ tenant, streams: [registered(tenant, randomUUID())], claims: [] });
    expect(mine.status).toBe('committed');
    const last = self.store.readGlobal(0, 10_000).at(-1)!.position;

    await self.follower.catchUp();
    expect(self.follower.position()).toBe(last);
    expect(self.store.committedHere(last)).toBe(true); // the book has not passed it yet
    await book.catchUp();
    expect(book.position()).toBe(last);
    expect(handed).toHaveLength(last - 1); // the other process's events, not this one's own
    expect(self.store.committedHere(last)).toBe(false);
  });
});
