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
// Parsed docs are cached (LRU), and so is a doc's absence. Every write stamps its row with a random
// `rev`. A cached answer is served as it is while the file's data_version (read before the row was
// seen) has not moved and no other store on this connection has written views since: then no one
// else has written the file, and this store's own writes keep its cache current. Otherwise the row
// is checked: one statement that returns the JSON only when the row no longer carries the cached
// rev. So a doc written by another connection or process is never served stale. This holds because
// view_docs is written by this class alone: a raw SQL write to it on the same connection moves
// neither data_version nor the tally of writes, and would not be seen.

type Write = {
  readonly id: string;
  /** what the row holds once `run` changed it; undefined: the write deletes the row */
  readonly row?: { readonly rev: number; readonly doc: ViewDoc } | undefined;
  readonly run: () => number;
  readonly resolve: (changes: number) => void;
  readonly reject: (e: unknown) => void;
};
/**
 * A cached row. `rev` null: there was no row. `seen`: the data_version read before the row was
 * seen, undefined when the row may not be what is committed (seen inside a transaction that is not
 * this store's); `foreign`: the view writes other stores had made on this connection by then.
 */
type Cached = { readonly rev: number | null; readonly doc: ViewDoc | undefined; readonly seen: number | undefined; readonly foreign: number };

// The writes bind numbered parameters, in the order of `Row` (then the expected version and applied
// sum of a swap): binding an object by names cost ~1.8 us more a statement (node:sqlite looks
// each name up).
type Row = readonly [tenant: string, customerId: string, version: number, appliedSum: number, rev: number, doc: string];
const NEWER_OR_EQUAL = '(view_docs.version < ?3 OR (view_docs.version = ?3 AND view_docs.applied_sum <= ?4))';

const SQL = {
  get: 'SELECT rev, CASE WHEN rev = ? THEN NULL ELSE doc END AS doc FROM view_docs WHERE tenant = ? AND customer_id = ?',
  put: `INSERT INTO view_docs (tenant, customer_id, version, applied_sum, rev, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
        ON CONFLICT (tenant, customer_id) DO UPDATE SET version = excluded.version, applied_sum = excluded.applied_sum, rev = excluded.rev, doc = excluded.doc
        WHERE ${NEWER_OR_EQUAL}`,
  create:
    'INSERT INTO view_docs (tenant, customer_id, version, applied_sum, rev, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (tenant, customer_id) DO NOTHING',
  swap: `UPDATE view_docs SET version = ?3, applied_sum = ?4, rev = ?5, doc = ?6
         WHERE tenant = ?1 AND customer_id = ?2 AND version = ?7 AND applied_sum = ?8 AND ${NEWER_OR_EQUAL}`,
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
/**
 * The view writes made on each connection, by every store on it. data_version does not move for
 * the connection's own commits, so a store learns of another store's writes on its connection here.
 */
const writesOn = new WeakMap<SqliteDatabase, { n: number }>();

export class SqliteReadModelStore implements ReadModelStore {
  private queue: Write[] = [];
  private scheduled = false;
  /** parsed docs (and absences) by (tenant, id), least recently used first */
  private readonly cache = new Map<string, Cached>();
  /** the view writes of every store on this connection, and this store's own among them */
  private readonly writes: { n: number };
  private ownWrites = 0;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly cacheSize = DEFAULT_CACHE_SIZE,
  ) {
    db.db.exec(`CREATE TABLE IF NOT EXISTS view_docs (
      tenant TEXT NOT NULL, customer_id TEXT NOT NULL, version INTEGER NOT NULL, applied_sum INTEGER NOT NULL, rev INTEGER NOT NULL, doc TEXT NOT NULL,
      PRIMARY KEY (tenant, customer_id))`); // a rowid table: docs are kilobytes, and a WITHOUT ROWID b-tree of
    // rows that large made a point read about 5x slower (measured: 53 us against 10 us)
    let writes = writesOn.get(db);
    if (!writes) writesOn.set(db, (writes = { n: 0 }));
    this.writes = writes;
  }

  /** the view writes other stores have made on this connection */
  private foreignWrites(): number {
    return this.writes.n - this.ownWrites;
  }

  private wrote(): void {
    this.writes.n++;
    this.ownWrites++;
  }

  /** With the other reads of its loop turn, in one read transaction (SqliteDatabase.read). */
  get(tenant: string, customerId: string): Promise<ViewDoc | undefined> {
    return this.db.read(() => this.getNow(tenant, customerId));
  }

  private getNow(tenant: string, customerId: string): ViewDoc | undefined {
    const id = cacheId(tenant, customerId);
    const cached = this.cache.get(id);
    // read before the row: if it has not moved by the next get, no other connection wrote between
    // (in a turn's read transaction, both are of its snapshot, which is committed state)
    const seen = this.db.seesCommitted() ? this.db.dataVersion() : undefined;
    const foreign = this.foreignWrites();
    if (cached && seen !== undefined && cached.seen === seen && cached.foreign === foreign) {
      this.remember(id, cached);
      return cached.doc;
    }
    const row = this.db.prepare(SQL.get).get(cached?.rev ?? null, tenant, customerId) as { rev: number; doc: string | null } | undefined;
    if (!row) {
      this.remember(id, { rev: null, doc: undefined, seen, foreign });
      return undefined;
    }
    if (row.doc === null && cached?.doc) {
      this.remember(id, { rev: row.rev, doc: cached.doc, seen, foreign });
      return cached.doc;
    }
    const doc = JSON.parse(row.doc!) as ViewDoc;
    this.remember(id, { rev: row.rev, doc, seen, foreign });
    return doc;
  }

  private remember(id: string, entry: Cached): void {
    this.cache.delete(id);
    this.cache.set(id, entry);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  async put(tenant: string, doc: ViewDoc, expected?: DocStamp | null): Promise<boolean> {
    const rev = newRev();
    const row: Row = [tenant, doc.customerId, doc.version, appliedSum(doc), rev, JSON.stringify(doc)];
    const run = () =>
      Number(
        (expected === undefined
          ? this.db.prepare(SQL.put).run(...row)
          : expected === null
            ? this.db.prepare(SQL.create).run(...row)
            : // compare-and-swap: still the doc the projector read, and the new one is not older
              this.db.prepare(SQL.swap).run(...row, expected.version, expected.appliedSum)
        ).changes,
      );
    return (await this.write(cacheId(tenant, doc.customerId), run, { rev, doc })) > 0;
  }

  async delete(tenant: string, customerId: string): Promise<void> {
    await this.write(cacheId(tenant, customerId), () => Number(this.db.prepare(SQL.delete).run(tenant, customerId).changes));
  }

  private write(id: string, run: () => number, row?: Write['row']): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id, row, run, resolve, reject });
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
    // inside someone else's transaction, which may yet roll back, what is written is not yet known to stay
    const own = !this.db.db.isTransaction;
    let seen: number | undefined;
    this.wrote();
    try {
      // views re-derive from the log: no fsync of their own (the next event commit's covers them)
      this.db.transaction(() => {
        // under the write lock: no other connection commits until this transaction has
        if (own) seen = this.db.dataVersion();
        for (const w of writes) {
          try {
            results.push({ ok: true, changes: w.run() });
          } catch (error) {
            results.push({ ok: false, error }); // SQLite undid that statement alone
          }
        }
      }, NO_FSYNC);
    } catch (e) {
      for (const w of writes) {
        this.cache.delete(w.id);
        w.reject(e);
      }
      return;
    }
    const foreign = this.foreignWrites();
    writes.forEach((w, i) => {
      const r = results[i]!;
      // what the row holds now, once committed; a refused write or a delete leaves it to the next get
      if (r.ok && r.changes > 0 && w.row) this.remember(w.id, { rev: w.row.rev, doc: w.row.doc, seen, foreign });
      else this.cache.delete(w.id);
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
    this.wrote();
    this.db.transaction(() => {
      this.db.prepare(SQL.deleteTenant).run(tenant);
      const insert = this.db.prepare(SQL.create);
      for (const doc of all) insert.run(tenant, doc.customerId, doc.version, appliedSum(doc), newRev(), JSON.stringify(doc));
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
