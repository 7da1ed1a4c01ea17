import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { generateDataset } from '../src/infrastructure/demo/dataset.js';
import { harnessAfter } from './dataset-harness.js';

// A CPU-profiling target, not a bench row: the full rebuild of bench/run.ts's second row, on a
// data set ingested first (not profiled). PROFILE_OUT names the .cpuprofile to write.
const customers = Number(process.env.PROFILE_CUSTOMERS ?? 2_000);
const runs = Number(process.env.PROFILE_RUNS ?? 5);
const { calls } = generateDataset({ customers, ordersPerCustomer: 10, eventsPerCustomer: 20 });
const h = harnessAfter(calls);
for (const c of calls) await h.core.ingest.ingest('bench', h.web, c);
await h.core.rebuild.rebuild('bench');
const session = new Session();
session.connect();
const out = process.env.PROFILE_OUT;
if (out) {
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const rates: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const r = await h.core.rebuild.rebuild('bench');
  rates.push(Math.round(r.events / ((performance.now() - t0) / 1000)));
}
if (out) writeFileSync(out, JSON.stringify((await session.post('Profiler.stop')).profile));
console.log(JSON.stringify({ eventsPerSecond: rates }));
