import { readFileSync, rmSync } from 'node:fs';
import type { StatementSync } from 'node:sqlite';
import { performance } from 'node:perf_hooks';
import { SqliteDatabase } from '../src/adapters/sqlite/sqlite.database.js';
import { CALL_PREFIX } from './batch-load.js';
import type { TraceArg, TraceEntry, TraceHeader } from './sql-trace.js';

// The ceiling for /v1/batch on the embedded store: the SQLite work of a bench run of ours, with
// none of our code. The bench runs the same load a second time on a fresh file, and the HTTP target
// records every statement it runs on its file during that timed load (bench/sql-trace.ts: execs, and
// each prepared statement's run/get/all with its arguments and the rows it changed or returned, in
// order), after copying the file as it is when the load starts (VACUUM INTO) and checkpointing its
// WAL away, so that both begin with an empty WAL. Recording cost that server 13-40% of its calls/s
// in three trial pairs, so the measured run is never the recorded one. The replay opens the copy
// with the same connection settings (SqliteDatabase: WAL, synchronous=FULL, secure_delete, cache
// size, checkpoints; the PRAGMAs our code runs are in the trace), reads every table once (a running
// server has its pages cached), then runs the same statements in the same order: the same reads,
// rows, transactions, savepoints and commits, each statement failing, changing and returning as
// many rows as it did in the run, or the replay throws. What it leaves out is everything of ours:
// HTTP, validation, deciding, encryption, serialising, the projection's fold. So our calls/s over
// this one, in the same run, says how much of the time is the file's own work. The copy is
// compacted (its pages in b-tree order), which favours the replay.

const strings = new Map<number, string>();
/** an ASCII string of `bytes` bytes (one per length: SQLite copies what it is given, whatever it holds) */
const longString = (bytes: number): string => strings.get(bytes) ?? strings.set(bytes, 'x'.repeat(bytes)).get(bytes)!;
const argOf = (a: TraceArg): unknown => {
  if (a === null || typeof a !== 'object') return a;
  if ('$long' in a) return longString(a.$long);
  if ('$big' in a) return BigInt(a.$big);
  if ('$b64' in a) return new Uint8Array(Buffer.from(a.$b64, 'base64'));
  return Object.fromEntries(Object.entries(a.$named).map(([k, v]) => [k, argOf(v)]));
};

/** the lines of a file, without holding it as one string */
const lines = function* (path: string): Generator<string> {
  const bytes = readFileSync(path);
  for (let at = 0; at < bytes.length; ) {
    const end = bytes.indexOf(10, at);
    const stop = end === -1 ? bytes.length : end;
    if (stop > at) yield bytes.toString('utf8', at, stop);
    at = stop + 1;
  }
};

export type CeilingRun = {
  readonly calls: number;
  readonly statements: number;
  /** write transactions committed with an fsync (synchronous=FULL), without one, and read transactions */
  readonly commits: { readonly durable: number; readonly unsynced: number; readonly reads: number };
  readonly seconds: number;
  /** when the timed replay began and ended, in ms since the epoch (performance.timeOrigin based) */
  readonly window: { readonly startMs: number; readonly endMs: number };
  readonly callsPerSecond: number;
  readonly cpuMicrosPerCall: number;
  /** the traced connection's journal mode and synchronous setting as the window opened (the replay's are the same, or it throws) */
  readonly durability: string;
};

const callRecords = (db: SqliteDatabase): number =>
  (db.db.prepare('SELECT count(*) AS n FROM idempotency WHERE key LIKE ?').get(`${CALL_PREFIX}%`) as { n: number }).n;

/** Runs the statements of the trace at `tracePath` on the file at `copy` (the file as the trace began; removed after), timed. */
export const replayCeiling = (copy: string, tracePath: string): CeilingRun => {
  const [head, ...rest] = lines(tracePath);
  const header = JSON.parse(head!) as TraceHeader;
  const entries = rest.map((l) => JSON.parse(l) as TraceEntry);
  const db = new SqliteDatabase({ path: copy });
  try {
    const d = db.durability();
    const replayed = `journal ${d.journalMode}, synchronous=${d.synchronous}`;
    if (replayed !== header.durability) throw new Error(`sqlite ceiling: the traced connection ran with ${header.durability}, the replay's with ${replayed}`);
    const prepared = new Map<number, StatementSync>();
    const statement = (s: number): StatementSync => prepared.get(s) ?? prepared.set(s, db.db.prepare(header.statements[s]!)).get(s)!;
    // prepared and their arguments built before the clock starts: the trace's own decoding is not the file's work
    const steps = entries.map((e) => (e.k === 'exec' ? { e } : { e, st: statement(e.s), args: e.a.map(argOf) as never[] }));
    // every table read once, as a running server has its pages in its cache or the OS's
    for (const { name } of db.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[])
      for (const _ of db.db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).iterate());
    const before = callRecords(db);
    const mismatches: string[] = [];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const step of steps) {
      const e = step.e;
      let threw = false;
      let n: number | undefined;
      try {
        if (e.k === 'exec') db.db.exec(e.sql);
        else if (e.k === 'run') n = Number(step.st!.run(...step.args!).changes);
        else if (e.k === 'get') n = step.st!.get(...step.args!) === undefined ? 0 : 1;
        else n = step.st!.all(...step.args!).length;
      } catch {
        threw = true;
      }
      // the replay does what the run did: the same statements fail, change and return as many rows
      const expected = e.k === 'exec' ? undefined : e.n;
      if ((threw !== (e.threw === true) || (!threw && n !== expected)) && mismatches.length < 3)
        mismatches.push(`${e.k} ${e.k === 'exec' ? e.sql : header.statements[e.s]} (${threw ? 'threw' : n} here, ${e.threw ? 'threw' : expected} in the run)`);
    }
    const t1 = performance.now();
    const seconds = (t1 - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    if (mismatches.length > 0) throw new Error(`sqlite ceiling: statements did not end as in the run: ${mismatches.join('; ')}`);
    // the commits, by kind, from the execs (each ended as in the run, so they are the run's)
    const commits = { durable: 0, unsynced: 0, reads: 0 };
    let open: 'write' | 'read' | undefined;
    let full = d.synchronous === 'FULL';
    for (const e of entries) {
      if (e.k !== 'exec' || e.threw) continue;
      const sql = e.sql.trim().toUpperCase();
      if (sql.startsWith('BEGIN')) open = /^BEGIN\s+(IMMEDIATE|EXCLUSIVE)\b/.test(sql) ? 'write' : 'read';
      else if (sql.startsWith('PRAGMA SYNCHRONOUS')) full = /=\s*(FULL|2|EXTRA|3)\s*$/.test(sql);
      else if ((sql.startsWith('COMMIT') || sql.startsWith('END')) && open) {
        if (open === 'read') commits.reads++;
        else if (full) commits.durable++;
        else commits.unsynced++;
        open = undefined;
      } else if (sql.startsWith('ROLLBACK') && !sql.startsWith('ROLLBACK TO')) open = undefined;
    }
    // the calls: the workload's call records the replay wrote (their keys are its messageIds)
    const calls = callRecords(db) - before;
    if (calls <= 0) throw new Error(`sqlite ceiling: the trace ${tracePath} wrote no call of the workload`);
    return {
      calls,
      statements: steps.length,
      commits,
      seconds,
      window: { startMs: performance.timeOrigin + t0, endMs: performance.timeOrigin + t1 },
      callsPerSecond: calls / seconds,
      cpuMicrosPerCall: (cpu.user + cpu.system) / calls,
      durability: header.durability,
    };
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(copy + suffix, { force: true });
  }
};
