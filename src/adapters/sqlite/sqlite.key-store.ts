import { randomBytes, randomUUID } from 'node:crypto';
import { noKeyToStandIn, STAND_IN_SEPARATOR, standInFor, type DataKey, type KeyStore } from '../../application/ports/keys.port.js';
import type { Clock } from '../../application/ports/runtime.port.js';
import { DomainError } from '../../domain/shared/errors.js';
import { createDataKey, DATA_KEY_BYTES, destroyDataKey } from '../crypto/data-key.js';
import type { MasterKeyring, MasterKeyUse } from '../crypto/master-key.js';
import type { SqliteDatabase } from './sqlite.database.js';

// Data keys in the embedded file, one row per customer, wrapped by the keyring's master key with
// the same AAD as DynamoDbKeyStore (a wrap copied onto another customer's row does not open):
//   live key   tenant, customer_id, key_id, master_key_id, wrapped, created_at
//   tombstone  tenant, customer_id, destroyed_at (every key column NULL; a CHECK enforces it)
// A tombstone reads as erased (get -> null) and blocks the id for good. destroy overwrites the row
// in place (secure_delete zeroes the freed bytes) and checkpoints the WAL, so the wrapped key is
// gone from the file. A wrap the keyring cannot open throws a MasterKeyError, never reads as erased.
// Beside them, table claim_secret holds one row: the fingerprint of the claim secret (claim-secret.ts).

export type SqliteKeyStoreOptions = {
  readonly keyring: MasterKeyring;
  readonly clock?: Clock | undefined;
  /** unwrapped keys kept in memory (LRU); default 10,000 */
  readonly cacheSize?: number | undefined;
  /** how long an unwrapped key stays in memory; default 5 min (every hit is still checked against the row) */
  readonly cacheMaxAgeMs?: number | undefined;
};

export type SqliteRewrapReport = { readonly rewrapped: number; readonly skipped: number };

type Row = { tenant: string; customer_id: string; key_id: string | null; master_key_id: string | null; wrapped: string | null; destroyed_at: number | null };

const SQL = {
  read: 'SELECT tenant, customer_id, key_id, master_key_id, wrapped, destroyed_at FROM data_keys WHERE tenant = ? AND customer_id = ?',
  keyId: 'SELECT key_id FROM data_keys WHERE tenant = ? AND customer_id = ?',
  create:
    'INSERT INTO data_keys (tenant, customer_id, key_id, master_key_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, customer_id) DO NOTHING',
  destroy: `INSERT INTO data_keys (tenant, customer_id, destroyed_at) VALUES (?, ?, ?) ON CONFLICT (tenant, customer_id) DO UPDATE SET
              key_id = NULL, master_key_id = NULL, wrapped = NULL, created_at = NULL, rewrapped_at = NULL, destroyed_at = excluded.destroyed_at
            WHERE data_keys.destroyed_at IS NULL`,
  // the live stand-ins of a key (`<id>~...`: the ids from `<id>~` up to, not including, `<id>` and
  // the character after `~`), a range of the primary key
  standIns: 'SELECT customer_id FROM data_keys WHERE tenant = ? AND customer_id >= ? AND customer_id < ? AND destroyed_at IS NULL',
  destroyStandIns: `UPDATE data_keys SET key_id = NULL, master_key_id = NULL, wrapped = NULL, created_at = NULL, rewrapped_at = NULL, destroyed_at = ?
            WHERE tenant = ? AND customer_id >= ? AND customer_id < ? AND destroyed_at IS NULL`,
  stale: `SELECT tenant, customer_id, key_id, master_key_id, wrapped, destroyed_at FROM data_keys
          WHERE wrapped IS NOT NULL AND master_key_id <> :current AND (:tenant IS NULL OR tenant = :tenant) AND (:first OR (tenant, customer_id) > (:t, :c))
          ORDER BY tenant, customer_id LIMIT :n`,
  rewrap: 'UPDATE data_keys SET wrapped = ?, master_key_id = ?, rewrapped_at = ? WHERE tenant = ? AND customer_id = ? AND wrapped = ?',
  all: 'SELECT tenant, customer_id, key_id, destroyed_at FROM data_keys ORDER BY tenant, customer_id',
  // one row: the fingerprint of the claim secret the file's claim keys are made under (claim-secret.ts)
  fingerprint: 'SELECT fingerprint FROM claim_secret WHERE id = 1',
  recordFingerprint: 'INSERT INTO claim_secret (id, fingerprint, recorded_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING',
  masterKeyIds: 'SELECT DISTINCT master_key_id FROM data_keys WHERE master_key_id IS NOT NULL ORDER BY master_key_id',
};

/** the AAD of the wrap, as DynamoDbKeyStore has it */
const wrapContext = (tenant: string, customerId: string): string => `c360-data-key/${encodeURIComponent(tenant)}/${encodeURIComponent(customerId)}`;
const cacheId = (tenant: string, customerId: string): string => `${tenant}\u0000${customerId}`;
/** the primary-key range holding exactly the ids that begin with `<id>~` */
const standInRange = (customerId: string): [string, string] => [
  `${customerId}${STAND_IN_SEPARATOR}`,
  `${customerId}${String.fromCharCode(STAND_IN_SEPARATOR.charCodeAt(0) + 1)}`,
];

const notActive = (customerId: string): DomainError =>
  new DomainError('CUSTOMER_NOT_ACTIVE', `customer ${customerId} was erased; its data key cannot be recreated`, ['customerId'], { customerId });

/** tenant, customer_id, key_id, master_key_id, wrapped, created_at */
type InsertRow = [string, string, string, string, string, number];

export class SqliteKeyStore implements KeyStore {
  private readonly keyring: MasterKeyring;
  private readonly clock: Clock;
  private readonly cacheSize: number;
  private readonly cacheMaxAgeMs: number;
  /** unwrapped keys, least recently used first */
  private readonly cache = new Map<string, { readonly key: DataKey; readonly at: number }>();
  private readonly creating = new Map<string, Promise<DataKey>>();
  /** key rows waiting for the end of this loop turn's transaction */
  private inserts: { readonly row: InsertRow; readonly resolve: (inserted: boolean) => void; readonly reject: (e: unknown) => void }[] = [];
  /** bumped by every destroy: a read that overlapped one must not cache what it read */
  private destroys = 0;

  constructor(
    private readonly db: SqliteDatabase,
    options: SqliteKeyStoreOptions,
  ) {
    this.keyring = options.keyring;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.cacheSize = options.cacheSize ?? 10_000;
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? 300_000;
    db.db.exec(`CREATE TABLE IF NOT EXISTS data_keys (
      tenant TEXT NOT NULL, customer_id TEXT NOT NULL, key_id TEXT, master_key_id TEXT, wrapped TEXT, created_at INTEGER, rewrapped_at INTEGER, destroyed_at INTEGER,
      PRIMARY KEY (tenant, customer_id),
      CHECK ((destroyed_at IS NULL AND key_id IS NOT NULL AND master_key_id IS NOT NULL AND wrapped IS NOT NULL)
          OR (destroyed_at IS NOT NULL AND key_id IS NULL AND master_key_id IS NULL AND wrapped IS NULL))) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS claim_secret (id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT NOT NULL, recorded_at INTEGER NOT NULL)`);
  }

  async claimSecretFingerprint(): Promise<string | undefined> {
    const row = this.db.prepare(SQL.fingerprint).get() as { fingerprint: string } | undefined;
    return row?.fingerprint;
  }

  async recordClaimSecretFingerprint(fingerprint: string): Promise<string> {
    return this.db.transaction(() => {
      this.db.prepare(SQL.recordFingerprint).run(fingerprint, this.clock.now());
      return (this.db.prepare(SQL.fingerprint).get() as { fingerprint: string }).fingerprint;
    });
  }

  async getOrCreate(tenant: string, customerId: string): Promise<DataKey> {
    const id = cacheId(tenant, customerId);
    const cached = await this.db.read(() => this.cached(id, tenant, customerId));
    if (cached) return cached;
    // one creation per customer per process; other processes are handled by the conditional insert
    let pending = this.creating.get(id);
    if (!pending) {
      pending = this.loadOrCreate(tenant, customerId, id).finally(() => this.creating.delete(id));
      this.creating.set(id, pending);
    }
    return pending;
  }

  async get(tenant: string, customerId: string): Promise<DataKey | null> {
    const id = cacheId(tenant, customerId);
    const cached = await this.db.read(() => this.cached(id, tenant, customerId));
    if (cached) return cached;
    const destroys = this.destroys;
    const row = this.read(tenant, customerId);
    const key = row ? await this.open(row) : null;
    if (key) this.remember(id, key, destroys);
    return key;
  }

  async destroy(tenant: string, customerId: string): Promise<boolean> {
    // the first destroyedAt stays; a tombstone is written even for an id that never had a key. The
    // row is never opened: a key wrapped by a master key this keyring lacks goes all the same.
    // Its stand-ins go in the same transaction: none is left live whatever a crash interrupts.
    const [from, to] = standInRange(customerId);
    const { live, standIns } = this.db.transaction(() => {
      const now = this.clock.now();
      const row = this.db.prepare(SQL.keyId).get(tenant, customerId) as { key_id: string | null } | undefined;
      this.db.prepare(SQL.destroy).run(tenant, customerId, now);
      const standIns = (this.db.prepare(SQL.standIns).all(tenant, from, to) as { customer_id: string }[]).map((r) => r.customer_id);
      if (standIns.length) this.db.prepare(SQL.destroyStandIns).run(now, tenant, from, to);
      return { live: typeof row?.key_id === 'string', standIns };
    });
    this.db.checkpoint();
    this.destroys++;
    for (const gone of [customerId, ...standIns]) {
      const id = cacheId(tenant, gone);
      const cached = this.cache.get(id);
      this.cache.delete(id);
      // zeroing also disarms copies of the DataKey that callers may still hold
      if (cached) destroyDataKey(cached.key);
    }
    return live;
  }

  /**
   * Moves every live key (of one tenant, or all) to the keyring's current master key, a page at a
   * time; a row destroyed or re-wrapped meanwhile is skipped (the update is conditional on the wrap
   * read). Drop the old master key only after a run that ends without error.
   */
  async rewrap(options: { readonly tenant?: string | undefined; readonly pageSize?: number | undefined } = {}): Promise<SqliteRewrapReport> {
    let rewrapped = 0;
    let skipped = 0;
    let from = { first: 1, t: '', c: '' };
    for (;;) {
      const params = { current: this.keyring.current.id, tenant: options.tenant ?? null, ...from, n: options.pageSize ?? 100 };
      const rows = this.db.prepare(SQL.stale).all(params) as Row[];
      if (rows.length === 0) return { rewrapped, skipped };
      for (const row of rows) {
        const context = wrapContext(row.tenant, row.customer_id);
        const material = await this.keyring.unwrap({ masterKeyId: row.master_key_id!, wrapped: row.wrapped! }, context);
        const next = await this.keyring.wrap(material, context).finally(() => material.fill(0));
        const { changes } = this.db.prepare(SQL.rewrap).run(next.wrapped, next.masterKeyId, this.clock.now(), row.tenant, row.customer_id, row.wrapped);
        if (Number(changes) > 0) rewrapped++;
        else skipped++;
      }
      from = { first: 0, t: rows.at(-1)!.tenant, c: rows.at(-1)!.customer_id };
    }
  }

  /**
   * The master keys the live data keys are wrapped by, and which of them the keyring lacks: one
   * scan of the key table, no key opened (about 0.2 s of CPU per million keys).
   */
  masterKeyUse(): MasterKeyUse {
    const inUse = (this.db.prepare(SQL.masterKeyIds).all() as { master_key_id: string }[]).map((r) => r.master_key_id);
    return { inUse, unknown: inUse.filter((id) => !this.keyring.has(id)), keyring: this.keyring.ids, complete: true };
  }

  /** Ids, key ids and tombstones as plain JSON. Key material, even wrapped, is never exported. */
  dump(): unknown {
    const out: Record<string, { live: Record<string, string>; destroyed: string[] }> = {};
    for (const r of this.db.prepare(SQL.all).all() as Row[]) {
      const t = (out[r.tenant] ??= { live: {}, destroyed: [] });
      if (r.destroyed_at === null) t.live[r.customer_id] = r.key_id!;
      else t.destroyed.push(r.customer_id);
    }
    return out;
  }

  private async loadOrCreate(tenant: string, customerId: string, id: string): Promise<DataKey> {
    const destroys = this.destroys;
    const row = this.read(tenant, customerId);
    const base = row ? undefined : standInFor(customerId);
    // a stand-in only for a live key (one destroyed took its stand-ins with it)
    if (base !== undefined) this.liveBase(tenant, customerId, base);
    const key = row ? await this.open(row) : await this.create(tenant, customerId);
    if (!key) throw notActive(customerId);
    if (base !== undefined && (this.read(tenant, base)?.destroyed_at ?? null) !== null) {
      // the key it stands in for was destroyed while this one was being created (its destroy did
      // not see it yet): it goes the same way
      await this.destroy(tenant, customerId);
      throw notActive(customerId);
    }
    this.remember(id, key, destroys);
    return key;
  }

  /** Refuses a stand-in whose key is destroyed or was never there. */
  private liveBase(tenant: string, customerId: string, base: string): void {
    const row = this.read(tenant, base);
    if (!row) throw noKeyToStandIn(customerId, base);
    if (row.destroyed_at !== null) throw notActive(customerId);
  }

  /** Inserts a new wrapped key unless the id has a row already, in which case that row wins. */
  private async create(tenant: string, customerId: string): Promise<DataKey | null> {
    const material = randomBytes(DATA_KEY_BYTES);
    try {
      const keyId = randomUUID();
      const { masterKeyId, wrapped } = await this.keyring.wrap(material, wrapContext(tenant, customerId));
      if (await this.insert([tenant, customerId, keyId, masterKeyId, wrapped, this.clock.now()])) return createDataKey(keyId, material);
    } finally {
      material.fill(0); // createDataKey keeps its own copy
    }
    // another process created (or destroyed) the key first: theirs is the key
    const winner = this.read(tenant, customerId);
    if (!winner) throw new Error(`key row of ${customerId} existed at the insert but cannot be read`);
    return this.open(winner);
  }

  /**
   * The insert of a new key row, with the others of this loop turn in one transaction (a batch of
   * new customers is one WAL write, not one per key): true when this row went in.
   */
  private insert(row: InsertRow): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.inserts.push({ row, resolve, reject });
      if (this.inserts.length > 1) return;
      // setImmediate, as the event store's group commit: creations resumed by this turn's I/O join
      setImmediate(() => {
        const batch = this.inserts;
        this.inserts = [];
        let inserted: boolean[];
        try {
          // no fsync of its own: the commit that uses a new key comes after it, and its fsync covers it
          inserted = this.db.transaction(() => batch.map((m) => Number(this.db.prepare(SQL.create).run(...m.row).changes) > 0), { synchronous: 'NORMAL' });
        } catch (e) {
          for (const m of batch) m.reject(e); // the transaction is lost whole: no row of it went in
          return;
        }
        batch.forEach((m, i) => m.resolve(inserted[i]!));
      });
    });
  }

  /** The live key of a row, or null for a tombstone. */
  private async open(row: Row): Promise<DataKey | null> {
    if (row.destroyed_at !== null) return null;
    const material = await this.keyring.unwrap({ masterKeyId: row.master_key_id!, wrapped: row.wrapped! }, wrapContext(row.tenant, row.customer_id));
    try {
      return createDataKey(row.key_id!, material);
    } finally {
      material.fill(0); // createDataKey keeps its own copy
    }
  }

  private read(tenant: string, customerId: string): Row | undefined {
    return this.db.prepare(SQL.read).get(tenant, customerId) as Row | undefined;
  }

  /**
   * A cached key, if its row still holds it. The check is one point read (the unwrap is what the
   * cache saves), so a key destroyed by another process (a CLI erasure beside a running server) is
   * never used again here, not even once. Callers run it with the other reads of their loop turn
   * (SqliteDatabase.read): a /v1/batch's calls each check their customer's key.
   */
  private cached(id: string, tenant: string, customerId: string): DataKey | undefined {
    const entry = this.cache.get(id);
    if (!entry) return undefined;
    this.cache.delete(id);
    if (this.clock.now() - entry.at > this.cacheMaxAgeMs) return undefined;
    const row = this.db.prepare(SQL.keyId).get(tenant, customerId) as { key_id: string | null } | undefined;
    if (row?.key_id !== entry.key.keyId) return undefined;
    this.cache.set(id, entry); // most recently used goes last
    return entry.key;
  }

  private remember(id: string, key: DataKey, destroysBefore: number): void {
    if (this.destroys !== destroysBefore) return;
    this.cache.delete(id);
    this.cache.set(id, { key, at: this.clock.now() });
    // eviction only drops the reference: a caller may still be using the key
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= this.cacheSize) break;
      this.cache.delete(oldest);
    }
  }
}
