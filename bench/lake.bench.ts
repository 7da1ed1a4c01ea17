import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDuckDbLake } from '../src/adapters/lake/duckdb.analytics.js';
import { parquetFiles } from '../src/adapters/lake/lake.files.js';
import { LakeProjector } from '../src/application/lake/lake.projector.js';
import { generateSeed } from '../src/infrastructure/demo/dataset.js';
import { makeHarness } from '../test/support/harness.js';

// The analytics lake: ingest the seed data set (BENCH_SCALE x 5,000 customers, 200 products,
// 50,000 orders and 100,000 clickstream events; default scale 1) into the in-memory core without
// projecting views, then rebuild the lake from the log (events/s) and time each of the ten queries
// (median of BENCH_RUNS, default 3). `node --import tsx bench/lake.bench.ts`.

const scale = Number(process.env.BENCH_SCALE ?? 1);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const tenant = 'bench';
const plan = generateSeed({ customers: 5_000 * scale, products: 200, orders: 50_000 * scale, events: 100_000 * scale, seed: 42 });
const h = makeHarness({}, { inlineProjection: false });
const sources = { web: h.web, crm: h.crm } as Record<string, typeof h.web>;
const i0 = performance.now();
let calls = 0;
for (const person of plan.people)
  for (const c of person) {
    await h.core.ingest.ingest(tenant, sources[c.source] ?? { name: c.source, priority: 20, channel: c.source === 'mobile' ? 'mobile' : 'support' }, c.call);
    calls++;
  }
const stored = (await h.ports.store.readAll(tenant, { limit: 100_000_000 })).events.length;
console.log(`ingested ${calls} calls (${stored} stored events) in ${((performance.now() - i0) / 1000).toFixed(1)} s`);

const root = mkdtempSync(join(tmpdir(), 'c360-lake-bench-'));
const lake = await openDuckDbLake(root, { clock: h.clock.now });
try {
  const t0 = performance.now();
  const { events } = await new LakeProjector(h.ports.store, lake.writer).rebuild(tenant);
  const s = (performance.now() - t0) / 1000;
  console.log(`lake rebuild: ${events} events in ${s.toFixed(2)} s = ${Math.round(events / s)} events/s, ${parquetFiles(root).length} Parquet files`);
  const now = String(h.clock.now());
  for (const q of lake.analytics.names) {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < runs; i++) {
      const q0 = performance.now();
      rows = (await lake.analytics.run(tenant, q, { now })).length;
      times.push(performance.now() - q0);
    }
    times.sort((a, b) => a - b);
    console.log(`${q.padEnd(24)} ${String(rows).padStart(7)} rows  median ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms`);
  }
  console.log(`load average ${loadavg()[0]!.toFixed(1)}`);
} finally {
  lake.close();
  rmSync(root, { recursive: true, force: true });
}
