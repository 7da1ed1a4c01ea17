import { writeFileSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { loadSqlite } from '../src/adapters/sqlite/sqlite.module.js';

// What a process asks of its SQLite files in a window, statement by statement, to be replayed with
// none of its code (bench/sqlite-ceiling.ts). Every exec and every run/get/all of a prepared
// statement on any connection of this process, in order, with its arguments; a string argument
// longer than LONG is kept as its length only (the replay writes a string of that length: SQLite
// stores text as it is given, so the bytes written are the same). Keys, ids, hashes, numbers and
// times are kept as they are, so each row lands where it landed. Installed by the bench's HTTP
// target when BENCH_SQL_TRACE=1, before any connection opens; off until `start`.

const LONG = 256;

/** a string argument kept as its length */
export type Long = { readonly len: number };
export type TraceArg = string | number | bigint | null | Long | Uint8Array;
/** [connection, 'exec', sql] or [connection, 'run' | 'get' | 'all', statement, args], and whether it threw */
export type TraceEntry =
  | { readonly c: number; readonly k: 'exec'; readonly sql: string; readonly threw?: true }
  | { readonly c: number; readonly k: 'run' | 'get' | 'all'; readonly s: number; readonly a: readonly TraceArg[]; readonly threw?: true };
export type Trace = {
  readonly connections: number;
  /** the copied connection's journal mode and synchronous setting as the window opened */
  readonly durability: string;
  readonly statements: readonly string[];
  readonly entries: readonly TraceEntry[];
};

export type SqlTracer = {
  /** copies the file of the connection that has done the most so far to `copy` (VACUUM INTO: its state as the window opens), then records */
  start(copy: string): void;
  /** stops recording and writes what was recorded to `out` as JSON */
  stop(out: string): void;
};

export const installSqlTrace = (): SqlTracer => {
  const { DatabaseSync: Database } = loadSqlite();
  const connections = new Map<DatabaseSync, number>();
  const uses = new Map<DatabaseSync, number>();
  const statements: string[] = [];
  const ids = new WeakMap<StatementSync, { readonly c: number; readonly s: number }>();
  let entries: TraceEntry[] = [];
  let on = false;
  let durability = '';
  const connection = (db: DatabaseSync): number => {
    uses.set(db, (uses.get(db) ?? 0) + 1);
    let c = connections.get(db);
    if (c === undefined) connections.set(db, (c = connections.size));
    return c;
  };
  const keep = (a: unknown): TraceArg => (typeof a === 'string' && a.length > LONG ? { len: a.length } : (a as TraceArg));
  const record = <T>(entry: TraceEntry, work: () => T): T => {
    if (!on) return work();
    try {
      const out = work();
      entries.push(entry);
      return out;
    } catch (e) {
      entries.push({ ...entry, threw: true });
      throw e;
    }
  };

  const prepare = Database.prototype.prepare;
  Database.prototype.prepare = function (this: DatabaseSync, sql: string, ...rest: unknown[]): StatementSync {
    const statement = (prepare as (this: DatabaseSync, ...a: unknown[]) => StatementSync).call(this, sql, ...rest);
    const id = { c: connection(this), s: statements.push(sql) - 1 };
    ids.set(statement, id);
    for (const method of ['run', 'get', 'all'] as const) {
      const original = statement[method].bind(statement) as (...args: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
        record({ c: id.c, k: method, s: id.s, a: on ? args.map(keep) : [] }, () => original(...args));
    }
    return statement;
  };
  const exec = Database.prototype.exec;
  Database.prototype.exec = function (this: DatabaseSync, sql: string): void {
    const c = connection(this);
    record({ c, k: 'exec', sql }, () => exec.call(this, sql));
  };

  return {
    start(copy) {
      const busiest = [...uses].sort((a, b) => b[1] - a[1])[0]?.[0];
      if (!busiest) throw new Error('sql trace: no SQLite connection has been used yet');
      if (busiest.isTransaction) throw new Error('sql trace: the connection is inside a transaction; start the window when the process is idle');
      const pragma = (name: string) => Object.values(prepare.call(busiest, `PRAGMA ${name}`).get() ?? {})[0];
      durability = `journal ${String(pragma('journal_mode')).toUpperCase()}, synchronous=${['OFF', 'NORMAL', 'FULL', 'EXTRA'][Number(pragma('synchronous'))]}`;
      exec.call(busiest, `VACUUM INTO '${copy.replaceAll("'", "''")}'`);
      entries = [];
      on = true;
    },
    stop(out) {
      on = false;
      writeFileSync(out, JSON.stringify({ connections: connections.size, durability, statements, entries } satisfies Trace));
      entries = [];
    },
  };
};
