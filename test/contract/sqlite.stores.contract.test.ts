import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EncryptedQuarantine } from '../../src/adapters/crypto/encrypted-quarantine.js';
import { LocalMasterKey, MasterKeyError, MasterKeyring, type MasterKey } from '../../src/adapters/crypto/master-key.js';
import { AesGcmCipher, dataKeyMaterial, UuidV7Generator } from '../../src/adapters/crypto/node-crypto.js';
import { SqliteAuditLog } from '../../src/adapters/sqlite/sqlite.audit-log.js';
import { SqliteCheckpoints, SqliteShardCheckpoints } from '../../src/adapters/sqlite/sqlite.checkpoints.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import { SqliteErasureLedger } from '../../src/adapters/sqlite/sqlite.erasure-ledger.js';
import { SqliteKeyStore } from '../../src/adapters/sqlite/sqlite.key-store.js';
import { SqliteOutbox } from '../../src/adapters/sqlite/sqlite.outbox.js';
import { SqliteQuarantine } from '../../src/adapters/sqlite/sqlite.quarantine.js';
import { SqliteReadModelStore } from '../../src/adapters/sqlite/sqlite.read-model-store.js';
import { SqliteSnapshotStore } from '../../src/adapters/sqlite/sqlite.snapshot-store.js';
import { openSqliteStores } from '../../src/adapters/sqlite/sqlite.stores.js';
import type { ErasureReceipt } from '../../src/application/ports/erasure-ledger.port.js';
import type { ViewDoc } from '../../src/application/ports/read-model.port.js';
import { quarantineEntry, viewDoc } from '../support/builders.js';
import { domainError } from '../support/domain-error.js';
import { ManualClock } from '../support/harness.js';
import { auditLogContract } from './audit-log.contract.js';
import { checkpointsContract } from './checkpoints.contract.js';
import { ledgerContract } from './erasure-ledger.contract.js';
import { keyStoreContract } from './key-store.contract.js';
import { outboxContract, outboxEntry } from './outbox.contract.js';
import { quarantineContract } from './quarantine.contract.js';
import { readModelStoreContract } from './read-model-store.contract.js';
import { snapshotStoreContract } from './snapshot-store.contract.js';

// Every SQLite store but the event store, each on a fresh file: the shared contracts, then what
// only a file has: restarts, other connections, what the rows and the file bytes hold.

const dir = mkdtempSync(join(tmpdir(), 'c360-sqlite-stores-'));
/** Records the connection's synchronous setting (1 NORMAL, 2 FULL) inside each of its transactions; `transaction` is the unwrapped one. */
const synchronousInTransactions = (db: SqliteDatabase) => {
  const seen: string[] = [];
  const transaction = db.transaction.bind(db);
  db.transaction = ((work: () => unknown, options?: { synchronous?: 'NORMAL' }) =>
    transaction(() => {
      seen.push(String((db.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous));
      return work();
    }, options)) as typeof db.transaction;
  return { seen, transaction };
};
const opened: SqliteDatabase[] = [];
const fileOf = (): string => join(dir, `${randomUUID()}.db`);
const open = (path = fileOf()): SqliteDatabase => {
  const db = new SqliteDatabase({ path });
  opened.push(db);
  return db;
};
afterAll(() => {
  for (const db of opened) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const A = randomBytes(32).toString('base64');
const B = randomBytes(32).toString('base64');
const ring = (...keys: string[]): MasterKeyring => {
  const [current, ...previous] = keys.map((k) => LocalMasterKey.fromBase64(k));
  return new MasterKeyring(current!, previous);
};
const cipher = new AesGcmCipher();
const SECRET = '{"email":"ada@example.com"}';
const AAD = 'tenant/customer/event-1';
const HOUR = 3_600_000;

readModelStoreContract('sqlite', () => new SqliteReadModelStore(open()));
snapshotStoreContract('sqlite', () => new SqliteSnapshotStore(open()));
keyStoreContract('sqlite + local master key', () => ({ keys: new SqliteKeyStore(open(), { keyring: ring(A) }), cipher }));
quarantineContract('sqlite', () => new SqliteQuarantine(open()));
quarantineContract('encrypted over sqlite', () => {
  const db = open();
  return new EncryptedQuarantine(new SqliteQuarantine(db), new SqliteKeyStore(db, { keyring: ring(A) }), cipher);
});
auditLogContract('sqlite', () => new SqliteAuditLog(open()));
ledgerContract('sqlite', async () => new SqliteErasureLedger(open()));
outboxContract('sqlite', () => new SqliteOutbox(open()));
checkpointsContract('sqlite (shard checkpoints in the file)', { durable: true, namedConsumers: true }, () => {
  const path = fileOf();
  // each on its own connection to the file, as separate processes would be
  const consumer = (name: string) => new SqliteShardCheckpoints(new SqliteCheckpoints(open(path)), name);
  return { checkpoints: consumer('kinesis-ingest'), reopen: () => consumer('kinesis-ingest'), otherConsumer: () => consumer('other-consumer') };
});

const receipt = (tenant: string): ErasureReceipt => ({
  erasureId: '0190-a',
  tenant,
  requestedId: 'c-9',
  customers: ['c-8', 'c-9'],
  erasedAt: '2026-01-05T09:00:00.000Z',
  actor: 'dpo',
  removed: { streams: 2, dataKeys: 2, claims: 3, views: 2, snapshots: 1, quarantined: 0 },
});

/** every byte SQLite keeps for the file: the database and its WAL */
const fileBytes = (path: string): Buffer => Buffer.concat([path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p)));

describe('SQLite stores on a file', () => {
  it('keep views, keys, tombstones, quarantine, ledger and the rest across closing and reopening the file', async () => {
    const path = fileOf();
    const clock = new ManualClock();
    const before = openSqliteStores(open(path), { keyring: ring(A), clock, quarantineRetentionMs: 2 * HOUR });
    const doc = viewDoc('c-1', 3);
    const entry = quarantineEntry('acme', 'q-1', { payload: { email: 'ada@example.com' } });
    await before.readModels.put('acme', doc);
    const ciphertext = cipher.encrypt(await before.keys.getOrCreate('acme', 'c-1'), SECRET, AAD);
    await before.keys.getOrCreate('acme', 'c-gone');
    await before.keys.destroy('acme', 'c-gone');
    await before.quarantine.put(entry);
    await before.ledger.record(receipt('acme'));
    await before.snapshots.put('acme', 'c-1', 3, { schema: 1, keys: ['k'] });
    await before.outbox.stage(outboxEntry('acme', 'd-1'));
    opened.find((db) => db.path === path)!.close();

    // a restarted process: a new connection and a keyring built again from config
    const after = openSqliteStores(open(path), { keyring: ring(A), clock, quarantineRetentionMs: 2 * HOUR });
    await expect(after.readModels.get('acme', 'c-1')).resolves.toEqual(doc);
    expect(cipher.decrypt((await after.keys.get('acme', 'c-1'))!, ciphertext, AAD)).toBe(SECRET);
    await expect(after.keys.get('acme', 'c-gone')).resolves.toBeNull();
    expect((await domainError(after.keys.getOrCreate('acme', 'c-gone'))).code).toBe('CUSTOMER_NOT_ACTIVE');
    await expect(after.quarantine.get('acme', 'q-1')).resolves.toEqual(entry);
    await expect(after.ledger.find('acme', 'c-8')).resolves.toEqual(receipt('acme'));
    await expect(after.snapshots.get('acme', 'c-1')).resolves.toEqual({ version: 3, snapshot: { schema: 1, keys: ['k'] } });
    await expect(after.outbox.get('acme', 'd-1')).resolves.toEqual(outboxEntry('acme', 'd-1'));
    expect(after.keys.dump()).toEqual({ acme: { live: { 'c-1': expect.any(String) }, destroyed: ['c-gone'] } });
  });

  it('destroy leaves a tombstone row with no key material, and no wrapped key bytes in the file or its WAL', async () => {
    const db = open();
    const clock = new ManualClock();
    const keys = new SqliteKeyStore(db, { keyring: ring(A), clock });
    const material = dataKeyMaterial(await keys.getOrCreate('acme', 'c-1'));
    await keys.getOrCreate('acme', 'c-2');
    const raw = (id: string) => db.db.prepare('SELECT * FROM data_keys WHERE tenant = ? AND customer_id = ?').get('acme', id);
    const wrapped = raw('c-1')!.wrapped as string;
    expect(wrapped).toMatch(/^v1\./);
    db.checkpoint();
    expect(fileBytes(db.path).includes(wrapped)).toBe(true);

    await keys.destroy('acme', 'c-1');
    clock.advance(1_000);
    await keys.destroy('acme', 'c-1'); // a retried erasure keeps the first time
    expect({ ...raw('c-1') }).toEqual({
      tenant: 'acme',
      customer_id: 'c-1',
      key_id: null,
      master_key_id: null,
      wrapped: null,
      created_at: null,
      rewrapped_at: null,
      destroyed_at: clock.now() - 1_000,
    });
    const bytes = fileBytes(db.path);
    expect(bytes.includes(wrapped)).toBe(false);
    expect(bytes.includes(wrapped.split('.')[2]!)).toBe(false);
    expect(bytes.includes(raw('c-2')!.wrapped as string)).toBe(true); // the other key is untouched
    // the schema itself refuses key material on a tombstone
    expect(() => db.db.prepare("UPDATE data_keys SET wrapped = 'x' WHERE customer_id = 'c-1'").run()).toThrow(/CHECK/);
    const dump = JSON.stringify(keys.dump());
    for (const text of [wrapped, material.toString('base64'), material.toString('base64url'), material.toString('hex')]) expect(dump).not.toContain(text);
  });

  it('two connections racing to create one key end with one key', async () => {
    const path = fileOf();
    const stores = [new SqliteKeyStore(open(path), { keyring: ring(A) }), new SqliteKeyStore(open(path), { keyring: ring(A) })];
    const got = await Promise.all(Array.from({ length: 6 }, (_, i) => stores[i % 2]!.getOrCreate('acme', 'c-1')));
    expect(new Set(got.map((k) => k.keyId)).size).toBe(1);
    const ciphertext = cipher.encrypt(got[0]!, SECRET, AAD);
    for (const key of got) expect(cipher.decrypt(key, ciphertext, AAD)).toBe(SECRET);
  });

  it("a new key on the log's FULL connection is committed without a fsync of its own, and the connection is FULL again after", async () => {
    const db = open();
    const keys = new SqliteKeyStore(db, { keyring: ring(A) });
    const { seen, transaction } = synchronousInTransactions(db);
    await keys.getOrCreate('acme', 'c-sync');
    expect(seen).toEqual(['1']); // NORMAL inside the key's transaction
    expect(db.durability().synchronous).toBe('FULL');
    // and a failing transaction restores FULL too
    expect(() => transaction(() => db.db.exec('SELECT * FROM no_such_table'), { synchronous: 'NORMAL' })).toThrow(/no such table/);
    expect(db.durability().synchronous).toBe('FULL');
    expect(await new SqliteKeyStore(open(db.path), { keyring: ring(A) }).get('acme', 'c-sync')).not.toBeNull();
  });

  it("views, snapshots and checkpoints share the log's FULL connection, each write committed without a fsync of its own", async () => {
    const db = open();
    const { seen: modes } = synchronousInTransactions(db);
    const views = new SqliteReadModelStore(db);
    expect(await views.put('acme', viewDoc('c-1', 1))).toBe(true);
    await new SqliteSnapshotStore(db).put('acme', 'c-1', 3, { state: 1 });
    new SqliteCheckpoints(db).save('customer360', '0000000000000007');
    await views.replaceAll('acme', [viewDoc('c-2', 1)]);
    expect(modes).toEqual(['1', '1', '1', '1']); // NORMAL inside each of the four transactions
    expect(db.durability().synchronous).toBe('FULL');
    // written, and readable from another connection
    const other = open(db.path);
    expect((await new SqliteReadModelStore(other).get('acme', 'c-2'))?.customerId).toBe('c-2');
    expect((await new SqliteSnapshotStore(other).get('acme', 'c-1'))?.version).toBe(3);
    expect(new SqliteCheckpoints(other).get('customer360')).toBe('0000000000000007');
  });

  it('a NORMAL transaction whose COMMIT and first ROLLBACK fail still leaves the connection FULL and out of the transaction', () => {
    const db = open();
    db.db.exec('CREATE TABLE t (x INTEGER)');
    const exec = db.db.exec.bind(db.db);
    let rollbackFails = true;
    db.db.exec = (sql: string) => {
      if (sql === 'COMMIT') throw new Error('disk I/O error (simulated)');
      if (sql === 'ROLLBACK' && rollbackFails) {
        rollbackFails = false;
        throw new Error('rollback failed (simulated)');
      }
      exec(sql);
    };
    expect(() => db.transaction(() => db.db.prepare('INSERT INTO t VALUES (1)').run(), { synchronous: 'NORMAL' })).toThrow(/simulated/);
    db.db.exec = exec;
    expect(db.db.isTransaction).toBe(false);
    expect(db.durability().synchronous).toBe('FULL');
    expect(db.db.prepare('SELECT count(*) AS n FROM t').get()).toEqual(expect.objectContaining({ n: 0 }));
  });

  it('a key destroyed by another process is never used again by a warm one (cache hits are checked against the row)', async () => {
    const path = fileOf();
    const server = new SqliteKeyStore(open(path), { keyring: ring(A) });
    const cli = new SqliteKeyStore(open(path), { keyring: ring(A) });
    const key = await server.getOrCreate('acme', 'c-warm');
    const ciphertext = cipher.encrypt(key, SECRET, AAD);
    expect((await server.get('acme', 'c-warm'))?.keyId).toBe(key.keyId); // warm: served from its cache
    await cli.destroy('acme', 'c-warm');
    expect(await server.get('acme', 'c-warm')).toBeNull();
    expect((await domainError(server.getOrCreate('acme', 'c-warm'))).code).toBe('CUSTOMER_NOT_ACTIVE');
    // and the key object it had handed out before was disarmed only in the destroying process: the
    // ciphertext stays readable to a holder of that object, never through this store again
    expect(cipher.decrypt(key, ciphertext, AAD)).toBe(SECRET);
  });

  it('checks the cached keys asked for in one loop turn in one read transaction, and still never serves a destroyed one', async () => {
    const path = fileOf();
    const db = open(path);
    const server = new SqliteKeyStore(db, { keyring: ring(A) });
    const ids = ['c-1', 'c-2', 'c-3'];
    const made = await Promise.all(ids.map((id) => server.getOrCreate('acme', id)));
    await new SqliteKeyStore(open(path), { keyring: ring(A) }).destroy('acme', 'c-3');
    const statements: string[] = [];
    const exec = db.db.exec.bind(db.db);
    db.db.exec = (sql: string) => (statements.push(sql), exec(sql));
    try {
      const [one, two, gone] = await Promise.all(ids.map((id) => server.get('acme', id)));
      expect([one, two]).toEqual([made[0], made[1]]); // from the cache, checked against their rows
      expect(gone).toBeNull();
    } finally {
      db.db.exec = exec;
    }
    expect(statements).toEqual(['BEGIN', 'COMMIT']); // one read transaction for the three checks
  });

  it('a stand-in created while another process destroys the key it stands in for is destroyed too, and refused', async () => {
    const path = fileOf();
    const a = LocalMasterKey.fromBase64(A);
    await new SqliteKeyStore(open(path), { keyring: ring(A) }).getOrCreate('acme', '$quarantine');
    // this process has read that key's row; the other destroys it before this one's wrap (its range finds no stand-in yet)
    const late: MasterKey = {
      id: a.id,
      wrap: async (plain, context) => {
        await new SqliteKeyStore(open(path), { keyring: ring(A) }).destroy('acme', '$quarantine');
        return a.wrap(plain, context);
      },
      unwrap: (wrapped, context) => a.unwrap(wrapped, context),
    };
    const keys = new SqliteKeyStore(open(path), { keyring: new MasterKeyring(late, []) });
    await expect(keys.getOrCreate('acme', '$quarantine~local:m1')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
    expect(await new SqliteKeyStore(open(path), { keyring: ring(A) }).get('acme', '$quarantine~local:m1')).toBeNull();
    expect((keys.dump() as Record<string, { live: Record<string, string> }>).acme?.live).toEqual({});
  });

  it('rewrap moves live keys to the current master key, after which a keyring with only that key reads them', async () => {
    const db = open();
    const ids = ['c-1', 'c-2', 'c-3', 'c-4', 'c-5'];
    const underA = new SqliteKeyStore(db, { keyring: ring(A) });
    const ciphertexts = new Map<string, string>();
    for (const id of ids) ciphertexts.set(id, cipher.encrypt(await underA.getOrCreate('acme', id), `${SECRET}${id}`, AAD));
    await underA.destroy('acme', 'c-5');
    const unknown = await new SqliteKeyStore(db, { keyring: ring(B) }).get('acme', 'c-1').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(MasterKeyError);
    expect((unknown as MasterKeyError).code).toBe('MASTER_KEY_UNKNOWN');

    const rotating = new SqliteKeyStore(db, { keyring: ring(B, A) });
    await expect(rotating.rewrap({ tenant: 'acme', pageSize: 2 })).resolves.toEqual({ rewrapped: 4, skipped: 0 });
    await expect(rotating.rewrap({ pageSize: 2 })).resolves.toEqual({ rewrapped: 0, skipped: 0 });
    const onlyB = new SqliteKeyStore(db, { keyring: ring(B) });
    for (const id of ids.slice(0, 4)) expect(cipher.decrypt((await onlyB.get('acme', id))!, ciphertexts.get(id)!, AAD)).toBe(`${SECRET}${id}`);
    await expect(onlyB.get('acme', 'c-5')).resolves.toBeNull();
  });

  it('masterKeyUse names every master key live keys are wrapped by, and those the keyring lacks, opening none', async () => {
    const db = open();
    const [a, b] = [ring(A).current.id, ring(B).current.id];
    expect(new SqliteKeyStore(db, { keyring: ring(B) }).masterKeyUse()).toEqual({ inUse: [], unknown: [], keyring: [b], complete: true });
    for (const id of ['c-1', 'c-2']) await new SqliteKeyStore(db, { keyring: ring(A) }).getOrCreate('acme', id);
    await new SqliteKeyStore(db, { keyring: ring(B, A) }).getOrCreate('globex', 'c-3');
    await new SqliteKeyStore(db, { keyring: ring(A) }).destroy('acme', 'c-2');
    expect(new SqliteKeyStore(db, { keyring: ring(B) }).masterKeyUse()).toEqual({ inUse: [a, b].sort(), unknown: [a], keyring: [b], complete: true });
    expect(new SqliteKeyStore(db, { keyring: ring(B, A) }).masterKeyUse().unknown).toEqual([]);
  });

  it('destroys a key under a master key the keyring lacks without opening it (an erasure needs no key material)', async () => {
    const db = open();
    await new SqliteKeyStore(db, { keyring: ring(A) }).getOrCreate('acme', 'c-1');
    const stranger = new SqliteKeyStore(db, { keyring: ring(B) });
    await expect(stranger.get('acme', 'c-1')).rejects.toMatchObject({ code: 'MASTER_KEY_UNKNOWN' });
    await expect(stranger.destroy('acme', 'c-1')).resolves.toBe(true);
    expect(db.db.prepare('SELECT wrapped, master_key_id FROM data_keys WHERE customer_id = ?').get('c-1')).toEqual({ wrapped: null, master_key_id: null });
    await expect(new SqliteKeyStore(db, { keyring: ring(A) }).get('acme', 'c-1')).resolves.toBeNull();
    await expect(stranger.destroy('acme', 'c-1')).resolves.toBe(false);
  });

  it('quarantine entries past their retention are unreadable at once and deleted from the table', async () => {
    const db = open();
    const clock = new ManualClock();
    const q = new SqliteQuarantine(db, { retentionMs: 2 * HOUR, clock });
    const ids = new UuidV7Generator(clock.now);
    const rows = () => (db.db.prepare('SELECT id FROM quarantine_entries ORDER BY id').all() as { id: string }[]).map((r) => r.id);
    const [older, newer] = [ids.newId(), ids.newId()];
    await q.put(quarantineEntry('acme', older));
    clock.advance(HOUR);
    await q.put(quarantineEntry('acme', newer));
    expect(rows()).toEqual([older, newer]);

    clock.advance(HOUR); // older is exactly 2 hours old
    await expect(q.get('acme', older)).resolves.toBeUndefined();
    await expect(q.markReplayed('acme', older, clock.now())).rejects.toThrow(/past its retention/);
    await expect(q.list('acme', { limit: 10 })).resolves.toEqual({ entries: [quarantineEntry('acme', newer)] });
    expect(rows()).toEqual([newer]);
    // a cursor naming the expired entry still works
    await expect(q.list('acme', { after: older, limit: 10 })).resolves.toMatchObject({ entries: [{ id: newer }] });

    clock.advance(HOUR);
    await expect(q.list('acme', { limit: 10 })).resolves.toEqual({ entries: [] });
    expect(rows()).toEqual([]);
    expect(q.dump()).toEqual({});
  });

  it('a quarantine rewrite keeps the retention counted from the put, and does not bring back an expired entry', async () => {
    const db = open();
    const clock = new ManualClock();
    const q = new SqliteQuarantine(db, { retentionMs: 2 * HOUR, clock });
    const id = new UuidV7Generator(clock.now).newId();
    await q.put(quarantineEntry('acme', id));
    clock.advance(HOUR);
    const change = { reason: quarantineEntry('acme', id).reason, payload: { batch: [] }, matchKeys: [], ifReason: quarantineEntry('acme', id).reason };
    await expect(q.rewrite('acme', id, change)).resolves.toBe(true);
    clock.advance(HOUR); // two hours since the put, one since the rewrite
    await expect(q.get('acme', id)).resolves.toBeUndefined();
    await expect(q.rewrite('acme', id, change)).resolves.toBe(false);
    await expect(q.list('acme', { limit: 10 })).resolves.toEqual({ entries: [] });
  });

  it('encrypted over sqlite, the quarantine table holds no payload value in the clear', async () => {
    const db = open();
    const q = new EncryptedQuarantine(new SqliteQuarantine(db), new SqliteKeyStore(db, { keyring: ring(A) }), cipher);
    const entry = quarantineEntry('acme', 'q-1', { payload: { traits: { email: 'Ada.Lovelace@Example.com' } } });
    await q.put(entry);
    const raw = db.db.prepare('SELECT payload, reason FROM quarantine_entries').get() as { payload: string; reason: string };
    expect(raw.payload).toContain('c360Sealed');
    expect(raw.payload.toLowerCase()).not.toContain('lovelace');
    expect(raw.reason).toContain('traits.email');
    await expect(q.get('acme', 'q-1')).resolves.toEqual(entry);
  });

  it('a quarantine table made before entries recorded their match keys and intake gains both columns, and its rows still read', async () => {
    const db = open();
    db.db.exec(`CREATE TABLE quarantine_entries (
      tenant TEXT NOT NULL, id TEXT NOT NULL, received_at INTEGER NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL, payload TEXT,
      status TEXT NOT NULL, replayed_at INTEGER, expires_at INTEGER NOT NULL, PRIMARY KEY (tenant, id))`);
    const old = quarantineEntry('acme', 'q-old');
    db.db
      .prepare('INSERT INTO quarantine_entries VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)')
      .run('acme', 'q-old', old.receivedAt, old.source, JSON.stringify(old.reason), JSON.stringify(old.payload), 'pending', Date.now() + HOUR);
    const q = new SqliteQuarantine(db);
    await expect(q.get('acme', 'q-old')).resolves.toEqual(old);
    const excerpt = quarantineEntry('acme', 'q-new', { payload: { bytes: 9, kept: 9, text: '{"a":1e9}' }, intake: 'body', matchKeys: ['k'] });
    await q.put(excerpt);
    await expect(q.get('acme', 'q-new')).resolves.toEqual(excerpt);
  });

  it("a doc written by another connection is never served from this one's cache", async () => {
    const path = fileOf();
    const [server, cli] = [new SqliteReadModelStore(open(path)), new SqliteReadModelStore(open(path))];
    const first = viewDoc('c-cached', 1);
    expect(await server.put('acme', first)).toBe(true);
    expect(await server.get('acme', 'c-cached')).toBe(first); // cached: the very object written
    const second = viewDoc('c-cached', 2);
    expect(await cli.put('acme', second)).toBe(true);
    expect(await server.get('acme', 'c-cached')).toEqual(second);
    await cli.delete('acme', 'c-cached');
    expect(await server.get('acme', 'c-cached')).toBeUndefined();
    // deleted and written again at the first version: a new stamp, so still no stale answer
    const base = viewDoc('c-cached', 1);
    const third = base.kind === 'view' ? { ...base, view: { ...base.view, eventCount: 99 } } : base;
    expect(await cli.put('acme', third)).toBe(true);
    expect(await server.get('acme', 'c-cached')).toEqual(third);
  });

  it("gets of one loop turn share a read transaction, and still never serve another connection's write from the cache", async () => {
    const path = fileOf();
    const [server, cli] = [new SqliteReadModelStore(open(path)), new SqliteReadModelStore(open(path))];
    const first = viewDoc('c-turn', 1);
    expect(await server.put('acme', first)).toBe(true);
    const both = () => Promise.all([server.get('acme', 'c-absent'), server.get('acme', 'c-turn')]);
    expect(await both()).toEqual([undefined, first]);
    const second = viewDoc('c-turn', 2);
    expect(await cli.put('acme', second)).toBe(true);
    expect(await cli.put('acme', viewDoc('c-absent', 1))).toBe(true);
    const [absent, turn] = await both();
    expect(absent?.customerId).toBe('c-absent');
    expect(turn).toEqual(second);
  });

  it("a doc written by another store on the same connection is never served from this one's cache", async () => {
    // data_version does not move for the connection's own commits: the stores tell each other
    const db = open();
    const [mine, theirs] = [new SqliteReadModelStore(db), new SqliteReadModelStore(db)];
    const first = viewDoc('c-shared', 1);
    expect(await mine.put('acme', first)).toBe(true);
    expect(await mine.get('acme', 'c-shared')).toBe(first);
    expect(await mine.get('acme', 'c-absent')).toBeUndefined();
    const second = viewDoc('c-shared', 2);
    expect(await theirs.put('acme', second)).toBe(true);
    expect(await theirs.put('acme', viewDoc('c-absent', 1))).toBe(true);
    expect(await mine.get('acme', 'c-shared')).toEqual(second);
    expect((await mine.get('acme', 'c-absent'))?.customerId).toBe('c-absent');
    await theirs.delete('acme', 'c-shared');
    expect(await mine.get('acme', 'c-shared')).toBeUndefined();
    await theirs.replaceAll('acme', [viewDoc('c-shared', 3)]);
    expect((await mine.get('acme', 'c-shared'))?.version).toBe(3);
    expect(await mine.get('acme', 'c-absent')).toBeUndefined();
  });

  it('a doc whose transaction failed to commit is never served from the cache', async () => {
    const db = open();
    const views = new SqliteReadModelStore(db);
    const first = viewDoc('c-lost', 1);
    expect(await views.put('acme', first)).toBe(true);
    expect(await views.get('acme', 'c-lost')).toBe(first);
    const exec = db.db.exec.bind(db.db);
    db.db.exec = (sql: string) => {
      if (sql === 'COMMIT') throw new Error('disk I/O error (simulated)');
      exec(sql);
    };
    await expect(views.put('acme', viewDoc('c-lost', 2))).rejects.toThrow(/simulated/);
    await expect(views.put('acme', viewDoc('c-new', 1))).rejects.toThrow(/simulated/);
    db.db.exec = exec;
    expect(await views.get('acme', 'c-lost')).toEqual(first);
    expect(await views.get('acme', 'c-new')).toBeUndefined();
  });

  it('replaceAll that fails halfway leaves the old generation whole', async () => {
    const views = new SqliteReadModelStore(open());
    await views.put('acme', viewDoc('c-1', 1));
    await views.put('acme', viewDoc('c-2', 1));
    const unserializable = { ...viewDoc('c-4', 1), view: { broken: 1n } } as unknown as ViewDoc;
    await expect(views.replaceAll('acme', [viewDoc('c-3', 1), unserializable])).rejects.toThrow(/BigInt/);
    expect((await views.list('acme', { limit: 10 })).docs.map((d) => d.customerId)).toEqual(['c-1', 'c-2']);
  });

  it('the outbox deletes published entries once past their retention, and keeps pending ones', async () => {
    const outbox = new SqliteOutbox(open(), { publishedRetentionMs: 30 * 24 * HOUR });
    const t0 = Date.UTC(2026, 0, 1);
    for (const id of ['d-1', 'd-2', 'd-3']) await outbox.stage(outboxEntry('acme', id));
    await outbox.markPublished('acme', 'd-1', t0);
    await outbox.markPublished('acme', 'd-2', t0 + 31 * 24 * HOUR);
    await expect(outbox.get('acme', 'd-1')).resolves.toBeUndefined();
    await expect(outbox.get('acme', 'd-2')).resolves.toMatchObject({ status: 'published', publishedAt: t0 + 31 * 24 * HOUR });
    await expect(outbox.get('acme', 'd-3')).resolves.toMatchObject({ status: 'pending' });
  });
});
