import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { generateDataset } from '../src/infrastructure/demo/dataset.js';
import { harnessAfter } from './dataset-harness.js';

// A CPU-profiling target, not a bench row: the in-memory ingest pipeline on a generated data set,
// one call at a time, as bench/run.ts's first row measures it. Run with node --cpu-prof.
const customers = Number(process.env.PROFILE_CUSTOMERS ?? 2_000);
const { calls } = generateDataset({ customers, ordersPerCustomer: 10, eventsPerCustomer: 20 });
const h = harnessAfter(calls);
for (const c of calls.slice(0, 2_000)) await h.core.ingest.ingest('warmup', h.web, c);
const t0 = performance.now();
const c0 = process.cpuUsage();
for (const c of calls) await h.core.ingest.ingest('bench', h.web, c);
const s = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
// CPU time per call (user + system, this process, GC threads included): far less sensitive than calls/s to other jobs on the cores
console.log(
  JSON.stringify({
    calls: calls.length,
    seconds: +s.toFixed(2),
    callsPerSecond: Math.round(calls.length / s),
    cpuMicrosPerCall: Math.round((cpu.user + cpu.system) / calls.length),
  }),
);
