import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../src/infrastructure/app.js';
import { loadConfig } from '../src/infrastructure/config.js';
import { trackBatches } from './track-batches.js';

// A CPU-profiling target, not a bench row: /v1/batch's core path (ingestBatch of 100 calls, the
// workload of bench/batch-load.ts) in one process, without HTTP, on the store named by argv[2]
// (sqlite: the durable embedded default, in a temporary folder; memory). Run with node --cpu-prof.
// A timed run does fewer calls on a busy machine, so more of them are the first 5,000, which create
// the workload's customers and cost more: to compare two builds there, give a fixed amount of work,
// PROFILE_BATCHES=100, after PROFILE_WARMUP_BATCHES=60 untimed batches (past the creations).
const store = process.argv[2] === 'memory' ? 'memory' : 'sqlite';
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const batches = process.env.PROFILE_BATCHES === undefined ? undefined : Number(process.env.PROFILE_BATCHES);
const warmup = Number(process.env.PROFILE_WARMUP_BATCHES ?? 0);
const dir = mkdtempSync(join(tmpdir(), 'c360-profile-'));
const config = loadConfig({
  C360_STORE: store,
  C360_DATA_DIR: dir,
  C360_TENANT: 'bench',
  C360_WRITE_KEY: 'bench-write-key-0123456789',
  C360_CLAIM_SECRET: 'bench-claim-secret-0123456789abcdef',
  C360_MASTER_KEY: 'YmVuY2gtbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU=',
});
const app = await buildApp(config);
await app.startBackground();
const source = app.sourceOf('bench', 'http');
const batch = trackBatches('pb');
for (let i = 0; i < warmup; i++) await app.core.ingest.ingestBatch('bench', source, { batch: batch() });
const t0 = performance.now();
const c0 = process.cpuUsage();
let calls = 0;
for (let n = 0; batches === undefined ? performance.now() - t0 < seconds * 1000 : n < batches; n++) {
  const out = await app.core.ingest.ingestBatch('bench', source, { batch: batch() });
  calls += out.length;
}
const s = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
// CPU time per call (user + system, this process): far less sensitive than calls/s to other jobs on the cores
console.log(
  JSON.stringify({
    store,
    calls,
    seconds: +s.toFixed(2),
    callsPerSecond: Math.round(calls / s),
    cpuMicrosPerCall: Math.round((cpu.user + cpu.system) / calls),
  }),
);
await app.close();
rmSync(dir, { recursive: true, force: true });
