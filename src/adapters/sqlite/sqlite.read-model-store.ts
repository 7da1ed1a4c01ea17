import { appliedSum, type DocStamp, type ReadModelStore, type ViewDoc } from '../../application/ports/read-model.port.js';
import type { SqliteDatabase } from './sqlite.database.js';

// Customer360 docs in the embedded file, one row per (tenant, customer id). The doc is kept as the
// exact JSON the projector produced; `version` and `applied_sum` sit beside it so that one
// conditional statement refuses a stale doc (docOrder < 0) or a lost compare-and-swap, atomic
// even against another process writing the same file.
//
// Writes (puts and deletes) that arrive in one turn of the event loop are applied in arrival order
// in one transaction: a batch of calls projects its docs with one WAL write, not one per doc.
// Each write keeps its own result; a statement that fails rejects its own caller only.

type Write = { readonly run: () => number; readonly resolve: (changes: number) => void; readonly reject: (e: unknown) => void };

const NEWER_OR_EQUAL = '(view_docs.version < :v OR (view_docs.version = :v AND view_docs.applied_sum <= :s))';

const SQL = {
  get: 'SELECT doc FROM view_docs WHERE tenant = ? AND customer_id = ?',
  put: `INSERT INTO view_docs (tenant, customer_id, version, applied_sum, doc) VALUES (:t, :c, :v, :s, :doc)
        ON CONFLICT (tenant, customer_id) DO UPDATE SET version = excluded.version, applied_sum = excluded.applied_sum, doc = excluded.doc
        WHERE ${NEWER_OR_EQUAL}`,
  create: 'INSERT INTO view_docs (tenant, customer_id, version, applied_sum, doc) VALUES (:t, :c, :v, :s, :doc) ON CONFLICT (tenant, customer_id) DO NOTHING',
  swap: `UPDATE view_docs SET version = :v, applied_sum = :s, doc = :doc
         WHERE tenant = :t AND customer_id = :c AND version = :ev AND applied_sum = :es AND ${NEWER_OR_EQUAL}`,
  delete: 'DELETE FROM view_docs WHERE tenant = ? AND customer_id = ?',
  deleteTenant: 'DELETE FROM view_docs WHERE tenant = ?',
  first: 'SELECT doc FROM view_docs WHERE tenant = ? ORDER BY customer_id LIMIT ?',
  after: 'SELECT doc FROM view_docs WHERE tenant = ? AND customer_id > ? ORDER BY customer_id LIMIT ?',
  all: 'SELECT tenant, customer_id, doc FROM view_docs ORDER BY tenant, customer_id',
};

export class SqliteReadModelStore implements ReadModelStore {
  private queue: Write[] = [];
  private scheduled = false;

  constructor(private readonly db: SqliteDatabase) {
    db.db.exec(`CREATE TABLE IF NOT EXISTS view_docs (
      tenant TEXT NOT NULL, customer_id TEXT NOT NULL, version INTEGER NOT NULL, applied_sum INTEGER NOT NULL, doc TEXT NOT NULL,
      PRIMARY KEY (tenant, customer_id)) WITHOUT ROWID`);
  }

  async get(tenant: string, customerId: string): Promise<ViewDoc | undefined> {
    const row = this.db.prepare(SQL.get).get(tenant, customerId) as { doc: string } | undefined;
    return row && (JSON.parse(row.doc) as ViewDoc);
  }

  async put(tenant: string, doc: ViewDoc, expected?: DocStamp | null): Promise<boolean> {
    const row = { t: tenant, c: doc.customerId, v: doc.version, s: appliedSum(doc), doc: JSON.stringify(doc) };
    const run = () =>
      Number(
        (expected === undefined
          ? this.db.prepare(SQL.put).run(row)
          : expected === null
            ? this.db.prepare(SQL.create).run(row)
            : // compare-and-swap: still the doc the projector read, and the new one is not older
              this.db.prepare(SQL.swap).run({ ...row, ev: expected.version, es: expected.appliedSum })
        ).changes,
      );
    return (await this.write(run)) > 0;
  }

  async delete(tenant: string, customerId: string): Promise<void> {
    await this.write(() => Number(this.db.prepare(SQL.delete).run(tenant, customerId).changes));
  }

  private write(run: () => number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Applies every queued write in one transaction, in arrival order; settles them after COMMIT. */
  private flush(): void {
    this.scheduled = false;
    const writes = this.queue;
    this.queue = [];
    if (writes.length === 0) return;
    const results: ({ ok: true; changes: number } | { ok: false; error: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const w of writes) {
          try {
            results.push({ ok: true, changes: w.run() });
          } catch (error) {
            results.push({ ok: false, error }); // SQLite undid that statement alone
          }
        }
      });
    } catch (e) {
      for (const w of writes) w.reject(e);
      return;
    }
    writes.forEach((w, i) => {
      const r = results[i]!;
      if (r.ok) w.resolve(r.changes);
      else w.reject(r.error);
    });
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number },
  ): Promise<{ readonly docs: readonly ViewDoc[]; readonly next?: string | undefined }> {
    if (!(options.limit >= 1)) throw new Error(`list limit must be at least 1, got ${options.limit}`);
    const limit = Math.trunc(options.limit);
    const rows = (options.after === undefined ? this.db.prepare(SQL.first).all(tenant, limit + 1) : this.db.prepare(SQL.after).all(tenant, options.after, limit + 1)) as { doc: string }[];
    const docs = rows.slice(0, limit).map((r) => JSON.parse(r.doc) as ViewDoc);
    return rows.length > limit ? { docs, next: docs[docs.length - 1]!.customerId } : { docs };
  }

  /** One transaction: readers see the old generation or the new one, never a mix or nothing. */
  async replaceAll(tenant: string, docs: Iterable<ViewDoc>): Promise<void> {
    const all = [...docs];
    const ids = new Set<string>();
    for (const doc of all) {
      // two docs for one id means the rebuild is broken; keeping either would hide it
      if (ids.has(doc.customerId)) throw new Error(`replaceAll got customer ${doc.customerId} twice`);
      ids.add(doc.customerId);
    }
    this.flush(); // writes queued before the rebuild land before it, never after
    this.db.transaction(() => {
      this.db.prepare(SQL.deleteTenant).run(tenant);
      const insert = this.db.prepare(SQL.create);
      for (const doc of all) insert.run({ t: tenant, c: doc.customerId, v: doc.version, s: appliedSum(doc), doc: JSON.stringify(doc) });
    });
  }

  /** Everything held, as plain JSON, so tests can search it for personal data. */
  dump(): unknown {
    const out: Record<string, Record<string, unknown>> = {};
    for (const r of this.db.prepare(SQL.all).all() as { tenant: string; customer_id: string; doc: string }[]) {
      (out[r.tenant] ??= {})[r.customer_id] = JSON.parse(r.doc);
    }
    return out;
  }
}
