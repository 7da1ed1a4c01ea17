import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Commit, CommitResult } from '../../src/application/ports/event-store.port.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqlite.event-store.js';
import { append, claimKey, registered } from '../support/builders.js';
import { eventStoreContract } from './event-store.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'c360-sqlite-store-'));
const opened: SqliteDatabase[] = [];
const open = (path = join(dir, `${randomUUID()}.sqlite`)): SqliteDatabase => {
  const db = new SqliteDatabase({ path });
  opened.push(db);
  return db;
};
afterAll(() => {
  for (const db of opened) db.close();
  rmSync(dir, { recursive: true, force: true });
});

let onFile: SqliteEventStore | undefined;
let inMemory: SqliteEventStore | undefined;
eventStoreContract('SQLite (file, WAL)', () => (onFile ??= new SqliteEventStore(open())));
eventStoreContract('SQLite (:memory:)', () => (inMemory ??= new SqliteEventStore(open(':memory:'))));
let ungrouped: SqliteEventStore | undefined;
eventStoreContract('SQLite (file, group commit off)', () => (ungrouped ??= new SqliteEventStore(open(), { groupCommit: false })));

const DAY = 86_400_000;
const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('SQLite: the reads of one loop turn', () => {
  it('run together in one read transaction: each sees the file as it was when the first of them ran', async () => {
    const path = join(dir, `${randomUUID()}.sqlite`);
    const db = open(path);
    const store = new SqliteEventStore(db);
    const other = open(path);
    new SqliteEventStore(other); // the schema, on the other connection too
    const tenant = `t-${randomUUID()}`;
    const key = claimKey();
    const owner = randomUUID();
    const first = store.readClaims(tenant, [key]);
    // another connection commits while the turn's reads run, after the first and before the last
    const meanwhile = db.read(() => other.db.prepare('INSERT INTO claims (tenant, key, owner) VALUES (?, ?, ?)').run(tenant, key, owner));
    const last = store.readClaims(tenant, [key]);
    await meanwhile;
    expect(await first).toEqual(new Map());
    expect(await last).toEqual(new Map()); // read on its own, it would have seen the claim
    // a read asked for after that commit sees it
    expect(await store.readClaims(tenant, [key])).toEqual(new Map([[key, owner]]));
    expect(db.db.isTransaction).toBe(false);
  });

  it("a read that throws rejects alone; the turn's other reads answer", async () => {
    const db = open();
    const store = new SqliteEventStore(db);
    const tenant = `t-${randomUUID()}`;
    const a = randomUUID();
    await store.commit({ tenant, claims: [], streams: [registered(tenant, a)], idempotency: { key: 'msg-1', payloadHash: 'h', expiresAt: Date.now() + DAY } });
    const [before, failed, after] = await Promise.all([
      store.getIdempotency(tenant, 'msg-1', Date.now()),
      settle(db.read(() => db.db.prepare('SELECT * FROM no_such_table').get())),
      store.readStream(tenant, a),
    ]);
    expect(before).toMatchObject({ key: 'msg-1', payloadHash: 'h' });
    expect(failed).toMatchObject({ ok: false, error: expect.objectContaining({ message: expect.stringMatching(/no such table/) }) });
    expect(after.map((e) => e.version)).toEqual([1]);
    expect(db.db.isTransaction).toBe(false);
  });
});

describe('SQLite event store: group commit', () => {
  let db: SqliteDatabase;
  let store: SqliteEventStore;
  let tenant: string;
  beforeEach(() => {
    db = open();
    store = new SqliteEventStore(db);
    tenant = `t-${randomUUID()}`;
  });
  const commit = (c: Omit<Commit, 'tenant' | 'claims'> & Partial<Pick<Commit, 'claims'>>, t = tenant): Promise<CommitResult> =>
    store.commit({ tenant: t, claims: [], ...c });
  const positions = () => store.readGlobal(0, 10_000).map((e) => e.position);

  it('writes concurrent commits to distinct streams in one transaction, all readable', async () => {
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const before = store.stats.transactions;
    const results = await Promise.all(ids.map((id) => commit({ streams: [append(tenant, id, 0, 2)] })));
    expect(results).toEqual(ids.map((id) => ({ status: 'committed', versions: { [id]: 2 } })));
    expect(store.stats.transactions - before).toBe(1);
    expect(store.stats.largestGroup).toBe(50);
    for (const id of ids) expect((await store.readStream(tenant, id)).map((e) => e.version)).toEqual([1, 2]);
    expect((await store.readAll(tenant, { limit: 1_000 })).events).toHaveLength(100);
  });

  it('caps a group: the rest goes in further transactions of the same flush', async () => {
    const capped = new SqliteEventStore(db, { maxGroup: 8 });
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const results = await Promise.all(ids.map((id) => capped.commit({ tenant, claims: [], streams: [registered(tenant, id)] })));
    expect(results.every((r) => r.status === 'committed')).toBe(true);
    expect(capped.stats).toEqual({ transactions: 3, commits: 20, largestGroup: 8 });
  });

  it('two members appending at the same expected version: the first commits, the second conflicts', async () => {
    const a = randomUUID();
    await commit({ streams: [registered(tenant, a)] });
    const before = store.stats.transactions;
    const [first, second] = await Promise.all([commit({ streams: [append(tenant, a, 1, 2)] }), commit({ streams: [append(tenant, a, 1, 1)] })]);
    expect(store.stats.transactions - before).toBe(1);
    expect(first).toEqual({ status: 'committed', versions: { [a]: 3 } });
    expect(second).toEqual({ status: 'conflict', current: { streams: { [a]: 3 }, claims: {} } });
    expect((await store.readStream(tenant, a)).map((e) => e.version)).toEqual([1, 2, 3]);
  });

  it('the same idempotency key twice in one group: the second is a duplicate and writes nothing', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const idem = { key: 'msg-1', payloadHash: 'h-first', expiresAt: Date.now() + DAY };
    const [first, second] = await Promise.all([
      commit({ idempotency: idem, streams: [registered(tenant, a)] }),
      commit({ idempotency: { ...idem, payloadHash: 'h-second' }, streams: [registered(tenant, b)] }),
    ]);
    expect(first.status).toBe('committed');
    expect(second).toEqual({ status: 'duplicate', payloadHash: 'h-first' });
    await expect(store.readStream(tenant, b)).resolves.toEqual([]);
    await expect(store.getIdempotency(tenant, 'msg-1', Date.now())).resolves.toEqual(idem);
  });

  it('a claim taken by an earlier member makes a later member conflict, naming the owner', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const key = claimKey();
    const [first, second] = await Promise.all([
      commit({ streams: [registered(tenant, a)], claims: [{ op: 'claim', key, owner: a }] }),
      commit({ streams: [registered(tenant, b)], claims: [{ op: 'claim', key, owner: b }] }),
    ]);
    expect(first).toEqual({ status: 'committed', versions: { [a]: 1 } });
    expect(second).toEqual({ status: 'conflict', current: { streams: { [b]: 0 }, claims: { [key]: a } } });
    expect(await store.readClaims(tenant, [key])).toEqual(new Map([[key, a]]));
    await expect(store.readStream(tenant, b)).resolves.toEqual([]);
  });

  it('positions are strictly increasing and gap-free across tenants, also around conflicts', async () => {
    const tenants = [tenant, `t-${randomUUID()}`, `t-${randomUUID()}`];
    const ids = tenants.map(() => randomUUID());
    await Promise.all(tenants.map((t, i) => commit({ streams: [append(t, ids[i]!, 0, 3)] }, t)));
    // a group with a conflicting member in the middle
    await Promise.all([
      commit({ streams: [append(tenants[1]!, ids[1]!, 3, 1)] }, tenants[1]),
      commit({ streams: [append(tenants[0]!, ids[0]!, 0, 2)] }, tenants[0]),
      commit({ streams: [append(tenants[2]!, ids[2]!, 3, 2)] }, tenants[2]),
    ]);
    await commit({ streams: [append(tenants[0]!, ids[0]!, 3, 1)] }, tenants[0]);
    const global = store.readGlobal(0, 1_000);
    expect(global.map((e) => e.position)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(global.map((e) => e.tenant)).toEqual([...tenants.flatMap((t) => [t, t, t]), tenants[1], tenants[2], tenants[2], tenants[0]]);
    // each tenant's readAll is its subsequence of the global log, with the same positions
    for (const t of tenants) {
      const own = (await store.readAll(t, { limit: 100 })).events.map((e) => Number(e.position));
      expect(own).toEqual(global.filter((e) => e.tenant === t).map((e) => e.position));
    }
    expect(store.readGlobal(10, 2).map((e) => e.position)).toEqual([11, 12]);
  });

  it('an unexpected error rejects its member alone, rolled back whole; the rest of the group commits', async () => {
    db.db.exec(
      `CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.events WHEN NEW.stream_id LIKE 'refused-%' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    );
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const key = claimKey();
    const before = store.stats.transactions;
    const [first, failing, last] = await Promise.all([
      settle(commit({ streams: [registered(tenant, a)] })),
      // its first stream is written before the refused insert: it must go too
      settle(commit({ streams: [registered(tenant, b), registered(tenant, `refused-${c}`)], claims: [{ op: 'claim', key, owner: b }] })),
      settle(commit({ streams: [registered(tenant, c)], claims: [{ op: 'claim', key, owner: c }] })),
    ]);
    expect(store.stats.transactions - before).toBe(1);
    expect(first).toEqual({ ok: true, value: { status: 'committed', versions: { [a]: 1 } } });
    expect(failing.ok ? failing.value : (failing.error as Error).message).toMatch(/refused by the test/);
    expect(last).toEqual({ ok: true, value: { status: 'committed', versions: { [c]: 1 } } });
    await expect(store.readStream(tenant, b)).resolves.toEqual([]);
    expect(await store.readClaims(tenant, [key])).toEqual(new Map([[key, c]]));
    expect(positions()).toEqual([1, 2]);
  });

  it("a member's error keeps the group's write lock: another writer cannot get in while the group is applied again member by member", async () => {
    const path = join(dir, `${randomUUID()}.sqlite`);
    const mine = open(path);
    const other = new SqliteDatabase({ path, busyTimeoutMs: 0 });
    opened.push(other);
    const grouped = new SqliteEventStore(mine);
    mine.db.exec(
      `CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.events WHEN NEW.stream_id LIKE 'refused-%' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    );
    // when the group is rolled back for its second pass, another connection tries to begin a write
    const exec = mine.db.exec.bind(mine.db);
    const otherGotIn: boolean[] = [];
    mine.db.exec = (sql: string) => {
      exec(sql);
      if (!sql.startsWith('ROLLBACK')) return;
      try {
        other.db.exec('BEGIN IMMEDIATE');
        other.db.exec('ROLLBACK');
        otherGotIn.push(true);
      } catch {
        otherGotIn.push(false);
      }
    };
    const [a, c] = [randomUUID(), randomUUID()];
    const results = await Promise.all([
      settle(grouped.commit({ tenant, claims: [], streams: [registered(tenant, a)] })),
      settle(grouped.commit({ tenant, claims: [], streams: [registered(tenant, `refused-${randomUUID()}`)] })),
      settle(grouped.commit({ tenant, claims: [], streams: [registered(tenant, c)] })),
    ]);
    expect(otherGotIn.length).toBeGreaterThan(0);
    expect(otherGotIn).not.toContain(true);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(grouped.stats.transactions).toBe(1);
  });

  it('a failed COMMIT rejects every member of the group, keeps nothing, and the store goes on', async () => {
    // a deferred foreign key is checked at COMMIT: the trigger makes that COMMIT fail
    db.db.exec(`CREATE TEMP TABLE parent (id TEXT PRIMARY KEY);
      CREATE TEMP TABLE child (pid TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TEMP TRIGGER unbalanced AFTER INSERT ON main.events WHEN NEW.stream_id LIKE 'fails-%' BEGIN INSERT INTO child VALUES ('missing'); END`);
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await commit({ streams: [registered(tenant, a)] });
    const idem = { key: 'msg-lost', payloadHash: 'h', expiresAt: Date.now() + DAY };
    const results = await Promise.all([
      settle(commit({ idempotency: idem, streams: [append(tenant, a, 1, 1)] })),
      settle(commit({ streams: [registered(tenant, `fails-${b}`)] })),
      settle(commit({ streams: [registered(tenant, a)] })), // a conflict inside the failed group
    ]);
    for (const r of results) expect(r.ok ? r.value : (r.error as Error).message).toMatch(/FOREIGN KEY constraint failed/);
    expect(db.db.isTransaction).toBe(false);
    expect((await store.readStream(tenant, a)).map((e) => e.version)).toEqual([1]);
    await expect(store.getIdempotency(tenant, 'msg-lost', Date.now())).resolves.toBeUndefined();

    await expect(commit({ streams: [registered(tenant, c)] })).resolves.toEqual({ status: 'committed', versions: { [c]: 1 } });
    expect(positions()).toEqual([1, 2]);
  });

  it('rejects malformed commits before queueing them, and foreign cursors', async () => {
    const a = randomUUID();
    const before = store.stats.transactions;
    await expect(commit({ streams: [append(tenant, a, 0, 2), append(tenant, a, 2, 1)] })).rejects.toThrow(/twice/);
    expect(store.stats.transactions).toBe(before);
    await expect(store.readAll(tenant, { after: 'eyJwayI6IngifQ', limit: 5 })).rejects.toThrow(/not a position/);
    await expect(store.readAll(tenant, { limit: 0 })).rejects.toThrow(/at least 1/);
  });

  it.skipIf(!existsSync('/proc/self/fd'))("keeps a group's savepoint journal in memory: no temporary file is written while a group commits", async () => {
    // in WAL mode the savepoint round a group copies every page it changes that existed before it
    // into a sub-journal, which SQLite spills to a temporary file past 64 KiB unless temp_store is MEMORY
    const tempFiles = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).includes('etilqs_');
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    const record = () => ({ key: `msg-${randomUUID()}`, payloadHash: 'h', expiresAt: Date.now() + DAY });
    for (let g = 0; g < 20; g++)
      await Promise.all(Array.from({ length: 100 }, () => commit({ idempotency: record(), streams: [registered(tenant, randomUUID())] })));
    const exec = db.db.exec.bind(db.db);
    const seen: number[] = [];
    db.db.exec = (sql: string) => {
      if (sql === 'COMMIT') seen.push(tempFiles()); // the sub-journal stays open until the transaction ends
      return exec(sql);
    };
    try {
      const results = await Promise.all(Array.from({ length: 200 }, () => commit({ idempotency: record(), streams: [registered(tenant, randomUUID())] })));
      expect(results.every((r) => r.status === 'committed')).toBe(true);
    } finally {
      db.db.exec = exec;
    }
    expect(seen).toEqual([0]);
  });

  it('reads everything back after the file is reopened, and positions go on from there', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const key = claimKey();
    const idem = { key: 'msg-kept', payloadHash: 'h-kept', expiresAt: Date.now() + DAY };
    const expired = { key: 'msg-expired', payloadHash: 'h-old', expiresAt: Date.now() - 1 };
    await Promise.all([
      commit({ idempotency: idem, streams: [append(tenant, a, 0, 3)], claims: [{ op: 'claim', key, owner: a }] }),
      commit({ idempotency: expired, streams: [registered(tenant, b)] }),
    ]);
    const stream = await store.readStream(tenant, a);
    const log = await store.readAll(tenant, { limit: 100 });
    const dump = store.dump();
    db.close();

    const again = new SqliteEventStore(open(db.path));
    await expect(again.readStream(tenant, a)).resolves.toEqual(stream);
    await expect(again.readAll(tenant, { limit: 100 })).resolves.toEqual(log);
    expect(await again.readClaims(tenant, [key])).toEqual(new Map([[key, a]]));
    await expect(again.getIdempotency(tenant, 'msg-kept', Date.now())).resolves.toEqual(idem);
    // expired records are kept, and read as absent
    await expect(again.getIdempotency(tenant, 'msg-expired', Date.now())).resolves.toBeUndefined();
    expect(again.dump()).toEqual(dump);
    expect((dump as Record<string, { idempotency: object }>)[tenant]!.idempotency).toEqual({ 'msg-kept': idem, 'msg-expired': expired });

    await again.commit({ tenant, claims: [], streams: [append(tenant, b, 1, 1)] });
    expect(again.readGlobal(0, 100).map((e) => e.position)).toEqual([1, 2, 3, 4, 5]);
    expect(again.purgeExpiredIdempotency(Date.now())).toBe(1);
    expect(Object.keys((again.dump() as Record<string, { idempotency: object }>)[tenant]!.idempotency)).toEqual(['msg-kept']);
  });
});
