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
// events per second of this process's CPU time (user + system, GC threads included): far less
// sensitive than the wall-time rate to other jobs on the cores
const cpuRates: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await h.core.rebuild.rebuild('bench');
  const cpu = process.cpuUsage(c0);
  rates.push(Math.round(r.events / ((performance.now() - t0) / 1000)));
  cpuRates.push(Math.round(r.events / ((cpu.user + cpu.system) / 1e6)));
}
if (out) writeFileSync(out, JSON.stringify((await session.post('Profiler.stop')).profile));
console.log(JSON.stringify({ eventsPerSecond: rates, eventsPerCpuSecond: cpuRates }));
