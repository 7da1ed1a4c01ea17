import { closeSync, openSync, writeSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { loadSqlite } from '../src/adapters/sqlite/sqlite.module.js';

// What a process asks of its SQLite file in a window, statement by statement, to be replayed with
// none of its code (bench/sqlite-ceiling.ts). Every exec and every run/get/all of a prepared
// statement, in order, with its arguments and what it did: the rows it changed (run) or returned
// (get, all), or that it threw. A string argument of an INSERT or UPDATE over LONG characters (an
// event's JSON, a view doc) is kept as its UTF-8 byte length only: the replay binds an ASCII string
// of that many bytes, so the row written is as long (SQLite stores text as it is given), and the
// replay's own check (the same rows changed and returned) would catch a statement whose outcome
// depended on that text. Every other argument is kept as it is (a read's list of keys as JSON,
// say), and so are keys, ids, hashes, numbers and times, so each row lands where it landed. Installed by the
// bench's HTTP target when BENCH_SQL_TRACE=1, before any connection opens; off until `start`.

const LONG = 256;

/** an argument as recorded: as it was, or tagged */
export type TraceArg =
  | string
  | number
  | null
  | { readonly $long: number }
  | { readonly $big: string }
  | { readonly $b64: string }
  | { readonly $named: Readonly<Record<string, TraceArg>> };
/** an exec, or a prepared statement's run/get/all; `n`: rows changed (run) or returned (get: 0 or 1, all) */
export type TraceEntry =
  | { readonly k: 'exec'; readonly sql: string; readonly threw?: true }
  | { readonly k: 'run' | 'get' | 'all'; readonly s: number; readonly a: readonly TraceArg[]; readonly n?: number; readonly threw?: true };
/** the trace file's first line */
export type TraceHeader = {
  /** the traced connection's journal mode and synchronous setting as the window opened */
  readonly durability: string;
  readonly statements: readonly string[];
};

export type SqlTracer = {
  /**
   * Copies the file of the connection in use (the process must have one; VACUUM INTO: its state as
   * the window opens), checkpoints its WAL away (so that it, like the copy, starts the window with
   * an empty one), then records.
   */
  start(copy: string): void;
  /** stops recording and writes what was recorded to `out`: a header line, then a line per entry */
  stop(out: string): void;
};

/** whether a statement's long string arguments are only stored (written), not read */
const writes = (sql: string): boolean => /^\s*(INSERT|UPDATE|REPLACE)\b/i.test(sql);

const keep = (a: unknown, shorten: boolean): TraceArg => {
  if (typeof a === 'string') return shorten && a.length > LONG ? { $long: Buffer.byteLength(a) } : a;
  if (typeof a === 'bigint') return { $big: a.toString() };
  if (a instanceof Uint8Array) return { $b64: Buffer.from(a).toString('base64') };
  if (a !== null && typeof a === 'object') return { $named: Object.fromEntries(Object.entries(a).map(([k, v]) => [k, keep(v, shorten)])) };
  return a as number | null;
};

const outcome = (method: 'run' | 'get' | 'all', out: unknown): number =>
  method === 'run' ? Number((out as { changes: number | bigint }).changes) : method === 'get' ? (out === undefined ? 0 : 1) : (out as unknown[]).length;

export const installSqlTrace = (): SqlTracer => {
  const { DatabaseSync: Database } = loadSqlite();
  const connections = new Set<DatabaseSync>();
  const statements: string[] = [];
  let traced: DatabaseSync | undefined;
  let entries: TraceEntry[] = [];
  let durability = '';
  let on = false;
  /** a statement run in the window on another connection than the copied one: the replay has one file */
  let strays = 0;
  const own = (db: DatabaseSync): boolean => {
    connections.add(db);
    if (on && db !== traced) strays++;
    return on && db === traced;
  };

  const prepare = Database.prototype.prepare;
  Database.prototype.prepare = function (this: DatabaseSync, sql: string, ...rest: unknown[]): StatementSync {
    const statement = (prepare as (this: DatabaseSync, ...a: unknown[]) => StatementSync).call(this, sql, ...rest);
    connections.add(this);
    const s = statements.push(sql) - 1;
    const shorten = writes(sql);
    for (const method of ['run', 'get', 'all'] as const) {
      const original = statement[method].bind(statement) as (...args: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        if (!own(this)) return original(...args);
        const a = args.map((arg) => keep(arg, shorten));
        let out: unknown;
        try {
          out = original(...args);
        } catch (e) {
          entries.push({ k: method, s, a, threw: true });
          throw e;
        }
        entries.push({ k: method, s, a, n: outcome(method, out) });
        return out;
      };
    }
    return statement;
  };
  const exec = Database.prototype.exec;
  Database.prototype.exec = function (this: DatabaseSync, sql: string): void {
    if (!own(this)) return exec.call(this, sql);
    try {
      exec.call(this, sql);
    } catch (e) {
      entries.push({ k: 'exec', sql, threw: true });
      throw e;
    }
    entries.push({ k: 'exec', sql });
  };

  return {
    start(copy) {
      const open = [...connections].filter((db) => db.isOpen);
      if (open.length !== 1) throw new Error(`sql trace: the process has ${open.length} open SQLite connections; the replay has one file`);
      traced = open[0]!;
      const pragma = (name: string) => Object.values(prepare.call(traced, `PRAGMA ${name}`).get() ?? {})[0];
      durability = `journal ${String(pragma('journal_mode')).toUpperCase()}, synchronous=${['OFF', 'NORMAL', 'FULL', 'EXTRA'][Number(pragma('synchronous'))]}`;
      exec.call(traced, `VACUUM INTO '${copy.replaceAll("'", "''")}'`);
      exec.call(traced, 'PRAGMA wal_checkpoint(TRUNCATE)');
      entries = [];
      strays = 0;
      on = true;
    },
    stop(out) {
      on = false;
      if (strays > 0) throw new Error(`sql trace: ${strays} statements ran on another connection than the copied one`);
      const fd = openSync(out, 'w');
      try {
        writeSync(fd, `${JSON.stringify({ durability, statements } satisfies TraceHeader)}\n`);
        // a line per entry, written in chunks: the whole trace as one string could pass V8's longest
        for (let i = 0; i < entries.length; i += 10_000)
          writeSync(
            fd,
            `${entries
              .slice(i, i + 10_000)
              .map((e) => JSON.stringify(e))
              .join('\n')}\n`,
          );
      } finally {
        closeSync(fd);
      }
      entries = [];
    },
  };
};
