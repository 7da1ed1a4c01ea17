import type { Notification } from '../../application/ports/notifier.port.js';
import type { Outbox, OutboxEntry, OutboxRetry } from '../../application/ports/outbox.port.js';
import type { SqliteDatabase } from './sqlite.database.js';

// The engagement outbox in the embedded file, one row per (tenant, decision id). A partial index
// holds only pending rows by when they are due, so the relay's query never walks published ones.
// Each write is one conditional statement, atomic against another process on the same file.
// Published entries are deleted once older than the retention (as DynamoDB's TTL does there).
// Ids and offer only: no personal data is kept here.

export type SqliteOutboxOptions = {
  /** how long a published entry is kept; default 30 days */
  readonly publishedRetentionMs?: number | undefined;
};

const MONTH_MS = 30 * 86_400_000;
const COLUMNS =
  'tenant, decision_id, customer_id, version, event_id, notification, status, confirmed, attempts, created_at, next_attempt_at, published_at, last_error';

const SQL = {
  stage: `INSERT INTO outbox_entries (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, NULL, ?)
          ON CONFLICT (tenant, decision_id) DO UPDATE SET
            customer_id = excluded.customer_id, version = excluded.version, event_id = excluded.event_id, notification = excluded.notification,
            attempts = excluded.attempts, created_at = excluded.created_at, next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error
          WHERE outbox_entries.status = 'pending' AND outbox_entries.confirmed = 0`,
  get: `SELECT ${COLUMNS} FROM outbox_entries WHERE tenant = ? AND decision_id = ?`,
  due: `SELECT ${COLUMNS} FROM outbox_entries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, decision_id LIMIT ?`,
  reschedule: `UPDATE outbox_entries SET attempts = ?, next_attempt_at = ?, confirmed = ?, last_error = ?
               WHERE tenant = ? AND decision_id = ? AND status = 'pending'`,
  publish: `UPDATE outbox_entries SET status = 'published', confirmed = 1, published_at = ? WHERE tenant = ? AND decision_id = ?`,
  expire: `DELETE FROM outbox_entries WHERE status = 'published' AND published_at <= ?`,
  discardUncommitted: `DELETE FROM outbox_entries WHERE tenant = ? AND decision_id = ? AND status = 'pending' AND confirmed = 0`,
  discardErased: `DELETE FROM outbox_entries WHERE tenant = ? AND decision_id = ? AND status = 'pending'`,
  all: `SELECT ${COLUMNS} FROM outbox_entries ORDER BY tenant, decision_id`,
};

export type Row = {
  tenant: string;
  decision_id: string;
  customer_id: string;
  version: number;
  event_id: string;
  notification: string;
  status: OutboxEntry['status'];
  confirmed: number;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  published_at: number | null;
  last_error: string | null;
};

export const entryOf = (r: Row): OutboxEntry => ({
  tenant: r.tenant,
  decisionId: r.decision_id,
  customerId: r.customer_id,
  version: r.version,
  eventId: r.event_id,
  notification: JSON.parse(r.notification) as Notification,
  status: r.status,
  confirmed: r.confirmed === 1,
  attempts: r.attempts,
  createdAt: r.created_at,
  nextAttemptAt: r.next_attempt_at,
  ...(r.published_at !== null ? { publishedAt: r.published_at } : {}),
  ...(r.last_error !== null ? { lastError: r.last_error } : {}),
});

export class SqliteOutbox implements Outbox {
  private readonly retentionMs: number;

  constructor(
    private readonly db: SqliteDatabase,
    options: SqliteOutboxOptions = {},
  ) {
    this.retentionMs = options.publishedRetentionMs ?? MONTH_MS;
    db.db.exec(`CREATE TABLE IF NOT EXISTS outbox_entries (
      tenant TEXT NOT NULL, decision_id TEXT NOT NULL, customer_id TEXT NOT NULL, version INTEGER NOT NULL, event_id TEXT NOT NULL,
      notification TEXT NOT NULL, status TEXT NOT NULL, confirmed INTEGER NOT NULL, attempts INTEGER NOT NULL, created_at INTEGER NOT NULL,
      next_attempt_at INTEGER NOT NULL, published_at INTEGER, last_error TEXT,
      PRIMARY KEY (tenant, decision_id)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS outbox_entries_due ON outbox_entries (next_attempt_at, decision_id) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS outbox_entries_published ON outbox_entries (published_at) WHERE status = 'published'`);
  }

  async stage(e: OutboxEntry): Promise<boolean> {
    const run = this.db
      .prepare(SQL.stage)
      .run(
        e.tenant,
        e.decisionId,
        e.customerId,
        e.version,
        e.eventId,
        JSON.stringify(e.notification),
        e.attempts,
        e.createdAt,
        e.nextAttemptAt,
        e.lastError ?? null,
      );
    return Number(run.changes) > 0;
  }

  async get(tenant: string, decisionId: string): Promise<OutboxEntry | undefined> {
    const row = this.db.prepare(SQL.get).get(tenant, decisionId) as Row | undefined;
    return row && entryOf(row);
  }

  async due(now: number, limit: number): Promise<readonly OutboxEntry[]> {
    if (!(limit >= 1)) return [];
    return (this.db.prepare(SQL.due).all(now, Math.trunc(limit)) as Row[]).map(entryOf);
  }

  async reschedule(tenant: string, decisionId: string, retry: OutboxRetry): Promise<void> {
    this.db.prepare(SQL.reschedule).run(retry.attempts, retry.nextAttemptAt, retry.confirmed ? 1 : 0, retry.lastError ?? null, tenant, decisionId);
  }

  async markPublished(tenant: string, decisionId: string, at: number): Promise<void> {
    this.db.prepare(SQL.publish).run(at, tenant, decisionId);
    this.db.prepare(SQL.expire).run(at - this.retentionMs);
  }

  async discard(tenant: string, decisionId: string, why: 'uncommitted' | 'erased' = 'uncommitted'): Promise<void> {
    this.db.prepare(why === 'erased' ? SQL.discardErased : SQL.discardUncommitted).run(tenant, decisionId);
  }

  /** Everything held, as plain JSON (ids, offer and times only). */
  dump(): unknown {
    return JSON.parse(JSON.stringify((this.db.prepare(SQL.all).all() as Row[]).map(entryOf)));
  }
}
