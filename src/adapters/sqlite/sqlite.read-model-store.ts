import { appliedSum, uniqueDocs, type DocStamp, type ReadModelStore, type ViewDoc } from '../../application/ports/read-model.port.js';
import type { SqliteDatabase } from './sqlite.database.js';

// Customer360 docs in the embedded file, one row per (tenant, customer id). The doc is kept as the
// exact JSON the projector produced; `version` and `applied_sum` sit beside it so that one
// conditional statement refuses a stale doc (docOrder < 0) or a lost compare-and-swap, atomic
// even against another process writing the same file.
//
// Writes (puts and deletes) that arrive in one turn of the event loop are applied in arrival order
// in one transaction: a batch of calls projects its docs with one WAL write, not one per doc.
// Each write keeps its own result; a statement that fails rejects its own caller only.
//
// Parsed docs are cached (LRU). Every write stamps its row with a random `rev`, and a cache hit is
// only served when the row still carries the cached rev (one statement that returns the JSON only
// when it changed), so a doc written by another process is never served stale.

type Write = { readonly run: () => number; readonly resolve: (changes: number) => void; readonly reject: (e: unknown) => void };

const NEWER_OR_EQUAL = '(view_docs.version < :v OR (view_docs.version = :v AND view_docs.applied_sum <= :s))';

const SQL = {
  get: 'SELECT rev, CASE WHEN rev = ? THEN NULL ELSE doc END AS doc FROM view_docs WHERE tenant = ? AND customer_id = ?',
  put: `INSERT INTO view_docs (tenant, customer_id, version, applied_sum, rev, doc) VALUES (:t, :c, :v, :s, :r, :doc)
        ON CONFLICT (tenant, customer_id) DO UPDATE SET version = excluded.version, applied_sum = excluded.applied_sum, rev = excluded.rev, doc = excluded.doc
        WHERE ${NEWER_OR_EQUAL}`,
  create:
    'INSERT INTO view_docs (tenant, customer_id, version, applied_sum, rev, doc) VALUES (:t, :c, :v, :s, :r, :doc) ON CONFLICT (tenant, customer_id) DO NOTHING',
  swap: `UPDATE view_docs SET version = :v, applied_sum = :s, rev = :r, doc = :doc
         WHERE tenant = :t AND customer_id = :c AND version = :ev AND applied_sum = :es AND ${NEWER_OR_EQUAL}`,
  delete: 'DELETE FROM view_docs WHERE tenant = ? AND customer_id = ?',
  deleteTenant: 'DELETE FROM view_docs WHERE tenant = ?',
  first: 'SELECT doc FROM view_docs WHERE tenant = ? ORDER BY customer_id LIMIT ?',
  after: 'SELECT doc FROM view_docs WHERE tenant = ? AND customer_id > ? ORDER BY customer_id LIMIT ?',
  all: 'SELECT tenant, customer_id, doc FROM view_docs ORDER BY tenant, customer_id',
};

const DEFAULT_CACHE_SIZE = 5_000;
const NO_FSYNC = { synchronous: 'NORMAL' } as const;
const cacheId = (tenant: string, customerId: string): string => `${tenant}\u0000${customerId}`;
/** a write's stamp: random, so a deleted and re-created row never matches an old cache entry */
const newRev = (): number => Math.floor(Math.random() * Number.MAX_SAFE_INTEGER);

export class SqliteReadModelStore implements ReadModelStore {
  private queue: Write[] = [];
  private scheduled = false;
  /** parsed docs by (tenant, id), least recently used first */
  private readonly cache = new Map<string, { readonly rev: number; readonly doc: ViewDoc }>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly cacheSize = DEFAULT_CACHE_SIZE,
  ) {
    db.db.exec(`CREATE TABLE IF NOT EXISTS view_docs (
      tenant TEXT NOT NULL, customer_id TEXT NOT NULL, version INTEGER NOT NULL, applied_sum INTEGER NOT NULL, rev INTEGER NOT NULL, doc TEXT NOT NULL,
      PRIMARY KEY (tenant, customer_id))`); // a rowid table: docs are kilobytes, and a WITHOUT ROWID b-tree of
    // rows that large made a point read about 5x slower (measured: 53 us against 10 us)
  }

  async get(tenant: string, customerId: string): Promise<ViewDoc | undefined> {
    const id = cacheId(tenant, customerId);
    const cached = this.cache.get(id);
    const row = this.db.prepare(SQL.get).get(cached?.rev ?? null, tenant, customerId) as { rev: number; doc: string | null } | undefined;
    if (!row) {
      this.cache.delete(id);
      return undefined;
    }
    if (row.doc === null && cached) {
      this.remember(id, cached.rev, cached.doc);
      return cached.doc;
    }
    const doc = JSON.parse(row.doc!) as ViewDoc;
    this.remember(id, row.rev, doc);
    return doc;
  }

  private remember(id: string, rev: number, doc: ViewDoc): void {
    this.cache.delete(id);
    this.cache.set(id, { rev, doc });
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  async put(tenant: string, doc: ViewDoc, expected?: DocStamp | null): Promise<boolean> {
    const row = { t: tenant, c: doc.customerId, v: doc.version, s: appliedSum(doc), r: newRev(), doc: JSON.stringify(doc) };
    const id = cacheId(tenant, doc.customerId);
    const run = () => {
      const changes = Number(
        (expected === undefined
          ? this.db.prepare(SQL.put).run(row)
          : expected === null
            ? this.db.prepare(SQL.create).run(row)
            : // compare-and-swap: still the doc the projector read, and the new one is not older
              this.db.prepare(SQL.swap).run({ ...row, ev: expected.version, es: expected.appliedSum })
        ).changes,
      );
      // a refused write says nothing about what the row holds now: the next get reads it
      if (changes > 0) this.remember(id, row.r, doc);
      else this.cache.delete(id);
      return changes;
    };
    return (await this.write(run)) > 0;
  }

  async delete(tenant: string, customerId: string): Promise<void> {
    await this.write(() => {
      this.cache.delete(cacheId(tenant, customerId));
      return Number(this.db.prepare(SQL.delete).run(tenant, customerId).changes);
    });
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
      // views re-derive from the log: no fsync of their own (the next event commit's covers them)
      this.db.transaction(() => {
        for (const w of writes) {
          try {
            results.push({ ok: true, changes: w.run() });
          } catch (error) {
            results.push({ ok: false, error }); // SQLite undid that statement alone
          }
        }
      }, NO_FSYNC);
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
    const rows = (
      options.after === undefined ? this.db.prepare(SQL.first).all(tenant, limit + 1) : this.db.prepare(SQL.after).all(tenant, options.after, limit + 1)
    ) as { doc: string }[];
    const docs = rows.slice(0, limit).map((r) => JSON.parse(r.doc) as ViewDoc);
    return rows.length > limit ? { docs, next: docs[docs.length - 1]!.customerId } : { docs };
  }

  /** One transaction: readers see the old generation or the new one, never a mix or nothing. */
  async replaceAll(tenant: string, docs: Iterable<ViewDoc>): Promise<void> {
    const all = uniqueDocs(docs);
    this.flush(); // writes queued before the rebuild land before it, never after
    this.db.transaction(() => {
      this.db.prepare(SQL.deleteTenant).run(tenant);
      const insert = this.db.prepare(SQL.create);
      for (const doc of all) insert.run({ t: tenant, c: doc.customerId, v: doc.version, s: appliedSum(doc), r: newRev(), doc: JSON.stringify(doc) });
    }, NO_FSYNC);
    this.cache.clear();
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
