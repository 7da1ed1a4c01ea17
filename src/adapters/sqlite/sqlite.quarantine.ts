import {
  quarantinePayloadJson,
  type Quarantine,
  type QuarantineEntry,
  type QuarantinePage,
  type QuarantineRewrite,
} from '../../application/ports/quarantine.port.js';
import type { Clock } from '../../application/ports/runtime.port.js';
import type { SqliteDatabase } from './sqlite.database.js';

// Quarantined payloads in the embedded file, one row per (tenant, entry id). Ids are UUIDv7, so
// key order is arrival order and any id is a cursor, even one whose entry has expired or was
// deleted. Entries expire after the retention, counted from when they were put (as in
// DynamoDbQuarantine): reads skip expired rows at once, and every put or list deletes them, so an
// expired payload does not stay in the file. The raw payload is one JSON text column (NULL for an
// undefined payload), so EncryptedQuarantine can wrap it whole.

export type SqliteQuarantineOptions = {
  /** how long an entry is kept after it was quarantined; default 30 days */
  readonly retentionMs?: number | undefined;
  readonly clock?: Clock | undefined;
};

export const DEFAULT_SQLITE_QUARANTINE_RETENTION_MS = 30 * 24 * 3_600_000;

const COLUMNS = 'tenant, id, received_at, source, reason, payload, status, replayed_at, expires_at, match_keys, intake';

const SQL = {
  put: `INSERT OR REPLACE INTO quarantine_entries (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  get: `SELECT ${COLUMNS} FROM quarantine_entries WHERE tenant = ? AND id = ? AND expires_at > ?`,
  replayed: `UPDATE quarantine_entries SET status = 'replayed', replayed_at = ? WHERE tenant = ? AND id = ? AND expires_at > ?`,
  delete: 'DELETE FROM quarantine_entries WHERE tenant = ? AND id = ?',
  rewrite: 'UPDATE quarantine_entries SET reason = ?, payload = ?, match_keys = ? WHERE tenant = ? AND id = ? AND expires_at > ? AND reason = ?',
  sweep: 'DELETE FROM quarantine_entries WHERE expires_at <= ?',
  all: `SELECT ${COLUMNS} FROM quarantine_entries ORDER BY tenant, id`,
};

const listSql = (after: boolean, status: boolean): string =>
  `SELECT ${COLUMNS} FROM quarantine_entries WHERE tenant = ? AND expires_at > ?${after ? ' AND id > ?' : ''}${status ? ' AND status = ?' : ''} ORDER BY id LIMIT ?`;

type Row = {
  tenant: string;
  id: string;
  received_at: number;
  source: string;
  reason: string;
  payload: string | null;
  status: QuarantineEntry['status'];
  replayed_at: number | null;
  match_keys: string | null;
  intake: string | null;
};

const toEntry = (r: Row): QuarantineEntry => ({
  id: r.id,
  tenant: r.tenant,
  receivedAt: r.received_at,
  source: r.source,
  reason: JSON.parse(r.reason),
  payload: r.payload === null ? undefined : JSON.parse(r.payload),
  status: r.status === 'replayed' ? 'replayed' : 'pending',
  ...(r.replayed_at === null ? {} : { replayedAt: r.replayed_at }),
  ...(r.match_keys === null ? {} : { matchKeys: JSON.parse(r.match_keys) as string[] }),
  ...(r.intake === null ? {} : { intake: r.intake }),
});

export class SqliteQuarantine implements Quarantine {
  private readonly retentionMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly db: SqliteDatabase,
    options: SqliteQuarantineOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? DEFAULT_SQLITE_QUARANTINE_RETENTION_MS;
    if (!(this.retentionMs > 0)) throw new Error(`quarantine retention must be a positive number of milliseconds, got ${this.retentionMs}`);
    this.clock = options.clock ?? { now: () => Date.now() };
    db.db.exec(`CREATE TABLE IF NOT EXISTS quarantine_entries (
      tenant TEXT NOT NULL, id TEXT NOT NULL, received_at INTEGER NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL, payload TEXT,
      status TEXT NOT NULL, replayed_at INTEGER, expires_at INTEGER NOT NULL,
      PRIMARY KEY (tenant, id)); -- a rowid table: payloads are large rows
      CREATE INDEX IF NOT EXISTS quarantine_entries_expiry ON quarantine_entries (expires_at)`);
    // files made before entries recorded the keyed hashes of their identifiers (JSON array, or NULL)
    const columns = db.db.prepare('PRAGMA table_info(quarantine_entries)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'match_keys')) db.db.exec('ALTER TABLE quarantine_entries ADD COLUMN match_keys TEXT');
    // and before they recorded what a payload that is not a call is (NULL for a call)
    if (!columns.some((c) => c.name === 'intake')) db.db.exec('ALTER TABLE quarantine_entries ADD COLUMN intake TEXT');
  }

  async put(entry: QuarantineEntry): Promise<void> {
    const now = this.clock.now();
    this.sweep(now);
    const payload = quarantinePayloadJson(entry.payload) ?? null;
    // retention runs from the time it was quarantined, not from the (client-set) receivedAt
    this.db
      .prepare(SQL.put)
      .run(
        entry.tenant,
        entry.id,
        entry.receivedAt,
        entry.source,
        JSON.stringify(entry.reason),
        payload,
        entry.status,
        entry.replayedAt ?? null,
        now + this.retentionMs,
        entry.matchKeys ? JSON.stringify(entry.matchKeys) : null,
        entry.intake ?? null,
      );
  }

  async get(tenant: string, id: string): Promise<QuarantineEntry | undefined> {
    const row = this.db.prepare(SQL.get).get(tenant, id, this.clock.now()) as Row | undefined;
    return row && toEntry(row);
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly status?: QuarantineEntry['status'] | undefined },
  ): Promise<QuarantinePage> {
    if (!(options.limit >= 1)) throw new Error(`list limit must be at least 1, got ${options.limit}`);
    const now = this.clock.now();
    this.sweep(now);
    const limit = Math.trunc(options.limit);
    const params: (string | number)[] = [tenant, now];
    if (options.after !== undefined) params.push(options.after);
    if (options.status !== undefined) params.push(options.status);
    const rows = this.db.prepare(listSql(options.after !== undefined, options.status !== undefined)).all(...params, limit + 1) as Row[];
    const entries = rows.slice(0, limit).map(toEntry);
    // a cursor only when another match exists, so the last page is never an empty one
    return rows.length > limit ? { entries, next: entries[entries.length - 1]!.id } : { entries };
  }

  async markReplayed(tenant: string, id: string, at: number): Promise<void> {
    const { changes } = this.db.prepare(SQL.replayed).run(at, tenant, id, this.clock.now());
    if (Number(changes) === 0) throw new Error(`no quarantine entry ${id} for tenant ${tenant} (never quarantined, or past its retention)`);
  }

  async delete(tenant: string, id: string): Promise<void> {
    this.db.prepare(SQL.delete).run(tenant, id);
  }

  /** In place: the row keeps its status, times and expiry (secure_delete overwrites what it frees, as a delete's). */
  async rewrite(tenant: string, id: string, change: QuarantineRewrite): Promise<boolean> {
    const payload = quarantinePayloadJson(change.payload) ?? null;
    // the reason column holds JSON.stringify of the reason, as ifReason is written here
    const { changes } = this.db
      .prepare(SQL.rewrite)
      .run(JSON.stringify(change.reason), payload, JSON.stringify(change.matchKeys), tenant, id, this.clock.now(), JSON.stringify(change.ifReason));
    return Number(changes) > 0;
  }

  /** Everything held (expired entries are dropped first), as plain JSON, by tenant. */
  dump(): unknown {
    this.sweep(this.clock.now());
    const out: Record<string, QuarantineEntry[]> = {};
    for (const r of this.db.prepare(SQL.all).all() as Row[]) (out[r.tenant] ??= []).push(toEntry(r));
    return JSON.parse(JSON.stringify(out));
  }

  private sweep(now: number): void {
    this.db.prepare(SQL.sweep).run(now);
  }
}
