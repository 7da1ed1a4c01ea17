import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { SqliteDatabase } from '../src/adapters/sqlite/sqlite.database.js';
import { BATCH, CALL_PREFIX } from './batch-load.js';

// The ceiling for /v1/batch on the embedded store: the rows a bench run of ours left in its file,
// written again into a fresh file by plain statements, none of our write path, BATCH calls' rows per
// transaction. Same schema (copied from the file), same connection settings (SqliteDatabase: WAL,
// synchronous=FULL, secure_delete, cache, checkpoints), the log's rows in one FULL transaction and
// the views' in one NORMAL one per batch, as ours commits them. What it leaves out is everything of
// ours: HTTP, validation, deciding, encryption, serialising, the projection's fold. So our rate over
// this one, in the same run, is the share of the file's own cost our code adds; and this rate is the
// most the embedded store can take on this machine with the rows our calls write.
//
// Each table's rows are cut, in the order they were written, into as many equal slices as the run
// had batches: every call of the workload writes the same rows (its event, its engagement decision,
// two idempotency records), so a slice is what a batch wrote. Idempotency records (a table without
// rowids, ordered by key) are put back in the order they were written by their expiry, which is their
// write time plus one TTL. A batch updates the view of each customer its events touched, once.
// Reads: each idempotency record is looked up before it is written, each stream's version before
// its events (what a commit checks); no claim or view is read (ours reads them: the ceiling is kinder).

const TABLES = ['events', 'claims', 'idempotency', 'view_docs', 'data_keys'] as const;

type Row = Record<string, string | number | null>;
const sqlOf = (db: SqliteDatabase, table: string) =>
  (db.db.prepare('SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC').all(table) as { sql: string }[]).map((r) => r.sql);

/** `rows` cut into `n` slices in order, the sizes differing by at most one */
const slices = <T>(rows: readonly T[], n: number): T[][] =>
  Array.from({ length: n }, (_, i) => rows.slice(Math.floor((i * rows.length) / n), Math.floor(((i + 1) * rows.length) / n)));

export type CeilingRun = {
  readonly calls: number;
  readonly batches: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly cpuMicrosPerCall: number;
};

/** Writes the rows of the file at `source` again into a new file at `target` (removed after), timed. */
export const replayCeiling = (source: string, target: string): CeilingRun => {
  const from = new SqliteDatabase({ path: source });
  let rows: Record<(typeof TABLES)[number], Row[]>;
  let schema: string[];
  let calls: number;
  try {
    schema = TABLES.flatMap((t) => sqlOf(from, t));
    const all = (sql: string) => from.db.prepare(sql).all() as Row[];
    rows = {
      events: all('SELECT tenant, stream_id, version, event FROM events ORDER BY position'),
      claims: all('SELECT tenant, key, owner FROM claims'),
      idempotency: all('SELECT tenant, key, payload_hash, expires_at FROM idempotency ORDER BY expires_at'),
      view_docs: all('SELECT tenant, customer_id, version, applied_sum, rev, doc FROM view_docs'),
      data_keys: all('SELECT * FROM data_keys'),
    };
    // the calls the load sent (the workload's messageIds are the records' keys); not the calls the
    // load counted, which leave out those in flight when it stopped, though their rows are here
    calls = (from.db.prepare('SELECT count(*) AS n FROM idempotency WHERE key LIKE ?').get(`${CALL_PREFIX}%`) as { n: number }).n;
  } finally {
    from.close();
  }
  if (calls < BATCH) throw new Error(`sqlite ceiling: ${source} holds ${calls} calls of the workload, fewer than one batch`);
  const batches = Math.round(calls / BATCH);

  rmSync(target, { force: true });
  const to = new SqliteDatabase({ path: target });
  try {
    for (const sql of schema) to.db.exec(sql);
    const q = {
      idempotency: to.db.prepare('SELECT payload_hash, expires_at FROM idempotency WHERE tenant = ? AND key = ?'),
      record: to.db.prepare('INSERT INTO idempotency (tenant, key, payload_hash, expires_at) VALUES (?, ?, ?, ?)'),
      version: to.db.prepare('SELECT MAX(version) AS v FROM events WHERE tenant = ? AND stream_id = ?'),
      event: to.db.prepare('INSERT INTO events (tenant, stream_id, version, event) VALUES (?, ?, ?, ?)'),
      claim: to.db.prepare('INSERT INTO claims (tenant, key, owner) VALUES (?, ?, ?)'),
      view: to.db.prepare(
        `INSERT INTO view_docs (tenant, customer_id, version, applied_sum, rev, doc) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, customer_id) DO UPDATE SET version = excluded.version, applied_sum = excluded.applied_sum, rev = excluded.rev, doc = excluded.doc`,
      ),
    };
    const keyColumns = Object.keys(rows.data_keys[0] ?? {});
    const key = keyColumns.length
      ? to.db.prepare(`INSERT INTO data_keys (${keyColumns.join(', ')}) VALUES (${keyColumns.map(() => '?').join(', ')})`)
      : undefined;
    const views = new Map(rows.view_docs.map((v) => [`${v.tenant}\u0000${v.customer_id}`, v]));
    const cut = {
      events: slices(rows.events, batches),
      claims: slices(rows.claims, batches),
      idempotency: slices(rows.idempotency, batches),
      data_keys: slices(rows.data_keys, batches),
    };

    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) {
      const touched = new Map<string, Row>();
      to.transaction(() => {
        for (const r of cut.data_keys[b]!) key!.run(...keyColumns.map((c) => r[c]!));
        for (const r of cut.claims[b]!) q.claim.run(r.tenant!, r.key!, r.owner!);
        for (const r of cut.idempotency[b]!) {
          q.idempotency.get(r.tenant!, r.key!);
          q.record.run(r.tenant!, r.key!, r.payload_hash!, r.expires_at!);
        }
        for (const r of cut.events[b]!) {
          q.version.get(r.tenant!, r.stream_id!);
          q.event.run(r.tenant!, r.stream_id!, r.version!, r.event!);
          const view = views.get(`${r.tenant}\u0000${r.stream_id}`);
          if (view) touched.set(`${r.tenant}\u0000${r.stream_id}`, view);
        }
      });
      to.transaction(
        () => {
          for (const v of touched.values()) q.view.run(v.tenant!, v.customer_id!, v.version!, v.applied_sum!, v.rev!, v.doc!);
        },
        { synchronous: 'NORMAL' },
      );
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    // every row of the file written again, no more: else the rate would be of other work
    for (const table of TABLES) {
      const n = (to.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      if (n !== rows[table].length) throw new Error(`sqlite ceiling: wrote ${n} rows of ${table}, the file holds ${rows[table].length}`);
    }
    return { calls, batches, seconds, callsPerSecond: calls / seconds, cpuMicrosPerCall: (cpu.user + cpu.system) / calls };
  } finally {
    to.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(target + suffix, { force: true });
  }
};
