import 'reflect-metadata';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDuckDbLake } from '../src/adapters/lake/duckdb.analytics.js';
import { parquetFiles } from '../src/adapters/lake/lake.files.js';
import { LakeProjector } from '../src/application/lake/lake.projector.js';
import { generateSeed } from '../src/infrastructure/demo/dataset.js';
import { makeHarness } from '../test/support/harness.js';
import { writeReadmeBlock } from './readme-table.js';

// The analytics lake at BENCH_SCALE x the default data set (5,000 customers, 200 products, 50,000
// orders, 100,000 clickstream events; default scale 1): the log built, the lake rebuilt from it
// (events/s), then each of the ten queries timed (median of BENCH_RUNS, default 3).
//
// The log: the scaled seed goes through the ingest path of the in-memory core call by call
// (validation, identity resolution, encryption; views not projected), so the rebuild and the
// queries read the events the ingest stored (scale 10: 1.6 million calls, 2.5 to 9 minutes here, by the machine's load).
//
// Each run writes its scale's figures into bench/results/lake.json (other scales kept) and the
// README's `bench:lake` block from every scale in that file.
// `node --max-old-space-size=12000 --max-semi-space-size=64 --import tsx bench/lake.bench.ts`

const scale = Number(process.env.BENCH_SCALE ?? 1);
const runs = Number(process.env.BENCH_RUNS ?? 3);
if (!Number.isInteger(scale) || scale < 1) throw new Error('BENCH_SCALE must be a whole number >= 1');
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
const ingestS = (performance.now() - i0) / 1000;
console.log(`ingested ${calls} calls in ${ingestS.toFixed(1)} s`);

const stored = (await h.ports.store.readAll(tenant, { limit: 100_000_000 })).events.length;
console.log(`${stored} stored events`);

type QueryResult = { readonly name: string; readonly rows: number; readonly medianMs: number; readonly runsMs: number[] };
type ScaleResult = {
  readonly scale: number;
  readonly at: string;
  readonly node: string;
  readonly calls: number;
  readonly storedEvents: number;
  readonly ingestS: number;
  readonly rebuild: { readonly events: number; readonly seconds: number; readonly eventsPerS: number; readonly files: number };
  readonly queries: QueryResult[];
  readonly loadAverage: readonly number[];
};

const root = mkdtempSync(join(tmpdir(), 'c360-lake-bench-'));
const lake = await openDuckDbLake(root, { clock: h.clock.now });
let result: ScaleResult;
try {
  const t0 = performance.now();
  const { events } = await new LakeProjector(h.ports.store, lake.writer).rebuild(tenant);
  const s = (performance.now() - t0) / 1000;
  const files = parquetFiles(root).length;
  console.log(`lake rebuild: ${events} events in ${s.toFixed(2)} s = ${Math.round(events / s)} events/s, ${files} Parquet files`);
  const now = String(h.clock.now());
  const queries: QueryResult[] = [];
  for (const q of lake.analytics.names) {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < runs; i++) {
      const q0 = performance.now();
      rows = (await lake.analytics.run(tenant, q, { now })).length;
      times.push(Math.round(performance.now() - q0));
    }
    const medianMs = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    queries.push({ name: q, rows, medianMs, runsMs: times });
    console.log(`${q.padEnd(24)} ${String(rows).padStart(8)} rows  median ${medianMs} ms`);
  }
  result = {
    scale,
    at: new Date().toISOString(),
    node: process.version,
    calls,
    storedEvents: stored,
    ingestS: Math.round(ingestS),
    rebuild: { events, seconds: Number(s.toFixed(1)), eventsPerS: Math.round(events / s), files },
    queries,
    loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
  };
  console.log(`load average ${result.loadAverage.join(' ')}`);
} finally {
  lake.close();
  rmSync(root, { recursive: true, force: true });
}

const file = new URL('./results/lake.json', import.meta.url);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const all: Record<string, ScaleResult> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
all[String(scale)] = result;
writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);

const scales = Object.values(all).sort((a, b) => a.scale - b.scale);
const n = (v: number) => v.toLocaleString('en-US');
const head = `| | ${scales.map((r) => `scale ${r.scale}: rows | scale ${r.scale}: median ms`).join(' | ')} |`;
const rule = `| --- | ${scales.map(() => '---: | ---:').join(' | ')} |`;
const row = (label: string, cells: (r: ScaleResult) => [string, string]) => `| ${label} | ${scales.map((r) => cells(r).join(' | ')).join(' | ')} |`;
const names = [...new Set(scales.flatMap((r) => r.queries.map((q) => q.name)))];
const table = [
  head,
  rule,
  row('stored events / lake rebuild (events/s)', (r) => [
    n(r.storedEvents),
    `${n(r.rebuild.eventsPerS)} ev/s (${r.rebuild.seconds} s, ${r.rebuild.files} files)`,
  ]),
  ...names.map((q) =>
    row(q, (r) => {
      const x = r.queries.find((y) => y.name === q);
      return x ? [n(x.rows), n(x.medianMs)] : ['', ''];
    }),
  ),
  '',
  ...scales.map(
    (r) =>
      `Scale ${r.scale} measured ${r.at} on Node ${r.node} by \`BENCH_SCALE=${r.scale} node --max-old-space-size=12000 --max-semi-space-size=64 --import tsx bench/lake.bench.ts\`: ${n(r.calls)} calls ingested in ${r.ingestS} s; median of ${r.queries[0]?.runsMs.length ?? 0} runs per query; load average at the end ${r.loadAverage.join(' / ')} (1/5/15 min, 2 shared cores).`,
  ),
].join('\n');
writeReadmeBlock('lake', table);
console.log('written to bench/results/lake.json and the README');
