import type { IdempotencyRecord, StoredEvent } from '../../application/ports/event-store.port.js';
import type { OutboxEntry } from '../../application/ports/outbox.port.js';
import type { Quarantine, QuarantineEntry } from '../../application/ports/quarantine.port.js';
import type { PageRequest, StoreTransfer, TransferClaim, TransferKey, TransferPage } from '../../application/ports/store-transfer.port.js';
import type { SqliteDatabase } from './sqlite.database.js';
import type { SqliteEventStore } from './sqlite.event-store.js';
import { entryOf, type Row as OutboxRow } from './sqlite.outbox.js';

// Export and import of one tenant's records in the embedded file (c360 migrate), on the tables of
// sqlite.event-store.ts, sqlite.key-store.ts and sqlite.outbox.ts. Imported events get new rowids in
// the order given, so the log order is the source's. Every write is an upsert that changes nothing
// when the row is already there, so an import run twice holds everything once. The event store
// and key store must have been opened on the file first (they create their tables).

const SQL = {
  claims: 'SELECT key, owner FROM claims WHERE tenant = ? AND key > ? ORDER BY key LIMIT ?',
  idempotency: 'SELECT key, payload_hash, expires_at FROM idempotency WHERE tenant = ? AND key > ? ORDER BY key LIMIT ?',
  keys: 'SELECT customer_id, key_id, master_key_id, wrapped, created_at, destroyed_at FROM data_keys WHERE tenant = ? AND customer_id > ? ORDER BY customer_id LIMIT ?',
  outbox: 'SELECT * FROM outbox_entries WHERE tenant = ? AND decision_id > ? ORDER BY decision_id LIMIT ?',
  holds: `SELECT EXISTS (SELECT 1 FROM events WHERE tenant = :t) OR EXISTS (SELECT 1 FROM claims WHERE tenant = :t)
            OR EXISTS (SELECT 1 FROM data_keys WHERE tenant = :t) AS held`,
  event: 'INSERT INTO events (tenant, stream_id, version, event) VALUES (?, ?, ?, ?) ON CONFLICT (tenant, stream_id, version) DO NOTHING',
  claim: 'INSERT INTO claims (tenant, key, owner) VALUES (?, ?, ?) ON CONFLICT (tenant, key) DO UPDATE SET owner = excluded.owner',
  record: 'INSERT INTO idempotency (tenant, key, payload_hash, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (tenant, key) DO NOTHING',
  live: `INSERT INTO data_keys (tenant, customer_id, key_id, master_key_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant, customer_id) DO NOTHING`,
  tombstone: `INSERT INTO data_keys (tenant, customer_id, destroyed_at) VALUES (?, ?, ?) ON CONFLICT (tenant, customer_id) DO UPDATE SET
                key_id = NULL, master_key_id = NULL, wrapped = NULL, created_at = NULL, rewrapped_at = NULL, destroyed_at = excluded.destroyed_at
              WHERE data_keys.destroyed_at IS NULL`,
} as const;

type KeyRow = {
  customer_id: string;
  key_id: string | null;
  master_key_id: string | null;
  wrapped: string | null;
  created_at: number | null;
  destroyed_at: number | null;
};

const paged = <R, T>(rows: R[], limit: number, map: (r: R) => T, cursor: (r: R) => string): TransferPage<T> =>
  rows.length > limit ? { items: rows.slice(0, limit).map(map), next: cursor(rows[limit - 1]!) } : { items: rows.map(map) };

export class SqliteStoreTransfer implements StoreTransfer {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly store: SqliteEventStore,
    /** the plain quarantine (not the encrypting one): entries move as stored */
    private readonly plainQuarantine: Quarantine,
  ) {}

  private rows<R>(sql: string, tenant: string, page: PageRequest): R[] {
    return this.db.prepare(sql).all(tenant, page.after ?? '', Math.trunc(page.limit) + 1) as R[];
  }

  async events(tenant: string, page: PageRequest): Promise<TransferPage<StoredEvent>> {
    const { events, next } = await this.store.readAll(tenant, page);
    return { items: events, next };
  }

  async claims(tenant: string, page: PageRequest): Promise<TransferPage<TransferClaim>> {
    return paged(
      this.rows<TransferClaim>(SQL.claims, tenant, page),
      page.limit,
      (r) => ({ key: r.key, owner: r.owner }),
      (r) => r.key,
    );
  }

  async idempotency(tenant: string, page: PageRequest): Promise<TransferPage<IdempotencyRecord>> {
    type R = { key: string; payload_hash: string; expires_at: number };
    return paged(
      this.rows<R>(SQL.idempotency, tenant, page),
      page.limit,
      (r) => ({ key: r.key, payloadHash: r.payload_hash, expiresAt: r.expires_at }),
      (r) => r.key,
    );
  }

  async keys(tenant: string, page: PageRequest): Promise<TransferPage<TransferKey>> {
    const toKey = (r: KeyRow): TransferKey =>
      r.destroyed_at !== null
        ? { kind: 'destroyed', customerId: r.customer_id, destroyedAt: r.destroyed_at }
        : { kind: 'live', customerId: r.customer_id, keyId: r.key_id!, masterKeyId: r.master_key_id!, wrapped: r.wrapped!, createdAt: r.created_at ?? 0 };
    return paged(this.rows<KeyRow>(SQL.keys, tenant, page), page.limit, toKey, (r) => r.customer_id);
  }

  async quarantine(tenant: string, page: PageRequest): Promise<TransferPage<QuarantineEntry>> {
    const { entries, next } = await this.plainQuarantine.list(tenant, page);
    return { items: entries, next };
  }

  async outbox(tenant: string, page: PageRequest): Promise<TransferPage<OutboxEntry>> {
    return paged(this.rows<OutboxRow>(SQL.outbox, tenant, page), page.limit, entryOf, (r) => r.decision_id);
  }

  async holdsTenant(tenant: string): Promise<boolean> {
    return (this.db.prepare(SQL.holds).get({ t: tenant }) as { held: number }).held === 1;
  }

  async importEvents(tenant: string, events: readonly StoredEvent[]): Promise<void> {
    this.db.transaction(() => {
      for (const e of events) {
        if (e.tenant !== tenant) throw new Error(`event ${e.eventId} belongs to tenant ${e.tenant}, not ${tenant}`);
        // the source's position means nothing here: the rowid is this store's position
        this.db.prepare(SQL.event).run(tenant, e.streamId, e.version, JSON.stringify({ ...e, position: undefined }));
      }
    });
  }

  async importClaims(tenant: string, claims: readonly TransferClaim[]): Promise<void> {
    this.db.transaction(() => claims.forEach((c) => this.db.prepare(SQL.claim).run(tenant, c.key, c.owner)));
  }

  async importIdempotency(tenant: string, records: readonly IdempotencyRecord[]): Promise<void> {
    this.db.transaction(() => records.forEach((r) => this.db.prepare(SQL.record).run(tenant, r.key, r.payloadHash, r.expiresAt)));
  }

  async importKeys(tenant: string, keys: readonly TransferKey[]): Promise<void> {
    this.db.transaction(() => {
      for (const k of keys) {
        if (k.kind === 'live') this.db.prepare(SQL.live).run(tenant, k.customerId, k.keyId, k.masterKeyId, k.wrapped, k.createdAt);
        else this.db.prepare(SQL.tombstone).run(tenant, k.customerId, k.destroyedAt);
      }
    });
  }

  async importQuarantine(_tenant: string, entries: readonly QuarantineEntry[]): Promise<void> {
    for (const e of entries) await this.plainQuarantine.put(e);
  }
}
