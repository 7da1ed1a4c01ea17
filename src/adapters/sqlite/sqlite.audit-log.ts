import type { AuditEntry, AuditLog, AuditPage } from '../../application/ports/audit.port.js';
import type { SqliteDatabase } from './sqlite.database.js';

// The audit log in the embedded file, kept for good (it holds ids and codes, never a personal
// value): one row per entry, keyed (tenant, id). Ids are UUIDv7, so id order is time order and any
// id is a cursor; an index on (tenant, customer_id, id) makes "what was done to this customer" one
// range read. The first append of an id wins, a repeat changes nothing.

const SQL = {
  append: `INSERT INTO audit_entries (tenant, id, customer_id, at, action, outcome, entry) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant, id) DO NOTHING`,
  all: 'SELECT tenant, entry FROM audit_entries ORDER BY tenant, id',
};

const listSql = (byCustomer: boolean, after: boolean): string =>
  `SELECT entry FROM audit_entries WHERE tenant = ?${byCustomer ? ' AND customer_id = ?' : ''}${after ? ' AND id > ?' : ''} ORDER BY id LIMIT ?`;

export class SqliteAuditLog implements AuditLog {
  constructor(private readonly db: SqliteDatabase) {
    db.db.exec(`CREATE TABLE IF NOT EXISTS audit_entries (
      tenant TEXT NOT NULL, id TEXT NOT NULL, customer_id TEXT, at INTEGER NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL, entry TEXT NOT NULL,
      PRIMARY KEY (tenant, id)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS audit_entries_by_customer ON audit_entries (tenant, customer_id, id) WHERE customer_id IS NOT NULL`);
  }

  async append(entry: AuditEntry): Promise<void> {
    this.db.prepare(SQL.append).run(entry.tenant, entry.id, entry.customerId ?? null, entry.at, entry.action, entry.outcome, JSON.stringify(entry));
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly customerId?: string | undefined },
  ): Promise<AuditPage> {
    if (!(options.limit >= 1)) throw new Error(`audit list limit must be at least 1, got ${options.limit}`);
    const limit = Math.trunc(options.limit);
    const params: (string | number)[] = [tenant];
    if (options.customerId !== undefined) params.push(options.customerId);
    if (options.after !== undefined) params.push(options.after);
    const rows = this.db.prepare(listSql(options.customerId !== undefined, options.after !== undefined)).all(...params, limit + 1) as { entry: string }[];
    const entries = rows.slice(0, limit).map((r) => JSON.parse(r.entry) as AuditEntry);
    return rows.length > limit ? { entries, next: entries[entries.length - 1]!.id } : { entries };
  }

  /** Everything held, as plain JSON, by tenant. */
  dump(): unknown {
    const out: Record<string, unknown[]> = {};
    for (const r of this.db.prepare(SQL.all).all() as { tenant: string; entry: string }[]) (out[r.tenant] ??= []).push(JSON.parse(r.entry));
    return out;
  }
}
