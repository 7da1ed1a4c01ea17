import type { ErasureLedger, ErasureReceipt } from '../../application/ports/erasure-ledger.port.js';
import type { SqliteDatabase } from './sqlite.database.js';

// The erasure ledger in the embedded file, kept for good (no personal data: ids, times, counts).
// One row per receipt, keyed (tenant, erasure id: UUIDv7, so key order is time order), and one
// lookup row per customer id the erasure covered, so any id of the cluster finds its receipt with
// one read. Receipt and lookups are written in one transaction: a listed receipt is always
// findable, and recording the same erasure id again changes nothing. Recording checkpoints the
// file (see record).

const SQL = {
  record: 'INSERT INTO erasure_receipts (tenant, erasure_id, receipt) VALUES (?, ?, ?) ON CONFLICT (tenant, erasure_id) DO NOTHING',
  lookup: 'INSERT INTO erasure_lookups (tenant, customer_id, erasure_id) VALUES (?, ?, ?) ON CONFLICT (tenant, customer_id) DO NOTHING',
  find: `SELECT r.receipt FROM erasure_lookups l JOIN erasure_receipts r ON r.tenant = l.tenant AND r.erasure_id = l.erasure_id
         WHERE l.tenant = ? AND l.customer_id = ?`,
  one: 'SELECT receipt FROM erasure_receipts WHERE tenant = ? AND erasure_id = ?',
  update: 'UPDATE erasure_receipts SET receipt = ? WHERE tenant = ? AND erasure_id = ?',
  first: 'SELECT receipt FROM erasure_receipts WHERE tenant = ? ORDER BY erasure_id LIMIT ?',
  after: 'SELECT receipt FROM erasure_receipts WHERE tenant = ? AND erasure_id > ? ORDER BY erasure_id LIMIT ?',
  all: 'SELECT tenant, receipt FROM erasure_receipts ORDER BY tenant, erasure_id',
};

export class SqliteErasureLedger implements ErasureLedger {
  constructor(private readonly db: SqliteDatabase) {
    db.db.exec(`CREATE TABLE IF NOT EXISTS erasure_receipts (
      tenant TEXT NOT NULL, erasure_id TEXT NOT NULL, receipt TEXT NOT NULL, PRIMARY KEY (tenant, erasure_id)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS erasure_lookups (
      tenant TEXT NOT NULL, customer_id TEXT NOT NULL, erasure_id TEXT NOT NULL, PRIMARY KEY (tenant, customer_id)) WITHOUT ROWID`);
  }

  async record(receipt: ErasureReceipt): Promise<void> {
    const json = JSON.stringify(receipt);
    this.db.transaction(() => {
      // recorded before: its lookups were written with it
      if (Number(this.db.prepare(SQL.record).run(receipt.tenant, receipt.erasureId, json).changes) === 0) return;
      const lookup = this.db.prepare(SQL.lookup);
      for (const id of new Set([receipt.requestedId, ...receipt.customers])) lookup.run(receipt.tenant, id, receipt.erasureId);
    });
    // The receipt is an erasure's last step: the views, snapshots and quarantined payloads it
    // deleted (zeroed by secure_delete) still sit in older page versions in the WAL and, until
    // the WAL is copied back, in the main file. Checkpointing now leaves them in neither.
    this.db.checkpoint();
  }

  async markLakeClean(tenant: string, erasureId: string, at: string): Promise<void> {
    this.db.transaction(() => {
      const row = this.db.prepare(SQL.one).get(tenant, erasureId) as { receipt: string } | undefined;
      const receipt = row && (JSON.parse(row.receipt) as ErasureReceipt);
      if (!receipt || receipt.lakeCleanAt) return;
      this.db.prepare(SQL.update).run(JSON.stringify({ ...receipt, lakeCleanAt: at }), tenant, erasureId);
    });
  }

  async find(tenant: string, customerId: string): Promise<ErasureReceipt | undefined> {
    const row = this.db.prepare(SQL.find).get(tenant, customerId) as { receipt: string } | undefined;
    return row && (JSON.parse(row.receipt) as ErasureReceipt);
  }

  async list(tenant: string, options: { readonly after?: string | undefined; readonly limit: number }) {
    if (!(options.limit >= 1)) throw new Error(`list limit must be at least 1, got ${options.limit}`);
    const limit = Math.trunc(options.limit);
    const rows = (
      options.after === undefined ? this.db.prepare(SQL.first).all(tenant, limit + 1) : this.db.prepare(SQL.after).all(tenant, options.after, limit + 1)
    ) as { receipt: string }[];
    const entries = rows.slice(0, limit).map((r) => JSON.parse(r.receipt) as ErasureReceipt);
    return rows.length > limit ? { entries, next: entries[entries.length - 1]!.erasureId } : { entries };
  }

  /** Everything held, as plain JSON, by tenant. */
  dump(): unknown {
    const out: Record<string, unknown[]> = {};
    for (const r of this.db.prepare(SQL.all).all() as { tenant: string; receipt: string }[]) (out[r.tenant] ??= []).push(JSON.parse(r.receipt));
    return out;
  }
}
