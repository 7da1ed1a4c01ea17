import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { RebuildProjections, ScratchDocs } from '../src/application/projection/rebuild.use-case.js';
import type { DataKey } from '../src/application/ports/keys.port.js';
import { generateDataset } from '../src/infrastructure/demo/dataset.js';
import { harnessAfter } from './dataset-harness.js';
import { runCeiling, storedRows } from './rebuild-ceiling.js';

// A focused run of `npm run bench` section 2: ingest the generated data set, then rebuild the
// tenant's projections from the log (decrypt + fold) a few times and print events/s per run, by
// the wall clock and by this process's CPU time (steadier on a busy machine). Each run first
// times the ceiling (bench/rebuild-ceiling.ts: JSON.parse and a trivial fold of the same stored
// events, none of our code), and reports the rebuild as a ratio to it. BENCH_CUSTOMERS scales the
// data set (default 1,000 people), BENCH_RUNS the rebuilds (default 3).
// BENCH_PAGE sets the rebuild's readAll page size (default: the use case's own); a list such as
// 500,5000 takes turns between them, run by run.
// BENCH_REFERENCE=1 also times, between rebuilds, the plain path (every event through the
// projector, one doc per event) and checks both give the same docs.
// BENCH_PROFILE=1 writes a CPU profile of the rebuilds alone (not the ingest) to .prof/.

const customers = Number(process.env.BENCH_CUSTOMERS ?? 1_000);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const reference = process.env.BENCH_REFERENCE === '1';
const pageSizes = (process.env.BENCH_PAGE ?? '').split(',').filter(Boolean).map(Number);
const tenant = 'bench';

const { calls } = generateDataset({ customers, ordersPerCustomer: 10, eventsPerCustomer: 20 });
const h = harnessAfter(calls);
const i0 = performance.now();
for (const c of calls) await h.core.ingest.ingest(tenant, h.web, c);
const stored = (await h.ports.store.readAll(tenant, { limit: 10_000_000 })).events.length;
console.log(`ingested ${calls.length} calls (${stored} stored events) in ${((performance.now() - i0) / 1000).toFixed(2)} s`);
const rows = await storedRows(h.ports.store, tenant);

const rebuilds =
  pageSizes.length === 0
    ? [h.core.rebuild]
    : pageSizes.map((n) => new RebuildProjections(h.ports.store, h.ports.readModels, h.core.projector, h.ports.clock, n));

/** The rebuild as it was: each page decoded, then every event through the projector. */
const referenceBuild = async (): Promise<ScratchDocs> => {
  const scratch = new ScratchDocs();
  const keys = new Map<string, DataKey | null>();
  let after: string | undefined;
  for (;;) {
    const page = await h.ports.store.readAll(tenant, { after, limit: 1_000 });
    await h.core.projector.apply(tenant, await h.core.projector.decodeAll(tenant, page.events, keys), scratch, keys);
    if (!page.next) return scratch;
    after = page.next;
  }
};
const json = (s: ScratchDocs) => JSON.stringify([...s.docs.values()].sort((a, b) => (a.customerId < b.customerId ? -1 : 1)));

const timed = async <T>(f: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1e6 };
};
const rate = (events: number, s: number) => Math.round(events / s).toLocaleString('en-US');

const profiler = process.env.BENCH_PROFILE === '1' ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
const walls: number[] = [];
const cpus: number[] = [];
const ceilings: number[] = [];
const ratios: number[] = [];
for (let run = 1; run <= runs; run++) {
  const rebuild = rebuilds[(run - 1) % rebuilds.length]!;
  const label = pageSizes.length > 1 ? ` (pages of ${pageSizes[(run - 1) % pageSizes.length]})` : '';
  if (reference) {
    const ref = await timed(referenceBuild);
    const now = await timed(() => rebuild.build(tenant));
    const same = json(ref.value) === json(now.value.scratch);
    console.log(
      `reference ${run}: ${rate(stored, ref.wall)} events/s wall, ${rate(stored, ref.cpu)} cpu; build: ${rate(stored, now.wall)} wall, ${rate(stored, now.cpu)} cpu; same docs: ${same}`,
    );
    if (!same) process.exitCode = 1;
  }
  const ceiling = runCeiling(rows);
  const { value: rebuilt, wall, cpu } = await timed(() => rebuild.rebuild(tenant));
  walls.push(rebuilt.events / wall);
  cpus.push(rebuilt.events / cpu);
  ceilings.push(ceiling.wall);
  ratios.push(rebuilt.events / wall / ceiling.wall);
  console.log(
    `rebuild ${run}${label}: ${rebuilt.events} events, ${rebuilt.docs} docs in ${wall.toFixed(3)} s = ${rate(rebuilt.events, wall)} events/s (${rate(rebuilt.events, cpu)} by cpu time); ` +
      `ceiling ${Math.round(ceiling.wall).toLocaleString('en-US')} events/s (${Math.round(ceiling.cpu).toLocaleString('en-US')} by cpu): ${(rebuilt.events / wall / ceiling.wall).toFixed(2)}x`,
  );
}
if (profiler) {
  const { profile } = await profiler.post('Profiler.stop');
  const file = `.prof/rebuild-${Date.now()}.cpuprofile`;
  mkdirSync('.prof', { recursive: true });
  writeFileSync(file, JSON.stringify(profile));
  console.log(`profile written to ${file}`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${Math.round(Math.min(...xs)).toLocaleString('en-US')}-${Math.round(Math.max(...xs)).toLocaleString('en-US')}`;
console.log(
  `median ${Math.round(median(walls)).toLocaleString('en-US')} events/s wall (spread ${spread(walls)}), ${Math.round(median(cpus)).toLocaleString('en-US')} by cpu time; ` +
    `ceiling median ${Math.round(median(ceilings)).toLocaleString('en-US')} (spread ${spread(ceilings)}); ratio median ${median(ratios).toFixed(2)}x (spread ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
);
