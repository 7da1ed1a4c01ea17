import { readFileSync, rmSync } from 'node:fs';
import type { StatementSync } from 'node:sqlite';
import { performance } from 'node:perf_hooks';
import { SqliteDatabase } from '../src/adapters/sqlite/sqlite.database.js';
import { CALL_PREFIX } from './batch-load.js';
import type { Trace, TraceArg } from './sql-trace.js';

// The ceiling for /v1/batch on the embedded store: the SQLite work of a bench run of ours, with
// none of our code. The bench runs the same load a second time on a fresh file, and the HTTP target
// records every statement it runs on its file during that timed load (bench/sql-trace.ts: execs, and
// each prepared statement's run/get/all with its arguments, in order), after copying the file as it
// is when the load starts (VACUUM INTO). Recording cost that server 13-40% of its calls/s in three trial pairs, so the
// measured run is never the recorded one. The replay opens the copy with the same connection
// settings (SqliteDatabase: WAL, synchronous=FULL, secure_delete, cache size, checkpoints; the
// PRAGMAs our code runs are in the trace) and runs the same statements in the same order, with the
// same transactions, savepoints and commits: the same reads, the same rows, the same fsyncs. What it
// leaves out is everything of ours: HTTP, validation, deciding, encryption, serialising, the
// projection's fold. So our calls/s over this one, in the same run, says how much of the time is
// the file's own work.
//
// The compacted copy (its pages in b-tree order) favours the replay, so the ceiling errs high (our
// ratio low).

const strings = new Map<number, string>();
/** a string of `len` characters (one per length: SQLite copies what it is given, whatever it holds) */
const longString = (len: number): string => strings.get(len) ?? strings.set(len, 'x'.repeat(len)).get(len)!;
const argOf = (a: TraceArg): unknown => (a !== null && typeof a === 'object' && 'len' in a ? longString(a.len) : a);

export type CeilingRun = {
  readonly calls: number;
  readonly statements: number;
  readonly transactions: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly cpuMicrosPerCall: number;
  /** the traced connection's journal mode and synchronous setting, as it read them when the window opened */
  readonly traced: string;
  /** the replay's, read back after it */
  readonly replayed: string;
};

/** The calls a trace committed: the workload's call idempotency records written in it (their keys are its messageIds). */
const callsOf = (trace: Trace): number => {
  const records = new Set(trace.statements.flatMap((sql, i) => (/^\s*INSERT( OR REPLACE)? INTO idempotency\b/i.test(sql) ? [i] : [])));
  let calls = 0;
  for (const e of trace.entries) if (e.k === 'run' && !e.threw && records.has(e.s) && typeof e.a[1] === 'string' && e.a[1].startsWith(CALL_PREFIX)) calls++;
  return calls;
};

/** Runs the statements of the trace at `tracePath` on the file at `copy` (the file as the trace began; removed after), timed. */
export const replayCeiling = (copy: string, tracePath: string): CeilingRun => {
  const trace = JSON.parse(readFileSync(tracePath, 'utf8')) as Trace;
  const calls = callsOf(trace);
  if (calls === 0) throw new Error(`sqlite ceiling: the trace ${tracePath} holds no call of the workload`);
  // every connection of the traced process was on the one file (the server has one)
  const dbs = Array.from({ length: trace.connections }, () => new SqliteDatabase({ path: copy }));
  try {
    const prepared = new Map<number, StatementSync>();
    const statement = (c: number, s: number): StatementSync => {
      const key = s * 64 + c;
      let st = prepared.get(key);
      if (!st) prepared.set(key, (st = dbs[c]!.db.prepare(trace.statements[s]!)));
      return st;
    };
    // prepared and their arguments built before the clock starts: the trace's own decoding is not the file's work
    const steps = trace.entries.map((e) =>
      e.k === 'exec' ? { e, run: () => dbs[e.c]!.db.exec(e.sql) } : { e, st: statement(e.c, e.s), args: e.a.map(argOf) as never[] },
    );
    let transactions = 0;
    let unexpected = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const step of steps) {
      let threw = false;
      try {
        if ('run' in step) {
          step.run!();
          if (/^\s*COMMIT\b/i.test((step.e as { sql: string }).sql)) transactions++;
        } else step.st[step.e.k as 'run' | 'get' | 'all'](...step.args);
      } catch {
        threw = true;
      }
      // the replay does what the run did: a statement that failed there fails here, and no other
      if (threw !== (step.e.threw === true)) unexpected++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    if (unexpected > 0) throw new Error(`sqlite ceiling: ${unexpected} of ${steps.length} statements did not end as they did in the run`);
    const d = dbs[0]!.durability();
    return {
      calls,
      statements: steps.length,
      transactions,
      seconds,
      callsPerSecond: calls / seconds,
      cpuMicrosPerCall: (cpu.user + cpu.system) / calls,
      traced: trace.durability,
      replayed: `journal ${d.journalMode}, synchronous=${d.synchronous}`,
    };
  } finally {
    for (const db of dbs) db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(copy + suffix, { force: true });
  }
};
