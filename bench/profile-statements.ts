import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteDatabase } from '../src/adapters/sqlite/sqlite.database.js';
import { loadSqlite } from '../src/adapters/sqlite/sqlite.module.js';
import { buildApp } from '../src/infrastructure/app.js';
import { loadConfig } from '../src/infrastructure/config.js';
import { trackBatches } from './track-batches.js';

// A diagnostic, not a bench row: what /v1/batch's core path (ingestBatch of 100 calls, the
// workload of bench/profile-batch.ts) asks of the embedded SQLite file, per call: each statement
// (prepared run/get/all, and exec) counted and timed by wrapping the statements this process
// prepares. Prints one line per statement, most time first, then the totals. The times include
// the wrapper's own cost and, under COMMIT, the fsync; read them as shares, not as a speed.
// Run: node --import tsx bench/profile-statements.ts (PROFILE_BATCHES=n, default 100, after 60 unmeasured)

type Tally = { n: number; us: number };
const tallies = new Map<string, Tally>();
let counting = false;
const count = <T>(key: string, work: () => T): T => {
  if (!counting) return work();
  const t0 = performance.now();
  try {
    return work();
  } finally {
    const t = tallies.get(key) ?? { n: 0, us: 0 };
    t.n++;
    t.us += (performance.now() - t0) * 1000;
    tallies.set(key, t);
  }
};

const wrapped = new WeakSet<StatementSync>();
const prepare = SqliteDatabase.prototype.prepare;
SqliteDatabase.prototype.prepare = function (this: SqliteDatabase, sql: string): StatementSync {
  const statement = prepare.call(this, sql);
  if (!wrapped.has(statement)) {
    wrapped.add(statement);
    const label = sql.replace(/\s+/g, ' ').slice(0, 100);
    for (const method of ['run', 'get', 'all'] as const) {
      const original = statement[method].bind(statement) as (...args: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => count(`${method} ${label}`, () => original(...args));
    }
  }
  return statement;
};
// node:sqlite through the store's own loader, which drops its one ExperimentalWarning
const { DatabaseSync: Database } = loadSqlite();
const exec = Database.prototype.exec;
Database.prototype.exec = function (this: DatabaseSync, sql: string): void {
  count(`exec ${sql.slice(0, 60)}`, () => exec.call(this, sql));
};

const batches = Number(process.env.PROFILE_BATCHES ?? 100);
const dir = mkdtempSync(join(tmpdir(), 'c360-statements-'));
const app = await buildApp(
  loadConfig({
    C360_STORE: 'sqlite',
    C360_DATA_DIR: dir,
    C360_TENANT: 'bench',
    C360_WRITE_KEY: 'bench-write-key-0123456789',
    C360_CLAIM_SECRET: 'bench-claim-secret-0123456789abcdef',
    C360_MASTER_KEY: 'YmVuY2gtbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU=',
  }),
);
await app.startBackground();
const source = app.sourceOf('bench', 'http');
const batch = trackBatches('ps');
for (let i = 0; i < 60; i++) await app.core.ingest.ingestBatch('bench', source, { batch: batch() });
counting = true;
const t0 = performance.now();
let calls = 0;
for (let i = 0; i < batches; i++) calls += (await app.core.ingest.ingestBatch('bench', source, { batch: batch() })).length;
await new Promise((resolve) => setTimeout(resolve, 500)); // the followers' pages after the last batch
const wallUs = (performance.now() - t0) * 1000;
counting = false;
let statements = 0;
let us = 0;
for (const [key, t] of [...tallies].sort((a, b) => b[1].us - a[1].us)) {
  statements += t.n;
  us += t.us;
  console.log(`${(t.n / calls).toFixed(2).padStart(6)} per call ${(t.us / calls).toFixed(1).padStart(7)} us/call  ${key}`);
}
console.log(
  JSON.stringify({
    calls,
    statementsPerCall: +(statements / calls).toFixed(1),
    sqliteMicrosPerCall: Math.round(us / calls),
    wallMicrosPerCall: Math.round(wallUs / calls),
  }),
);
await app.close();
rmSync(dir, { recursive: true, force: true });
